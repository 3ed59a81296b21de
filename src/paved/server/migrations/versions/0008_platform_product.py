"""The platform as a product: when a change began, incidents, gate reports, onboarding
records and the web console's sessions, and the indexes the metrics read through.

- ``deployments.change_started_at``: when the change a deployment takes began (the committer
  time of the oldest commit since the previous deployment); lead time starts there. Older
  rows have none: their lead time starts at ``source_time``, as before.
- ``deployments.finished_by`` and ``deployments.recorded_at``: who finished a deployment (the
  sender of a whole record, the caller of ``/finish`` for a started one) and when the record
  reached the platform (its clock; at finish for a started one). An onboarding ends only at a
  deployment its actor finished, at ``recorded_at``. Older rows have neither, so they end no
  onboarding: their times were the client's.
- ``incidents``: opened and resolved through the API, each optionally naming the deployment
  that caused it; the platform's clock sets their times.
- ``gate_reports``: what ``paved guardrails check --report`` found for a service: whether it
  passed, the ids of the rules that failed (a JSON list) and the number of findings.
- ``onboarding_events``: each step of ``paved onboard`` started, finished, failed or skipped,
  by the token's user.
- ``console_sessions``: a web console session, keyed by the SHA-256 of its cookie (never the
  cookie itself), bound to the token it was opened with.

Names sort bytewise on PostgreSQL (the ``C`` collation), as in 0002.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"


def _bytewise(length: int) -> sa.types.TypeEngine[str]:
    return sa.String(length).with_variant(sa.String(length, collation="C"), "postgresql")


def _service_column() -> sa.Column[str]:
    return sa.Column(
        "service",
        _bytewise(40),
        sa.ForeignKey("services.name", ondelete="CASCADE"),
        nullable=False,
    )


def upgrade() -> None:
    with op.batch_alter_table("deployments") as batch:
        batch.add_column(sa.Column("change_started_at", sa.DateTime, nullable=True))
        batch.add_column(sa.Column("finished_by", sa.String(200), nullable=True))
        batch.add_column(sa.Column("recorded_at", sa.DateTime, nullable=True))
    # The delivery metrics read one environment over a window; onboarding reads by actor.
    op.create_index(
        "deployments_environment_finished", "deployments", ["environment", "finished_at"]
    )
    op.create_index("deployments_actor", "deployments", ["actor", "finished_at"])
    # The console's service page reads the audit trail by target.
    op.create_index("audit_events_target", "audit_events", ["target", "id"])
    op.create_table(
        "incidents",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        _service_column(),
        sa.Column("environment", sa.String(40), nullable=False),
        sa.Column("title", sa.String(200), nullable=False),
        sa.Column("severity", sa.String(10), nullable=False, server_default="sev2"),
        sa.Column(
            "deployment_id",
            sa.Integer,
            sa.ForeignKey("deployments.id", ondelete="SET NULL"),
            nullable=True,
        ),
        sa.Column("opened_at", sa.DateTime, nullable=False),
        sa.Column("opened_by", sa.String(200), nullable=False),
        sa.Column("resolved_at", sa.DateTime, nullable=True),
        sa.Column("resolved_by", sa.String(200), nullable=True),
    )
    op.create_index("incidents_service", "incidents", ["service", "id"])
    op.create_index("incidents_environment_opened", "incidents", ["environment", "opened_at"])
    op.create_table(
        "gate_reports",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        _service_column(),
        sa.Column("commit", sa.String(64), nullable=True),
        sa.Column("passed", sa.Boolean, nullable=False),
        sa.Column("rule_ids", sa.JSON, nullable=False),
        sa.Column("findings", sa.Integer, nullable=False),
        sa.Column("reported_at", sa.DateTime, nullable=False),
        sa.Column("reported_by", sa.String(200), nullable=False),
    )
    op.create_index("gate_reports_service", "gate_reports", ["service", "id"])
    op.create_table(
        "onboarding_events",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("user", sa.String(200), nullable=False),
        sa.Column("step", sa.String(30), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("at", sa.DateTime, nullable=False),
        sa.Column("detail", sa.String(500), nullable=False, server_default=""),
    )
    op.create_index("onboarding_events_user", "onboarding_events", ["user", "id"])
    op.create_index("onboarding_events_at", "onboarding_events", ["at"])
    op.create_table(
        "console_sessions",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column(
            "token_id",
            sa.String(32),
            sa.ForeignKey("tokens.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("created_at", sa.DateTime, nullable=False),
        sa.Column("expires_at", sa.DateTime, nullable=False),
        sa.Column("ended_at", sa.DateTime, nullable=True),
    )
    op.create_index("console_sessions_token", "console_sessions", ["token_id"])
