"""The platform server: the catalog's HTTP API for a whole organisation.

Needs the ``server`` extra (``pip install 'paved[server]'``). :func:`create_app` builds the
FastAPI app over a database URL (SQLite or PostgreSQL), migrating it forward on start.
"""

from __future__ import annotations

from paved.server._app import PlatformConfig, ScaffoldOffer, create_app, openapi_document
from paved.server._auth import Identity, IssuedToken, issue_token, parse_lifetime, revoke
from paved.server._db import connect, migrate, sqlite_url
from paved.server._serve import listen, serve
from paved.server._settings import organisation_settings

__all__ = [
    "Identity",
    "IssuedToken",
    "PlatformConfig",
    "ScaffoldOffer",
    "connect",
    "create_app",
    "issue_token",
    "listen",
    "migrate",
    "openapi_document",
    "organisation_settings",
    "parse_lifetime",
    "revoke",
    "serve",
    "sqlite_url",
]
