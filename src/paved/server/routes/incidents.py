"""``/v1/incidents``: incidents of services, opened and resolved by their teams.

An incident is opened and resolved at the platform's clock by a member of the team that owns
the service (or an admin); both are audited, refused attempts too. Delivery metrics count
them (docs/metrics.md).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Request, Response

from paved.server import _schemas as s
from paved.server._access import Caller, Reader, refuse_unless, refused
from paved.server._audit import event
from paved.server._state import ClockDep, ConfigDep, StoreDep
from paved.server.routes._query import Limit, NameQuery

__all__ = ["router"]

router = APIRouter(tags=["incidents"])

IncidentId = Annotated[int, Path(alias="id", ge=1, le=s.MAX_ID)]
OpenDryRun = Annotated[
    bool,
    Query(
        description=(
            "Run every check of the incident (token, owner team, service known, the "
            "deployment it names) and write nothing: 200 with the incident as it would be "
            "(its id null)."
        )
    ),
]
ResolveDryRun = Annotated[
    bool,
    Query(
        description=(
            "Run every check (token, owner team, incident known and open) and write "
            "nothing: 200 with the incident as it would be."
        )
    ),
]


@router.post(
    "/v1/incidents",
    status_code=201,
    responses={200: {"model": s.IncidentOut, "description": "dry run: nothing stored"}},
)
def open_incident(
    request: Request,
    response: Response,
    who: Caller,
    store: StoreDep,
    clock: ClockDep,
    config: ConfigDep,
    body: s.IncidentIn,
    dry_run: OpenDryRun = False,
) -> s.IncidentOut:
    """Open an incident of a service in an environment, now (the platform's clock).

    Only a member of the team that owns the service (or an admin) may open one (403); 404
    when the service is not in the catalog, 409 when it is archived; 422 when the
    environment is neither dev, staging, prod nor one of the platform's settings and the
    service has no deployments there, or when ``deployment_id`` is not a deployment of
    that service to that environment. The platform sets ``opened_by`` to the token's
    user. With ``dry_run`` nothing is written and a success is not audited.
    """
    action, target = "incident.open", f"incident of {body.service}/{body.environment}"
    found = store.get_service(body.service)
    who = refuse_unless(request, who, found.owner if found else None, action, target)
    if found is not None and found.archived_at is not None:
        message = f"service '{body.service}' is archived: it takes no incidents"
        raise refused(request, who, action, target, 409, message, "archived")
    known = {"dev", "staging", "prod", *(config.settings.get("environments") or {})}
    if found is not None and body.environment not in known:
        deployed, _ = store.deployments(
            service=body.service, environment=body.environment, after=None, limit=1
        )
        if not deployed:
            message = (
                f"environment '{body.environment}' is not one the platform knows (dev, "
                "staging, prod or one of its settings) and the service has no deployments "
                "there"
            )
            raise refused(request, who, action, target, 422, message, message)
    status, stored = store.open_incident(
        body,
        opened_by=who.user,
        now=clock(),
        dry_run=dry_run,
        event=lambda new_id: event(
            request, who, action, target, "opened", f"id {new_id}, {body.severity}"
        ),
    )
    if isinstance(stored, str):
        raise refused(request, who, action, target, status, stored, stored)
    response.status_code = status
    return stored


@router.post("/v1/incidents/{id}/resolve")
def resolve_incident(
    request: Request,
    who: Caller,
    store: StoreDep,
    clock: ClockDep,
    incident_id: IncidentId,
    dry_run: ResolveDryRun = False,
) -> s.IncidentOut:
    """Resolve an open incident, now (the platform's clock).

    Only a member of the team that owns the service (or an admin) may resolve it (403); 404
    when there is no such incident; 409 when it is resolved already. The platform sets
    ``resolved_by`` to the token's user. With ``dry_run`` nothing is written and a success
    is not audited.
    """
    action, target = "incident.resolve", f"incident {incident_id}"
    who = refuse_unless(request, who, None, action, target)
    found = store.incident(incident_id)
    if found is None:
        raise refused(request, who, action, target, 404, f"incident {incident_id} is not known")
    who = refuse_unless(request, who, found[1], action, target)
    status, stored = store.resolve_incident(
        incident_id,
        resolved_by=who.user,
        now=clock(),
        dry_run=dry_run,
        event=event(request, who, action, target, "resolved", f"id {incident_id}"),
    )
    if isinstance(stored, str):
        raise refused(request, who, action, target, status, stored, stored)
    return stored


@router.get("/v1/incidents")
def list_incidents(
    who: Reader,
    store: StoreDep,
    service: NameQuery = None,
    team: NameQuery = None,
    open: Annotated[
        bool | None,
        Query(description="true: open incidents only; false: resolved ones only; unset: all."),
    ] = None,
    limit: Limit = 100,
) -> s.IncidentList:
    """Incidents, newest first: of a service, of a team's services, open or resolved."""
    found = store.incidents(service=service, team=team, open_only=open, limit=limit)
    return s.IncidentList(incidents=found)
