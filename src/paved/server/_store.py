"""The platform database behind the API: every query the routers need, in SQLAlchemy Core.

A :class:`Store` wraps the engine. Each method is one transaction; a write that must be in
the audit trail takes its :class:`AuditEvent` and writes it in that same transaction, so a
change and its audit row are committed together or not at all.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import json
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

import pydantic
import sqlalchemy as sa

from paved.catalog import registration_conflict
from paved.models import ROLLOUT_STATUSES, DataResource
from paved.server import _schemas as s
from paved.server._db import writer
from paved.server._metrics import (
    GateRecord,
    IncidentRecord,
    LayerRecord,
    OnboardingPerson,
    OnboardingStepRecord,
    Record,
    month_start,
)
from paved.server._tables import (
    OPEN_REQUEST_STATES,
    audit_events,
    console_sessions,
    deployments,
    gate_reports,
    incidents,
    layer_history,
    onboarding_events,
    resource_requests,
    rollout_services,
    rollouts,
    service_layers,
    services,
    teams,
    tokens,
)

__all__ = ["AuditEvent", "Store"]

_RULE_ID = re.compile(s.RULE_ID_REGEX)


@dataclasses.dataclass(frozen=True)
class AuditEvent:
    """One row of the audit trail, ready to write."""

    at: dt.datetime
    actor: str
    action: str
    target: str
    address: str
    outcome: str
    detail: str = ""


def _data_resources_of(value: Any) -> list[s.DataResourceIn]:
    """The data resources stored as ``value`` (JSON text). The database is input: text that
    is not a list of data resources the road takes reads as none."""
    try:
        made = json.loads(value)
        if not isinstance(made, list):
            return []
        return [s.DataResourceIn.model_validate(x) for x in made]
    except (ValueError, TypeError, RecursionError):  # a pydantic.ValidationError is one too
        return []


def _catalog_of(row: Mapping[Any, Any]) -> s.CatalogEntryIn:
    """The catalog entry stored in ``row`` (a ``services`` row's values by column). The
    database is input: an entry that breaks the road's rules (written by hand, say) is served
    as the default entry, and data resources that do not read as the road's as none."""
    try:
        return _catalog_entry(
            row["lifecycle"],
            row["system"],
            row["api_definition"],
            row["resources"],
            row["data_resources"],
        )
    except TypeError:  # a column value that cannot be a key (not text)
        return s.CatalogEntryIn()


@functools.lru_cache(maxsize=4096)
def _catalog_entry(
    lifecycle: Any, system: Any, api_definition: Any, resources: Any, data_resources: Any
) -> s.CatalogEntryIn:
    """:func:`_catalog_of` for these column values, checked once per distinct value: most
    services share a handful of entries, and a page of 100 would check each again. The
    model is shared between answers, which never change it."""
    try:
        return s.CatalogEntryIn(
            lifecycle=lifecycle,
            system=system,
            api_definition=api_definition,
            resources=[x for x in resources.split(",") if x] if resources else [],
            data_resources=_data_resources_of(data_resources),
        )
    except (pydantic.ValidationError, AttributeError, TypeError):
        return s.CatalogEntryIn()


@functools.lru_cache(maxsize=4096)
def _layer(layer: Any, scaffold: Any, version: Any) -> s.LayerIn:
    """A stored layer, checked once per distinct value (a fleet shares a few versions)."""
    return s.LayerIn(layer=layer, scaffold=scaffold, version=version)


def _data_resources_value(made: Iterable[s.DataResourceIn]) -> str:
    return json.dumps([x.model_dump() for x in made], separators=(",", ":"))


def _catalog_values(entry: s.CatalogEntryIn) -> dict[str, str]:
    """The columns that keep ``entry``."""
    return {
        "lifecycle": entry.lifecycle,
        "system": entry.system,
        "api_definition": entry.api_definition,
        "resources": ",".join(entry.resources),
        "data_resources": _data_resources_value(entry.data_resources),
    }


#: The columns of a ``services`` row, in the order a select of the table gives them.
_SERVICE_COLUMNS = tuple(c.name for c in services.columns)
_LAYER_COLUMNS = (service_layers.c.layer, service_layers.c.scaffold, service_layers.c.version)


def _service_out(values: tuple[Any, ...], layers: tuple[tuple[Any, Any, Any], ...]) -> s.ServiceOut:
    """The service stored as ``values`` (a ``services`` row) with ``layers``, checked once per
    distinct row and layers (:func:`_service_entry`)."""
    try:
        return _service_entry(values, layers)
    except TypeError:  # a column value that cannot be a key
        return _service_entry.__wrapped__(values, layers)


@functools.lru_cache(maxsize=16_384)
def _service_entry(
    values: tuple[Any, ...], layers: tuple[tuple[Any, Any, Any], ...]
) -> s.ServiceOut:
    """A service as answered, built once per distinct stored row: a page of 100 would build
    and check each entry again on every request. The model is frozen and shared between
    answers; a changed row is another key."""
    row = dict(zip(_SERVICE_COLUMNS, values, strict=True))
    return s.ServiceOut(
        name=row["name"],
        owner=row["owner"],
        description=row["description"],
        repository=row["repository"],
        layers=[_layer(*layer) for layer in layers],
        catalog=_catalog_of(row),
        created_at=row["created_at"],
        archived_at=row["archived_at"],
    )


def _deployment_out(row: sa.Row[Any]) -> s.DeploymentOut:
    return s.DeploymentOut.model_validate(row._mapping)


def _incident_out(row: sa.Row[Any]) -> s.IncidentOut:
    return s.IncidentOut.model_validate(row._mapping)


def _incident(conn: sa.Connection, incident_id: int) -> sa.Row[Any] | None:
    return conn.execute(sa.select(incidents).where(incidents.c.id == incident_id)).first()


def _gate_report_out(row: sa.Row[Any]) -> s.GateReportOut:
    values = dict(row._mapping)
    kept = values["rule_ids"]
    # The database is input: a list that is not of rule ids reads as the ids in it that are.
    values["rule_ids"] = sorted(
        {x for x in kept if isinstance(x, str) and _RULE_ID.match(x)}
        if isinstance(kept, list)
        else set()
    )
    values["passed"] = bool(values["passed"])
    return s.GateReportOut.model_validate(values)


def _incident_records_query() -> sa.Select[Any]:
    """The columns of an :class:`IncidentRecord` and its service's owner."""
    return sa.select(
        incidents.c.id,
        incidents.c.service,
        incidents.c.opened_at,
        incidents.c.resolved_at,
        incidents.c.deployment_id,
        services.c.owner,
    ).join(services, services.c.name == incidents.c.service)


def _with_layers(chosen: sa.Select[Any]) -> sa.Select[Any]:
    """The services ``chosen`` selects (whole ``services`` rows: filtered, ordered, limited as
    it says), by name, each joined to its layers by layer name: what :func:`_services_read`
    reads."""
    page = chosen.subquery()
    return (
        sa.select(page, *(c.label(f"layer_{c.name}") for c in _LAYER_COLUMNS))
        .select_from(page.outerjoin(service_layers, service_layers.c.service == page.c.name))
        .order_by(page.c.name, service_layers.c.layer)
    )


@functools.cache
def _services_page(owner: bool, template: bool, archived: bool, after: bool) -> sa.Select[Any]:
    """The query of a page of services, built once per shape: the filters asked for take
    the bound values ``owner``, ``template`` and ``after``; ``limit`` is always bound."""
    query = sa.select(services).order_by(services.c.name).limit(sa.bindparam("limit"))
    if owner:
        query = query.where(services.c.owner == sa.bindparam("owner"))
    if template:
        made = sa.select(service_layers.c.service).where(
            service_layers.c.scaffold == sa.bindparam("template")
        )
        query = query.where(services.c.name.in_(made))
    if not archived:
        query = query.where(services.c.archived_at.is_(None))
    if after:
        query = query.where(services.c.name > sa.bindparam("after"))
    return _with_layers(query)


def _services_of(conn: sa.Connection, chosen: sa.Select[Any]) -> list[s.ServiceOut]:
    """The services ``chosen`` selects, with their layers (:func:`_with_layers`)."""
    return _services_read(conn, _with_layers(chosen), {})


def _services_read(
    conn: sa.Connection, query: sa.Select[Any], bound: Mapping[str, Any]
) -> list[s.ServiceOut]:
    """The services of ``query`` (made by :func:`_with_layers`), with ``bound`` values."""
    width = len(_SERVICE_COLUMNS)
    found: list[s.ServiceOut] = []
    values: tuple[Any, ...] | None = None
    layers: list[tuple[Any, Any, Any]] = []
    for row in conn.execute(query, dict(bound)):
        if values is None or row[0] != values[0]:
            if values is not None:
                found.append(_service_out(values, tuple(layers)))
            values, layers = tuple(row[:width]), []
        if row[width] is not None:  # a service without layers has one row, without a layer
            layers.append((row[width], row[width + 1], row[width + 2]))
    if values is not None:
        found.append(_service_out(values, tuple(layers)))
    return found


#: A token by its bound ``hash``: every request with a token reads it.
_TOKEN_BY_HASH = sa.select(tokens).where(tokens.c.hash == sa.bindparam("hash"))

#: One service by its bound ``name``, with its layers.
_ONE_SERVICE = _with_layers(sa.select(services).where(services.c.name == sa.bindparam("name")))


def _service(conn: sa.Connection, name: str) -> s.ServiceOut | None:
    found = _services_read(conn, _ONE_SERVICE, {"name": name})
    return found[0] if found else None


def _deployment(conn: sa.Connection, deployment_id: int) -> sa.Row[Any] | None:
    return conn.execute(sa.select(deployments).where(deployments.c.id == deployment_id)).first()


def _record_history(
    conn: sa.Connection, service: str, layers: Iterable[s.LayerIn], now: dt.datetime
) -> None:
    """Add ``layers`` (the ones that changed) to the service's layer history."""
    rows = [{"service": service, **layer.model_dump(), "recorded_at": now} for layer in layers]
    if rows:
        conn.execute(layer_history.insert(), rows)


def _insert_service(
    conn: sa.Connection, body: s.ServiceIn, layers: list[s.LayerIn], now: dt.datetime
) -> None:
    values = body.model_dump(exclude={"layers", "catalog"})
    values.update(_catalog_values(body.catalog))
    conn.execute(services.insert().values(**values, created_at=now))
    if layers:
        conn.execute(
            service_layers.insert(),
            [{"service": body.name, **layer.model_dump()} for layer in layers],
        )
        _record_history(conn, body.name, layers, now)


def _team_out(row: sa.Row[Any]) -> s.TeamOut:
    return s.TeamOut.model_validate(row._mapping)


def _known_teams(conn: sa.Connection, names: Iterable[str], now: dt.datetime) -> None:
    """Make each of ``names`` a known team (created by ``token``) unless it is one already."""
    rows = [{"name": name, "created_by": "token", "created_at": now} for name in sorted(set(names))]
    if not rows:
        return
    if conn.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        conn.execute(pg_insert(teams).on_conflict_do_nothing(index_elements=["name"]), rows)
    else:
        from sqlalchemy.dialects.sqlite import insert as sqlite_insert

        conn.execute(sqlite_insert(teams).on_conflict_do_nothing(index_elements=["name"]), rows)


def _team_known(conn: sa.Connection, name: str) -> bool:
    return conn.execute(sa.select(teams.c.name).where(teams.c.name == name)).first() is not None


def unknown_owner(owner: str) -> str:
    """The platform's refusal of a registration whose owner is not a known team."""
    return (
        f"team '{owner}' is not known to the platform: a platform admin creates it "
        "(paved platform team create, or POST /v1/teams), or a token naming it makes it known"
    )


def _rollout_counts(conn: sa.Connection, ids: Sequence[str]) -> dict[str, dict[str, int]]:
    counts = {rollout_id: dict.fromkeys(ROLLOUT_STATUSES, 0) for rollout_id in ids}
    if ids:
        query = (
            sa.select(rollout_services.c.rollout_id, rollout_services.c.status, sa.func.count())
            .where(rollout_services.c.rollout_id.in_(ids))
            .group_by(rollout_services.c.rollout_id, rollout_services.c.status)
        )
        for rollout_id, status, number in conn.execute(query):
            counts[rollout_id][status] = number
    return counts


def _rollouts_out(conn: sa.Connection, rows: Sequence[sa.Row[Any]]) -> list[s.RolloutOut]:
    counts = _rollout_counts(conn, [row.id for row in rows])
    return [s.RolloutOut(**row._mapping, counts=counts[row.id]) for row in rows]


def _rollout(conn: sa.Connection, rollout_id: str) -> s.RolloutDetailOut | None:
    row = conn.execute(sa.select(rollouts).where(rollouts.c.id == rollout_id)).first()
    if row is None:
        return None
    results = conn.execute(
        sa.select(rollout_services)
        .where(rollout_services.c.rollout_id == rollout_id)
        .order_by(rollout_services.c.service)
    )
    (summary,) = _rollouts_out(conn, [row])
    return s.RolloutDetailOut(
        **summary.model_dump(), services=[_rollout_service_out(r) for r in results]
    )


def _rollout_service_out(row: sa.Row[Any]) -> s.RolloutServiceOut:
    return s.RolloutServiceOut(
        rollout=row.rollout_id,
        service=row.service,
        status=row.status,
        detail=row.detail,
        branch=row.branch,
        updated_at=row.updated_at,
    )


def _request_out(row: sa.Row[Any]) -> s.ResourceRequestOut:
    values = dict(row._mapping)
    if not isinstance(values["options"], dict):  # the database is input
        values["options"] = {}
    return s.ResourceRequestOut.model_validate(values)


def _requested_resource(row: sa.Row[Any]) -> s.DataResourceIn | None:
    """The data resource request ``row`` asks for, or ``None`` if it breaks the road's rules."""
    options = row.options if isinstance(row.options, dict) else {}
    try:
        return s.DataResourceIn.model_validate({**options, "kind": row.kind, "name": row.name})
    except (pydantic.ValidationError, TypeError):
        return None


def _resource_request(conn: sa.Connection, request_id: int) -> sa.Row[Any] | None:
    query = sa.select(resource_requests).where(resource_requests.c.id == request_id)
    return conn.execute(query).first()


def _lock_service(conn: sa.Connection, name: str) -> sa.Row[Any] | None:
    """The row of service ``name``; on PostgreSQL locked until the transaction ends, so the
    requests and the catalog entry of one service change one at a time on every replica."""
    query = sa.select(services).where(services.c.name == name)
    if conn.dialect.name == "postgresql":
        query = query.with_for_update()
    return conn.execute(query).first()


#: What makes two starts of one roll-out the same start.
_ROLLOUT_FIELDS = ("layer", "scaffold", "version", "mode")


#: The columns of a deployment that delivery metrics read, in the order of :class:`Record`.
_RECORD_FIELDS = tuple(field.name for field in dataclasses.fields(Record))


class Store:
    """The platform database: services, deployments, the audit trail and tokens."""

    def __init__(
        self, engine: sa.Engine, *, audited: Callable[[AuditEvent], None] | None = None
    ) -> None:
        self.engine = engine
        self._writer = writer(engine)
        #: Told of each audit row once it is written (the server logs them).
        self._audited = audited

    # -- audit trail and tokens ----------------------------------------------------------

    def audit(self, event: AuditEvent, conn: sa.Connection | None = None) -> None:
        """Write ``event``: in ``conn``'s transaction, or in one of its own."""
        if conn is None:
            with self._writer.begin() as own:
                self.audit(event, own)
            return
        conn.execute(audit_events.insert().values(**dataclasses.asdict(event)))
        if self._audited is not None:
            self._audited(event)

    def audit_page(self, *, after: int | None, limit: int) -> tuple[list[s.AuditEventOut], bool]:
        """Up to ``limit`` audit events after id ``after``, oldest first; whether more follow."""
        query = sa.select(audit_events).order_by(audit_events.c.id).limit(limit + 1)
        if after is not None:
            query = query.where(audit_events.c.id > after)
        with self.engine.connect() as conn:
            rows = conn.execute(query).all()
        page = [s.AuditEventOut.model_validate(row._mapping) for row in rows[:limit]]
        return page, len(rows) > limit

    def token(self, digest: str) -> sa.Row[Any] | None:
        """The token whose hash is ``digest``, revoked and expired ones included."""
        with self.engine.connect() as conn:
            return conn.execute(_TOKEN_BY_HASH, {"hash": digest}).first()

    def tokens(self) -> list[sa.Row[Any]]:
        """Every token, oldest first, without its hash: what ``paved platform token list``
        shows."""
        columns = [c for c in tokens.c if c.name != "hash"]
        query = sa.select(*columns).order_by(tokens.c.created_at, tokens.c.id)
        with self.engine.connect() as conn:
            return list(conn.execute(query).all())

    def add_token(self, values: Mapping[str, Any], event: AuditEvent) -> None:
        """Insert the token ``values``; the teams it names become known, in one transaction."""
        with self._writer.begin() as conn:
            conn.execute(tokens.insert().values(**values))
            _known_teams(conn, values["teams"], values["created_at"])
            self.audit(event, conn)

    # -- web console sessions ------------------------------------------------------------

    def start_console_session(
        self,
        digest: str,
        token_id: str,
        now: dt.datetime,
        expires_at: dt.datetime,
        *,
        event: AuditEvent | None = None,
    ) -> None:
        """Open the console session whose cookie hashes to ``digest`` (SHA-256 hex; the
        cookie itself is never kept) for the token ``token_id``, until ``expires_at``
        (capped at the token's own expiry); ``event`` is its audit row, in the same
        transaction."""
        with self._writer.begin() as conn:
            token_expiry = conn.execute(
                sa.select(tokens.c.expires_at).where(tokens.c.id == token_id)
            ).scalar_one()
            conn.execute(
                console_sessions.insert().values(
                    id=digest,
                    token_id=token_id,
                    created_at=now,
                    expires_at=min(expires_at, token_expiry),
                )
            )
            if event is not None:
                self.audit(event, conn)

    def console_session(self, digest: str, now: dt.datetime) -> sa.Row[Any] | None:
        """The token behind the live console session ``digest``: its ``id``, ``user``,
        ``teams`` and ``admin`` (the caller's identity), or ``None`` when there is no such
        session, or it has ended or expired, or its token is revoked or expired."""
        caller = [tokens.c.id, tokens.c.user, tokens.c.teams, tokens.c.admin]
        query = (
            sa.select(*caller)
            .join(console_sessions, console_sessions.c.token_id == tokens.c.id)
            .where(
                console_sessions.c.id == digest,
                console_sessions.c.ended_at.is_(None),
                console_sessions.c.expires_at > now,
                tokens.c.revoked_at.is_(None),
                tokens.c.expires_at > now,
            )
        )
        with self.engine.connect() as conn:
            return conn.execute(query).first()

    def end_console_session(
        self, digest: str, now: dt.datetime, *, event: AuditEvent | None = None
    ) -> bool:
        """End the console session ``digest`` at ``now``; whether a live one was ended.
        ``event`` is its audit row (written only when one was), in the same transaction."""
        with self._writer.begin() as conn:
            changed = conn.execute(
                console_sessions.update()
                .where(console_sessions.c.id == digest, console_sessions.c.ended_at.is_(None))
                .values(ended_at=now)
            ).rowcount
            if changed and event is not None:
                self.audit(event, conn)
        return bool(changed)

    # -- teams ---------------------------------------------------------------------------

    def teams(self) -> list[s.TeamOut]:
        """Every team the platform knows, by name."""
        with self.engine.connect() as conn:
            rows = conn.execute(sa.select(teams).order_by(teams.c.name)).all()
        return [_team_out(row) for row in rows]

    def add_team(
        self,
        body: s.TeamIn,
        now: dt.datetime,
        *,
        created_by: str,
        event: Callable[[str], AuditEvent],
    ) -> tuple[int, s.TeamOut | str]:
        """Create the team ``body``: (201, new), (200, same as stored) or (409, why).

        ``event(outcome)`` is its audit row (``created`` or ``unchanged``), in the same
        transaction. A team made known by a token meanwhile is decided again.
        """
        for _attempt in range(3):
            try:
                return self._add_team(body, now, created_by=created_by, event=event)
            except sa.exc.IntegrityError:
                continue  # created meanwhile by another request: decide again
        return 409, f"team '{body.name}' is being created"  # pragma: no cover

    def _add_team(
        self,
        body: s.TeamIn,
        now: dt.datetime,
        *,
        created_by: str,
        event: Callable[[str], AuditEvent],
    ) -> tuple[int, s.TeamOut | str]:
        with self._writer.begin() as conn:
            row = conn.execute(sa.select(teams).where(teams.c.name == body.name)).first()
            if row is not None:
                stored = _team_out(row)
                if (stored.display_name, stored.description) != (
                    body.display_name,
                    body.description,
                ):
                    return 409, (
                        f"team '{body.name}' exists with another display name or description"
                    )
                self.audit(event("unchanged"), conn)
                return 200, stored
            values = {**body.model_dump(), "created_by": created_by, "created_at": now}
            conn.execute(teams.insert().values(**values))
            self.audit(event("created"), conn)
            created = conn.execute(sa.select(teams).where(teams.c.name == body.name)).one()
        return 201, _team_out(created)

    def organisation(self) -> tuple[list[s.TeamOut], list[s.ServiceOut]]:
        """Every known team and every registered service (archived ones too), by name."""
        with self.engine.connect() as conn:
            rows = conn.execute(sa.select(teams).order_by(teams.c.name)).all()
            return [_team_out(row) for row in rows], _services_of(conn, sa.select(services))

    def revoke_tokens(
        self,
        *,
        token_id: str | None,
        user: str | None,
        now: dt.datetime,
        event: Callable[[str], AuditEvent],
    ) -> list[str]:
        """Revoke the live tokens with ``token_id`` and of ``user``; audit each; their ids."""
        query = sa.select(tokens.c.id).where(tokens.c.revoked_at.is_(None))
        if token_id is not None:
            query = query.where(tokens.c.id == token_id)
        if user is not None:
            query = query.where(tokens.c.user == user)
        with self._writer.begin() as conn:
            ids = list(conn.scalars(query))
            if ids:
                conn.execute(tokens.update().where(tokens.c.id.in_(ids)).values(revoked_at=now))
            for revoked in ids:
                self.audit(event(revoked), conn)
        return ids

    # -- services ------------------------------------------------------------------------

    def get_service(self, name: str) -> s.ServiceOut | None:
        with self.engine.connect() as conn:
            return _service(conn, name)

    def list_services(
        self,
        *,
        owner: str | None,
        template: str | None,
        include_archived: bool,
        after: str | None,
        limit: int,
    ) -> tuple[list[s.ServiceOut], bool]:
        """Up to ``limit`` services named after ``after``, by name; whether more follow."""
        query = _services_page(
            owner is not None, template is not None, include_archived, after is not None
        )
        values = {"owner": owner, "template": template, "after": after, "limit": limit + 1}
        with self.engine.connect() as conn:
            found = _services_read(conn, query, {k: v for k, v in values.items() if v is not None})
        return found[:limit], len(found) > limit

    def register(
        self,
        body: s.ServiceIn,
        now: dt.datetime,
        *,
        dry_run: bool,
        event: Callable[[str], AuditEvent] | None = None,
    ) -> tuple[int, s.ServiceOut | str]:
        """Insert ``body`` unless its name is taken: (201, new), (200, same), (409, why), or
        (422, why) when its owner is not a known team.

        ``event(outcome)`` is the audit row of a success (``created`` or ``unchanged``),
        written in the registration's own transaction. With ``dry_run``: the same answer,
        and nothing inserted or audited. A registration of the same name by another request
        meanwhile is decided again, up to three times.
        """
        for _attempt in range(3):
            try:
                return self._register(body, now, dry_run=dry_run, event=event)
            except sa.exc.IntegrityError:
                continue  # registered meanwhile by another request: decide again
        return 409, f"service '{body.name}' is being registered"  # pragma: no cover

    def _register(
        self,
        body: s.ServiceIn,
        now: dt.datetime,
        *,
        dry_run: bool,
        event: Callable[[str], AuditEvent] | None,
    ) -> tuple[int, s.ServiceOut | str]:
        opened = self.engine.connect if dry_run else self._writer.begin
        with opened() as conn:
            existing = _service(conn, body.name)
            if existing is not None:
                conflict = registration_conflict(
                    body.name,
                    stored=(existing.owner, existing.repository),
                    wanted=(body.owner, body.repository),
                    archived=existing.archived_at is not None,
                )
                if conflict is not None:
                    return 409, conflict
                if event is not None and not dry_run:
                    self.audit(event("unchanged"), conn)
                return 200, existing
            if not _team_known(conn, body.owner):
                return 422, unknown_owner(body.owner)
            layers = sorted({x.layer: x for x in body.layers}.values(), key=lambda x: x.layer)
            if dry_run:
                fields = body.model_dump(exclude={"layers", "catalog"})
                return 201, s.ServiceOut(
                    **fields, layers=layers, catalog=body.catalog, created_at=now, archived_at=None
                )
            _insert_service(conn, body, layers, now)
            created = _service(conn, body.name)
            if event is not None:
                self.audit(event("created"), conn)
        assert created is not None
        return 201, created

    def archive(self, name: str, now: dt.datetime, event: AuditEvent) -> s.ServiceOut:
        """Archive the service ``name`` (once: an archived one keeps its first time)."""
        with self._writer.begin() as conn:
            conn.execute(
                services.update()
                .where(services.c.name == name, services.c.archived_at.is_(None))
                .values(archived_at=now)
            )
            self.audit(event, conn)
            archived = _service(conn, name)
        assert archived is not None
        return archived

    def record_layers(
        self,
        name: str,
        layers: Sequence[s.LayerIn],
        now: dt.datetime,
        *,
        dry_run: bool,
        event: AuditEvent,
        catalog: s.CatalogEntryIn | None = None,
    ) -> tuple[int, s.ServiceOut | str]:
        """Replace the layers of the service ``name`` (and its catalog entry, when
        ``catalog`` is given): (200, updated), (404, why) or (409, why).

        ``event`` is the audit row of the change and the layers that changed (another
        scaffold or version, or a layer it did not have) go into the layer history at
        ``now``, both in the change's own transaction. With ``dry_run``: the same answer, and
        nothing written or audited.
        """
        ordered = sorted(layers, key=lambda x: x.layer)
        opened = self.engine.connect if dry_run else self._writer.begin
        with opened() as conn:
            if not dry_run:  # two changes of one service's layers wait for each other
                lock = sa.select(services.c.name).where(services.c.name == name)
                conn.execute(lock.with_for_update())
            existing = _service(conn, name)
            if existing is None:
                return 404, f"service '{name}' is not in the catalog"
            if existing.archived_at is not None:
                return 409, f"service '{name}' is archived: its layers are kept as they were"
            if catalog is not None and "data_resources" not in catalog.model_fields_set:
                # A client from before data resources: the ones recorded stay.
                made = existing.catalog.data_resources
                catalog = s.CatalogEntryIn.model_validate(
                    {**catalog.model_dump(), "data_resources": [x.model_dump() for x in made]}
                )
            kept = existing.catalog if catalog is None else catalog
            if dry_run:
                return 200, existing.model_copy(update={"layers": ordered, "catalog": kept})
            if catalog is not None:
                conn.execute(
                    services.update()
                    .where(services.c.name == name)
                    .values(**_catalog_values(catalog))
                )
            conn.execute(service_layers.delete().where(service_layers.c.service == name))
            conn.execute(
                service_layers.insert(),
                [{"service": name, **layer.model_dump()} for layer in ordered],
            )
            had = {layer.layer: layer for layer in existing.layers}
            _record_history(conn, name, [x for x in ordered if had.get(x.layer) != x], now)
            self.audit(event, conn)
            updated = _service(conn, name)
        assert updated is not None
        return 200, updated

    # -- deployments ---------------------------------------------------------------------

    def deployment(self, deployment_id: int) -> tuple[s.DeploymentOut, s.ServiceOut | None] | None:
        """The deployment ``deployment_id`` and its service (``None`` if not registered)."""
        with self.engine.connect() as conn:
            row = _deployment(conn, deployment_id)
            if row is None:
                return None
            return _deployment_out(row), _service(conn, row.service)

    def places(self, ids: Iterable[int]) -> dict[int, tuple[str, str]]:
        """The service and environment of each of the deployments ``ids`` that exist."""
        wanted = set(ids)
        if not wanted:
            return {}
        query = sa.select(deployments.c.id, deployments.c.service, deployments.c.environment)
        with self.engine.connect() as conn:
            rows = conn.execute(query.where(deployments.c.id.in_(wanted)))
            return {row.id: (row.service, row.environment) for row in rows}

    def record_deployment(
        self, values: Mapping[str, Any], event: Callable[[int], AuditEvent]
    ) -> s.DeploymentOut:
        """Insert a deployment with ``values``; audit it with ``event`` of its new id."""
        with self._writer.begin() as conn:
            new_id = conn.execute(
                deployments.insert().values(**values).returning(deployments.c.id)
            ).scalar_one()
            self.audit(event(new_id), conn)
            row = _deployment(conn, new_id)
        assert row is not None
        return _deployment_out(row)

    def finish_deployment(
        self, deployment_id: int, values: Mapping[str, Any], event: AuditEvent
    ) -> tuple[bool, s.DeploymentOut]:
        """Close the ``started`` deployment with ``values`` (audited with ``event``).

        Returns whether it was closed now (not by another request meanwhile), and the record.
        """
        with self._writer.begin() as conn:
            changed = conn.execute(
                deployments.update()
                .where(deployments.c.id == deployment_id, deployments.c.outcome == "started")
                .values(**values)
            ).rowcount
            if changed:
                self.audit(event, conn)
            row = _deployment(conn, deployment_id)
        assert row is not None
        return bool(changed), _deployment_out(row)

    def deployments(
        self,
        *,
        service: str | None,
        environment: str | None,
        after: int | None,
        limit: int,
    ) -> tuple[list[s.DeploymentOut], bool]:
        """Up to ``limit`` deployments after id ``after``, oldest first; whether more follow."""
        query = sa.select(deployments).order_by(deployments.c.id).limit(limit + 1)
        if service is not None:
            query = query.where(deployments.c.service == service)
        if environment is not None:
            query = query.where(deployments.c.environment == environment)
        if after is not None:
            query = query.where(deployments.c.id > after)
        with self.engine.connect() as conn:
            rows = conn.execute(query).all()
        return [_deployment_out(row) for row in rows[:limit]], len(rows) > limit

    def finished_deployments(
        self,
        *,
        environment: str,
        start: dt.datetime,
        end: dt.datetime,
        team: str | None,
        service: str | None,
    ) -> list[tuple[str, Record]]:
        """Registered services' deployments that succeeded or failed in the window, oldest
        first, each with its service's owner."""
        query = (
            sa.select(*(deployments.c[field] for field in _RECORD_FIELDS), services.c.owner)
            .join(services, services.c.name == deployments.c.service)
            .where(
                deployments.c.environment == environment,
                # Refused attempts changed nothing; started ones are not over (no finished_at).
                deployments.c.outcome.in_(("succeeded", "failed")),
                deployments.c.finished_at >= start,
                deployments.c.finished_at <= end,
            )
            .order_by(deployments.c.id)
        )
        if team is not None:
            query = query.where(services.c.owner == team)
        if service is not None:
            query = query.where(deployments.c.service == service)
        with self.engine.connect() as conn:
            rows = conn.execute(query).all()
        # Positional (the select's order is the record's): this runs for every deployment.
        return [(row[-1], Record(*row[:-1])) for row in rows]

    def incident_records(
        self,
        *,
        environment: str,
        start: dt.datetime,
        end: dt.datetime,
        team: str | None,
        service: str | None,
    ) -> list[tuple[str, IncidentRecord]]:
        """The incidents opened in the window in ``environment``, oldest first, each with its
        service's owner."""
        query = (
            _incident_records_query()
            .where(
                incidents.c.environment == environment,
                incidents.c.opened_at >= start,
                incidents.c.opened_at <= end,
            )
            .order_by(incidents.c.opened_at, incidents.c.id)
        )
        if team is not None:
            query = query.where(services.c.owner == team)
        if service is not None:
            query = query.where(incidents.c.service == service)
        with self.engine.connect() as conn:
            rows = conn.execute(query).all()
        return [
            (
                row.owner,
                IncidentRecord(
                    row.id, row.service, row.opened_at, row.resolved_at, row.deployment_id
                ),
            )
            for row in rows
        ]

    def delivery_records_since(
        self,
        *,
        environment: str,
        since: dt.datetime,
        team: str | None,
        service: str | None,
        incidents_too: bool,
    ) -> tuple[list[tuple[str, Record]], list[tuple[str, IncidentRecord]]]:
        """What :meth:`finished_deployments` and :meth:`incident_records` read, from
        ``since`` with no end (a record may finish a few minutes ahead of the platform's
        clock), in one transaction; no incidents without ``incidents_too``."""
        query = (
            sa.select(*(deployments.c[field] for field in _RECORD_FIELDS), services.c.owner)
            .join(services, services.c.name == deployments.c.service)
            .where(
                deployments.c.environment == environment,
                deployments.c.outcome.in_(("succeeded", "failed")),
                deployments.c.finished_at >= since,
            )
            .order_by(deployments.c.id)
        )
        opened = (
            _incident_records_query()
            .where(incidents.c.environment == environment, incidents.c.opened_at >= since)
            .order_by(incidents.c.opened_at, incidents.c.id)
        )
        if team is not None:
            query = query.where(services.c.owner == team)
            opened = opened.where(services.c.owner == team)
        if service is not None:
            query = query.where(deployments.c.service == service)
            opened = opened.where(incidents.c.service == service)
        with self.engine.connect() as conn, conn.begin():
            rows = conn.execute(query).all()
            found = conn.execute(opened).all() if incidents_too else []
        return [(row[-1], Record(*row[:-1])) for row in rows], [
            (row[-1], IncidentRecord(*row[:-1])) for row in found
        ]

    def data_version(self) -> int | None:
        """A value that every change through the platform moves, or ``None`` when it cannot
        be told now (figures computed then must not be kept).

        It is the id of the newest audit row that is not the console's own (a sign-in
        changes no figure): every change writes one in its own transaction, after the
        change itself. On SQLite writers take turns, so ids are given in the order they are
        committed. On PostgreSQL a transaction still in progress may hold a lower id than
        one committed after it; the value is then ``None``, until no writing transaction is
        in progress (read in the same snapshot as the id)."""
        newest = sa.select(sa.func.max(audit_events.c.id)).where(
            sa.not_(audit_events.c.action.startswith("console.", autoescape=True))
        )
        with self.engine.connect() as conn:
            if conn.dialect.name != "postgresql":
                return int(conn.execute(newest).scalar() or 0)
            row = conn.execute(
                sa.select(
                    newest.scalar_subquery(),
                    sa.text(
                        "pg_snapshot_xmin(pg_current_snapshot()) "
                        "= pg_snapshot_xmax(pg_current_snapshot())"
                    ),
                )
            ).one()
        return int(row[0] or 0) if row[1] else None

    def onboarding_records(
        self,
        *,
        protected: Sequence[str],
        start: dt.datetime,
        end: dt.datetime,
        team: str | None,
    ) -> tuple[list[OnboardingPerson], list[OnboardingStepRecord]]:
        """What onboarding time is computed from: each person who started in the window
        (their first onboarding event or first token, whichever is first) with the end of
        their onboarding (their first successful deployment without break-glass to one of
        the ``protected`` environments, after the start) and their tokens' teams; and the
        onboarding events in the window. With ``team``: the people of that team only."""
        start = month_start(start)  # whole months, as onboarding_metrics counts them
        firsts = sa.union_all(
            sa.select(
                onboarding_events.c.user.label("user"),
                sa.func.min(onboarding_events.c.at).label("at"),
            ).group_by(onboarding_events.c.user),
            sa.select(
                tokens.c.user.label("user"), sa.func.min(tokens.c.created_at).label("at")
            ).group_by(tokens.c.user),
        ).subquery()
        began = (
            sa.select(firsts.c.user, sa.func.min(firsts.c.at).label("start"))
            .group_by(firsts.c.user)
            .subquery()
        )
        # Ended by a deployment its actor finished (not a teammate closing their started
        # one), at the platform's clock when the record reached it (not the body's times).
        ended = (
            sa.select(sa.func.min(deployments.c.recorded_at))
            .where(
                deployments.c.actor == began.c.user,
                deployments.c.finished_by == deployments.c.actor,
                deployments.c.outcome == "succeeded",
                deployments.c.environment.in_(list(protected)),
                deployments.c.break_glass.is_(None),
                deployments.c.recorded_at >= began.c.start,
            )
            .scalar_subquery()
        )
        people_query = sa.select(
            began.c.user, began.c.start.label("start"), ended.label("end")
        ).where(began.c.start >= start, began.c.start <= end)
        steps_query = (
            sa.select(
                onboarding_events.c.user,
                onboarding_events.c.step,
                onboarding_events.c.status,
                onboarding_events.c.at,
                onboarding_events.c.id,
            )
            .where(onboarding_events.c.at >= start, onboarding_events.c.at <= end)
            .order_by(onboarding_events.c.at, onboarding_events.c.id)
        )
        with self.engine.connect() as conn:
            found = conn.execute(people_query).all()
            users = [row.user for row in found]
            teams_of: dict[str, set[str]] = {user: set() for user in users}
            if users:
                for user, named in conn.execute(
                    sa.select(tokens.c.user, tokens.c.teams).where(tokens.c.user.in_(users))
                ):
                    if isinstance(named, list):  # the database is input
                        teams_of[user].update(x for x in named if isinstance(x, str))
            steps = [OnboardingStepRecord(*row) for row in conn.execute(steps_query)]
        people = [
            (
                row.user,
                OnboardingPerson(_utc(row.start), _utc(row.end), tuple(sorted(teams_of[row.user]))),
            )
            for row in found
        ]
        if team is not None:
            people = [(user, p) for user, p in people if team in p.teams]
            members = {user for user, _ in people}
            steps = [x for x in steps if x.person in members]
        return [p for _, p in people], steps

    def latest_gate_reports(self) -> list[GateRecord]:
        """The latest gate report of each service that is not archived, by service."""
        latest = (
            sa.select(sa.func.max(gate_reports.c.id))
            .group_by(gate_reports.c.service)
            .scalar_subquery()
        )
        query = (
            sa.select(gate_reports.c.service, gate_reports.c.passed, gate_reports.c.rule_ids)
            .join(services, services.c.name == gate_reports.c.service)
            .where(gate_reports.c.id.in_(latest), services.c.archived_at.is_(None))
            .order_by(gate_reports.c.service)
        )
        with self.engine.connect() as conn:
            rows = conn.execute(query).all()
        return [
            GateRecord(
                row.service,
                bool(row.passed),
                tuple(sorted({x for x in row.rule_ids if isinstance(x, str) and _RULE_ID.match(x)}))
                if isinstance(row.rule_ids, list)
                else (),
            )
            for row in rows
        ]

    def team_activity(self, *, start: dt.datetime, end: dt.datetime) -> list[tuple[str, int, bool]]:
        """Each known team (and each owner of a service), with its services that are not
        archived and whether one of its services deployed successfully in the window."""
        owned = (
            sa.select(services.c.owner, sa.func.count())
            .where(services.c.archived_at.is_(None))
            .group_by(services.c.owner)
        )
        deployed = (
            sa.select(services.c.owner)
            .join(deployments, deployments.c.service == services.c.name)
            .where(
                deployments.c.outcome == "succeeded",
                deployments.c.finished_at >= start,
                deployments.c.finished_at <= end,
            )
            .distinct()
        )
        with self.engine.connect() as conn:
            counts = {owner: number for owner, number in conn.execute(owned)}
            active = set(conn.scalars(deployed))
            known = set(conn.scalars(sa.select(teams.c.name)))
        return [(team, counts.get(team, 0), team in active) for team in sorted(known | set(counts))]

    # -- roll-outs and the layer history -----------------------------------------------------

    def rollout(self, rollout_id: str) -> s.RolloutDetailOut | None:
        """The roll-out ``rollout_id`` with each service's result, or ``None``."""
        with self.engine.connect() as conn:
            return _rollout(conn, rollout_id)

    def rollouts(
        self, *, layer: str | None, after: str | None, limit: int
    ) -> tuple[list[s.RolloutOut], bool]:
        """Up to ``limit`` roll-outs after the roll-out ``after`` (which must exist), oldest
        first (by start, then id); whether more follow."""
        query = sa.select(rollouts).order_by(rollouts.c.started_at, rollouts.c.id).limit(limit + 1)
        if layer is not None:
            query = query.where(rollouts.c.layer == layer)
        with self.engine.connect() as conn:
            if after is not None:
                start = sa.select(rollouts.c.started_at).where(rollouts.c.id == after)
                at = conn.execute(start).scalar()
                if at is not None:
                    query = query.where(
                        sa.or_(
                            rollouts.c.started_at > at,
                            sa.and_(rollouts.c.started_at == at, rollouts.c.id > after),
                        )
                    )
            rows = conn.execute(query).all()
            return _rollouts_out(conn, rows[:limit]), len(rows) > limit

    def start_rollout(
        self,
        rollout_id: str,
        body: s.RolloutIn,
        started_by: str,
        now: dt.datetime,
        event: Callable[[str], AuditEvent],
    ) -> tuple[int, s.RolloutDetailOut | str]:
        """Create the roll-out ``rollout_id``: (201, new), (200, the same one stored) or
        (409, why) when the id is another roll-out's. ``event(outcome)`` is the audit row of
        a success (``created`` or ``unchanged``), written in the same transaction."""
        for _attempt in range(3):
            try:
                return self._start_rollout(rollout_id, body, started_by, now, event)
            except sa.exc.IntegrityError:
                continue  # started meanwhile by another request: decide again
        return 409, f"rollout {rollout_id} is being started"  # pragma: no cover

    def _start_rollout(
        self,
        rollout_id: str,
        body: s.RolloutIn,
        started_by: str,
        now: dt.datetime,
        event: Callable[[str], AuditEvent],
    ) -> tuple[int, s.RolloutDetailOut | str]:
        with self._writer.begin() as conn:
            existing = _rollout(conn, rollout_id)
            if existing is not None:
                stored = tuple(getattr(existing, field) for field in _ROLLOUT_FIELDS)
                if stored != tuple(getattr(body, field) for field in _ROLLOUT_FIELDS):
                    layer, scaffold, version, mode = stored
                    return 409, (
                        f"rollout {rollout_id} exists already ({layer} layer, {scaffold} "
                        f"{version}, {mode}, started by {existing.started_by}): "
                        "choose another id for another roll-out"
                    )
                self.audit(event("unchanged"), conn)
                return 200, existing
            conn.execute(
                rollouts.insert().values(
                    id=rollout_id, **body.model_dump(), started_by=started_by, started_at=now
                )
            )
            self.audit(event("created"), conn)
            created = _rollout(conn, rollout_id)
        assert created is not None
        return 201, created

    def record_rollout_service(
        self,
        rollout_id: str,
        service: str,
        body: s.RolloutServiceIn,
        now: dt.datetime,
        event: AuditEvent,
    ) -> tuple[int, s.RolloutServiceOut | str]:
        """Record what became of ``service`` in the roll-out: (200, the result), (404, why)
        for an unknown roll-out or service, (409, why) for a finished roll-out or an archived
        service. Replaces the service's earlier result; audited with ``event`` in the same
        transaction."""
        values = {**body.model_dump(), "updated_at": now}
        for _attempt in range(3):
            try:
                return self._record_rollout_service(rollout_id, service, values, event)
            except sa.exc.IntegrityError:
                continue  # the first result of this service came in meanwhile: update it
        return 409, f"rollout {rollout_id}: {service} is being recorded"  # pragma: no cover

    def _record_rollout_service(
        self, rollout_id: str, service: str, values: Mapping[str, Any], event: AuditEvent
    ) -> tuple[int, s.RolloutServiceOut | str]:
        with self._writer.begin() as conn:
            # Results and the finish of one roll-out wait for each other.
            lock = sa.select(rollouts.c.finished_at).where(rollouts.c.id == rollout_id)
            found = conn.execute(lock.with_for_update()).first()
            if found is None:
                return 404, f"rollout {rollout_id} is not in the catalog"
            registered = conn.execute(
                sa.select(services.c.archived_at).where(services.c.name == service)
            ).first()
            if registered is None:
                return 404, f"service '{service}' is not in the catalog"
            if found.finished_at is not None:
                return 409, (
                    f"rollout {rollout_id} has finished: its results are kept as they were; "
                    "start another roll-out"
                )
            if registered.archived_at is not None:
                return 409, f"service '{service}' is archived: it takes no part in roll-outs"
            where = (
                rollout_services.c.rollout_id == rollout_id,
                rollout_services.c.service == service,
            )
            changed = conn.execute(rollout_services.update().where(*where).values(**values))
            if not changed.rowcount:
                conn.execute(
                    rollout_services.insert().values(
                        rollout_id=rollout_id, service=service, **values
                    )
                )
            self.audit(event, conn)
            row = conn.execute(sa.select(rollout_services).where(*where)).one()
        return 200, _rollout_service_out(row)

    def finish_rollout(
        self, rollout_id: str, now: dt.datetime, event: Callable[[str], AuditEvent]
    ) -> s.RolloutDetailOut | None:
        """Finish the roll-out at ``now`` (once: a finished one keeps its time, audited as
        ``unchanged``); ``None`` when there is no such roll-out."""
        with self._writer.begin() as conn:
            changed = conn.execute(
                rollouts.update()
                .where(rollouts.c.id == rollout_id, rollouts.c.finished_at.is_(None))
                .values(finished_at=now)
            ).rowcount
            finished = _rollout(conn, rollout_id)
            if finished is not None:
                self.audit(event("finished" if changed else "unchanged"), conn)
        return finished

    def layer_adoption(
        self, layer: str
    ) -> tuple[list[LayerRecord], list[tuple[str, str]], list[tuple[str, str, dt.datetime]]]:
        """What time to patch is computed from, for ``layer``: its whole history, the
        (scaffold, version) of each registered service that is not archived, and the first
        roll-out of each (scaffold, version)."""
        history = (
            sa.select(
                layer_history.c.id,
                layer_history.c.service,
                layer_history.c.scaffold,
                layer_history.c.version,
                layer_history.c.recorded_at,
            )
            .where(layer_history.c.layer == layer)
            .order_by(layer_history.c.id)
        )
        current = (
            sa.select(service_layers.c.scaffold, service_layers.c.version)
            .join(services, services.c.name == service_layers.c.service)
            .where(service_layers.c.layer == layer, services.c.archived_at.is_(None))
        )
        first = (
            sa.select(rollouts.c.scaffold, rollouts.c.version, sa.func.min(rollouts.c.started_at))
            .where(rollouts.c.layer == layer)
            .group_by(rollouts.c.scaffold, rollouts.c.version)
        )
        with self.engine.connect() as conn:
            records = [LayerRecord(*row) for row in conn.execute(history)]
            on = [(row.scaffold, row.version) for row in conn.execute(current)]
            started = [(scaffold, version, at) for scaffold, version, at in conn.execute(first)]
        return records, on, started

    # -- incidents, gate reports and onboarding events ------------------------------------

    def open_incident(
        self,
        body: s.IncidentIn,
        *,
        opened_by: str,
        now: dt.datetime,
        dry_run: bool,
        event: Callable[[int], AuditEvent],
    ) -> tuple[int, s.IncidentOut | str]:
        """Open the incident ``body`` at ``now``: (201, it), (200, it as it would be, id
        null) with ``dry_run``, (404, why) for a service not in the catalog, (422, why) for a
        ``deployment_id`` that is not a deployment of that service to that environment.
        ``event(id)`` is its audit row, in the same transaction."""
        opened = self.engine.connect if dry_run else self._writer.begin
        with opened() as conn:
            found = conn.execute(sa.select(services.c.name).where(services.c.name == body.service))
            if found.first() is None:
                return 404, f"service '{body.service}' is not in the catalog"
            if body.deployment_id is not None:
                row = _deployment(conn, body.deployment_id)
                if row is None:
                    return 422, f"deployment_id {body.deployment_id} is not in the catalog"
                if (row.service, row.environment) != (body.service, body.environment):
                    return 422, (
                        f"deployment_id {body.deployment_id} is a deployment of {row.service} "
                        f"to {row.environment}, not of {body.service} to {body.environment}"
                    )
            values = {
                **body.model_dump(),
                "opened_at": now,
                "opened_by": opened_by,
                "resolved_at": None,
                "resolved_by": None,
            }
            if dry_run:
                return 200, s.IncidentOut(id=None, **values)
            new_id = conn.execute(
                incidents.insert().values(**values).returning(incidents.c.id)
            ).scalar_one()
            self.audit(event(new_id), conn)
            created = _incident(conn, new_id)
        assert created is not None
        return 201, _incident_out(created)

    def incident(self, incident_id: int) -> tuple[s.IncidentOut, str] | None:
        """The incident ``incident_id`` and the team that owns its service, or ``None``."""
        query = (
            sa.select(incidents, services.c.owner)
            .join(services, services.c.name == incidents.c.service)
            .where(incidents.c.id == incident_id)
        )
        with self.engine.connect() as conn:
            row = conn.execute(query).first()
        if row is None:
            return None
        return _incident_out(row), row.owner

    def resolve_incident(
        self,
        incident_id: int,
        *,
        resolved_by: str,
        now: dt.datetime,
        dry_run: bool,
        event: AuditEvent,
    ) -> tuple[int, s.IncidentOut | str]:
        """Resolve the open incident at ``now``: (200, it), (404, why), or (409, why) when it
        is resolved already (by another request meanwhile too). With ``dry_run``: the same
        answer, nothing written. ``event`` is its audit row, in the same transaction."""
        opened = self.engine.connect if dry_run else self._writer.begin
        with opened() as conn:
            row = _incident(conn, incident_id)
            if row is None:
                return 404, f"incident {incident_id} is not in the catalog"
            if row.resolved_at is not None:
                return 409, _resolved_conflict(row)
            if dry_run:
                found = _incident_out(row)
                return 200, found.model_copy(
                    update={"resolved_at": now, "resolved_by": resolved_by}
                )
            changed = conn.execute(
                incidents.update()
                .where(incidents.c.id == incident_id, incidents.c.resolved_at.is_(None))
                .values(resolved_at=now, resolved_by=resolved_by)
            ).rowcount
            row = _incident(conn, incident_id)
            assert row is not None
            if not changed:  # pragma: no cover - resolved meanwhile by another request
                return 409, _resolved_conflict(row)
            self.audit(event, conn)
        return 200, _incident_out(row)

    def incidents(
        self,
        *,
        service: str | None = None,
        team: str | None = None,
        open_only: bool | None = None,
        limit: int = 100,
    ) -> list[s.IncidentOut]:
        """Up to ``limit`` incidents, newest first: of ``service``, of the services of
        ``team``; only open ones (``open_only`` true) or only resolved ones (false)."""
        query = sa.select(incidents).order_by(incidents.c.id.desc()).limit(limit)
        if service is not None:
            query = query.where(incidents.c.service == service)
        if team is not None:
            owned = sa.select(services.c.name).where(services.c.owner == team)
            query = query.where(incidents.c.service.in_(owned))
        if open_only is not None:
            resolved = incidents.c.resolved_at
            query = query.where(resolved.is_(None) if open_only else resolved.is_not(None))
        with self.engine.connect() as conn:
            return [_incident_out(row) for row in conn.execute(query)]

    def record_gate_report(
        self,
        service: str,
        body: s.GateReportIn,
        *,
        reported_by: str,
        now: dt.datetime,
        dry_run: bool,
        event: Callable[[int], AuditEvent],
    ) -> tuple[int, s.GateReportOut | str]:
        """Keep the gate report ``body`` of ``service``: (201, it), (200, it as it would be,
        id null) with ``dry_run``, (404, why) for a service not in the catalog, (409, why)
        for an archived one. ``event(id)`` is its audit row, in the same transaction."""
        opened = self.engine.connect if dry_run else self._writer.begin
        with opened() as conn:
            row = conn.execute(
                sa.select(services.c.archived_at).where(services.c.name == service)
            ).first()
            if row is None:
                return 404, f"service '{service}' is not in the catalog"
            if row.archived_at is not None:
                return 409, f"service '{service}' is archived: it takes no gate reports"
            values = {
                "service": service,
                **body.model_dump(),
                "reported_at": now,
                "reported_by": reported_by,
            }
            if dry_run:
                return 200, s.GateReportOut(id=None, **values)
            new_id = conn.execute(
                gate_reports.insert().values(**values).returning(gate_reports.c.id)
            ).scalar_one()
            self.audit(event(new_id), conn)
            created = conn.execute(sa.select(gate_reports).where(gate_reports.c.id == new_id))
            return 201, _gate_report_out(created.one())

    def latest_gate_report(self, service: str) -> s.GateReportOut | None:
        """The newest gate report of ``service``, or ``None``."""
        query = (
            sa.select(gate_reports)
            .where(gate_reports.c.service == service)
            .order_by(gate_reports.c.id.desc())
            .limit(1)
        )
        with self.engine.connect() as conn:
            row = conn.execute(query).first()
        return _gate_report_out(row) if row is not None else None

    def record_onboarding_event(
        self,
        body: s.OnboardingEventIn,
        *,
        user: str,
        now: dt.datetime,
        event: Callable[[int], AuditEvent],
        limit: tuple[int, dt.timedelta] | None = None,
    ) -> s.OnboardingEventOut | dt.datetime:
        """Keep a step of ``user``'s onboarding at ``now``; ``event(id)`` is its audit row,
        in the same transaction. With ``limit`` (count, period): when ``user`` has ``count``
        events in the ``period`` up to ``now`` already, nothing is kept and the answer is
        when the next one will be."""
        values = {**body.model_dump(), "user": user, "at": now}
        with self._writer.begin() as conn:
            if limit is not None:
                count, period = limit
                recent = conn.execute(
                    sa.select(onboarding_events.c.at)
                    .where(onboarding_events.c.user == user, onboarding_events.c.at > now - period)
                    .order_by(onboarding_events.c.at.desc())
                    .limit(count)
                ).all()
                if len(recent) >= count:
                    oldest: dt.datetime | None = _utc(recent[-1].at)
                    assert oldest is not None
                    return oldest + period
            new_id = conn.execute(
                onboarding_events.insert().values(**values).returning(onboarding_events.c.id)
            ).scalar_one()
            self.audit(event(new_id), conn)
        return s.OnboardingEventOut(id=new_id, **values)

    # -- data resources and their requests -----------------------------------------------

    def request_resource(
        self,
        service: str,
        resource: DataResource,
        *,
        branch: str | None,
        requested_by: str,
        now: dt.datetime,
        dry_run: bool,
        event: Callable[[int], AuditEvent],
        state: str = "started",
    ) -> tuple[int, s.ResourceRequestOut | str]:
        """Open a request (``state`` ``started``, or ``requested`` for the platform to apply)
        for ``resource`` of ``service``: (201, the
        request), (200, the request it would be) with ``dry_run``, (404, why) for a service
        not in the catalog or archived, (409, why) for a name in its catalog entry or in one
        of its open requests. ``event(id)`` is the audit row, in the same transaction.

        One open request per service and name holds on every replica: the database's
        partial unique index refuses a second one whatever the checks here saw."""
        try:
            return self._request_resource(
                service,
                resource,
                branch=branch,
                requested_by=requested_by,
                now=now,
                dry_run=dry_run,
                event=event,
                state=state,
            )
        except sa.exc.IntegrityError:  # opened meanwhile by another request (or replica)
            return 409, _open_request_conflict(service, resource.name)

    def _request_resource(
        self,
        service: str,
        resource: DataResource,
        *,
        branch: str | None,
        requested_by: str,
        now: dt.datetime,
        dry_run: bool,
        event: Callable[[int], AuditEvent],
        state: str,
    ) -> tuple[int, s.ResourceRequestOut | str]:
        assert state in OPEN_REQUEST_STATES
        with self._writer.begin() as conn:
            row = _lock_service(conn, service)
            if row is None or row.archived_at is not None:
                state = "not in the catalog" if row is None else "archived"
                return 404, f"service '{service}' is {state}"
            made = _catalog_of(row._mapping).data_resources
            known = next((x for x in made if x.name == resource.name), None)
            if known is not None:
                return 409, (
                    f"service '{service}' has a {known.kind} named {resource.name} already: "
                    "choose another name"
                )
            if len(made) >= s.MAX_DATA_RESOURCES:
                return 409, (
                    f"service '{service}' has {len(made)} data resources, the most one "
                    "service may have"
                )
            open_query = sa.select(resource_requests.c.id).where(
                resource_requests.c.service == service,
                resource_requests.c.name == resource.name,
                resource_requests.c.state.in_(OPEN_REQUEST_STATES),
            )
            if conn.execute(open_query).first() is not None:
                return 409, _open_request_conflict(service, resource.name)
            answer = resource.to_answer()
            values: dict[str, Any] = {
                "service": service,
                "kind": resource.kind,
                "name": resource.name,
                "options": {k: v for k, v in answer.items() if k not in ("kind", "name")},
                "state": state,
                "branch": branch,
                "commit": None,
                "requested_by": requested_by,
                "created_at": now,
                "updated_at": now,
                "detail": "",
            }
            if dry_run:
                return 200, s.ResourceRequestOut(id=None, **values)
            new_id = conn.execute(
                resource_requests.insert().values(**values).returning(resource_requests.c.id)
            ).scalar_one()
            self.audit(event(new_id), conn)
            created = _resource_request(conn, new_id)
        assert created is not None
        return 201, _request_out(created)

    def resource_request(self, service: str, request_id: int) -> s.ResourceRequestOut | None:
        """The request ``request_id`` of ``service``, or ``None``."""
        with self.engine.connect() as conn:
            row = _resource_request(conn, request_id)
        return _request_out(row) if row is not None and row.service == service else None

    def close_resource_request(
        self,
        service: str,
        request_id: int,
        values: Mapping[str, Any],
        now: dt.datetime,
        event: AuditEvent,
    ) -> tuple[int, s.ResourceRequestOut | str]:
        """Close the open request with ``values`` (``state`` ``committed`` or ``failed``,
        ``commit``, ``branch``, ``detail``): (200, the request) or (404, why), or (409, why)
        when it is closed already. ``committed`` adds the resource to the service's catalog
        entry (unless it is there already), in the same transaction as the close and its
        audit row ``event`` — unless the request is for a branch: then the resource joins
        the entry when the branch is merged, as :meth:`settle_resource_request` says."""
        return self._close(service, request_id, values, now, event, record=True)

    def settle_resource_request(
        self,
        service: str,
        request_id: int,
        values: Mapping[str, Any],
        now: dt.datetime,
        event: AuditEvent,
    ) -> tuple[int, s.ResourceRequestOut | str]:
        """Close the open request the platform applied itself, as
        :meth:`close_resource_request` does, but ``committed`` leaves the catalog entry as it
        is: the change is on its branch, and the resource joins the entry when the branch is
        merged (``paved update`` or the next registration sends the road's answers)."""
        return self._close(service, request_id, values, now, event, record=False)

    def _close(
        self,
        service: str,
        request_id: int,
        values: Mapping[str, Any],
        now: dt.datetime,
        event: AuditEvent,
        *,
        record: bool,
    ) -> tuple[int, s.ResourceRequestOut | str]:
        with self._writer.begin() as conn:
            service_row = _lock_service(conn, service)
            row = _resource_request(conn, request_id)
            if service_row is None or row is None or row.service != service:
                return 404, f"service '{service}' has no resource request {request_id}"
            added = None
            if values["state"] == "committed" and record and not row.branch:
                added = _requested_resource(row)
                if added is None:  # the database is input: a row written by hand, say
                    return 409, (
                        f"resource request {request_id} holds a resource that breaks the "
                        "road's rules: close it as failed"
                    )
            changes = {k: v for k, v in values.items() if v is not None or k == "detail"}
            changed = conn.execute(
                resource_requests.update()
                .where(
                    resource_requests.c.id == request_id,
                    resource_requests.c.state.in_(OPEN_REQUEST_STATES),
                )
                .values(**changes, updated_at=now)
            ).rowcount
            if not changed:
                return 409, _closed_conflict(request_id, row.state)
            if added is not None:
                self._add_data_resource(conn, service_row, added)
            self.audit(event, conn)
            closed = _resource_request(conn, request_id)
        assert closed is not None
        return 200, _request_out(closed)

    def _add_data_resource(
        self, conn: sa.Connection, service_row: sa.Row[Any], added: s.DataResourceIn
    ) -> None:
        entry = _catalog_of(service_row._mapping)
        if any(x.name == added.name for x in entry.data_resources):
            return  # recorded meanwhile (paved update sends the road's answers)
        conn.execute(
            services.update()
            .where(services.c.name == service_row.name)
            .values(data_resources=_data_resources_value([*entry.data_resources, added]))
        )

    def resources(
        self, service: str, *, before: int | None, limit: int
    ) -> tuple[list[s.DataResourceIn], list[s.ResourceRequestOut], bool] | None:
        """The data resources of ``service`` and up to ``limit`` of its requests with an id
        below ``before``, newest first; whether more follow. ``None``: no such service."""
        query = (
            sa.select(resource_requests)
            .where(resource_requests.c.service == service)
            .order_by(resource_requests.c.id.desc())
            .limit(limit + 1)
        )
        if before is not None:
            query = query.where(resource_requests.c.id < before)
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(services).where(services.c.name == service)).first()
            if row is None:
                return None
            rows = conn.execute(query).all()
        requests = [_request_out(x) for x in rows[:limit]]
        return _catalog_of(row._mapping).data_resources, requests, len(rows) > limit


def _open_request_conflict(service: str, name: str) -> str:
    return (
        f"service '{service}' has an open request for a resource named {name}: "
        "let it finish (or close it), or choose another name"
    )


def _closed_conflict(request_id: int, state: str) -> str:
    return f"resource request {request_id} is closed already ({state}): it cannot change"


def _utc(value: Any) -> Any:
    """A computed time (naive UTC, or text on SQLite) read back as an aware UTC datetime."""
    if value is None:
        return None
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value)
    assert isinstance(value, dt.datetime)
    return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)


def _resolved_conflict(row: sa.Row[Any]) -> str:
    return (
        f"incident {row.id} was resolved already at {row.resolved_at.isoformat()} "
        f"by {row.resolved_by}"
    )
