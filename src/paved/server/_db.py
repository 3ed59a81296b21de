"""Connecting to the platform database and bringing its schema up to date."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from paved.errors import InputError

__all__ = [
    "MIGRATION_LOCK",
    "MigrationState",
    "connect",
    "migrate",
    "migrate_database",
    "migration_state",
    "sqlite_url",
    "unusable_database",
    "writer",
]

_MIGRATIONS = Path(__file__).parent / "migrations"
#: The PostgreSQL advisory lock every migration runs under (``pg_advisory_xact_lock``), a
#: fixed 64-bit key that another tool must use as it is (it is not derived). A server, a
#: ``paved platform migrate`` job and the other replicas starting at the same moment wait
#: for each other instead of creating the same tables twice.
MIGRATION_LOCK = 0x2F1C_5A7E_93B0_4D61


def sqlite_url(path: Path) -> str:
    return f"sqlite:///{path}"


def _normalise(url: str) -> str:
    # psycopg 3 is the PostgreSQL driver paved ships with.
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def connect(url: str) -> sa.Engine:
    """An engine for ``url`` (``sqlite:///PATH`` or ``postgresql://...``)."""
    url = _normalise(url)
    kwargs: dict[str, Any] = {}
    if url.startswith("sqlite"):
        path = sa.make_url(url).database
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        kwargs["connect_args"] = {"timeout": 30, "check_same_thread": False}
    else:
        kwargs.update(pool_size=10, max_overflow=20, pool_pre_ping=True)
    engine = sa.create_engine(url, **kwargs)
    if url.startswith("sqlite"):

        @sa.event.listens_for(engine, "connect")
        def _pragmas(dbapi_connection: Any, _record: Any) -> None:
            dbapi_connection.isolation_level = None
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA foreign_keys = ON")
            cursor.execute("PRAGMA journal_mode = WAL")
            cursor.execute("PRAGMA synchronous = NORMAL")
            cursor.close()

        # Let SQLAlchemy, not the sqlite3 module, open transactions. A writer (an engine with
        # the ``write`` option, see :func:`writer`) takes the write lock up front with BEGIN
        # IMMEDIATE, so two registrations of one name serialise instead of failing.
        @sa.event.listens_for(engine, "begin")
        def _begin(conn: sa.Connection) -> None:
            write = conn.get_execution_options().get("write", False)
            conn.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")

    return engine


#: Rows ANALYZE reads per index on SQLite: statistics good enough to choose an index, at a
#: cost that does not grow with the tables.
ANALYSIS_LIMIT = 1000


def refresh_statistics(engine: sa.Engine) -> None:
    """Bring the query planner's statistics up to date with the data, on SQLite.

    Without them SQLite picks an index by its shape alone: for one team's metrics it walks
    every deployment of the window instead of the team's services (24 ms instead of 2 with
    10,000 services). PostgreSQL keeps its own (autovacuum); nothing is done there."""
    if engine.dialect.name != "sqlite":
        return
    with writer(engine).begin() as conn:
        conn.exec_driver_sql(f"PRAGMA analysis_limit = {ANALYSIS_LIMIT}")
        conn.exec_driver_sql("ANALYZE")


def writer(engine: sa.Engine) -> sa.Engine:
    """The same engine, for transactions that write."""
    return engine.execution_options(write=True)


@dataclasses.dataclass(frozen=True)
class MigrationState:
    """Where a database stands: its revision (None when empty), the newest, those pending."""

    current: str | None
    head: str
    pending: tuple[str, ...]

    @property
    def at_head(self) -> bool:
        return not self.pending


def _alembic() -> Any:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(_MIGRATIONS))
    return config


def _state(connection: sa.Connection | None) -> MigrationState:
    """The state of the database on ``connection``; of an empty one for ``None``."""
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory

    script = ScriptDirectory.from_config(_alembic())
    head = script.get_current_head()
    assert head is not None  # the package ships its migrations
    current = None
    if connection is not None:
        current = MigrationContext.configure(connection).get_current_revision()
    pending = [r.revision for r in script.iterate_revisions(head, current)]
    return MigrationState(current, head, tuple(reversed(pending)))


def _missing_sqlite_file(url: str) -> bool:
    url = _normalise(url)
    if not url.startswith("sqlite"):
        return False
    path = sa.make_url(url).database
    if not path or path == ":memory:":
        return False
    return not Path(path).exists()


def migration_state(engine: sa.Engine) -> MigrationState:
    """The database's revision against the newest this package ships (reads only)."""
    with engine.connect() as connection:
        return _state(connection)


def migrate(engine: sa.Engine) -> MigrationState:
    """Run every migration not yet applied, forward from an empty database if need be.

    Safe from several processes at once: on PostgreSQL the whole upgrade runs in one
    transaction under the advisory lock :data:`MIGRATION_LOCK`; on SQLite under the write lock
    (``BEGIN IMMEDIATE``). Whoever comes second finds the work done. Returns the state before.
    """
    from alembic import command

    config = _alembic()
    with writer(engine).begin() as connection:
        if connection.dialect.name == "postgresql":
            connection.execute(sa.select(sa.func.pg_advisory_xact_lock(MIGRATION_LOCK)))
        before = _state(connection)
        if before.pending:
            config.attributes["connection"] = connection
            command.upgrade(config, "head")
    return before


def migrate_database(db_url: str, *, dry_run: bool = False) -> MigrationState:
    """``paved platform migrate``: the database at ``db_url`` brought to the newest migration
    (or, with ``dry_run``, only read). Returns its state before; one InputError line when it
    cannot be opened."""
    if dry_run and _missing_sqlite_file(db_url):
        return _state(None)  # opening it would make the file
    try:
        engine = connect(db_url)
    except Exception as exc:  # noqa: BLE001 - a database driver's error, named in one line
        raise unusable_database(exc) from None
    try:
        return migration_state(engine) if dry_run else migrate(engine)
    except Exception as exc:  # noqa: BLE001
        raise unusable_database(exc) from None
    finally:
        engine.dispose()


def unusable_database(exc: BaseException) -> InputError:
    """A database URL that does not open, or a database that does not migrate, in one line."""
    return InputError(
        f"platform database cannot be opened ({type(exc).__name__})",
        hint="check --db: sqlite:///PATH or postgresql://USER@HOST:PORT/DB",
    )
