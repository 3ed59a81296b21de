"""``/v1/whoami``, the probes (``/livez``, ``/readyz``, ``/healthz``), ``/-/metrics``,
``/v1/scaffolds`` and ``/v1/settings``: the platform itself."""

from __future__ import annotations

import sqlalchemy as sa
from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse

from paved.server import _schemas as s
from paved.server._access import Reader
from paved.server._state import ConfigDep

__all__ = ["offers", "router"]

#: Who is calling, and liveness: included before the resources' routers.
router = APIRouter(tags=["platform"])
#: What the platform offers its clients: included after them (the API's order of operations).
offers = APIRouter(tags=["platform"])


@router.get("/v1/whoami")
def whoami(who: Reader) -> s.WhoamiOut:
    """Who the token's holder is: their user, teams and whether they are a platform admin."""
    return s.WhoamiOut(user=who.user, teams=sorted(who.teams), admin=who.admin)


@router.get("/healthz")
def healthz() -> dict[str, str]:
    """Liveness: answers without a token."""
    return {"status": "ok"}


@router.get("/livez")
def livez() -> dict[str, str]:
    """Liveness for an orchestrator: the process answers (no token, no database)."""
    return {"status": "ok"}


@router.get("/readyz", responses={503: {"description": "Not ready: see ``reason``."}})
def readyz(request: Request) -> JSONResponse:
    """Readiness: the database answers and holds the newest schema this server knows (no
    token). 503 with a ``reason`` otherwise: take this server out of the load balancer."""
    engine: sa.Engine = request.app.state.engine
    head: str = request.app.state.schema_head
    try:
        with engine.connect() as connection:
            current = connection.execute(sa.text("SELECT version_num FROM alembic_version"))
            revisions = {row[0] for row in current}
    except sa.exc.SQLAlchemyError as exc:
        reason = f"the database does not answer ({type(exc).__name__})"
        return JSONResponse({"status": "unready", "reason": reason}, status_code=503)
    if revisions != {head}:
        reason = f"the database is not at migration {head}: run paved platform migrate"
        return JSONResponse({"status": "unready", "reason": reason}, status_code=503)
    return JSONResponse({"status": "ready", "migration": head})


@router.get("/-/metrics", include_in_schema=False)
def prometheus_metrics() -> Response:
    """Request counts and latencies per route, and the database pool, in Prometheus's text
    format (no token: figures about the server, never about services or people)."""
    from paved.server._observe import CONTENT_TYPE_LATEST, exposition

    return Response(exposition(), media_type=CONTENT_TYPE_LATEST)


@offers.get("/v1/scaffolds")
def list_scaffolds(who: Reader, config: ConfigDep) -> list[s.ScaffoldOut]:
    """The scaffolds the platform offers, their versions, and the oldest it accepts."""
    return [
        s.ScaffoldOut(name=o.name, layer=o.layer, versions=list(o.versions), minimum=o.minimum)
        for o in config.scaffolds
    ]


@offers.get("/v1/settings")
def platform_settings(who: Reader, config: ConfigDep) -> s.PlatformSettingsOut:
    """Organisation settings (environments and their targets) for ``paved login``."""
    return s.PlatformSettingsOut(settings=dict(config.settings))
