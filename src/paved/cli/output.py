"""Where a command's output goes: the result on stdout, everything for people on stderr.

stdout carries the result only: a table on a terminal, plain tab-separated lines in a pipe,
JSON with ``--json``. Progress, hints and warnings go to stderr. No colour when not on a
terminal, when ``CI`` or ``NO_COLOR`` is set, or with ``--no-color``.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Mapping, Sequence
from typing import Any, TextIO

__all__ = ["Output"]


def _said(message: str) -> str:
    """A message for people, with any terminal sequence or forged line start it carries from
    a repository or a record shown as escapes (its own line breaks kept)."""
    from paved.text import escaped

    return escaped(message, keep="\n")


def _cell(value: Any) -> str:
    """A value as one cell: control characters shown as escapes, so a value from the catalog
    can never add a column, a line or a terminal sequence to the output."""
    from paved.text import escaped  # small, but only needed for tables

    return "" if value is None else escaped(str(value))


class Output:
    """Writes results and messages for one command run."""

    def __init__(
        self,
        *,
        stdout: TextIO | None = None,
        stderr: TextIO | None = None,
        json_mode: bool = False,
        color: bool = True,
        verbosity: int = 0,
        env: Mapping[str, str] | None = None,
    ) -> None:
        self.stdout = stdout or sys.stdout
        self.stderr = stderr or sys.stderr
        self.json_mode = json_mode
        self.verbosity = verbosity
        env = env or {}
        self.color = color and self.stdout_is_terminal and "NO_COLOR" not in env and "CI" not in env

    @property
    def stdout_is_terminal(self) -> bool:
        return bool(getattr(self.stdout, "isatty", lambda: False)())

    @property
    def stderr_is_terminal(self) -> bool:
        return bool(getattr(self.stderr, "isatty", lambda: False)())

    # -- for people (stderr) -----------------------------------------------------------

    def info(self, message: str) -> None:
        if self.verbosity >= 0:
            print(_said(message), file=self.stderr, flush=True)

    def progress(self, message: str) -> None:
        if self.verbosity >= 0:
            print(f"  {_said(message)}", file=self.stderr, flush=True)

    def debug(self, message: str) -> None:
        if self.verbosity > 0:
            print(f"debug: {message}", file=self.stderr, flush=True)

    # -- the result (stdout) -----------------------------------------------------------

    def json(self, data: Any) -> None:
        print(json.dumps(data, indent=2, sort_keys=False, ensure_ascii=False), file=self.stdout)

    def line(self, text: str = "") -> None:
        print(text, file=self.stdout)

    def table(self, columns: Sequence[str], rows: Sequence[Sequence[Any]], *, empty: str) -> None:
        """A table on a terminal; tab-separated lines without a header in a pipe."""
        if not rows:
            self.info(empty)
            return
        if not self.stdout_is_terminal:
            for row in rows:
                print("\t".join(_cell(cell) for cell in row), file=self.stdout)
            return
        from rich.console import Console  # only on a terminal
        from rich.table import Table
        from rich.text import Text  # cells are text, never markup

        table = Table(
            *columns, box=None, header_style="bold" if self.color else None, pad_edge=False
        )
        for row in rows:
            table.add_row(*(Text(_cell(cell)) for cell in row))
        for column in table.columns:
            column.overflow = "fold"  # never cut a URL or a path short
        Console(file=self.stdout, no_color=not self.color, highlight=False).print(table)

    def fields(self, pairs: Sequence[tuple[str, Any]]) -> None:
        """One ``key: value`` line per field (``key<TAB>value`` in a pipe)."""
        width = max(len(key) for key, _ in pairs)
        sep = None if self.stdout_is_terminal else "\t"
        for key, value in pairs:
            shown = _cell(value)
            if sep:
                print(f"{key}{sep}{shown}", file=self.stdout)
            else:
                print(f"{key + ':':<{width + 1}} {shown}", file=self.stdout)
