"""Each service's catalog entry: the road layer's ``lifecycle``, ``system``,
``api_definition`` and ``resources`` answers, sent with the registration and with each
change of the layers, served by the organisation URL (``/v1/backstage/catalog.yaml``).

Services registered before get what the organisation URL served for them until now:
``production``, no System, no API, no Resources (``resources`` is the answers,
comma-separated, in order).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"


def upgrade() -> None:
    with op.batch_alter_table("services") as batch:
        batch.add_column(
            sa.Column("lifecycle", sa.String(20), nullable=False, server_default="production")
        )
        batch.add_column(sa.Column("system", sa.String(63), nullable=False, server_default=""))
        batch.add_column(
            sa.Column("api_definition", sa.String(200), nullable=False, server_default="")
        )
        batch.add_column(sa.Column("resources", sa.String(200), nullable=False, server_default=""))
