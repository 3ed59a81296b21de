"""Console sessions: a platform token exchanged once for a session cookie.

The cookie holds 32 random bytes (URL-safe base64); the database keeps only their SHA-256
(``console_sessions.id``), so a copy of the database opens no session. A session lasts 12
hours at most, never longer than its token, and ends at sign-out. The cookie is HttpOnly,
SameSite=Strict and Path=/, and Secure when the request came over TLS, or always when the
server was started with ``--secure-cookies`` (:func:`require_tls`).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import secrets

from fastapi import FastAPI, Request, Response

from paved.server._auth import Identity
from paved.server._state import clock_of, store_of

__all__ = [
    "COOKIE",
    "LIFETIME",
    "end_cookie",
    "new_cookie_value",
    "over_tls",
    "require_tls",
    "same_origin",
    "session_digest",
    "session_identity",
    "set_cookie",
]

COOKIE = "paved_console"
LIFETIME = dt.timedelta(hours=12)
_VALUE = re.compile(r"^[A-Za-z0-9_-]{43}$")


def new_cookie_value() -> str:
    """A new session cookie's value: 32 random bytes."""
    return secrets.token_urlsafe(32)


def session_digest(value: str) -> str:
    """What the database keeps of a cookie's value."""
    return hashlib.sha256(value.encode("ascii")).hexdigest()


def _cookie_of(request: Request) -> str | None:
    value = request.cookies.get(COOKIE)
    if value is None or _VALUE.match(value) is None:
        return None
    return value


def session_identity(request: Request) -> tuple[Identity, str] | None:
    """Who the request's live session belongs to, and the session's digest, or ``None``."""
    value = _cookie_of(request)
    if value is None:
        return None
    digest = session_digest(value)
    row = store_of(request).console_session(digest, clock_of(request)())
    if row is None:
        return None
    return Identity(row.user, tuple(row.teams), bool(row.admin), row.id), digest


def require_tls(app: FastAPI) -> None:
    """Hold every console request of ``app`` to have come over TLS: the cookie is always
    ``Secure`` and a POST's ``Origin`` must name ``https``, whatever the request's scheme
    says (for a TLS proxy whose ``X-Forwarded-Proto`` uvicorn does not trust)."""
    app.state.console_requires_tls = True


def _requires_tls(request: Request) -> bool:
    return getattr(request.app.state, "console_requires_tls", False) is True


def over_tls(request: Request) -> bool:
    """Whether the request is taken to have come over TLS: the server requires it
    (:func:`require_tls`), or it did (directly, or through a trusted proxy that said so:
    uvicorn rewrites the scheme from ``X-Forwarded-Proto`` for the addresses it trusts)."""
    return _requires_tls(request) or request.url.scheme == "https"


def set_cookie(response: Response, request: Request, value: str) -> None:
    """The session cookie: a browser-session cookie (no ``Expires``), as the platform's
    record of the session, not the browser, says when it ends."""
    response.set_cookie(
        COOKIE,
        value,
        path="/",
        secure=over_tls(request),
        httponly=True,
        samesite="strict",
    )


def end_cookie(response: Response, request: Request) -> None:
    response.delete_cookie(
        COOKIE, path="/", secure=over_tls(request), httponly=True, samesite="strict"
    )


def same_origin(request: Request) -> bool:
    """Whether a POST comes from a page of this server: its ``Origin`` header names this
    server's own scheme (``https`` when :func:`over_tls`) and host. A POST without one is
    refused (browsers send it)."""
    origin = request.headers.get("origin")
    host = request.headers.get("host")
    if not origin or not host:
        return False
    scheme = "https" if over_tls(request) else request.url.scheme
    return secrets.compare_digest(origin, f"{scheme}://{host}")
