"""What every request may reach: the app's store, clock and configuration, on ``app.state``.

:func:`create_app` puts them there once; routers take them through the small dependencies
below (``StoreDep``, ``ClockDep``, ``ConfigDep``) instead of closing over them.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable, Mapping
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Request

from paved.server._apply import ResourceApplier
from paved.server._auth import Identity, authenticate, bearer
from paved.server._store import Store

__all__ = [
    "ApplierDep",
    "Clock",
    "ClockDep",
    "ConfigDep",
    "PlatformConfig",
    "ScaffoldOffer",
    "StoreDep",
    "applier_of",
    "caller_of",
    "clock_of",
    "config_of",
    "keep",
    "store_of",
]

Clock = Callable[[], dt.datetime]


@dataclasses.dataclass(frozen=True)
class ScaffoldOffer:
    name: str
    layer: str
    versions: tuple[str, ...]
    minimum: str


@dataclasses.dataclass(frozen=True)
class PlatformConfig:
    """What the platform tells its clients: scaffolds offered and organisation settings."""

    scaffolds: tuple[ScaffoldOffer, ...] = ()
    #: In the shape of config.toml: ``{"environments": {"prod": {...}}, "deploy": {...}}``.
    settings: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    #: A token that may read ``/v1/backstage/catalog.yaml`` and nothing else (for Backstage).
    backstage_token: str | None = dataclasses.field(default=None, repr=False)


def keep(
    app: FastAPI,
    store: Store,
    clock: Clock,
    config: PlatformConfig,
    applier: ResourceApplier | None = None,
) -> None:
    """Put the app-wide state where requests find it."""
    app.state.applier = applier
    app.state.engine = store.engine
    app.state.store = store
    app.state.clock = clock
    app.state.platform = config


def store_of(request: Request) -> Store:
    store: Store = request.app.state.store
    return store


def clock_of(request: Request) -> Clock:
    clock: Clock = request.app.state.clock
    return clock


def config_of(request: Request) -> PlatformConfig:
    config: PlatformConfig = request.app.state.platform
    return config


def applier_of(request: Request) -> ResourceApplier:
    """What applies requested data resources (built on first use from the server's
    environment when :func:`create_app` was given none)."""
    applier: ResourceApplier | None = request.app.state.applier
    if applier is None:
        applier = ResourceApplier.from_process(config_of(request).settings)
        request.app.state.applier = applier
    return applier


# The dependencies that only read the app's state are coroutines: FastAPI runs a plain
# function dependency in its thread pool, a hand-off to a thread and back for each, on every
# request; these do no I/O, so they run on the event loop.


async def _store(request: Request) -> Store:
    return store_of(request)


async def _clock(request: Request) -> Clock:
    return clock_of(request)


async def _config(request: Request) -> PlatformConfig:
    return config_of(request)


StoreDep = Annotated[Store, Depends(_store)]
ClockDep = Annotated[Clock, Depends(_clock)]
ConfigDep = Annotated[PlatformConfig, Depends(_config)]
ApplierDep = Annotated[ResourceApplier, Depends(applier_of)]  # may read its settings


def caller_of(request: Request) -> Identity | None:
    """Who sent ``request``: the identity of its bearer token, or ``None``."""
    token = bearer(request.headers.get("authorization", ""))
    if token is None:
        return None
    return authenticate(store_of(request), token, clock_of(request)())
