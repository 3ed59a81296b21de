"""The first service's name, made from a person's git identity.

A git identity is input like any other: ``user.email`` and ``user.name`` may hold anything
(``../``, a newline, a 200-character name, only non-Latin letters). The name made from them
follows the naming rule or there is none, and the caller says so in one line.
"""

from __future__ import annotations

import re
import unicodedata

from paved.names import MAX_LENGTH, name_problem

__all__ = ["SUFFIX", "derive_name", "name_base", "numbered"]

#: What a first service's name ends with: it says what the service is for.
SUFFIX = "-first"

_OTHER = re.compile(r"[^a-z0-9]+")
#: Room left for "-N" when the name is taken (see :func:`numbered`).
_NUMBER_ROOM = 2


def name_base(text: str) -> str:
    """``text`` as lower-case ASCII words joined by single '-', starting with a letter,
    short enough for :data:`SUFFIX` and a number; empty when nothing safe remains."""
    decomposed = unicodedata.normalize("NFKD", text)
    ascii_only = decomposed.encode("ascii", "ignore").decode("ascii").lower()
    words = _OTHER.sub("-", ascii_only)
    words = re.sub(r"^[^a-z]+", "", words)  # a name starts with a letter
    room = MAX_LENGTH - len(SUFFIX) - _NUMBER_ROOM
    return words[:room].strip("-")


def derive_name(email: str, user_name: str) -> str | None:
    """``BASE-first`` from the local part of ``email``, else from ``user_name``; ``None``
    when neither leaves a safe base."""
    local = email.rpartition("@")[0] if "@" in email else email
    for source in (local, user_name):
        base = name_base(source)
        if base:
            name = f"{base}{SUFFIX}"
            assert name_problem(name) is None, name
            return name
    return None


def numbered(name: str, number: int) -> str:
    """``name`` with ``-NUMBER`` (2 to 9), for when ``name`` is taken."""
    if not 2 <= number <= 9:
        raise ValueError(number)
    return f"{name}-{number}"
