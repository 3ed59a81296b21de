"""Bearer tokens: made here, stored only as hashes, each bound to a user and their teams.

A token is ``pvd_<id>_<secret>`` with a 256-bit random secret. The database keeps its id and
the SHA-256 of the whole token, never the token itself. A fast hash is enough here: slow
password hashes (bcrypt, argon2) exist to make guessing low-entropy passwords expensive, and
a 256-bit random secret cannot be guessed whatever the hash costs; a fast hash also keeps
every request's check cheap. The id is printed and listed so that a token can be revoked
without anyone handling the secret again.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import re
import secrets
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa

from paved.errors import InputError
from paved.names import check_name
from paved.server._store import AuditEvent, Store

__all__ = [
    "Identity",
    "IssuedToken",
    "TokenRecord",
    "authenticate",
    "bearer",
    "issue_token",
    "parse_lifetime",
    "revoke",
    "token_hash",
    "token_records",
]

PREFIX = "pvd_"
_LIFETIME = re.compile(r"^([1-9][0-9]{0,4})([hd])$")
_TOKEN = re.compile(r"^pvd_[0-9a-f]{16}_[A-Za-z0-9_-]{43}$")


@dataclasses.dataclass(frozen=True)
class Identity:
    """Who a request comes from."""

    user: str
    teams: tuple[str, ...]
    admin: bool
    token_id: str

    @property
    def role(self) -> str:
        return "platform-admin" if self.admin else "member"

    def owns(self, team: str) -> bool:
        return self.admin or team in self.teams


@dataclasses.dataclass(frozen=True)
class IssuedToken:
    id: str
    token: str
    expires_at: dt.datetime


@dataclasses.dataclass(frozen=True)
class TokenRecord:
    """What is kept of a token, less its hash: the secret itself is never kept."""

    id: str
    user: str
    teams: tuple[str, ...]
    admin: bool
    created_at: dt.datetime
    expires_at: dt.datetime
    revoked_at: dt.datetime | None

    @property
    def role(self) -> str:
        return "platform-admin" if self.admin else "member"

    def status(self, now: dt.datetime) -> str:
        """``revoked``, ``expired`` or ``live`` at ``now``."""
        if self.revoked_at is not None:
            return "revoked"
        return "expired" if self.expires_at <= now else "live"

    def to_json(self, now: dt.datetime) -> dict[str, Any]:
        return {
            "id": self.id,
            "user": self.user,
            "teams": list(self.teams),
            "role": self.role,
            "created_at": self.created_at.isoformat(),
            "expires_at": self.expires_at.isoformat(),
            "revoked_at": None if self.revoked_at is None else self.revoked_at.isoformat(),
            "status": self.status(now),
        }


def token_records(engine: sa.Engine) -> list[TokenRecord]:
    """Every token in the database, oldest first."""
    return [
        TokenRecord(
            id=row.id,
            user=row.user,
            teams=tuple(row.teams),
            admin=bool(row.admin),
            created_at=row.created_at,
            expires_at=row.expires_at,
            revoked_at=row.revoked_at,
        )
        for row in Store(engine).tokens()
    ]


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def parse_lifetime(text: str) -> dt.timedelta:
    """``90d`` or ``12h`` as a duration."""
    match = _LIFETIME.match(text)
    if match is None:
        raise InputError(
            f"token lifetime '{text}' is not understood",
            hint="give a number of days or hours, as in 90d or 12h",
        )
    number, unit = int(match.group(1)), match.group(2)
    return dt.timedelta(days=number) if unit == "d" else dt.timedelta(hours=number)


def _local(now: dt.datetime, actor: str, action: str, target: str, detail: str) -> AuditEvent:
    """An audit event of a token managed on the server's host (not through the API)."""
    return AuditEvent(now, actor, action, target, address="local", outcome="ok", detail=detail)


def issue_token(
    engine: sa.Engine,
    *,
    user: str,
    teams: Sequence[str],
    admin: bool,
    lifetime: dt.timedelta,
    now: dt.datetime,
    actor: str,
) -> IssuedToken:
    """Make a token, store its hash, and return the token (the only time it exists)."""
    if not user or len(user) > 200 or not user.isprintable():
        raise InputError("user must be 1 to 200 printable characters")
    for team in teams:
        check_name(team, what="team")
    token_id = secrets.token_hex(8)
    token = f"{PREFIX}{token_id}_{secrets.token_urlsafe(32)}"
    expires_at = now + lifetime
    role = "platform-admin" if admin else "member"
    values = {
        "id": token_id,
        "hash": token_hash(token),
        "user": user,
        "teams": sorted(set(teams)),
        "admin": admin,
        "created_at": now,
        "expires_at": expires_at,
    }
    detail = f"user {user}, role {role}, teams {','.join(sorted(set(teams))) or '-'}"
    Store(engine).add_token(values, _local(now, actor, "token.create", f"token {token_id}", detail))
    return IssuedToken(token_id, token, expires_at)


def revoke(
    engine: sa.Engine, *, token_id: str | None, user: str | None, now: dt.datetime, actor: str
) -> list[str]:
    """Revoke one token by id, or every live token of a user; return the ids revoked."""

    def event(revoked: str) -> AuditEvent:
        return _local(now, actor, "token.revoke", f"token {revoked}", "")

    return Store(engine).revoke_tokens(token_id=token_id, user=user, now=now, event=event)


def bearer(header: str) -> str | None:
    """The token of an ``Authorization: Bearer TOKEN`` header, or ``None``."""
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token:
        return None
    return token.strip()


def authenticate(store: Store, token: str, now: dt.datetime) -> Identity | None:
    """The identity a live token stands for, or ``None`` (unknown, expired or revoked)."""
    if _TOKEN.match(token) is None:
        return None
    row = store.token(token_hash(token))
    if row is None or row.revoked_at is not None or row.expires_at <= now:
        return None
    # The hash matched through an index; compare once more in constant time all the same.
    if not secrets.compare_digest(row.hash, token_hash(token)):  # pragma: no cover
        return None
    return Identity(row.user, tuple(row.teams), bool(row.admin), row.id)
