"""The console's reads that the API's store has no method for: the catalog with search and
filters, the latest deployments per environment, the latest gate report, an audit excerpt.

Read-only queries over the platform's tables; each is one or two indexed statements, so
that a page stays fast with 10,000 services and 100,000 deployments.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

import sqlalchemy as sa

from paved.server._tables import (
    audit_events,
    deployments,
    gate_reports,
    service_layers,
    services,
)

__all__ = [
    "GATE_STATES",
    "CatalogFilter",
    "CatalogPage",
    "CatalogRow",
    "GateReport",
    "catalog_page",
    "data_version",
    "latest_deployments",
    "latest_gate",
    "road_counts",
    "road_versions",
    "service_audit",
]

#: The gate filter's values: the latest report passed, failed, or there is none.
GATE_STATES = ("passing", "failing", "unreported")


@dataclasses.dataclass(frozen=True)
class CatalogFilter:
    search: str = ""
    team: str = ""
    road: str = ""
    gate: str = ""


@dataclasses.dataclass(frozen=True)
class CatalogRow:
    name: str
    owner: str
    lifecycle: str
    road: str
    gate: str


@dataclasses.dataclass(frozen=True)
class CatalogPage:
    rows: list[CatalogRow]
    total: int
    page: int
    pages: int


@dataclasses.dataclass(frozen=True)
class GateReport:
    passed: bool
    rule_ids: list[str]
    findings: int
    commit: str | None
    reported_at: dt.datetime
    reported_by: str


def _latest_gate_ids() -> sa.Subquery:
    return (
        sa.select(gate_reports.c.service, sa.func.max(gate_reports.c.id).label("id"))
        .group_by(gate_reports.c.service)
        .subquery("latest_gate")
    )


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def catalog_page(engine: sa.Engine, where: CatalogFilter, *, page: int, size: int) -> CatalogPage:
    """Page ``page`` (from 1) of the services that are not archived and match ``where``,
    by name, with each one's road version and gate state.

    The count joins only what the filter needs; the road versions and gate states are read
    for the page's services alone, so a page costs the same with 10 services or 10,000."""
    latest = _latest_gate_ids()
    gate = gate_reports.alias("gate")
    matching = sa.select(services.c.name).where(services.c.archived_at.is_(None))
    if where.search:
        pattern = f"%{_escape_like(where.search)}%"
        matching = matching.where(services.c.name.like(pattern, escape="\\"))
    if where.team:
        matching = matching.where(services.c.owner == where.team)
    if where.road:
        on_road = sa.select(service_layers.c.service).where(
            service_layers.c.layer == "road", service_layers.c.version == where.road
        )
        matching = matching.where(services.c.name.in_(on_road))
    if where.gate:
        reported = sa.select(latest.c.service)
        if where.gate == "unreported":
            matching = matching.where(services.c.name.not_in(reported))
        else:
            passed = where.gate == "passing"
            judged = (
                sa.select(latest.c.service)
                .join(gate, gate.c.id == latest.c.id)
                .where(gate.c.passed.is_(passed))
            )
            matching = matching.where(services.c.name.in_(judged))
    counted = sa.select(sa.func.count()).select_from(matching.subquery())
    with engine.connect() as conn:
        total = int(conn.execute(counted).scalar_one())
        pages = max(1, -(-total // size))
        page = min(max(page, 1), pages)
        names = [
            row.name
            for row in conn.execute(
                matching.order_by(services.c.name).limit(size).offset((page - 1) * size)
            )
        ]
        rows = conn.execute(
            sa.select(services.c.name, services.c.owner, services.c.lifecycle).where(
                services.c.name.in_(names)
            )
        ).all()
        roads = {
            row.service: f"{row.scaffold} {row.version}"
            for row in conn.execute(
                sa.select(
                    service_layers.c.service, service_layers.c.scaffold, service_layers.c.version
                ).where(service_layers.c.layer == "road", service_layers.c.service.in_(names))
            )
        }
        newest = (
            sa.select(gate_reports.c.service, sa.func.max(gate_reports.c.id).label("id"))
            .where(gate_reports.c.service.in_(names))
            .group_by(gate_reports.c.service)
            .subquery()
        )
        gates = {
            row.service: ("passing" if row.passed else "failing")
            for row in conn.execute(
                sa.select(gate_reports.c.service, gate_reports.c.passed).join(
                    newest, newest.c.id == gate_reports.c.id
                )
            )
        }
    by_name = {row.name: row for row in rows}
    return CatalogPage(
        rows=[
            CatalogRow(
                name=name,
                owner=by_name[name].owner,
                lifecycle=by_name[name].lifecycle,
                road=roads.get(name, ""),
                gate=gates.get(name, "unreported"),
            )
            for name in names
            if name in by_name
        ],
        total=total,
        page=page,
        pages=pages,
    )


def road_counts(engine: sa.Engine) -> list[tuple[str, str, int]]:
    """Services that are not archived per road (scaffold, version)."""
    query = (
        sa.select(service_layers.c.scaffold, service_layers.c.version, sa.func.count())
        .join(services, services.c.name == service_layers.c.service)
        .where(service_layers.c.layer == "road", services.c.archived_at.is_(None))
        .group_by(service_layers.c.scaffold, service_layers.c.version)
    )
    with engine.connect() as conn:
        return [(scaffold, version, int(n)) for scaffold, version, n in conn.execute(query)]


def data_version(engine: sa.Engine) -> int:
    """The id of the newest audit row that is not the console's own: every change through
    the platform writes one (a deployment recorded or finished, a service, a layer, an
    incident, a token), so the figures computed at one value hold until it moves. A sign-in
    or sign-out (``console.*``) changes no figure and does not move it."""
    query = sa.select(sa.func.max(audit_events.c.id)).where(
        sa.not_(audit_events.c.action.startswith("console.", autoescape=True))
    )
    with engine.connect() as conn:
        return int(conn.execute(query).scalar() or 0)


def road_versions(engine: sa.Engine) -> list[str]:
    """The road versions services are on, for the catalog's filter."""
    query = (
        sa.select(service_layers.c.version)
        .where(service_layers.c.layer == "road")
        .distinct()
        .order_by(service_layers.c.version)
    )
    with engine.connect() as conn:
        return [row.version for row in conn.execute(query)]


def latest_deployments(
    engine: sa.Engine, service: str, *, per_environment: int
) -> dict[str, list[dict[str, Any]]]:
    """The last ``per_environment`` deploy attempts of ``service`` in each environment,
    newest first, by environment name."""
    columns = (
        deployments.c.id,
        deployments.c.outcome,
        deployments.c.source_commit,
        deployments.c.actor,
        deployments.c.started_at,
        deployments.c.finished_at,
        deployments.c.rollback_of,
        deployments.c.break_glass,
    )
    found: dict[str, list[dict[str, Any]]] = {}
    with engine.connect() as conn:
        environments = conn.execute(
            sa.select(deployments.c.environment)
            .where(deployments.c.service == service)
            .distinct()
            .order_by(deployments.c.environment)
        ).all()
        for (environment,) in environments:
            rows = conn.execute(
                sa.select(*columns)
                .where(deployments.c.service == service, deployments.c.environment == environment)
                .order_by(deployments.c.id.desc())
                .limit(per_environment)
            ).all()
            found[environment] = [dict(row._mapping) for row in rows]
    return found


def latest_gate(engine: sa.Engine, service: str) -> GateReport | None:
    """The latest gate report of ``service``, or ``None``."""
    query = (
        sa.select(gate_reports)
        .where(gate_reports.c.service == service)
        .order_by(gate_reports.c.id.desc())
        .limit(1)
    )
    with engine.connect() as conn:
        row = conn.execute(query).first()
    if row is None:
        return None
    return GateReport(
        passed=bool(row.passed),
        rule_ids=[str(x) for x in row.rule_ids or []],
        findings=int(row.findings),
        commit=row.commit,
        reported_at=row.reported_at,
        reported_by=row.reported_by,
    )


def service_audit(engine: sa.Engine, service: str, *, limit: int) -> list[dict[str, Any]]:
    """The latest audit rows whose target is ``service`` (for admins), newest first."""
    query = (
        sa.select(
            audit_events.c.at,
            audit_events.c.actor,
            audit_events.c.action,
            audit_events.c.outcome,
        )
        .where(audit_events.c.target == f"service {service}")
        .order_by(audit_events.c.id.desc())
        .limit(limit)
    )
    with engine.connect() as conn:
        return [dict(row._mapping) for row in conn.execute(query)]
