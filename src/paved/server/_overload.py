"""Protection under overload: a bound on the requests one process serves at once, in all and
per token, answered 429 with ``Retry-After`` instead of an unbounded queue.

A worker process serves its requests on one event loop and a thread pool; past a few dozen
requests at once every extra one only waits, holding a connection and memory, until clients
time out and retry into a longer queue. Here a request past either bound is answered at once
with 429 and ``Retry-After: 1``: the client (paved's own retries an idempotent call, see
:mod:`paved.catalog.remote`) tries again when there is room, and one token's burst cannot take
the whole process from the others.

The counts live in the process: each worker protects itself, which is what the bound is for
(a replica's share of the load is the load balancer's business). The probes and the metrics
(``/livez``, ``/readyz``, ``/healthz``, ``/-/metrics``) are never refused: a busy server is
still alive and ready, and an orchestrator that read 429 as "not ready" would move the load
onto fewer servers.

The token's key is a SHA-256 of the whole credential (the Authorization header's, or the
console's session cookie), never its public id alone: a made-up token with someone's id
then has a bucket of its own and cannot take theirs. A key is kept only while a request with
it is in flight, so made-up tokens cannot grow the table past the process's bound.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

__all__ = ["UNBOUNDED_PATHS", "Bounds", "Overload"]

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

#: Paths answered whatever the load: probes and metrics.
UNBOUNDED_PATHS = frozenset({"/livez", "/readyz", "/healthz", "/-/metrics"})

_RETRY_AFTER = "1"
#: The console's session cookie (paved.server.console._session): a signed-in person's key.
_SESSION_COOKIE = b"paved_console="


@dataclasses.dataclass(frozen=True)
class Bounds:
    """How many requests one process serves at once: in all, and for one token."""

    process: int = 64
    token: int = 32

    def __post_init__(self) -> None:
        if self.process < 1 or self.token < 1:
            raise ValueError("a bound on concurrent requests is at least 1")


def _token_key(scope: Scope) -> str | None:
    for name, value in scope.get("headers", ()):
        if name == b"authorization":
            return "bearer:" + hashlib.sha256(value.partition(b" ")[2].strip()).hexdigest()
    for name, value in scope.get("headers", ()):
        if name == b"cookie" and _SESSION_COOKIE in value:
            session = value.partition(_SESSION_COOKIE)[2].partition(b";")[0].strip()
            return "cookie:" + hashlib.sha256(session).hexdigest()
    return None


def _refusal(message: str) -> tuple[list[tuple[bytes, bytes]], bytes]:
    body = json.dumps({"error": "overloaded", "message": message}).encode()
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
        (b"retry-after", _RETRY_AFTER.encode()),
    ]
    return headers, body


class Overload:
    """ASGI middleware: refuse with 429 what is past the :class:`Bounds`."""

    def __init__(self, app: ASGIApp, bounds: Bounds) -> None:
        self.app = app
        self.bounds = bounds
        self.in_flight = 0
        self.per_token: dict[str, int] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get("path") in UNBOUNDED_PATHS:
            await self.app(scope, receive, send)
            return
        token = _token_key(scope)
        if self.in_flight >= self.bounds.process:
            await self._refuse(send, "the server is at its bound of requests at once: retry")
            return
        if token is not None and self.per_token.get(token, 0) >= self.bounds.token:
            await self._refuse(send, "this token is at its bound of requests at once: retry")
            return
        # The event loop runs one coroutine at a time: the counts need no lock.
        self.in_flight += 1
        if token is not None:
            self.per_token[token] = self.per_token.get(token, 0) + 1
        try:
            await self.app(scope, receive, send)
        finally:
            self.in_flight -= 1
            if token is not None:
                left = self.per_token[token] - 1
                if left:
                    self.per_token[token] = left
                else:
                    del self.per_token[token]

    @staticmethod
    async def _refuse(send: Send, message: str) -> None:
        headers, body = _refusal(message)
        await send({"type": "http.response.start", "status": 429, "headers": headers})
        await send({"type": "http.response.body", "body": body})
