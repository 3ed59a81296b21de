"""``/v1/deployments``: every deploy attempt, recorded whole or opened and finished."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Annotated, Any

from fastapi import APIRouter, Path, Request

from paved.models import CHANGE_START_MAX_AGE
from paved.server import _schemas as s
from paved.server._access import Caller, Reader, refuse_unless, refused
from paved.server._audit import event
from paved.server._auth import Identity
from paved.server._state import Clock, ClockDep, StoreDep
from paved.server._store import Store
from paved.server.routes._query import Cursor, Limit, NameQuery, cursor_after, decode_cursor

__all__ = ["router"]

router = APIRouter(tags=["deployments"])

#: How far ahead of the server's clock a client's timestamp may be (clocks drift).
MAX_SKEW = dt.timedelta(minutes=5)
#: How far behind the server's clock a deployment's ``started_at``/``finished_at`` may be: a
#: record is sent as the deploy ends (a client that was offline retries within a day).
MAX_DELAY = dt.timedelta(hours=24)
DeploymentId = Annotated[int, Path(alias="id", ge=1, le=s.MAX_ID)]


def _ahead(clock: Clock, stamps: Mapping[str, dt.datetime | None]) -> str | None:
    """Why one of ``stamps`` cannot be true (it is ahead of the server's clock), or None."""
    limit = clock() + MAX_SKEW
    for field, stamp in stamps.items():
        if stamp is not None and stamp > limit:
            return (
                f"{field} {stamp.isoformat()} is in the future (the platform's clock says "
                f"{clock().isoformat()}): check the clock of the machine that sent it"
            )
    return None


def _stale(clock: Clock, stamps: Mapping[str, dt.datetime | None]) -> str | None:
    """Why one of ``stamps`` cannot be accepted (it is more than :data:`MAX_DELAY` before
    the server's clock: a backdated record), or None."""
    now = clock()
    for field, stamp in stamps.items():
        if stamp is not None and stamp < now - MAX_DELAY:
            return (
                f"{field} {stamp.isoformat()} is more than 24 hours before the platform's "
                f"clock ({now.isoformat()}): a deployment is recorded when it happens"
            )
    return None


def _change_problem(body: s.DeploymentIn) -> str | None:
    """Why ``change_started_at`` cannot be true (more than :data:`CHANGE_START_MAX_AGE`
    before the deployed commit's time, or ``started_at`` when the record has none: an old
    commit deployed today is a change that began before it), or None."""
    began = body.change_started_at
    anchor, name = (
        (body.source_time, "source_time")
        if body.source_time is not None
        else (body.started_at, "started_at")
    )
    if began is not None and began < anchor - CHANGE_START_MAX_AGE:
        return (
            f"change_started_at {began.isoformat()} is more than "
            f"{CHANGE_START_MAX_AGE.days} days before {name} {anchor.isoformat()}"
        )
    return None


def _link_problem(
    store: Store, service: str, environment: str, links: Mapping[str, int | None]
) -> str | None:
    """Why ``rollback_of`` or ``restored`` cannot be true, or ``None``: each must name a
    deployment of the same service to the same environment."""
    places = store.places(value for value in links.values() if value is not None)
    for field, value in links.items():
        if value is None:
            continue
        place = places.get(value)
        if place is None:
            return f"{field} {value} is not a deployment in the catalog"
        if place != (service, environment):
            return (
                f"{field} {value} is a deployment of {place[0]} to {place[1]}, "
                f"not of {service} to {environment}"
            )
    return None


def _may_record(
    request: Request, who: Identity | None, store: Store, body: s.DeploymentIn, target: str
) -> Identity:
    """``who``, if they may record ``body``; refused (and audited) otherwise."""
    action = "deployment.record"
    found = store.get_service(body.service)
    who = refuse_unless(request, who, found.owner if found else None, action, target)
    if body.outcome == "started" and (found is None or found.archived_at is not None):
        state = "not registered" if found is None else "archived"
        message = (
            f"service '{body.service}' is {state}: a deployment starts only for a "
            "registered service of one of your teams"
        )
        raise refused(request, who, action, target, 403, message, state)
    if found is None and body.outcome != "refused" and not who.admin:
        message = f"service '{body.service}' is not registered: register it first"
        raise refused(request, who, action, target, 403, message, "not registered")
    return who


@router.post("/v1/deployments", status_code=201)
def record_deployment(
    request: Request, who: Caller, store: StoreDep, clock: ClockDep, body: s.DeploymentIn
) -> s.DeploymentOut:
    """Record one deploy attempt, whole, or open it as ``started`` before its effect.

    A member records deployments of their teams' services only. A refused attempt of a
    service that is not registered is accepted from anyone signed in (nothing was deployed).
    A ``started`` record (no ``finished_at``) is accepted only for a registered service
    that is not archived, from one of its team's members or an admin; close it with
    ``POST /v1/deployments/{id}/finish``.

    The platform sets ``actor`` to the token's user. ``rollback_of`` and ``restored`` must
    name deployments of the same service and environment; no time may be more than five
    minutes ahead of the platform's clock, nor ``started_at``/``finished_at`` more than 24
    hours behind it, nor ``change_started_at`` more than 90 days before ``started_at``. The
    platform records who finished it (``finished_by``) and when the record reached it
    (``recorded_at``, its own clock).
    """
    action, target = "deployment.record", f"deployment {body.service}/{body.environment}"
    who = _may_record(request, who, store, body, target)
    stamps = {
        "started_at": body.started_at,
        "finished_at": body.finished_at,
        "source_time": body.source_time,
    }
    links = {"rollback_of": body.rollback_of, "restored": body.restored}
    problem = (
        _ahead(clock, stamps)
        or _stale(clock, {"started_at": body.started_at, "finished_at": body.finished_at})
        or _change_problem(body)
        or _link_problem(store, body.service, body.environment, links)
    )
    if problem is not None:
        raise refused(request, who, action, target, 422, problem, problem)
    values = {**body.model_dump(), "actor": who.user, "recorded_by": who.user}
    if body.outcome != "started":  # a whole record: its sender finished it, now
        values.update(finished_by=who.user, recorded_at=clock())
    return store.record_deployment(
        values,
        lambda new_id: event(
            request, who, action, target, "recorded", f"id {new_id}, {body.outcome}"
        ),
    )


def _may_finish(
    request: Request, who: Identity | None, store: Store, deployment_id: int, target: str
) -> tuple[Identity, s.DeploymentOut]:
    """``who`` and the deployment, if they may finish it; refused (and audited) otherwise."""
    action = "deployment.finish"
    who = refuse_unless(request, who, None, action, target)
    found = store.deployment(deployment_id)
    if found is None:
        message = f"deployment {deployment_id} is not in the catalog"
        raise refused(request, who, action, target, 404, message)
    row, service = found
    if service is None and not who.admin:
        message = f"service '{row.service}' is not registered: only an admin may finish it"
        raise refused(request, who, action, target, 403, message, "not registered")
    who = refuse_unless(request, who, service.owner if service else None, action, target)
    if row.outcome != "started":
        message = (
            f"deployment {deployment_id} has finished already (outcome {row.outcome}): "
            "only a started deployment can be finished"
        )
        raise refused(request, who, action, target, 409, message, message)
    return who, row


@router.post("/v1/deployments/{id}/finish")
def finish_deployment(
    request: Request,
    who: Caller,
    store: StoreDep,
    clock: ClockDep,
    deployment_id: DeploymentId,
    body: s.DeploymentFinishIn,
) -> s.DeploymentOut:
    """Close a ``started`` deployment with what happened to it.

    Only a member of the team that owns the service, or an admin, may close it; 409 when
    it is not ``started`` any more. ``finished_at`` may not be before ``started_at``, more
    than five minutes ahead of the platform's clock nor more than 24 hours behind it.
    ``actor`` stays who opened it; ``finished_by`` is the token's user and ``recorded_at``
    the platform's clock; ``revision`` and ``manifests`` are kept when not sent.
    """
    action, target = "deployment.finish", f"deployment {deployment_id}"
    who, row = _may_finish(request, who, store, deployment_id, target)
    problem = _ahead(clock, {"finished_at": body.finished_at}) or _stale(
        clock, {"finished_at": body.finished_at}
    )
    if body.finished_at < row.started_at:
        problem = (
            f"finished_at {body.finished_at.isoformat()} is before "
            f"started_at {row.started_at.isoformat()}"
        )
    if problem is not None:
        raise refused(request, who, action, target, 422, problem, problem)
    # The actor stays who opened it; finished_by says who closed it, recorded_at when.
    values: dict[str, Any] = body.model_dump(exclude_none=True)
    values.update(finished_by=who.user, recorded_at=clock())
    done = event(request, who, action, target, "finished", f"id {deployment_id}, {body.outcome}")
    changed, finished = store.finish_deployment(deployment_id, values, done)
    if not changed:  # finished meanwhile by another request
        message = f"deployment {deployment_id} has finished already (outcome {finished.outcome})"
        raise refused(request, who, action, target, 409, message, message)
    return finished


@router.get("/v1/deployments")
def list_deployments(
    who: Reader,
    store: StoreDep,
    service: NameQuery = None,
    environment: NameQuery = None,
    cursor: Cursor = None,
    limit: Limit = 100,
) -> s.DeploymentPage:
    """Deploy attempts, oldest first, a page at a time."""
    page, more = store.deployments(
        service=service,
        environment=environment,
        after=decode_cursor(cursor, int),
        limit=limit,
    )
    return s.DeploymentPage(
        deployments=page, next_cursor=cursor_after(page[-1].id if more else None)
    )
