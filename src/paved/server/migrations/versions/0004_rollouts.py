"""Roll-outs of a layer release across services, and the history of every layer's versions.

``rollouts`` and ``rollout_services`` record each roll-out and what became of each service in
it. ``layer_history`` keeps every version a service's layer was recorded at, so the platform
can say how long services took to move to a release. It starts with each service's current
layers, recorded at the time of this migration: when they were reached before is not known,
and a later time than the truth is the one the history can stand by.

Ids and names sort bytewise on PostgreSQL (the ``C`` collation), as in 0002.
"""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"


def _bytewise(length: int) -> sa.types.TypeEngine[str]:
    return sa.String(length).with_variant(sa.String(length, collation="C"), "postgresql")


def upgrade() -> None:
    op.create_table(
        "layer_history",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column(
            "service",
            _bytewise(40),
            sa.ForeignKey("services.name", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("layer", _bytewise(40), nullable=False),
        sa.Column("scaffold", sa.String(100), nullable=False),
        sa.Column("version", sa.String(100), nullable=False),
        sa.Column("recorded_at", sa.DateTime, nullable=False),
    )
    op.create_index("layer_history_version", "layer_history", ["layer", "scaffold", "version"])
    op.create_index("layer_history_service", "layer_history", ["service", "layer", "id"])
    op.create_table(
        "rollouts",
        sa.Column("id", _bytewise(64), primary_key=True),
        sa.Column("layer", sa.String(40), nullable=False),
        sa.Column("scaffold", sa.String(100), nullable=False),
        sa.Column("version", sa.String(100), nullable=False),
        sa.Column("mode", sa.String(10), nullable=False),
        sa.Column("started_by", sa.String(200), nullable=False),
        sa.Column("started_at", sa.DateTime, nullable=False),
        sa.Column("finished_at", sa.DateTime, nullable=True),
    )
    op.create_index("rollouts_started", "rollouts", ["started_at", "id"])
    op.create_index("rollouts_version", "rollouts", ["layer", "scaffold", "version"])
    op.create_table(
        "rollout_services",
        sa.Column(
            "rollout_id",
            _bytewise(64),
            sa.ForeignKey("rollouts.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column(
            "service",
            _bytewise(40),
            sa.ForeignKey("services.name", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("detail", sa.String(500), nullable=False, server_default=""),
        sa.Column("branch", sa.String(200), nullable=True),
        sa.Column("updated_at", sa.DateTime, nullable=False),
    )
    # The history starts with the layers every service has now (naive UTC, as stored).
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    names = ("service", "layer", "scaffold", "version")
    layers = sa.table("service_layers", *(sa.column(name, sa.String) for name in names))
    history = sa.table(
        "layer_history",
        *(sa.column(name, sa.String) for name in names),
        sa.column("recorded_at", sa.DateTime),
    )
    current = sa.select(
        *(layers.c[name] for name in names), sa.literal(now, sa.DateTime).label("recorded_at")
    ).order_by(layers.c.service, layers.c.layer)
    op.execute(history.insert().from_select([*names, "recorded_at"], current))
