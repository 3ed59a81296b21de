"""The registration rule both catalogs apply: a name is registered once.

Registering a name again with the same owner and repository is the same registration: the
stored entry comes back unchanged. Any other owner or repository is a conflict, and so is a
name that was archived (it stays taken).
"""

from __future__ import annotations

__all__ = ["registration_conflict"]


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
