"""What the check scripts share: finding a tool, running it, walking the samples, reporting."""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path


def tool(name: str) -> str:
    """The path of ``name`` on PATH; ends the script when it is not installed."""
    path = shutil.which(name)
    if path is None:
        sys.exit(f"{name} is not installed")
    return path


def run(label: str, argv: list[str], env: dict[str, str] | None = None) -> bool:
    """Run one tool; print its output and return True when it found nothing."""
    done = subprocess.run(argv, capture_output=True, text=True, check=False, env=env)
    if done.returncode == 0:
        print(f"ok    {label}")
        return True
    print(f"FAIL  {label} (exit {done.returncode})")
    for line in (done.stdout + done.stderr).strip().splitlines():
        print(f"      {line}")
    return False


def samples_in(folder: Path) -> list[Path]:
    """The sample services under ``folder``; ends the script when there are none."""
    found = sorted(p for p in folder.iterdir() if p.is_dir() and p.name.startswith("sample-"))
    if not found:
        sys.exit(f"no samples under {folder}")
    return found


def check_all(name: str, folder: Path, check: Callable[[Path], list[str]]) -> int:
    """Run ``check`` on every sample, print each problem, return the exit code."""
    problems = []
    for sample in samples_in(folder):
        found = check(sample)
        print(f"checked {sample}: {len(found)} problem(s)", file=sys.stderr)
        problems += found
    for problem in problems:
        print(problem)
    print(f"{name}: {len(problems)} problem(s)", file=sys.stderr)
    return 1 if problems else 0
