"""Image references: ``registry/name[:tag][@sha256:DIGEST]``, checked before anything runs."""

from __future__ import annotations

import dataclasses
import re

from paved.errors import InputError
from paved.text import escaped

__all__ = ["ImageRef", "parse_image"]

_HOST = r"[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?"
_DOMAIN = rf"(?:{_HOST}(?:\.{_HOST})+(?::[0-9]+)?|{_HOST}:[0-9]+|localhost)"
_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
_REFERENCE = re.compile(
    rf"^(?P<name>{_DOMAIN}/{_COMPONENT}(?:/{_COMPONENT})*)"
    r"(?::(?P<tag>[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}))?"
    r"(?:@(?P<digest>sha256:[a-f0-9]{64}))?$"
)
_HINT = (
    "give registry/name:tag or registry/name@sha256:<64 hex digits>, "
    "e.g. registry.example.com/team/app@sha256:..."
)


@dataclasses.dataclass(frozen=True)
class ImageRef:
    name: str
    tag: str | None
    digest: str | None

    def __str__(self) -> str:
        return (
            self.name
            + (f":{self.tag}" if self.tag else "")
            + (f"@{self.digest}" if self.digest else "")
        )

    @property
    def version(self) -> str:
        """What a person calls this build: the tag, else the short digest."""
        if self.tag:
            return self.tag
        assert self.digest is not None
        return self.digest[:19]


def parse_image(text: str) -> ImageRef:
    """Parse ``text``; an :class:`InputError` (exit 2) when it is not a pinned image reference."""
    match = _REFERENCE.fullmatch(text) if len(text) <= 512 else None
    if match is None or len(match["name"]) > 255:
        shown = escaped(text[:200])
        raise InputError(f"--image '{shown}' is not a valid image reference", hint=_HINT)
    if not match["tag"] and not match["digest"]:
        raise InputError(
            f"--image '{text}' names no tag or digest (an implicit 'latest' is never deployed)",
            hint=_HINT,
        )
    return ImageRef(match["name"], match["tag"], match["digest"])
