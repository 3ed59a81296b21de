"""``/v1/rollouts``: one layer release taken to many services, and each service's result."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from paved.server import _schemas as s
from paved.server._access import Caller, Reader, refuse_unless, refused
from paved.server._audit import event
from paved.server._errors import ApiError
from paved.server._state import ClockDep, StoreDep
from paved.server.routes._query import (
    Cursor,
    Limit,
    NameQuery,
    PathName,
    RolloutId,
    cursor_after,
    decode_cursor,
)

__all__ = ["router"]

router = APIRouter(tags=["rollouts"])


@router.get("/v1/rollouts")
def list_rollouts(
    who: Reader,
    store: StoreDep,
    layer: NameQuery = None,
    cursor: Cursor = None,
    limit: Limit = 100,
) -> s.RolloutPage:
    """Roll-outs, oldest first (by start), a page at a time, each with its counts by status."""
    after = decode_cursor(cursor, str, rollout=True)
    if after is not None and store.rollout(after) is None:
        raise ApiError(400, "bad_cursor", "cursor is not one this server gave out")
    page, more = store.rollouts(layer=layer, after=after, limit=limit)
    return s.RolloutPage(rollouts=page, next_cursor=cursor_after(page[-1].id if more else None))


@router.get("/v1/rollouts/{id}")
def show_rollout(who: Reader, store: StoreDep, rollout_id: RolloutId) -> s.RolloutDetailOut:
    """One roll-out with each service's last recorded result, by name."""
    found = store.rollout(rollout_id)
    if found is None:
        raise ApiError(404, "not_found", f"rollout {rollout_id} is not in the catalog")
    return found


@router.put(
    "/v1/rollouts/{id}",
    status_code=201,
    responses={200: {"model": s.RolloutDetailOut, "description": "started already, unchanged"}},
)
def start_rollout(
    request: Request,
    response: Response,
    who: Caller,
    store: StoreDep,
    clock: ClockDep,
    rollout_id: RolloutId,
    body: s.RolloutIn,
) -> s.RolloutDetailOut:
    """Start a roll-out of one layer's release idempotently by the client's id.

    201 when created; 200 with the stored roll-out when the same id is started again with
    the same layer, scaffold, version and mode; 409 when the id is another roll-out's. Anyone
    signed in may start one (each service's result is then recorded by its team). The
    platform sets ``started_by`` (the token's user) and ``started_at`` (its clock).
    """
    action, target = "rollout.start", f"rollout {rollout_id}"
    who = refuse_unless(request, who, None, action, target)
    detail = f"{body.layer} {body.scaffold} {body.version} {body.mode}"
    status, stored = store.start_rollout(
        rollout_id,
        body,
        who.user,
        clock(),
        lambda outcome: event(request, who, action, target, outcome, detail),
    )
    if isinstance(stored, str):
        raise refused(request, who, action, target, status, stored, stored)
    response.status_code = status
    return stored


@router.put("/v1/rollouts/{id}/services/{name}")
def record_rollout_service(
    request: Request,
    who: Caller,
    store: StoreDep,
    clock: ClockDep,
    rollout_id: RolloutId,
    name: PathName,
    body: s.RolloutServiceIn,
) -> s.RolloutServiceOut:
    """Record what became of one service in a roll-out (replaces its earlier result).

    Only the owning team's members and admins may (403). 404 when the roll-out or the service
    is not in the catalog; 409 when the roll-out has finished or the service is archived.
    """
    action, target = "rollout.service", f"rollout {rollout_id}/{name}"
    found = store.get_service(name)
    who = refuse_unless(request, who, found.owner if found else None, action, target)
    status, stored = store.record_rollout_service(
        rollout_id,
        name,
        body,
        clock(),
        event(request, who, action, target, "recorded", body.status),
    )
    if isinstance(stored, str):
        raise refused(request, who, action, target, status, stored)
    return stored


@router.post("/v1/rollouts/{id}/finish")
def finish_rollout(
    request: Request, who: Caller, store: StoreDep, clock: ClockDep, rollout_id: RolloutId
) -> s.RolloutDetailOut:
    """Finish a roll-out: no more results are taken. Idempotent: a finished roll-out keeps
    its ``finished_at``. Only the user who started it and admins may (403)."""
    action, target = "rollout.finish", f"rollout {rollout_id}"
    who = refuse_unless(request, who, None, action, target)
    found = store.rollout(rollout_id)
    if found is None:
        message = f"rollout {rollout_id} is not in the catalog"
        raise refused(request, who, action, target, 404, message)
    if found.started_by != who.user and not who.admin:
        message = f"{target} was started by {found.started_by}: only they or an admin may finish it"
        raise refused(request, who, action, target, 403, message, f"started by {found.started_by}")
    finished = store.finish_rollout(
        rollout_id, clock(), lambda outcome: event(request, who, action, target, outcome)
    )
    assert finished is not None  # roll-outs are never deleted
    return finished
