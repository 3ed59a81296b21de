"""``/v1/teams``: the teams the platform knows, which own its services."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from paved.server import _schemas as s
from paved.server._access import Caller, Reader, refuse_unless, refused
from paved.server._audit import event
from paved.server._state import ClockDep, StoreDep

__all__ = ["router"]

router = APIRouter(tags=["teams"])


@router.get("/v1/teams")
def list_teams(who: Reader, store: StoreDep) -> s.TeamList:
    """Every team the platform knows, by name: those an admin created and those a token
    names (a token's teams are known from the moment it is made)."""
    return s.TeamList(teams=store.teams())


@router.post(
    "/v1/teams",
    status_code=201,
    responses={200: {"model": s.TeamOut, "description": "already known, unchanged"}},
)
def create_team(
    request: Request,
    response: Response,
    who: Caller,
    store: StoreDep,
    clock: ClockDep,
    body: s.TeamIn,
) -> s.TeamOut:
    """Create a team (platform admins only): 201 when created; 200 with the stored team
    when it is known with the same display name and description; 409 when it is known
    otherwise."""
    action, target = "team.create", f"team {body.name}"
    who = refuse_unless(request, who, None, action, target)
    if not who.admin:
        message = "only a platform admin may create a team"
        raise refused(request, who, action, target, 403, message, "not an admin")
    status, stored = store.add_team(
        body,
        clock(),
        created_by=who.user,
        event=lambda outcome: event(request, who, action, target, outcome),
    )
    if isinstance(stored, str):
        raise refused(request, who, action, target, status, stored, stored)
    response.status_code = status
    return stored
