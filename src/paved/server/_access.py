"""Who may do what: the caller of a request, and refusals written to the audit trail.

``Caller`` is the identity of the request's token or ``None``; mutations take it and refuse
with :func:`refuse_unless`, so that even an anonymous attempt is audited with its target.
``Reader`` is for reads: a valid token is required, and a refusal is not audited.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from paved.server._audit import OUTCOMES, audit
from paved.server._auth import Identity
from paved.server._errors import ERRORS, ApiError
from paved.server._state import caller_of

__all__ = ["Caller", "Reader", "refuse_unless", "refused"]


def caller(request: Request) -> Identity | None:
    return caller_of(request)  # reads the database: in the thread pool


async def reader(who: Annotated[Identity | None, Depends(caller)]) -> Identity:
    """The caller, who must have a token (a check only: on the event loop)."""
    if who is None:
        raise ApiError(401, "unauthenticated", "a valid bearer token is required")
    return who


Caller = Annotated[Identity | None, Depends(caller)]
Reader = Annotated[Identity, Depends(reader)]


def refused(
    request: Request,
    who: Identity | None,
    action: str,
    target: str,
    status: int,
    message: str,
    detail: str = "",
) -> ApiError:
    """The error to raise for a refused mutation, written to the audit trail first."""
    code = ERRORS[status]
    audit(request, who, action, target, OUTCOMES.get(code, code), detail)
    return ApiError(status, code, message, audited=True)


def refuse_unless(
    request: Request, who: Identity | None, owner: str | None, action: str, target: str
) -> Identity:
    """``who``, if signed in and (when ``owner`` is given) a member of team ``owner``."""
    if who is None:
        raise refused(request, None, action, target, 401, "a valid bearer token is required")
    if owner is not None and not who.owns(owner):
        message = f"{target} belongs to team {owner}, not to one of yours"
        raise refused(request, who, action, target, 403, message, f"owner {owner}")
    return who
