"""The audit trail: a row for every attempt at a mutation, and the guard in front of them all.

Every request to a mutation endpoint leaves one row, whether it changed something or was
refused: by the guard (a token in the URL, a body too large), by an error handler (a body
that is not valid), or by the router itself (not the owner, a conflict).
"""

from __future__ import annotations

import logging
import re
import urllib.parse

from fastapi import Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool
from starlette.types import ASGIApp, Receive, Scope, Send

from paved.server._auth import PREFIX, Identity
from paved.server._state import caller_of, clock_of, store_of
from paved.server._store import AuditEvent

__all__ = [
    "MAX_BODY",
    "OUTCOMES",
    "Guard",
    "audit",
    "audit_refusal",
    "event",
    "log_event",
    "mutation_action",
    "token_in_query",
]

log = logging.getLogger("paved.server")

MAX_BODY = 1_000_000
#: The audit outcome of a refusal, by error code (where the two differ).
OUTCOMES = {"not_found": "not-found"}
#: Query parameters that only ever carry a credential.
_TOKEN_PARAMETERS = frozenset({"token", "access_token", "api_key"})
#: The start of a paved token, wherever it stands in a query string.
_TOKEN_SHAPE = re.compile(re.escape(PREFIX) + r"[0-9a-f]{16}_")
_FINISH = re.compile(r"^/v1/deployments/(.+)/finish$")
_ARCHIVE = re.compile(r"^/v1/services/(.+)/archive$")
_LAYERS = re.compile(r"^/v1/services/(.+)/layers$")
_ROLLOUT_SERVICE = re.compile(r"^/v1/rollouts/([^/]+)/services/(.+)$")
_ROLLOUT = re.compile(r"^/v1/rollouts/([^/]+)$")
_ROLLOUT_FINISH = re.compile(r"^/v1/rollouts/([^/]+)/finish$")
_RESOURCES = re.compile(r"^/v1/services/([^/]+)/resources$")
_RESOURCE_REQUEST = re.compile(r"^/v1/services/([^/]+)/resources/([^/]+)$")
_RESOLVE = re.compile(r"^/v1/incidents/([^/]+)/resolve$")
_GATE = re.compile(r"^/v1/services/([^/]+)/gate$")


def printable(text: str, limit: int) -> str:
    """``text`` fit for an audit column and a log line: escapes for control characters,
    NUL and lone surrogates (which no database stores), at most ``limit`` characters."""
    if text.isprintable():
        return text[:limit]
    escaped = "".join(
        c if c.isprintable() and not 0xD800 <= ord(c) <= 0xDFFF else ascii(c)[1:-1] for c in text
    )
    return escaped[:limit]


def token_in_query(query: str) -> bool:
    """Whether a query string carries a token: a parameter named like one, a name or value
    beginning with the token prefix, or the shape of a paved token anywhere in it."""
    if not query:
        return False
    for name, value in urllib.parse.parse_qsl(query, keep_blank_values=True):
        if name.lower() in _TOKEN_PARAMETERS or name.startswith(PREFIX):
            return True
        if value.startswith(PREFIX):
            return True
    return _TOKEN_SHAPE.search(urllib.parse.unquote_plus(query)) is not None


def mutation_action(method: str, path: str) -> tuple[str, str] | None:
    """The audit action and target of a request to a mutation endpoint, or ``None``."""
    if method == "PUT" and (layers := _LAYERS.match(path)) is not None:
        return "service.layers", f"service {layers.group(1)}"
    if method == "PUT" and (result := _ROLLOUT_SERVICE.match(path)) is not None:
        return "rollout.service", f"rollout {result.group(1)}/{result.group(2)}"
    if method == "PUT" and (start := _ROLLOUT.match(path)) is not None:
        return "rollout.start", f"rollout {start.group(1)}"
    if method == "POST" and (done := _ROLLOUT_FINISH.match(path)) is not None:
        return "rollout.finish", f"rollout {done.group(1)}"
    if method == "PATCH" and (closed := _RESOURCE_REQUEST.match(path)) is not None:
        return "resource.close", f"resource request {closed.group(1)}/{closed.group(2)}"
    if method == "POST" and (asked := _RESOURCES.match(path)) is not None:
        return "resource.request", f"resources of {asked.group(1)}"
    if method != "POST":
        return None
    if path == "/v1/services":
        return "service.register", "services"
    if path == "/v1/deployments":
        return "deployment.record", "deployments"
    if path == "/v1/teams":
        return "team.create", "teams"
    if (finish := _FINISH.match(path)) is not None:
        return "deployment.finish", f"deployment {finish.group(1)}"
    if (archive := _ARCHIVE.match(path)) is not None:
        return "service.archive", f"service {archive.group(1)}"
    if path == "/v1/incidents":
        return "incident.open", "incidents"
    if (resolve := _RESOLVE.match(path)) is not None:
        return "incident.resolve", f"incident {resolve.group(1)}"
    if (gate := _GATE.match(path)) is not None:
        return "gate.report", f"service {gate.group(1)}"
    if path == "/v1/onboarding/events":
        return "onboarding.event", "onboarding"
    return None


def event(
    request: Request,
    who: Identity | None,
    action: str,
    target: str,
    outcome: str,
    detail: str = "",
) -> AuditEvent:
    """The audit row of ``request`` by ``who``, at the platform's time."""
    address = request.client.host if request.client else "unknown"
    return AuditEvent(
        at=clock_of(request)(),
        actor=who.user if who else "anonymous",
        action=action,
        target=printable(target, 200),
        address=printable(address, 100),
        outcome=outcome,
        detail=printable(detail, 500),
    )


def log_event(written: AuditEvent) -> None:
    """The log line of an audit row just written."""
    log.info(
        "audit actor=%s action=%s target=%s outcome=%s",
        written.actor,
        written.action,
        written.target,
        written.outcome,
    )


def audit(
    request: Request,
    who: Identity | None,
    action: str,
    target: str,
    outcome: str,
    detail: str = "",
) -> None:
    """Write one audit row, in a transaction of its own."""
    store_of(request).audit(event(request, who, action, target, outcome, detail))


def audit_refusal(request: Request, code: str, detail: str = "") -> None:
    """One audit row for a refused request to a mutation endpoint (nothing otherwise)."""
    action = mutation_action(request.method, request.url.path)
    if action is None:
        return
    outcome = OUTCOMES.get(code, code)
    audit(request, caller_of(request), action[0], action[1], outcome, detail)


def _refusal(request: Request) -> tuple[int, str, str] | None:
    """Why the request is refused before any handler runs, or ``None``."""
    if token_in_query(request.url.query):
        return (
            400,
            "token_in_query",
            "send the token in the Authorization header, never in the URL",
        )
    length = request.headers.get("content-length")
    if length is not None and (not length.isdigit() or int(length) > MAX_BODY):
        return 413, "too_large", f"request bodies are limited to {MAX_BODY} bytes"
    if (
        request.method in ("POST", "PUT", "PATCH")
        and length is None
        and "chunked" in request.headers.get("transfer-encoding", "")
    ):
        return 411, "length_required", "send a Content-Length"
    return None


class Guard:
    """Refuse (and audit) a request with a token in its URL or a body too large, before any
    route runs. Pure ASGI: a ``BaseHTTPMiddleware`` costs a task and a stream per request."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request = Request(scope)
        refused = _refusal(request)
        if refused is None:
            await self.app(scope, receive, send)
            return
        status, code, message = refused
        await run_in_threadpool(audit_refusal, request, code, message)
        body = {"error": code, "message": message}
        await JSONResponse(body, status_code=status)(scope, receive, send)
