"""Run a page's shell blocks as a new hire pastes them: one shell, in order, on a fresh machine.

"Fresh" means a new, empty HOME; no ``PAVED_*``, ``XDG_*`` or ``GIT_*`` variables; no virtual
environment of the test run on ``PATH`` (git, kubectl and python3 stay reachable); and a copy of
the repository holding only the files git knows (tracked, or new and not ignored), so nothing
built here (``.venv``, ``.nox``) leaks in.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from tests.docs.markdown import Block

__all__ = ["Failure", "copy_repository", "fresh_environment", "run_blocks"]

#: A run that takes this long is hung (a prompt, a server waited for in vain), not slow.
HANG_TIMEOUT = 3600
_SEPARATOR = "::docs-test block"
_TOOLS = ("git", "kubectl", "python3")


@dataclass(frozen=True)
class Failure:
    """Where a run stopped: the block, the line in it (when bash said), and what it printed."""

    block: Block
    line: str | None
    exit_code: int
    output: str

    def report(self) -> str:
        where = f"{self.block.where}, line {self.line!r}" if self.line else self.block.where
        return (
            f"the shell block at {where} failed with exit code {self.exit_code}\n"
            f"--- the block ---\n{self.block.text}"
            f"--- its output (stdout and stderr) ---\n{self.output}"
        )


def copy_repository(source: Path, destination: Path) -> Path:
    """Copy the files ``git ls-files`` knows in ``source`` (tracked, or untracked and not
    ignored; deleted ones left out) to ``destination``."""
    listed = subprocess.run(
        ["git", "-C", str(source), "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        capture_output=True,
        check=True,
    ).stdout.decode()
    for relative in sorted(set(filter(None, listed.split("\0")))):
        if relative.split("/", 1)[0] in {".venv", ".nox"}:
            continue
        path = source / relative
        if not path.is_file() and not path.is_symlink():
            continue  # deleted in the work tree, or a submodule
        target = destination / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(path, target, follow_symlinks=False)
    return destination


def fresh_environment(home: Path, tools: Path, pip_cache: Path) -> dict[str, str]:
    """The environment of a fresh machine whose user has ``home``: this process's, less paved's,
    XDG's and git's variables and less the test run's virtual environment."""
    environ = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("PAVED_", "XDG_", "GIT_", "PYTEST_"))
        and key not in {"VIRTUAL_ENV", "PYTHONPATH", "PYTHONHOME", "CI", "COPIER_CACHE_DIR"}
    }
    own_bin = Path(sys.prefix) / "bin"
    in_venv = sys.prefix != sys.base_prefix
    path = [
        entry
        for entry in os.environ.get("PATH", os.defpath).split(os.pathsep)
        if entry and not (in_venv and Path(entry) == own_bin)
    ]
    tools.mkdir(parents=True, exist_ok=True)
    for tool in _TOOLS:
        if shutil.which(tool, path=os.pathsep.join(path)) is None:
            found = shutil.which(tool)
            assert found is not None, f"{tool} is not on PATH: the docs need it"
            (tools / tool).symlink_to(found)
    environ["PATH"] = os.pathsep.join([*path, str(tools)])
    environ["HOME"] = str(home)
    environ["PIP_CACHE_DIR"] = str(pip_cache)
    return environ


def _alive(group: int) -> bool:
    """Whether a process of ``group`` still runs (a zombie does not)."""
    proc = Path("/proc")
    if not proc.is_dir():
        try:
            os.killpg(group, 0)
        except ProcessLookupError:
            return False
        return True
    for stat in proc.glob("[0-9]*/stat"):
        with contextlib.suppress(OSError, IndexError, ValueError):
            fields = stat.read_text().rsplit(")", 1)[1].split()
            if fields[0] != "Z" and int(fields[2]) == group:
                return True
    return False


def _end_group(group: int) -> None:
    """End every process of ``group``: SIGTERM, then SIGKILL what is left after a while."""
    for signum in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(group, signum)
        except ProcessLookupError:
            return
        deadline = time.monotonic() + 30
        while _alive(group) and time.monotonic() < deadline:
            time.sleep(0.1)
        if not _alive(group):
            return


def run_blocks(
    blocks: list[Block], *, cwd: Path, env: dict[str, str], work: Path
) -> Failure | None:
    """Run ``blocks`` in order in one ``bash -euo pipefail``; the first failure, or ``None``.

    The script says on a file of its own which block it is in and, through an ERR trap, the
    line that failed; the blocks' output goes to one log, cut at each block. The shell runs in
    a session of its own, and whatever it left running (a server in the background) is ended
    with it.
    """
    status, log, script = work / "status", work / "output.log", work / "blocks.sh"
    lines = [
        "set -E",
        f"exec 3>>'{status}'",
        """trap 'echo "failed $? $LINENO" >&3' ERR""",
    ]
    script_line: dict[int, str] = {}
    for number, block in enumerate(blocks):
        lines += [f"echo 'block {number}' >&3", f"echo '{_SEPARATOR} {number}'"]
        for text in block.text.splitlines():
            lines.append(text)
            script_line[len(lines)] = text
    lines.append("echo done >&3")
    script.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with log.open("wb") as output:
        process = subprocess.Popen(
            ["bash", "-euo", "pipefail", str(script)],
            cwd=cwd,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            exit_code = process.wait(timeout=HANG_TIMEOUT)
        finally:
            _end_group(process.pid)
            process.wait()
    events = status.read_text(encoding="utf-8").splitlines() if status.exists() else []
    if exit_code == 0 and events[-1:] == ["done"]:
        return None
    started = [int(event.split()[1]) for event in events if event.startswith("block ")]
    number = started[-1] if started else 0
    failed = next((event.split() for event in events if event.startswith("failed ")), None)
    line = script_line.get(int(failed[2])) if failed else None
    text = log.read_text(encoding="utf-8", errors="replace")
    parts = text.split(f"{_SEPARATOR} {number}\n", 1)
    own = parts[1].split(f"{_SEPARATOR} {number + 1}\n", 1)[0] if len(parts) == 2 else text
    return Failure(blocks[number], line, exit_code, own)
