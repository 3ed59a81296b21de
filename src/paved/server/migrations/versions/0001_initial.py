"""Services, layers, deployments, audit events and tokens."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None


def upgrade() -> None:
    op.create_table(
        "services",
        sa.Column("name", sa.String(40), primary_key=True),
        sa.Column("owner", sa.String(40), nullable=False),
        sa.Column("description", sa.String(500), nullable=False, server_default=""),
        sa.Column("repository", sa.String(500), nullable=False),
        sa.Column("created_at", sa.DateTime, nullable=False),
        sa.Column("archived_at", sa.DateTime, nullable=True),
    )
    op.create_index("ix_services_owner", "services", ["owner"])
    op.create_table(
        "service_layers",
        sa.Column(
            "service",
            sa.String(40),
            sa.ForeignKey("services.name", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("layer", sa.String(40), primary_key=True),
        sa.Column("scaffold", sa.String(100), nullable=False),
        sa.Column("version", sa.String(100), nullable=False),
    )
    op.create_index("ix_service_layers_scaffold", "service_layers", ["scaffold"])
    op.create_table(
        "deployments",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("service", sa.String(40), nullable=False),
        sa.Column("environment", sa.String(40), nullable=False),
        sa.Column("target", sa.String(40), nullable=False),
        sa.Column("image", sa.String(500), nullable=False, server_default=""),
        sa.Column("source_commit", sa.String(64), nullable=True),
        sa.Column("source_time", sa.DateTime, nullable=True),
        sa.Column("actor", sa.String(200), nullable=False),
        sa.Column("started_at", sa.DateTime, nullable=False),
        sa.Column("finished_at", sa.DateTime, nullable=False),
        sa.Column("outcome", sa.String(20), nullable=False),
        sa.Column("message", sa.Text, nullable=False, server_default=""),
        sa.Column("findings", sa.JSON, nullable=False),
        sa.Column("break_glass", sa.Text, nullable=True),
        sa.Column("rollback_of", sa.Integer, nullable=True),
        sa.Column("restored", sa.Integer, nullable=True),
        sa.Column("revision", sa.String(64), nullable=True),
        sa.Column("manifests", sa.Text, nullable=True),
        sa.Column("recorded_by", sa.String(200), nullable=False),
    )
    op.create_index(
        "deployments_service_environment", "deployments", ["service", "environment", "id"]
    )
    op.create_index("deployments_finished", "deployments", ["finished_at"])
    op.create_table(
        "audit_events",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("at", sa.DateTime, nullable=False),
        sa.Column("actor", sa.String(200), nullable=False),
        sa.Column("action", sa.String(60), nullable=False),
        sa.Column("target", sa.String(200), nullable=False),
        sa.Column("address", sa.String(100), nullable=False),
        sa.Column("outcome", sa.String(40), nullable=False),
        sa.Column("detail", sa.String(500), nullable=False, server_default=""),
    )
    op.create_table(
        "tokens",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("hash", sa.String(64), nullable=False, unique=True),
        sa.Column("user", sa.String(200), nullable=False),
        sa.Column("teams", sa.JSON, nullable=False),
        sa.Column("admin", sa.Boolean, nullable=False),
        sa.Column("created_at", sa.DateTime, nullable=False),
        sa.Column("expires_at", sa.DateTime, nullable=False),
        sa.Column("revoked_at", sa.DateTime, nullable=True),
    )
    op.create_index("ix_tokens_user", "tokens", ["user"])
