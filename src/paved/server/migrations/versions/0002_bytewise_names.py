"""Service and layer names sort bytewise on PostgreSQL, as on SQLite and in the CLI.

A database created with a linguistic default collation (glibc's en_US.UTF-8, ICU with
punctuation shifted) ignores hyphens at first, so ``ab-z`` would sort after ``abc`` and the
listing's order, and the cursor that pages through it, would depend on how the database was
created. The ``C`` collation compares bytes; SQLite's default (BINARY) already does.
"""

from __future__ import annotations

from alembic import op

revision = "0002"
down_revision = "0001"

_COLUMNS = (("services", "name"), ("service_layers", "service"), ("service_layers", "layer"))


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for table, column in _COLUMNS:
        op.execute(f'ALTER TABLE {table} ALTER COLUMN {column} TYPE varchar(40) COLLATE "C"')
