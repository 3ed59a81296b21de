"""A person at a terminal, for the tests of what paved asks.

In-process: :func:`terminal_runtime` is a runtime whose stdin and stderr claim to be terminals
(CliRunner's own streams are pipes), its stdout a pipe, so that answers come from CliRunner's
``input``. As a process: :func:`run_in_terminal` runs ``python -m paved`` on a pseudo-terminal
and answers each question when it is asked.
"""

from __future__ import annotations

import os
import pty
import re
import select
import subprocess
import sys
from collections.abc import Sequence
from functools import cached_property
from pathlib import Path

from paved.cli.output import Output
from paved.cli.runtime import Runtime


class _Stream:
    """``sys.NAME`` as it is when written to (CliRunner swaps it), said to be a terminal."""

    def __init__(self, name: str, *, terminal: bool) -> None:
        self.name = name
        self.terminal = terminal

    def write(self, text: str) -> int:
        return int(getattr(sys, self.name).write(text))

    def flush(self) -> None:
        getattr(sys, self.name).flush()

    def isatty(self) -> bool:
        return self.terminal


class TerminalRuntime(Runtime):
    """A runtime on a terminal: stdin and stderr are terminals, stdout is a pipe."""

    @cached_property
    def out(self) -> Output:
        return Output(
            stdout=_Stream("stdout", terminal=False),  # type: ignore[arg-type]
            stderr=_Stream("stderr", terminal=True),  # type: ignore[arg-type]
            json_mode=self.json,
            color=self.color,
            verbosity=self.verbosity,
            env=self.env,
        )


def terminal_runtime() -> Runtime:
    plain = Runtime.from_process()
    return TerminalRuntime(env=plain.env, cwd=plain.cwd, home=plain.home, stdin_is_terminal=True)


def run_in_terminal(
    args: Sequence[str],
    answers: Sequence[tuple[str, str]],
    *,
    cwd: Path,
    timeout: float = 120,
) -> tuple[int, str]:
    """Run ``paved ARGS`` on a pseudo-terminal; when the screen shows each pattern of
    ``answers`` (a regular expression, in order), type its answer and Enter.

    Returns the exit code and everything the terminal showed (stdout and stderr together).
    """
    main, child = pty.openpty()
    process = subprocess.Popen(
        [sys.executable, "-m", "paved", *args],
        stdin=child,
        stdout=child,
        stderr=child,
        cwd=cwd,
        close_fds=True,
    )
    os.close(child)
    screen = ""
    pending = list(answers)
    try:
        while True:
            ready, _, _ = select.select([main], [], [], timeout)
            if not ready:
                raise AssertionError(f"paved waited for more than {timeout}s:\n{screen}")
            try:
                chunk = os.read(main, 4096)
            except OSError:  # the child closed the terminal
                break
            if not chunk:
                break
            screen += chunk.decode("utf-8", errors="replace")
            while pending and re.search(pending[0][0], screen[_answered(screen) :]):
                os.write(main, pending[0][1].encode() + b"\r")
                screen += "\x00"  # the place answered: the next pattern is looked for after it
                pending.pop(0)
    finally:
        os.close(main)
        code = process.wait(timeout=timeout)
    assert not pending, f"never asked {pending[0][0]!r}:\n{screen}"
    return code, screen.replace("\x00", "").replace("\r\n", "\n")


def _answered(screen: str) -> int:
    return screen.rfind("\x00") + 1
