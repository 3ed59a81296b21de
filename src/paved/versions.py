"""Versions of the scaffolds: one way to read them, compare them and check them as input.

A version is ``[v]MAJOR.MINOR[.PATCH...][-PRE][+LOCAL]``, for example ``0.2.0``, ``v1.4.0``,
``0.3.0-rc.1`` or ``0.1.0+tree.3f2a`` (the store's mark for bundled files that changed without
a version bump). Numbers compare as numbers (``0.10.0`` is newer than ``0.9.9``), a
pre-release is older than its release, and the ``+LOCAL`` part is ignored.
"""

from __future__ import annotations

import dataclasses
import re
from functools import total_ordering

__all__ = ["VERSION_SCHEMA_PATTERN", "VERSION_TEXT", "Version"]

#: What a stored version may look like at all (a catalog row, an answers file, an API field):
#: checked as input before anything compares it.
VERSION_TEXT = re.compile(r"[A-Za-z0-9][A-Za-z0-9._+-]{0,99}")
#: The same, as a whole-string pattern for the API's JSON Schemas.
VERSION_SCHEMA_PATTERN = f"^{VERSION_TEXT.pattern}$"

#: ASCII digits only: ``\d`` alone also takes other scripts' digits, which ``int`` reads too.
_VERSION = re.compile(r"v?(\d+(?:\.\d+)+)(?:-([0-9A-Za-z.-]+))?(?:\+[0-9A-Za-z.-]*)?", re.ASCII)


@total_ordering
@dataclasses.dataclass(frozen=True, eq=False)
class Version:
    """A parsed version; compare two with ``<``, ``==`` and ``>``."""

    text: str
    release: tuple[int, ...]
    pre: tuple[int | str, ...]

    @classmethod
    def parse(cls, text: str) -> Version | None:
        """The version ``text`` spells, or ``None`` when it is not one."""
        found = _VERSION.fullmatch(text.strip())
        if found is None:
            return None
        release = tuple(int(part) for part in found.group(1).split("."))
        pre = tuple(
            int(part) if part.isdigit() else part for part in (found.group(2) or "").split(".")
        )
        return cls(text, release, pre if found.group(2) else ())

    def _key(self) -> tuple[object, ...]:
        release = self.release + (0,) * max(0, 3 - len(self.release))
        # a release sorts after its pre-releases; within one, numbers before words
        pre = tuple((0, p, "") if isinstance(p, int) else (1, 0, p) for p in self.pre)
        return (release, 0 if pre else 1, pre)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Version) and self._key() == other._key()

    def __lt__(self, other: Version) -> bool:
        return self._key() < other._key()

    def __hash__(self) -> int:
        return hash(self._key())

    def __str__(self) -> str:
        return self.text
