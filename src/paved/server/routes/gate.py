"""``/v1/services/{name}/gate``: what the guardrails gate found for a service.

``paved guardrails check --report`` sends each check's result; the adoption metrics read the
latest report of each service (docs/metrics.md). Reports are audited, refused ones too.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request, Response

from paved.server import _schemas as s
from paved.server._access import Caller, Reader, refuse_unless, refused
from paved.server._audit import event
from paved.server._errors import ApiError
from paved.server._state import ClockDep, StoreDep
from paved.server.routes._query import PathName

__all__ = ["router"]

router = APIRouter(tags=["gate"])

GateDryRun = Annotated[
    bool,
    Query(
        description=(
            "Run every check of the report (token, owner team, service known and not "
            "archived, the body) and write nothing: 200 with the report as it would be "
            "(its id null)."
        )
    ),
]


@router.post(
    "/v1/services/{name}/gate",
    status_code=201,
    responses={200: {"model": s.GateReportOut, "description": "dry run: nothing stored"}},
)
def report_gate(
    request: Request,
    response: Response,
    who: Caller,
    store: StoreDep,
    clock: ClockDep,
    name: PathName,
    body: s.GateReportIn,
    dry_run: GateDryRun = False,
) -> s.GateReportOut:
    """Report what ``paved guardrails check`` found at a commit of a service.

    Only a member of the team that owns the service (or an admin) may report (403); 404 when
    the service is not in the catalog, 409 when it is archived. ``rule_ids`` (the rules that
    failed) are kept sorted, each once; the platform sets ``reported_at`` (its clock) and
    ``reported_by`` (the token's user). With ``dry_run`` nothing is written and a success is
    not audited.
    """
    action, target = "gate.report", f"service {name}"
    found = store.get_service(name)
    who = refuse_unless(request, who, found.owner if found else None, action, target)
    status, stored = store.record_gate_report(
        name,
        body,
        reported_by=who.user,
        now=clock(),
        dry_run=dry_run,
        event=lambda new_id: event(
            request,
            who,
            action,
            target,
            "reported",
            f"id {new_id}, {'passed' if body.passed else 'failed'}, {body.findings} findings",
        ),
    )
    if isinstance(stored, str):
        raise refused(request, who, action, target, status, stored, stored)
    response.status_code = status
    return stored


@router.get("/v1/services/{name}/gate")
def latest_gate_report(who: Reader, store: StoreDep, name: PathName) -> s.GateReportOut:
    """The latest gate report of a service; 404 ``not_found`` for a service not in the
    catalog, 404 ``no_gate_report`` for one that has none."""
    if store.get_service(name) is None:
        raise ApiError(404, "not_found", f"service '{name}' is not in the catalog")
    found = store.latest_gate_report(name)
    if found is None:
        raise ApiError(404, "no_gate_report", f"service '{name}' has no gate report yet")
    return found
