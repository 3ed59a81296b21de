"""What the benchmark scripts share: a clean environment and running a command."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

#: Variables from the caller's shell that would change what is measured.
_DROPPED = ("PYTHON", "PAVED_", "COPIER_", "GIT_", "TYPER_", "_TYPER", "KUBE")


def clean_env(**extra: str) -> dict[str, str]:
    """The caller's environment without paved, copier, git, Typer and Python settings.

    Remote git never prompts. ``extra`` (``PAVED_HOME=...`` and the like) is added last.
    """
    env = {key: value for key, value in os.environ.items() if not key.startswith(_DROPPED)}
    env["GIT_TERMINAL_PROMPT"] = "0"
    env.update(extra)
    return env


def run(
    cmd: Sequence[str], *, env: dict[str, str], cwd: Path | None = None, ok: tuple[int, ...] = (0,)
) -> str:
    """Run ``cmd``; abort the benchmark with its output when it exits otherwise than ``ok``."""
    proc = subprocess.run(list(cmd), env=env, cwd=cwd, capture_output=True, text=True, check=False)
    if proc.returncode not in ok:
        sys.stderr.write(
            f"command failed (exit {proc.returncode}): {' '.join(map(str, cmd))}\n"
            f"--- stderr ---\n{proc.stderr}--- stdout ---\n{proc.stdout}"
        )
        raise SystemExit(1)
    return proc.stdout


def bench_service(root: Path, paved: Sequence[str]) -> tuple[dict[str, str], Path, Path]:
    """``paved new service bench --owner team-a`` in ``root/work`` with a home of its own.

    Returns the environment to run paved with, its ``PAVED_HOME`` and the service folder.
    """
    home, work = root / "paved-home", root / "work"
    for folder in (home, work):
        folder.mkdir()
    env = clean_env(
        PAVED_HOME=str(home),
        PYTHONPYCACHEPREFIX=str(root / "pycache"),
        GIT_ALLOW_PROTOCOL="file",
    )
    run([*paved, "new", "service", "bench", "--owner", "team-a"], env=env, cwd=work)
    return env, home, work / "bench"
