"""The registration rule both catalogs apply: a name is registered once.

Registering a name again with the same owner and repository is the same registration: the
stored entry comes back unchanged. Any other owner or repository is a conflict, and so is a
name that was archived (it stays taken).
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable

__all__ = ["registration_conflict", "unknown_team"]


def registration_conflict(
    name: str,
    *,
    stored: tuple[str, str],
    wanted: tuple[str, str],
    archived: bool = False,
) -> str | None:
    """Why registering ``name`` again is refused, or ``None`` when it is unchanged.

    ``stored`` and ``wanted`` are (owner, repository): the entry in the catalog and the one
    asked for.
    """
    if stored != wanted:
        owner, repository = stored
        return f"service '{name}' is already registered (owner {owner}, repository {repository})"
    if archived:
        return f"service '{name}' was archived; choose another name"
    return None


def unknown_team(owner: str, known: Iterable[str], where: str) -> str | None:
    """Why ``owner`` cannot own a service in a catalog that knows the teams ``known`` (at
    ``where``), naming the closest of them; ``None`` when it is one of them."""
    names = sorted(set(known))
    if owner in names:
        return None
    closest = sorted(difflib.get_close_matches(owner, names, n=3, cutoff=0.75)) or names[:3]
    more = len(names) - len(closest)
    shown = ", ".join(closest) + (f" (and {more} more)" if more > 0 else "")
    return f"owner team '{owner}' is not a known team {where} (closest: {shown})"
