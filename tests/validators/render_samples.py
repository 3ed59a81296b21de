"""Render the sample services the validator sessions check, with paved itself.

    python tests/validators/render_samples.py OUTDIR

Each sample is a folder OUTDIR/NAME made by ``paved new service`` (no push, no register),
so what is validated is exactly what a product engineer gets.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ALL_RESOURCES = "s3-read,sqs-send,dynamodb-rw,secret-read"

#: Every data resource kind with every option: both engines and every size, a queue with and
#: one without a dead-letter queue. ``--set`` reads a ``yaml`` question's answer as YAML.
ALL_DATA_RESOURCES = (
    "[{kind: database, name: orders, engine: postgres, size: small},"
    " {kind: database, name: ledger-db, engine: mysql, size: medium},"
    " {kind: database, name: events, engine: postgres, size: large},"
    " {kind: bucket, name: uploads},"
    " {kind: queue, name: jobs, dead_letter: true},"
    " {kind: queue, name: audit-log, dead_letter: false}]"
)
#: A subset: one of each kind, the other engine and size.
SOME_DATA_RESOURCES = (
    "[{kind: queue, name: jobs, dead_letter: false},"
    " {kind: database, name: orders, engine: mysql, size: large},"
    " {kind: bucket, name: reports}]"
)

#: name -> --set answers. Defaults; every option on (GitLab CI, all resources); internal; data
#: resources of every kind with every option in dev, staging and prod, beside the declared
#: resources, and some of them alone in two environments of an internal service.
SAMPLES: dict[str, list[str]] = {
    "sample-default": [],
    "sample-full": [
        "ci_provider=gitlab",
        f"resources={ALL_RESOURCES}",
        "python_version=3.13",
        "port=9000",
        "aws_account_id=210987654321",
        "aws_region=us-east-2",
        "lifecycle=production",
        "system=samples",
        "repository_url=https://gitlab.com/samples/nested/sample-full",
    ],
    "sample-internal": [
        "exposure=internal",
        f"resources={ALL_RESOURCES}",
        "environments=dev,prod",
        "repository_url=https://github.com/samples/sample-internal",
    ],
    "sample-data": [
        f"resources={ALL_RESOURCES}",
        f"data_resources={ALL_DATA_RESOURCES}",
        "system=samples",
        "repository_url=https://github.com/samples/sample-data",
    ],
    "sample-data-internal": [
        "exposure=internal",
        "ci_provider=gitlab",
        f"data_resources={SOME_DATA_RESOURCES}",
        "environments=dev,prod",
        "aws_region=us-east-2",
    ],
}


def render(out: Path) -> list[Path]:
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    made = []
    with tempfile.TemporaryDirectory(prefix="paved-samples-") as home:
        env = {**os.environ, "PAVED_HOME": home, "CI": "1"}
        env.setdefault("GIT_AUTHOR_NAME", "Sample")
        env.setdefault("GIT_AUTHOR_EMAIL", "sample@example.com")
        env.setdefault("GIT_COMMITTER_NAME", "Sample")
        env.setdefault("GIT_COMMITTER_EMAIL", "sample@example.com")
        for name, answers in SAMPLES.items():
            sets = [arg for answer in answers for arg in ("--set", answer)]
            subprocess.run(
                [sys.executable, "-m", "paved", "--quiet", "new", "service", name,
                 "--owner", "team-samples", "--description", f"The {name} service.",
                 "--dir", str(out / name), "--no-push", "--no-register", *sets],
                env=env,
                stdout=subprocess.DEVNULL,
                check=True,
            )  # fmt: skip
            made.append(out / name)
    return made


if __name__ == "__main__":
    for path in render(Path(sys.argv[1])):
        print(path)
