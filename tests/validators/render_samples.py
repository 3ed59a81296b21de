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

#: name -> --set answers. Defaults; every option on (GitLab CI, all resources); internal.
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
