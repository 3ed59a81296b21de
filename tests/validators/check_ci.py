"""Check every sample's CI pipeline with zizmor, actionlint (+ shellcheck) and the vendored schemas.

    python tests/validators/check_ci.py SAMPLES_DIR

GitHub workflows: zizmor (default and pedantic personas, offline), actionlint with shellcheck
on every ``run:`` script, and check-jsonschema's vendored GitHub-workflow schema. GitLab CI:
check-jsonschema's vendored GitLab CI schema. Exits 1 on any finding, on a missing tool, or
when a sample has no pipeline at all.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

from _common import run, samples_in

TOOLS = ("zizmor", "actionlint", "shellcheck", "check-jsonschema")


def check_github(sample: Path, workflows: Path) -> bool:
    files = sorted([*workflows.glob("*.yml"), *workflows.glob("*.yaml")])
    if not files:
        print(f"FAIL  {sample.name}: {workflows} holds no workflow")
        return False
    ok = True
    for persona in ("regular", "pedantic"):
        ok &= run(
            f"{sample.name}: zizmor --persona {persona}",
            ["zizmor", "--offline", "--no-progress", "--format", "plain",
             "--persona", persona, str(workflows)],
        )  # fmt: skip
    for workflow in files:
        name = f"{sample.name}/{workflow.relative_to(sample)}"
        ok &= run(f"{name}: actionlint", ["actionlint", "-no-color", "-oneline", str(workflow)])
        ok &= run(
            f"{name}: check-jsonschema vendor.github-workflows",
            ["check-jsonschema", "--builtin-schema", "vendor.github-workflows", str(workflow)],
        )
    return ok


def check_gitlab(sample: Path, pipeline: Path) -> bool:
    return run(
        f"{sample.name}/.gitlab-ci.yml: check-jsonschema vendor.gitlab-ci",
        ["check-jsonschema", "--builtin-schema", "vendor.gitlab-ci", str(pipeline)],
    )


def main(samples: Path) -> int:
    missing = [tool for tool in TOOLS if shutil.which(tool) is None]
    if missing:
        print(f"FAIL  not on PATH: {', '.join(missing)}")
        return 1
    for tool in TOOLS:
        out = subprocess.run([tool, "--version"], capture_output=True, text=True, check=False)
        lines = [line for line in out.stdout.splitlines() if any(c.isdigit() for c in line)]
        print(f"tool  {tool}: {lines[0].strip() if lines else out.stdout.strip()}")
    ok = True
    found = samples_in(samples)
    for sample in found:
        workflows = sample / ".github" / "workflows"
        pipeline = sample / ".gitlab-ci.yml"
        if not workflows.is_dir() and not pipeline.is_file():
            print(f"FAIL  {sample.name}: neither .github/workflows/ nor .gitlab-ci.yml")
            ok = False
        if workflows.is_dir():
            ok &= check_github(sample, workflows)
        if pipeline.is_file():
            ok &= check_gitlab(sample, pipeline)
    print("all CI checks passed" if ok else "CI checks FAILED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1])))
