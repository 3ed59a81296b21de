"""Query parameters the routers share, and the cursors of paged listings."""

from __future__ import annotations

import base64
import binascii
import json
import re
from typing import Annotated, Any

from fastapi import Path, Query

from paved.server import _schemas as s
from paved.server._errors import ApiError
from paved.versions import VERSION_SCHEMA_PATTERN

__all__ = [
    "Cursor",
    "Limit",
    "NameQuery",
    "PathName",
    "RolloutId",
    "TokenQuery",
    "cursor_after",
    "decode_cursor",
]

NameQuery = Annotated[str | None, Query(min_length=2, max_length=40, pattern=s.NAME_REGEX)]
TokenQuery = Annotated[
    str | None, Query(min_length=1, max_length=100, pattern=VERSION_SCHEMA_PATTERN)
]
Limit = Annotated[int, Query(ge=1, le=1000)]
Cursor = Annotated[str | None, Query(max_length=400)]
PathName = Annotated[str, s.Field(min_length=2, max_length=40, pattern=s.NAME_REGEX)]
RolloutId = Annotated[
    str, Path(alias="id", min_length=16, max_length=64, pattern=s.ROLLOUT_ID_REGEX)
]

_NAME = re.compile(s.NAME_REGEX)
_ROLLOUT_ID = re.compile(s.ROLLOUT_ID_REGEX)
#: The largest integer both SQLite and PostgreSQL (bigint) take as a parameter.
_MAX_CURSOR_ID = 2**63 - 1


def cursor_after(last: str | int | None) -> str | None:
    """The cursor of the page after the one ending at ``last`` (``None``: no page follows)."""
    if last is None:
        return None
    return base64.urlsafe_b64encode(json.dumps(last).encode()).decode().rstrip("=")


def decode_cursor(cursor: str | None, kind: type, *, rollout: bool = False) -> Any:
    """The position a cursor stands for: a service name (``str``), a roll-out's id (``str``
    with ``rollout``) or a row id (``int``).

    A cursor is only ever one this server made, but it comes back from the client: anything
    that is not such a position (a NUL or a lone surrogate no database takes, an integer out
    of range) is refused here, before it reaches a query.
    """
    if cursor is None:
        return None
    refused = ApiError(400, "bad_cursor", "cursor is not one this server gave out")
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        value = json.loads(raw)
    except (binascii.Error, ValueError, UnicodeDecodeError, RecursionError) as exc:
        raise refused from exc
    if not isinstance(value, kind) or isinstance(value, bool):
        raise refused
    if isinstance(value, str) and (
        _ROLLOUT_ID.fullmatch(value) is None
        if rollout
        else (len(value) > 40 or _NAME.fullmatch(value) is None)
    ):
        raise refused
    if isinstance(value, int) and not 0 <= value <= _MAX_CURSOR_ID:
        raise refused
    return value
