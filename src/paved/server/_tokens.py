"""Tokens managed on the server's host: each call opens the database, migrates it forward,
does its one job and closes it again."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

import sqlalchemy as sa

from paved.errors import ConflictError
from paved.names import check_name
from paved.server import _schemas as s
from paved.server._auth import IssuedToken, TokenRecord, issue_token, revoke, token_records
from paved.server._db import connect, migrate, unusable_database
from paved.server._store import AuditEvent, Store
from paved.text import check_text

__all__ = ["create_team", "create_token", "list_teams", "list_tokens", "revoke_tokens"]


def create_token(
    db_url: str,
    *,
    user: str,
    teams: Sequence[str],
    admin: bool,
    lifetime: dt.timedelta,
    now: dt.datetime,
    actor: str,
) -> IssuedToken:
    """Issue a token in the database at ``db_url`` (see :func:`issue_token`)."""
    with _database(db_url) as engine:
        return issue_token(
            engine, user=user, teams=teams, admin=admin, lifetime=lifetime, now=now, actor=actor
        )


def revoke_tokens(
    db_url: str, *, token_id: str | None, user: str | None, now: dt.datetime, actor: str
) -> list[str]:
    """Revoke tokens in the database at ``db_url`` (see :func:`revoke`); the ids revoked."""
    with _database(db_url) as engine:
        return revoke(engine, token_id=token_id, user=user, now=now, actor=actor)


def list_tokens(db_url: str) -> list[TokenRecord]:
    """Every token in the database at ``db_url``, oldest first (never a secret or a hash)."""
    with _database(db_url) as engine:
        return token_records(engine)


def create_team(
    db_url: str,
    *,
    name: str,
    display_name: str,
    description: str,
    now: dt.datetime,
    actor: str,
) -> tuple[s.TeamOut, bool]:
    """Create the team ``name`` in the database at ``db_url``: the stored team, and whether it
    was created now (the same team again changes nothing; another display name or
    description for a known team is a :class:`ConflictError`)."""
    check_name(name, what="team")
    check_text(display_name, what="--display-name", limit=200)
    check_text(description, what="--description", limit=500)
    body = s.TeamIn(name=name, display_name=display_name, description=description)

    def event(outcome: str) -> AuditEvent:
        return AuditEvent(now, actor, "team.create", f"team {name}", "local", outcome)

    with _database(db_url) as engine:
        status, stored = Store(engine).add_team(body, now, created_by=actor, event=event)
    if isinstance(stored, str):
        raise ConflictError(stored, hint="the team is kept as it is")
    return stored, status == 201


def list_teams(db_url: str) -> list[s.TeamOut]:
    """Every team the database at ``db_url`` knows, by name."""
    with _database(db_url) as engine:
        return Store(engine).teams()


@contextmanager
def _database(db_url: str) -> Iterator[sa.Engine]:
    """The database at ``db_url``, migrated forward; one InputError line when it cannot be."""
    try:
        engine = connect(db_url)
        migrate(engine)
    except Exception as exc:  # noqa: BLE001 - a database driver's error, named in one line
        raise unusable_database(exc) from None
    try:
        yield engine
    finally:
        engine.dispose()
