"""The documentation that ships with paved, and the one way to point a reader at it.

A hint names a page as ``paved docs guardrails#waivers`` (:func:`reference`), never as a
repository path such as ``docs/guardrails.md``: an installed user has the command, not the
clone. An installed wheel carries the pages as ``paved/_docs``; a source checkout (editable
install, tests) has them in ``docs/`` at the top of the repository, found the way the bundled
scaffolds are.
"""

from __future__ import annotations

import dataclasses
import difflib
import re
from pathlib import Path

from paved.errors import InputError

__all__ = ["Page", "Section", "docs_root", "page", "pages", "reference", "slug"]

_HEADING = re.compile(r"^(#{1,6})\s+(.+?)\s*#*\s*$")
_FENCE = re.compile(r"^\s*(```|~~~)")


def reference(page: str, anchor: str | None = None) -> str:
    """The command that prints ``page`` (at ``anchor``): ``paved docs guardrails#waivers``."""
    return f"paved docs {page}#{anchor}" if anchor else f"paved docs {page}"


def docs_root() -> Path:
    """The folder holding the pages shipped with paved."""
    packaged = Path(__file__).resolve().parent / "_docs"
    if packaged.is_dir():
        return packaged
    checkout = Path(__file__).resolve().parents[2]
    if _is_paved_checkout(checkout):
        return checkout / "docs"
    return packaged  # a copy of the package elsewhere: no pages, never its host's docs/


def _is_paved_checkout(folder: Path) -> bool:
    """Whether ``folder`` is paved's own source checkout: ``src/paved`` and a pyproject.toml
    naming the project paved."""
    import tomllib

    if not (folder / "src" / "paved").is_dir():
        return False
    try:
        project = tomllib.loads((folder / "pyproject.toml").read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
        return False
    return bool(project.get("project", {}).get("name") == "paved")


def slug(heading: str) -> str:
    """A heading's anchor as GitHub makes it: lower case, punctuation dropped, spaces to '-'."""
    text = heading.strip().lower().replace("`", "")
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")


@dataclasses.dataclass(frozen=True)
class Section:
    anchor: str
    title: str
    level: int
    #: the lines of the page this section spans, its heading first
    start: int
    end: int


@dataclasses.dataclass(frozen=True)
class Page:
    """One page: its name (``guardrails``, ``decisions/0004-fast-startup``), its first heading."""

    name: str
    title: str
    path: Path

    def text(self) -> str:
        return self.path.read_text(encoding="utf-8")

    def sections(self) -> list[Section]:
        lines = self.text().splitlines()
        found: list[tuple[int, int, str]] = []
        fenced = False
        for number, line in enumerate(lines):
            if _FENCE.match(line):
                fenced = not fenced
                continue
            match = None if fenced else _HEADING.match(line)
            if match:
                found.append((number, len(match.group(1)), match.group(2)))
        sections = []
        for i, (start, level, title) in enumerate(found):
            end = next((s for s, lvl, _ in found[i + 1 :] if lvl <= level), len(lines))
            sections.append(Section(slug(title), title, level, start, end))
        return sections

    def section(self, anchor: str) -> str:
        """The text of the section at ``anchor``, down to the next heading of its level."""
        sections = self.sections()
        wanted = anchor.strip().lower().lstrip("#")
        chosen = next((s for s in sections if s.anchor == wanted), None)
        if chosen is None:
            raise InputError(
                f"page '{self.name}' has no section '{anchor}'", hint=self._closest(wanted)
            )
        lines = self.text().splitlines()
        return "\n".join(lines[chosen.start : chosen.end]).rstrip() + "\n"

    def _closest(self, wanted: str) -> str:
        """The anchors of this page that read most like ``wanted``, or where to look."""
        anchors = [s.anchor for s in self.sections()]
        close = difflib.get_close_matches(wanted, anchors, n=5, cutoff=0.6)
        if not close:  # a word of it, as in 'waiver' for 'waivers-and-expiry'
            words = [w for w in re.split(r"[-_ ]+", wanted) if len(w) >= 3]
            close = [a for a in anchors if any(w in a for w in words)][:5]
        if close:
            return f"closest: {', '.join(close)}"
        return f"no section reads like it; read the whole page: {reference(self.name)}"


def _title(path: Path) -> str:
    with path.open(encoding="utf-8") as lines:
        for line in lines:
            match = _HEADING.match(line)
            if match:
                return match.group(2).replace("`", "")
    return ""


def pages(root: Path | None = None) -> list[Page]:
    """Every page: the top-level ones, then the decisions, each by name."""
    root = docs_root() if root is None else root
    found = []
    for path in sorted(root.glob("*.md")) + sorted(root.glob("decisions/*.md")):
        name = path.relative_to(root).with_suffix("").as_posix()
        found.append(Page(name, _title(path), path))
    return found


def page(name: str, root: Path | None = None) -> Page:
    """The page called ``name`` (``guardrails``, ``guardrails.md`` and ``docs/guardrails.md``
    read the same); an unknown name is an :class:`InputError` listing the pages."""
    wanted = name.strip().removeprefix("docs/").removesuffix(".md")
    known = pages(root)
    chosen = next((p for p in known if p.name == wanted), None)
    if chosen is None:
        top = [p.name for p in known if "/" not in p.name]
        raise InputError(
            f"no documentation page '{name}'",
            hint=f"pages: {', '.join(top)} (all of them, decisions included: paved docs)",
        )
    return chosen
