"""The web console's failed sign-ins, kept in the database instead of each server process's
memory, so that the bound on them holds across the workers and replicas of one platform.

- ``console_sign_in_failures``: one row per failed sign-in, by client address and the
  platform's clock; rows older than the throttle's window are deleted as new failures come,
  and a sign-in that succeeds deletes its address's rows.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"


def upgrade() -> None:
    op.create_table(
        "console_sign_in_failures",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("address", sa.String(100), nullable=False),
        sa.Column("failed_at", sa.DateTime, nullable=False),
    )
    op.create_index(
        "console_sign_in_failures_address",
        "console_sign_in_failures",
        ["address", "failed_at"],
    )
    op.create_index("console_sign_in_failures_failed", "console_sign_in_failures", ["failed_at"])
