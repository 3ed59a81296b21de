"""``/v1/whoami``, ``/healthz``, ``/v1/scaffolds`` and ``/v1/settings``: the platform itself."""

from __future__ import annotations

from fastapi import APIRouter

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
