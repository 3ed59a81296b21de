"""Deployments are journals: a ``started`` record has no ``finished_at`` until it is closed.

A client opens the record before its effect (outcome ``started``, ``finished_at`` NULL) and
closes it after with ``POST /v1/deployments/{id}/finish``. On SQLite the column changes in
batch mode (the table is copied); its rows, ids and indexes are kept.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"


def upgrade() -> None:
    with op.batch_alter_table("deployments") as batch:
        batch.alter_column("finished_at", existing_type=sa.DateTime, nullable=True)
