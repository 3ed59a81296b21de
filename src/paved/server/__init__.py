"""The platform server: the catalog's HTTP API for a whole organisation.

Needs the ``server`` extra (``pip install 'paved[server]'``). :func:`create_app` builds the
FastAPI app over a database URL (SQLite or PostgreSQL), migrating it forward on start;
:func:`serve` opens the database and serves it. :func:`create_token`,
:func:`list_tokens` and :func:`revoke_tokens` manage tokens on the server's host.
"""

from __future__ import annotations

from paved.server._app import create_app, openapi_document
from paved.server._auth import (
    Identity,
    IssuedToken,
    TokenRecord,
    issue_token,
    parse_lifetime,
    revoke,
    token_hash,
)
from paved.server._db import (
    MigrationState,
    connect,
    migrate,
    migrate_database,
    migration_state,
    refresh_statistics,
    sqlite_url,
    writer,
)
from paved.server._metrics import LayerRecord, Record, delivery_metrics, time_to_patch
from paved.server._overload import Bounds
from paved.server._serve import DropQueryString, default_workers, log_config, serve
from paved.server._settings import organisation_settings
from paved.server._state import PlatformConfig, ScaffoldOffer
from paved.server._tables import metadata
from paved.server._tokens import (
    create_team,
    create_token,
    list_teams,
    list_tokens,
    revoke_tokens,
)

__all__ = [
    "Bounds",
    "DropQueryString",
    "Identity",
    "IssuedToken",
    "LayerRecord",
    "MigrationState",
    "PlatformConfig",
    "Record",
    "ScaffoldOffer",
    "TokenRecord",
    "connect",
    "create_app",
    "create_team",
    "create_token",
    "default_workers",
    "delivery_metrics",
    "issue_token",
    "list_teams",
    "list_tokens",
    "log_config",
    "metadata",
    "migrate",
    "migrate_database",
    "migration_state",
    "openapi_document",
    "organisation_settings",
    "parse_lifetime",
    "refresh_statistics",
    "revoke",
    "revoke_tokens",
    "serve",
    "sqlite_url",
    "time_to_patch",
    "token_hash",
    "writer",
]
