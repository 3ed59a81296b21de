"""What the platform tells its operators: Prometheus metrics at ``/-/metrics``.

Counts and latencies per route (the route's template, ``/v1/services/{name}``, never the path
a client sent, so that the number of series stays bounded), requests in flight, and the
database pool. They come from prometheus-client. With several worker processes each worker
writes its figures to files in the folder named by ``PROMETHEUS_MULTIPROC_DIR`` (which
:func:`paved.server.serve` makes fresh before the workers start) and ``/-/metrics`` answers the
sum over the workers, whichever worker is asked.
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import MutableMapping
from typing import Any

import sqlalchemy as sa
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)

from paved.server._overload import ASGIApp, Receive, Scope, Send

__all__ = ["CONTENT_TYPE_LATEST", "MULTIPROCESS_DIR", "Observe", "exposition"]

#: The environment variable prometheus-client reads (at import) for its multi-process mode.
MULTIPROCESS_DIR = "PROMETHEUS_MULTIPROC_DIR"

_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})

REQUESTS = Counter(
    "paved_http_requests_total",
    "HTTP requests answered, by method, route and status.",
    ["method", "route", "status"],
)
LATENCY = Histogram(
    "paved_http_request_duration_seconds",
    "Time to answer an HTTP request, by method and route.",
    ["method", "route"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)
IN_FLIGHT = Gauge(
    "paved_http_requests_in_flight",
    "HTTP requests being answered now.",
    multiprocess_mode="livesum",
)
POOL_IN_USE = Gauge(
    "paved_db_pool_connections_in_use",
    "Database connections checked out of the pool now.",
    multiprocess_mode="livesum",
)
POOL_SIZE = Gauge(
    "paved_db_pool_size",
    "Database connections the pool keeps open.",
    multiprocess_mode="livesum",
)


def _route(scope: Scope, status: int) -> str:
    route = scope.get("route")
    path = getattr(route, "path", None)
    if isinstance(path, str):
        return path
    return "refused" if status == 429 else "unmatched"


def _pool(engine: sa.Engine) -> None:
    pool: Any = engine.pool
    checked_out = getattr(pool, "checkedout", None)
    size = getattr(pool, "size", None)
    if callable(checked_out):
        POOL_IN_USE.set(checked_out())
    if callable(size):
        POOL_SIZE.set(size())


class Observe:
    """ASGI middleware: count, time and label every HTTP request."""

    def __init__(self, app: ASGIApp, engine: sa.Engine) -> None:
        self.app = app
        self.engine = engine

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def send_status(message: MutableMapping[str, Any]) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        IN_FLIGHT.inc()
        try:
            await self.app(scope, receive, send_status)
        finally:
            IN_FLIGHT.dec()
            method = scope.get("method", "")
            method = method if method in _METHODS else "other"
            route = _route(scope, status)
            REQUESTS.labels(method, route, str(status)).inc()
            LATENCY.labels(method, route).observe(time.perf_counter() - started)
            _pool(self.engine)


_LIVE_GAUGE = re.compile(r"gauge_live[a-z]*_([0-9]+)\.db")


def _forget_dead_workers(folder: str) -> None:
    """Drop the in-flight and pool gauges of workers that have died (uvicorn restarts one
    that dies), which would otherwise stay in the sum; their counters stay, as they should."""
    from prometheus_client import multiprocess

    for entry in os.scandir(folder):
        found = _LIVE_GAUGE.fullmatch(entry.name)
        if found is None:
            continue
        pid = int(found.group(1))
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            multiprocess.mark_process_dead(pid, folder)  # type: ignore[no-untyped-call]
        except PermissionError:  # alive, another user's
            continue


def exposition() -> bytes:
    """The metrics in Prometheus's text format: this process's, or every worker's summed."""
    folder = os.environ.get(MULTIPROCESS_DIR)
    if folder:
        from prometheus_client import multiprocess

        _forget_dead_workers(folder)
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        return generate_latest(registry)
    return generate_latest(REGISTRY)
