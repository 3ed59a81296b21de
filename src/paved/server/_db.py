"""Connecting to the platform database and bringing its schema up to date."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import sqlalchemy as sa

from paved.errors import InputError

__all__ = ["connect", "migrate", "sqlite_url", "writer"]

_MIGRATIONS = Path(__file__).parent / "migrations"


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


def writer(engine: sa.Engine) -> sa.Engine:
    """The same engine, for transactions that write."""
    return engine.execution_options(write=True)


def migrate(engine: sa.Engine) -> None:
    """Run every migration not yet applied, forward from an empty database if need be."""
    from alembic import command
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(_MIGRATIONS))
    with writer(engine).begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "head")


def unusable_database(exc: BaseException) -> InputError:
    """A database URL that does not open, or a database that does not migrate, in one line."""
    return InputError(
        f"platform database cannot be opened ({type(exc).__name__})",
        hint="check --db: sqlite:///PATH or postgresql://USER@HOST:PORT/DB",
    )
