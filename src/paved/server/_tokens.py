"""Tokens managed on the server's host: each call opens the database, migrates it forward,
does its one job and closes it again."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

import sqlalchemy as sa

from paved.server._auth import IssuedToken, TokenRecord, issue_token, revoke, token_records
from paved.server._db import connect, migrate, unusable_database

__all__ = ["create_token", "list_tokens", "revoke_tokens"]


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
