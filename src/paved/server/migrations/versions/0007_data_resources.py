"""Data resources: what ``paved add`` made, in each service's catalog entry, and the journal
of the requests for them.

``services.data_resources`` keeps the road's ``data_resources`` answer as JSON text; services
registered before have none (``[]``). ``resource_requests`` is a journal like the
deployments': a request is opened ``started`` (or ``requested``) before the change is made
and closed ``committed`` or ``failed`` after. One open request per service and name: a
partial unique index (SQLite and PostgreSQL both take one), so two replicas cannot open two.

Names sort bytewise on PostgreSQL (the ``C`` collation), as in 0002.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"

#: The states of a request that is not closed (the partial index's condition).
OPEN = "state IN ('started', 'requested')"


def _bytewise(length: int) -> sa.types.TypeEngine[str]:
    return sa.String(length).with_variant(sa.String(length, collation="C"), "postgresql")


def upgrade() -> None:
    with op.batch_alter_table("services") as batch:
        batch.add_column(sa.Column("data_resources", sa.Text, nullable=False, server_default="[]"))
    op.create_table(
        "resource_requests",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column(
            "service",
            _bytewise(40),
            sa.ForeignKey("services.name", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("name", _bytewise(40), nullable=False),
        sa.Column("options", sa.JSON, nullable=False),
        sa.Column("state", sa.String(20), nullable=False),
        sa.Column("branch", sa.String(200), nullable=True),
        sa.Column("commit", sa.String(64), nullable=True),
        sa.Column("requested_by", sa.String(200), nullable=False),
        sa.Column("created_at", sa.DateTime, nullable=False),
        sa.Column("updated_at", sa.DateTime, nullable=False),
        sa.Column("detail", sa.String(500), nullable=False, server_default=""),
    )
    op.create_index("resource_requests_service", "resource_requests", ["service", "id"])
    op.create_index(
        "resource_requests_open",
        "resource_requests",
        ["service", "name"],
        unique=True,
        sqlite_where=sa.text(OPEN),
        postgresql_where=sa.text(OPEN),
    )
