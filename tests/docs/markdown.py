"""The fenced code blocks of a Markdown page, and the markers that tell the docs tests about them.

A shell block (```` ```sh ````, ```` ```bash ```` or ```` ```shell ````) is run by the docs tests
unless the line right before its fence (blank lines aside) is a skip marker that says why:

    <!-- docs-test: skip (it is the whole CI) -->

Any other ``docs-test:`` comment, or a skip marker that is not right before a shell block, is an
error, so a mistyped marker never skips a block silently.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

__all__ = ["SHELL_LANGUAGES", "Block", "MarkerError", "blocks", "shell_blocks"]

SHELL_LANGUAGES = frozenset({"sh", "bash", "shell"})

_FENCE = re.compile(r"^(?P<indent> *)(?P<fence>```+|~~~+)(?P<lang>[^`\s]*)\s*$")
_MARKER_WORD = "docs-test:"
_SKIP = re.compile(r"^\s*<!-- docs-test: skip \((?P<reason>[^()]+)\) -->\s*$")


class MarkerError(ValueError):
    """A ``docs-test:`` comment that is not a skip marker right before a shell block."""


@dataclass(frozen=True)
class Block:
    """One fenced block: its language, its text (indentation of the fence removed) and where."""

    page: Path
    line: int  # of the first line inside the fence, 1-based
    language: str
    text: str
    skip_reason: str | None = None

    @property
    def where(self) -> str:
        return f"{self.page.name}:{self.line}"


def blocks(page: Path) -> list[Block]:
    """Every fenced block of ``page``, in order, each with the skip reason its marker gives."""
    lines = page.read_text(encoding="utf-8").splitlines()
    found: list[Block] = []
    pending: tuple[int, str] | None = None  # (line, reason) of a skip marker not yet used
    index = 0
    while index < len(lines):
        line = lines[index]
        fence = _FENCE.match(line)
        if fence is None:
            if _MARKER_WORD in line:
                skip = _SKIP.match(line)
                if skip is None:
                    raise MarkerError(
                        f"{page.name}:{index + 1}: unknown docs-test marker {line.strip()!r}; "
                        "the only one is <!-- docs-test: skip (REASON) -->"
                    )
                if pending is not None:
                    raise MarkerError(f"{page.name}:{pending[0]}: a skip marker before no block")
                pending = (index + 1, skip.group("reason").strip())
            elif line.strip() and pending is not None:
                raise MarkerError(f"{page.name}:{pending[0]}: a skip marker before no block")
            index += 1
            continue
        indent, mark, language = len(fence["indent"]), fence["fence"], fence["lang"]
        body: list[str] = []
        index += 1
        start = index + 1
        while index < len(lines) and lines[index].strip() != mark:
            text = lines[index]
            body.append(text[indent:] if text[:indent].strip() == "" else text)
            index += 1
        if index == len(lines):
            raise MarkerError(f"{page.name}:{start - 1}: a code fence that is never closed")
        index += 1  # the closing fence
        reason = None
        if pending is not None:
            if language not in SHELL_LANGUAGES:
                raise MarkerError(
                    f"{page.name}:{pending[0]}: a skip marker before a {language or 'plain'} "
                    "block, which is never run anyway"
                )
            reason = pending[1]
            pending = None
        found.append(Block(page, start, language, "\n".join(body) + "\n", reason))
    if pending is not None:
        raise MarkerError(f"{page.name}:{pending[0]}: a skip marker before no block")
    return found


def shell_blocks(page: Path) -> list[Block]:
    """The shell blocks of ``page`` (skipped ones included, with their reason)."""
    return [block for block in blocks(page) if block.language in SHELL_LANGUAGES]
