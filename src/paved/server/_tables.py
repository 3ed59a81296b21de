"""The platform's tables, in SQLAlchemy Core: the same on SQLite and PostgreSQL.

The schema itself is made by the Alembic migrations in ``migrations/``; these objects are
what the queries are written against, and a test checks the two agree.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa

__all__ = [
    "OPEN_REQUEST_STATES",
    "UtcDateTime",
    "audit_events",
    "console_sessions",
    "console_sign_in_failures",
    "deployments",
    "gate_reports",
    "incidents",
    "layer_history",
    "metadata",
    "onboarding_events",
    "resource_requests",
    "rollout_services",
    "rollouts",
    "service_layers",
    "services",
    "teams",
    "tokens",
]


class UtcDateTime(sa.types.TypeDecorator[dt.datetime]):
    """Aware UTC datetimes in and out, stored naive in UTC so SQLite and PostgreSQL agree."""

    impl = sa.DateTime
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime")
        return value.astimezone(dt.UTC).replace(tzinfo=None)

    def process_result_value(self, value: Any, dialect: Any) -> dt.datetime | None:
        if value is None:
            return None
        assert isinstance(value, dt.datetime)
        return value.replace(tzinfo=dt.UTC)


metadata = sa.MetaData()

services = sa.Table(
    "services",
    metadata,
    sa.Column("name", sa.String(40), primary_key=True),
    sa.Column("owner", sa.String(40), nullable=False, index=True),
    sa.Column("description", sa.String(500), nullable=False, server_default=""),
    sa.Column("repository", sa.String(500), nullable=False),
    sa.Column("created_at", UtcDateTime(), nullable=False),
    sa.Column("archived_at", UtcDateTime(), nullable=True),
    # The catalog entry (migration 0006; the defaults are a registration's from before).
    sa.Column("lifecycle", sa.String(20), nullable=False, server_default="production"),
    sa.Column("system", sa.String(63), nullable=False, server_default=""),
    sa.Column("api_definition", sa.String(200), nullable=False, server_default=""),
    #: The resources answered, comma-separated, in order.
    sa.Column("resources", sa.String(200), nullable=False, server_default=""),
    #: What ``paved add`` made (migration 0007): the road's ``data_resources`` answer, JSON.
    sa.Column("data_resources", sa.Text, nullable=False, server_default="[]"),
)

service_layers = sa.Table(
    "service_layers",
    metadata,
    sa.Column(
        "service",
        sa.String(40),
        sa.ForeignKey("services.name", ondelete="CASCADE"),
        primary_key=True,
    ),
    sa.Column("layer", sa.String(40), primary_key=True),
    sa.Column("scaffold", sa.String(100), nullable=False, index=True),
    sa.Column("version", sa.String(100), nullable=False),
)

#: Every version a service's layer was recorded at, in order: written with the registration
#: and with each change of its layers, in their transaction, so adoption can be timed.
layer_history = sa.Table(
    "layer_history",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column(
        "service",
        sa.String(40),
        sa.ForeignKey("services.name", ondelete="CASCADE"),
        nullable=False,
    ),
    sa.Column("layer", sa.String(40), nullable=False),
    sa.Column("scaffold", sa.String(100), nullable=False),
    sa.Column("version", sa.String(100), nullable=False),
    sa.Column("recorded_at", UtcDateTime(), nullable=False),
    sa.Index("layer_history_version", "layer", "scaffold", "version"),
    sa.Index("layer_history_service", "service", "layer", "id"),
)

deployments = sa.Table(
    "deployments",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("service", sa.String(40), nullable=False),
    sa.Column("environment", sa.String(40), nullable=False),
    sa.Column("target", sa.String(40), nullable=False),
    sa.Column("image", sa.String(500), nullable=False, server_default=""),
    sa.Column("source_commit", sa.String(64), nullable=True),
    sa.Column("source_time", UtcDateTime(), nullable=True),
    sa.Column("actor", sa.String(200), nullable=False),
    sa.Column("started_at", UtcDateTime(), nullable=False),
    #: NULL while the attempt is ``started`` (an open journal entry).
    sa.Column("finished_at", UtcDateTime(), nullable=True),
    sa.Column("outcome", sa.String(20), nullable=False),
    sa.Column("message", sa.Text, nullable=False, server_default=""),
    sa.Column("findings", sa.JSON, nullable=False),
    sa.Column("break_glass", sa.Text, nullable=True),
    sa.Column("rollback_of", sa.Integer, nullable=True),
    sa.Column("restored", sa.Integer, nullable=True),
    sa.Column("revision", sa.String(64), nullable=True),
    sa.Column("manifests", sa.Text, nullable=True),
    sa.Column("recorded_by", sa.String(200), nullable=False),
    #: When the change began (migration 0008): the oldest commit since the previous deployment.
    sa.Column("change_started_at", UtcDateTime(), nullable=True),
    #: Who finished it (0008): the sender of a whole record, the caller of ``/finish``.
    sa.Column("finished_by", sa.String(200), nullable=True),
    #: When the finished record reached the platform (0008), by the platform's clock.
    sa.Column("recorded_at", UtcDateTime(), nullable=True),
    sa.Index("deployments_service_environment", "service", "environment", "id"),
    sa.Index("deployments_finished", "finished_at"),
    sa.Index("deployments_environment_finished", "environment", "finished_at"),
    sa.Index("deployments_actor", "actor", "finished_at"),
)

audit_events = sa.Table(
    "audit_events",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("at", UtcDateTime(), nullable=False),
    sa.Column("actor", sa.String(200), nullable=False),
    sa.Column("action", sa.String(60), nullable=False),
    sa.Column("target", sa.String(200), nullable=False),
    sa.Column("address", sa.String(100), nullable=False),
    sa.Column("outcome", sa.String(40), nullable=False),
    sa.Column("detail", sa.String(500), nullable=False, server_default=""),
    sa.Index("audit_events_target", "target", "id"),
)

tokens = sa.Table(
    "tokens",
    metadata,
    sa.Column("id", sa.String(32), primary_key=True),
    sa.Column("hash", sa.String(64), nullable=False, unique=True),
    sa.Column("user", sa.String(200), nullable=False, index=True),
    sa.Column("teams", sa.JSON, nullable=False),
    sa.Column("admin", sa.Boolean, nullable=False),
    sa.Column("created_at", UtcDateTime(), nullable=False),
    sa.Column("expires_at", UtcDateTime(), nullable=False),
    sa.Column("revoked_at", UtcDateTime(), nullable=True),
)

#: One release of a layer taken to many services; its id is the client's (a retry names it).
rollouts = sa.Table(
    "rollouts",
    metadata,
    sa.Column("id", sa.String(64), primary_key=True),
    sa.Column("layer", sa.String(40), nullable=False),
    sa.Column("scaffold", sa.String(100), nullable=False),
    sa.Column("version", sa.String(100), nullable=False),
    sa.Column("mode", sa.String(10), nullable=False),
    sa.Column("started_by", sa.String(200), nullable=False),
    sa.Column("started_at", UtcDateTime(), nullable=False),
    sa.Column("finished_at", UtcDateTime(), nullable=True),
    sa.Index("rollouts_started", "started_at", "id"),
    sa.Index("rollouts_version", "layer", "scaffold", "version"),
)

#: What became of each service in a roll-out: its last recorded result.
rollout_services = sa.Table(
    "rollout_services",
    metadata,
    sa.Column(
        "rollout_id",
        sa.String(64),
        sa.ForeignKey("rollouts.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    sa.Column(
        "service",
        sa.String(40),
        sa.ForeignKey("services.name", ondelete="CASCADE"),
        primary_key=True,
    ),
    sa.Column("status", sa.String(20), nullable=False),
    sa.Column("detail", sa.String(500), nullable=False, server_default=""),
    sa.Column("branch", sa.String(200), nullable=True),
    sa.Column("updated_at", UtcDateTime(), nullable=False),
)

#: The teams the platform knows: created by an admin, or named by a token when it was made.
teams = sa.Table(
    "teams",
    metadata,
    sa.Column("name", sa.String(40), primary_key=True),
    sa.Column("display_name", sa.String(200), nullable=False, server_default=""),
    sa.Column("description", sa.String(500), nullable=False, server_default=""),
    sa.Column("created_by", sa.String(200), nullable=False),
    sa.Column("created_at", UtcDateTime(), nullable=False),
)

#: The states of a resource request that is not closed: one per service and name at a time.
OPEN_REQUEST_STATES = ("started", "requested")
_OPEN = sa.text("state IN ('started', 'requested')")

#: A journal of requests for data resources (migration 0007): opened ``started`` before the
#: change is made, closed ``committed`` (the resource joins the catalog entry) or ``failed``.
resource_requests = sa.Table(
    "resource_requests",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column(
        "service",
        sa.String(40),
        sa.ForeignKey("services.name", ondelete="CASCADE"),
        nullable=False,
    ),
    sa.Column("kind", sa.String(20), nullable=False),
    sa.Column("name", sa.String(40), nullable=False),
    #: The kind's options (engine, size, dead_letter), as the road's answer has them.
    sa.Column("options", sa.JSON, nullable=False),
    sa.Column("state", sa.String(20), nullable=False),
    sa.Column("branch", sa.String(200), nullable=True),
    sa.Column("commit", sa.String(64), nullable=True),
    sa.Column("requested_by", sa.String(200), nullable=False),
    sa.Column("created_at", UtcDateTime(), nullable=False),
    sa.Column("updated_at", UtcDateTime(), nullable=False),
    sa.Column("detail", sa.String(500), nullable=False, server_default=""),
    sa.Index("resource_requests_service", "service", "id"),
    sa.Index(
        "resource_requests_open",
        "service",
        "name",
        unique=True,
        sqlite_where=_OPEN,
        postgresql_where=_OPEN,
    ),
)

#: Incidents (migration 0008): opened and resolved at the platform's clock, each optionally
#: naming the deployment that caused it.
incidents = sa.Table(
    "incidents",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column(
        "service",
        sa.String(40),
        sa.ForeignKey("services.name", ondelete="CASCADE"),
        nullable=False,
    ),
    sa.Column("environment", sa.String(40), nullable=False),
    sa.Column("title", sa.String(200), nullable=False),
    sa.Column("severity", sa.String(10), nullable=False, server_default="sev2"),
    sa.Column(
        "deployment_id",
        sa.Integer,
        sa.ForeignKey("deployments.id", ondelete="SET NULL"),
        nullable=True,
    ),
    sa.Column("opened_at", UtcDateTime(), nullable=False),
    sa.Column("opened_by", sa.String(200), nullable=False),
    sa.Column("resolved_at", UtcDateTime(), nullable=True),
    sa.Column("resolved_by", sa.String(200), nullable=True),
    sa.Index("incidents_service", "service", "id"),
    sa.Index("incidents_environment_opened", "environment", "opened_at"),
)

#: What ``paved guardrails check --report`` found (migration 0008); the latest per service
#: counts.
gate_reports = sa.Table(
    "gate_reports",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column(
        "service",
        sa.String(40),
        sa.ForeignKey("services.name", ondelete="CASCADE"),
        nullable=False,
    ),
    sa.Column("commit", sa.String(64), nullable=True),
    sa.Column("passed", sa.Boolean, nullable=False),
    #: The ids of the rules that failed, sorted, each once.
    sa.Column("rule_ids", sa.JSON, nullable=False),
    sa.Column("findings", sa.Integer, nullable=False),
    sa.Column("reported_at", UtcDateTime(), nullable=False),
    sa.Column("reported_by", sa.String(200), nullable=False),
    sa.Index("gate_reports_service", "service", "id"),
)

#: The steps of ``paved onboard`` as their users ran them (migration 0008).
onboarding_events = sa.Table(
    "onboarding_events",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("user", sa.String(200), nullable=False),
    sa.Column("step", sa.String(30), nullable=False),
    sa.Column("status", sa.String(20), nullable=False),
    sa.Column("at", UtcDateTime(), nullable=False),
    sa.Column("detail", sa.String(500), nullable=False, server_default=""),
    sa.Index("onboarding_events_user", "user", "id"),
    sa.Index("onboarding_events_at", "at"),
)

#: Web console sessions (migration 0008): ``id`` is the SHA-256 (hex) of the cookie's value,
#: never the value; a session lasts until ``expires_at`` (at most its token's expiry) or until
#: it is ended.
console_sessions = sa.Table(
    "console_sessions",
    metadata,
    sa.Column("id", sa.String(64), primary_key=True),
    sa.Column(
        "token_id",
        sa.String(32),
        sa.ForeignKey("tokens.id", ondelete="CASCADE"),
        nullable=False,
    ),
    sa.Column("created_at", UtcDateTime(), nullable=False),
    sa.Column("expires_at", UtcDateTime(), nullable=False),
    sa.Column("ended_at", UtcDateTime(), nullable=True),
    sa.Index("console_sessions_token", "token_id"),
)

#: A failed sign-in to the web console, by client address (migration 0009): the bound on
#: failures holds across processes and replicas (paved.server.console._throttle).
console_sign_in_failures = sa.Table(
    "console_sign_in_failures",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("address", sa.String(100), nullable=False),
    sa.Column("failed_at", UtcDateTime(), nullable=False),
    sa.Index("console_sign_in_failures_address", "address", "failed_at"),
    sa.Index("console_sign_in_failures_failed", "failed_at"),
)
