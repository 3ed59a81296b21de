"""Teams as objects of the platform: a ``teams`` table, one row per team the platform knows.

An admin creates teams (``POST /v1/teams``); a token naming a team makes it known too (its
row is written with the token). This migration starts the table with every team the
database names already: the teams of every token (revoked and expired ones included: a
team does not stop existing with a token) and the owner of every service, so that each
registered service keeps a known owner. Those rows are ``created_by`` ``migration``.

Names sort bytewise on PostgreSQL (the ``C`` collation), as in 0002.
"""

from __future__ import annotations

import datetime as dt
import json
import re

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"

#: The rule every team name follows (``paved.names``), repeated: a migration stays as written.
_NAME = re.compile(r"^(?=.{2,40}$)[a-z][a-z0-9]*(?:-[a-z0-9]+)*$")


def _bytewise(length: int) -> sa.types.TypeEngine[str]:
    return sa.String(length).with_variant(sa.String(length, collation="C"), "postgresql")


def _names(value: object) -> list[str]:
    """The team names in a token's ``teams`` column (a JSON list), valid ones only."""
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            return []
    if not isinstance(value, list):
        return []
    return [name for name in value if isinstance(name, str) and _NAME.match(name)]


def upgrade() -> None:
    teams = op.create_table(
        "teams",
        sa.Column("name", _bytewise(40), primary_key=True),
        sa.Column("display_name", sa.String(200), nullable=False, server_default=""),
        sa.Column("description", sa.String(500), nullable=False, server_default=""),
        sa.Column("created_by", sa.String(200), nullable=False),
        sa.Column("created_at", sa.DateTime, nullable=False),
    )
    conn = op.get_bind()
    known: set[str] = set()
    for (value,) in conn.execute(sa.text("SELECT teams FROM tokens")):
        known.update(_names(value))
    for (owner,) in conn.execute(sa.text("SELECT DISTINCT owner FROM services")):
        if isinstance(owner, str) and _NAME.match(owner):
            known.add(owner)
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None)  # naive UTC, as stored
    if known:
        op.bulk_insert(
            teams,
            [
                {
                    "name": name,
                    "display_name": "",
                    "description": "",
                    "created_by": "migration",
                    "created_at": now,
                }
                for name in sorted(known)
            ],
        )
