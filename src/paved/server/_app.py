"""The platform API: a FastAPI app over the platform database, assembled from its routers."""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import logging
from collections.abc import AsyncIterator

import sqlalchemy as sa
from fastapi import FastAPI

from paved import __version__
from paved.server._apply import ResourceApplier
from paved.server._audit import Guard, log_event
from paved.server._db import (
    MigrationState,
    connect,
    migrate,
    migration_state,
    refresh_statistics,
)
from paved.server._errors import ERROR_RESPONSES, add_error_handlers
from paved.server._observe import Observe
from paved.server._overload import Bounds, Overload
from paved.server._state import Clock, PlatformConfig, ScaffoldOffer, keep
from paved.server._store import Store
from paved.server.console import router as console
from paved.server.routes import (
    audit,
    backstage,
    deployments,
    gate,
    incidents,
    metrics,
    onboarding,
    platform,
    resources,
    rollouts,
    services,
    teams,
)

__all__ = ["NotMigrated", "PlatformConfig", "ScaffoldOffer", "create_app", "openapi_document"]

log = logging.getLogger("paved.server")


class NotMigrated(Exception):
    """The database is behind this server's schema, and the server was told not to migrate."""

    def __init__(self, state: MigrationState) -> None:
        super().__init__(f"database at {state.current}, newest {state.head}")
        self.state = state


def _utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


#: How often a server looks whether the data changed since it last refreshed the
#: database's statistics (:func:`refresh_statistics`).
STATISTICS_EVERY = 60.0


@contextlib.asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    import anyio

    # A task group, not a bare task: on shutdown the cancellation waits for a refresh in
    # its thread to end, so no connection is left open behind the engine's back.
    async with anyio.create_task_group() as tasks:
        tasks.start_soon(_keep_statistics, app.state.store)
        try:
            yield
        finally:
            tasks.cancel_scope.cancel()


async def _keep_statistics(store: Store) -> None:
    """Refresh the database's statistics on start, then each time the data has changed,
    looked at every :data:`STATISTICS_EVERY` seconds (a refresh that fails, say on a locked
    database, is tried again next time)."""
    import anyio
    import anyio.to_thread

    seen: int | None = None
    while True:
        try:
            version = await anyio.to_thread.run_sync(store.data_version)
            if version is None or version != seen:
                await anyio.to_thread.run_sync(refresh_statistics, store.engine)
                seen = version
        except sa.exc.SQLAlchemyError as exc:
            log.warning("the database statistics were not refreshed: %s", exc)
        await anyio.sleep(STATISTICS_EVERY)


def create_app(
    db_url: str,
    clock: Clock = _utc_now,
    config: PlatformConfig | None = None,
    applier: ResourceApplier | None = None,
    *,
    run_migrations: bool = True,
    bounds: Bounds | None = None,
) -> FastAPI:
    """The platform API over the database at ``db_url``, migrated forward on creation.

    A request goes through the metrics, the overload bound (429 past ``bounds``), the guard
    (a token in the URL, a body too large), the caller dependency (who holds the token), its
    router, and the store; every attempt at a mutation leaves an audit row, refused or not.
    ``applier`` applies requested data resources (by default one in the data folder of the
    user the server runs as). With ``run_migrations`` false the database must already be at
    the newest migration (:class:`NotMigrated` otherwise): ``paved platform migrate`` ran it.
    """
    engine = connect(db_url)
    if run_migrations:
        head = migrate(engine).head
    else:
        state = migration_state(engine)
        if not state.at_head:
            engine.dispose()
            raise NotMigrated(state)
        head = state.head
    app = FastAPI(
        lifespan=_lifespan,
        title="paved platform",
        version=__version__,
        description="The catalog of an organisation's services, deployments and audit trail.",
        responses=ERROR_RESPONSES,
        separate_input_output_schemas=False,
    )
    keep(app, Store(engine, audited=log_event), clock, config or PlatformConfig(), applier)
    app.state.schema_head = head
    add_error_handlers(app)
    app.add_middleware(Guard)
    # Added last, run first: what is refused for load is still counted.
    app.add_middleware(Overload, bounds=bounds or Bounds())
    app.add_middleware(Observe, engine=engine)
    app.include_router(platform.router)
    app.include_router(teams.router)
    app.include_router(services.router)
    app.include_router(resources.router)
    app.include_router(deployments.router)
    app.include_router(rollouts.router)
    app.include_router(audit.router)
    app.include_router(platform.offers)
    app.include_router(incidents.router)
    app.include_router(gate.router)
    app.include_router(onboarding.router)
    app.include_router(metrics.router)
    app.include_router(backstage.router)
    app.include_router(console)
    return app


def openapi_document(app: FastAPI) -> str:
    """The OpenAPI document as checked into docs/openapi.json."""
    return json.dumps(app.openapi(), indent=2, sort_keys=True) + "\n"
