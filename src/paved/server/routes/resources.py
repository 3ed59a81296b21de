"""``/v1/services/{name}/resources``: a service's data resources and the journal of the
requests for them.

A member of the owning team asks for a resource (``POST``): the request opens ``started``;
the caller makes the change (``paved add``) and closes it (``PATCH``) ``committed``, which
adds the resource to the service's catalog entry, or ``failed``. With ``"apply": true`` the
request opens ``requested`` and the platform makes the change itself on a branch of the
service's repository, after the answer (:mod:`paved.server._apply`), and closes it.
Everything is audited.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, BackgroundTasks, Path, Query, Request, Response

from paved.server import _schemas as s
from paved.server._access import Caller, Reader, refuse_unless, refused
from paved.server._apply import ApplyJob, default_branch
from paved.server._audit import event, printable
from paved.server._errors import ApiError
from paved.server._state import ApplierDep, ClockDep, StoreDep
from paved.server.routes._query import Cursor, Limit, PathName, cursor_after, decode_cursor

__all__ = ["router"]

router = APIRouter(tags=["resources"])

RequestId = Annotated[int, Path(alias="id", ge=1, le=s.MAX_ID)]
RequestDryRun = Annotated[
    bool,
    Query(
        description=(
            "Run every check of the request (token, owner team, service known and not "
            "archived, the resource's rules, the name free) and write nothing: 200 with the "
            "request as it would be (its id null)."
        )
    ),
]


@router.post(
    "/v1/services/{name}/resources",
    status_code=201,
    responses={
        200: {"model": s.ResourceRequestOut, "description": "dry run: nothing stored"},
        202: {"model": s.ResourceRequestOut, "description": "apply: the platform makes it"},
    },
)
def request_resource(
    request: Request,
    response: Response,
    tasks: BackgroundTasks,
    who: Caller,
    store: StoreDep,
    clock: ClockDep,
    applier: ApplierDep,
    name: PathName,
    body: s.ResourceRequestIn,
    dry_run: RequestDryRun = False,
) -> s.ResourceRequestOut:
    """Ask for a data resource (a database, a bucket or a queue) of a service.

    Only a member of the team that owns the service (or an admin) may ask (403). 404 when the
    service is not in the catalog or archived; 422 when the resource breaks the road's rules
    (kind, name, options); 409 when the name is in the service's catalog entry or in one of
    its open requests. 201 with the request, state ``started``: the caller makes the change
    and closes it with ``PATCH /v1/services/{name}/resources/{id}``. With ``dry_run`` nothing
    is written and a success is not audited.

    With ``apply`` (the same checks): 202 with the request, state ``requested``; the platform
    then adds the resource on the branch (by default ``paved/add-KIND-NAME``) of the
    service's repository, pushes the branch, and closes the request ``committed`` with the
    commit, or ``failed`` with the reason (``GET`` shows it). The resource joins the catalog
    entry when the branch is merged.
    """
    action, target = "resource.request", f"resource {name}/{body.name}"
    found = store.get_service(name)
    who = refuse_unless(request, who, found.owner if found else None, action, target)
    resource = body.resource()
    state = "requested" if body.apply else "started"
    branch = body.branch or (default_branch(resource) if body.apply else None)
    status, stored = store.request_resource(
        name,
        resource,
        branch=branch,
        requested_by=who.user,
        now=clock(),
        dry_run=dry_run,
        event=lambda new_id: event(
            request, who, action, target, state, f"id {new_id}, {resource.kind}"
        ),
        state=state,
    )
    if isinstance(stored, str):
        raise refused(request, who, action, target, status, stored, stored)
    if body.apply and stored.id is not None and branch is not None:
        address = request.client.host if request.client else "unknown"
        job = ApplyJob(name, stored.id, resource, branch, who.user, printable(address, 100))
        tasks.add_task(applier.apply, store, clock, job)
        status = 202
    response.status_code = status
    return stored


@router.patch("/v1/services/{name}/resources/{id}")
def close_resource_request(
    request: Request,
    who: Caller,
    store: StoreDep,
    clock: ClockDep,
    name: PathName,
    request_id: RequestId,
    body: s.ResourceRequestCloseIn,
) -> s.ResourceRequestOut:
    """Close an open request: ``committed`` (the change is in the service's repository; the
    resource joins the service's catalog entry in the same transaction) or ``failed``.

    Only the user who asked (or an admin) may close it (403); 404 when the service has no
    such request; 409 when it is closed already (a closed request never changes).
    ``commit`` and ``branch`` are kept from the request when not sent.
    """
    action, target = "resource.close", f"resource request {name}/{request_id}"
    who = refuse_unless(request, who, None, action, target)
    found = store.resource_request(name, request_id)
    if found is None:
        message = f"service '{name}' has no resource request {request_id}"
        raise refused(request, who, action, target, 404, message)
    if found.requested_by != who.user and not who.admin:
        message = (
            f"resource request {request_id} was made by {found.requested_by}: only they "
            "(or an admin) may close it"
        )
        raise refused(request, who, action, target, 403, message, f"by {found.requested_by}")
    done = event(request, who, action, target, body.state, f"id {request_id}, {found.name}")
    status, closed = store.close_resource_request(
        name, request_id, body.model_dump(), clock(), done
    )
    if isinstance(closed, str):
        raise refused(request, who, action, target, status, closed, closed)
    return closed


@router.get("/v1/services/{name}/resources")
def list_resources(
    who: Reader, store: StoreDep, name: PathName, cursor: Cursor = None, limit: Limit = 100
) -> s.ServiceResourcesOut:
    """A service's data resources (its catalog entry, in the order added) and the requests
    for them, newest first, a page at a time. 404 when the service is not in the catalog."""
    found = store.resources(name, before=decode_cursor(cursor, int), limit=limit)
    if found is None:
        raise ApiError(404, "not_found", f"service '{name}' is not in the catalog")
    made, page, more = found
    last = page[-1].id if more and page else None
    return s.ServiceResourcesOut(
        service=name, data_resources=made, requests=page, next_cursor=cursor_after(last)
    )
