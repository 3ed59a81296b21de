"""``/v1/services``: the catalog of services, registered idempotently by name."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request, Response

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
    TokenQuery,
    cursor_after,
    decode_cursor,
)

__all__ = ["router"]

router = APIRouter(tags=["services"])

DryRun = Annotated[
    bool,
    Query(
        description=(
            "Run every check of the registration (token, owner team and that it is "
            "known, name taken or "
            "archived, repository rule) and write nothing: 201 with the entry it would "
            "create, 200 with the stored one when this exact registration exists."
        )
    ),
]

LayersDryRun = Annotated[
    bool,
    Query(
        description=(
            "Run every check of the change (token, owner team, service known and not "
            "archived, the layers) and write nothing: 200 with the entry as it would be."
        )
    ),
]


@router.get("/v1/services")
def list_services(
    who: Reader,
    store: StoreDep,
    owner: NameQuery = None,
    template: TokenQuery = None,
    include_archived: bool = False,
    cursor: Cursor = None,
    limit: Limit = 100,
) -> s.ServicePage:
    """Services by name, a page at a time; filter by owner team or scaffold."""
    page, more = store.list_services(
        owner=owner,
        template=template,
        include_archived=include_archived,
        after=decode_cursor(cursor, str),
        limit=limit,
    )
    return s.ServicePage(services=page, next_cursor=cursor_after(page[-1].name if more else None))


@router.get("/v1/services/{name}")
def show_service(who: Reader, store: StoreDep, name: PathName) -> s.ServiceOut:
    """One service, archived or not."""
    found = store.get_service(name)
    if found is None:
        raise ApiError(404, "not_found", f"service '{name}' is not in the catalog")
    return found


@router.post(
    "/v1/services",
    status_code=201,
    responses={200: {"model": s.ServiceOut, "description": "already registered, unchanged"}},
)
def register_service(
    request: Request,
    response: Response,
    who: Caller,
    store: StoreDep,
    clock: ClockDep,
    body: s.ServiceIn,
    dry_run: DryRun = False,
) -> s.ServiceOut:
    """Register a service idempotently by name.

    201 when created; 200 with the stored entry when the same name is registered again
    with the same owner and repository; 409 when the name is taken otherwise or archived;
    422 when the owner is not a team the platform knows (``GET /v1/teams``).
    The repository must be a URL other members can reach (not a path, not ``file:``).
    With ``dry_run`` nothing is written and a success is not audited.
    """
    target = f"service {body.name}"
    who = refuse_unless(request, who, body.owner, "service.register", target)
    status, stored = store.register(
        body,
        clock(),
        dry_run=dry_run,
        event=lambda outcome: event(request, who, "service.register", target, outcome),
    )
    if isinstance(stored, str):
        raise refused(request, who, "service.register", target, status, stored, stored)
    response.status_code = status
    return stored


@router.post("/v1/services/{name}/archive")
def archive_service(
    request: Request, who: Caller, store: StoreDep, clock: ClockDep, name: PathName
) -> s.ServiceOut:
    """Archive a service: it leaves the default listing; its name stays taken."""
    action, target = "service.archive", f"service {name}"
    found = store.get_service(name)
    who = refuse_unless(request, who, found.owner if found else None, action, target)
    if found is None:
        message = f"service '{name}' is not in the catalog"
        raise refused(request, who, action, target, 404, message)
    return store.archive(name, clock(), event(request, who, action, target, "archived"))


@router.put("/v1/services/{name}/layers")
def record_layers(
    request: Request,
    who: Caller,
    store: StoreDep,
    clock: ClockDep,
    name: PathName,
    body: s.LayersIn,
    dry_run: LayersDryRun = False,
) -> s.ServiceOut:
    """Record the layer versions a service has now (``paved update`` committed them).

    They replace the stored layers (and, with ``catalog``, the service's catalog entry;
    without it the stored entry is kept): 200 with the updated entry; the layers that
    changed go into the layer history (time to patch). 404 when the service is not in the
    catalog, 409 when it is archived; only the owning team's members and admins may (403).
    With ``dry_run`` nothing is written and a success is not audited.
    """
    action, target = "service.layers", f"service {name}"
    found = store.get_service(name)
    who = refuse_unless(request, who, found.owner if found else None, action, target)
    status, stored = store.record_layers(
        name,
        body.layers,
        clock(),
        dry_run=dry_run,
        event=event(request, who, action, target, "recorded"),
        catalog=body.catalog,
    )
    if isinstance(stored, str):
        raise refused(request, who, action, target, status, stored)
    return stored
