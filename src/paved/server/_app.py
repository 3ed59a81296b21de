"""The platform API: a FastAPI app over the platform database."""

import base64
import binascii
import dataclasses
import datetime as dt
import json
import logging
import re
import urllib.parse
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Annotated, Any

import sqlalchemy as sa
from fastapi import Depends, FastAPI, Path, Query, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException

from paved import __version__
from paved.server import _schemas as s
from paved.server._auth import PREFIX, Identity, authenticate
from paved.server._db import connect, migrate, writer
from paved.server._metrics import Record, delivery_metrics
from paved.server._tables import audit_events, deployments, service_layers, services

__all__ = ["PlatformConfig", "ScaffoldOffer", "create_app"]

log = logging.getLogger("paved.server")

MAX_BODY = 1_000_000
#: How far ahead of the server's clock a client's timestamp may be (clocks drift).
MAX_SKEW = dt.timedelta(minutes=5)
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


class ApiError(Exception):
    def __init__(self, status: int, code: str, message: str, *, audited: bool = False) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        #: Whether the refusal is in the audit trail already (with its own target and detail).
        self.audited = audited


def _utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _encode_cursor(value: str | int) -> str:
    return base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")


_NAME = re.compile(s.NAME_REGEX)
#: The largest integer both SQLite and PostgreSQL (bigint) take as a parameter.
_MAX_CURSOR_ID = 2**63 - 1


def _decode_cursor(cursor: str | None, kind: type) -> Any:
    """The position a cursor stands for: a service name (``str``) or a row id (``int``).

    A cursor is only ever one this server made, but it comes back from the client: anything
    that is not such a position (a NUL or a lone surrogate no database takes, an integer out
    of range) is refused here, before it reaches a query.
    """
    if cursor is None:
        return None
    refused = ApiError(400, "bad_cursor", "cursor is not one this server gave out")
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        value = json.loads(raw)
    except (binascii.Error, ValueError, UnicodeDecodeError, RecursionError) as exc:
        raise refused from exc
    if not isinstance(value, kind) or isinstance(value, bool):
        raise refused
    if isinstance(value, str) and (len(value) > 40 or _NAME.fullmatch(value) is None):
        raise refused
    if isinstance(value, int) and not 0 <= value <= _MAX_CURSOR_ID:
        raise refused
    return value


def _printable(text: str, limit: int) -> str:
    """``text`` fit for an audit column and a log line: escapes for control characters,
    NUL and lone surrogates (which no database stores), at most ``limit`` characters."""
    if text.isprintable():
        return text[:limit]
    escaped = "".join(
        c if c.isprintable() and not 0xD800 <= ord(c) <= 0xDFFF else ascii(c)[1:-1] for c in text
    )
    return escaped[:limit]


_ERRORS: dict[int, str] = {
    400: "bad_request",
    401: "unauthenticated",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    411: "length_required",
    413: "too_large",
    415: "unsupported_media_type",
    422: "invalid",
}
ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    code: {"model": s.ErrorBody, "description": name} for code, name in _ERRORS.items()
}


def _error(status: int, code: str, message: str, detail: Any = None) -> JSONResponse:
    body: dict[str, Any] = {"error": code, "message": message}
    if detail is not None:
        body["detail"] = detail
    return JSONResponse(body, status_code=status)


#: Query parameters that only ever carry a credential.
_TOKEN_PARAMETERS = frozenset({"token", "access_token", "api_key"})
#: The start of a paved token, wherever it stands in a query string.
_TOKEN_SHAPE = re.compile(re.escape(PREFIX) + r"[0-9a-f]{16}_")


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


_FINISH = re.compile(r"^/v1/deployments/(.+)/finish$")
_ARCHIVE = re.compile(r"^/v1/services/(.+)/archive$")


def mutation_action(method: str, path: str) -> tuple[str, str] | None:
    """The audit action and target of a request to a mutation endpoint, or ``None``."""
    if method != "POST":
        return None
    if path == "/v1/services":
        return "service.register", "services"
    if path == "/v1/deployments":
        return "deployment.record", "deployments"
    if (finish := _FINISH.match(path)) is not None:
        return "deployment.finish", f"deployment {finish.group(1)}"
    if (archive := _ARCHIVE.match(path)) is not None:
        return "service.archive", f"service {archive.group(1)}"
    return None


#: The audit outcome of a refusal, by error code (where the two differ).
_OUTCOMES = {"not_found": "not-found"}


def create_app(
    db_url: str, clock: Clock = _utc_now, config: PlatformConfig | None = None
) -> FastAPI:
    """The platform API over the database at ``db_url``, migrated forward on creation."""
    engine = connect(db_url)
    migrate(engine)
    write_engine = writer(engine)
    platform = config or PlatformConfig()
    app = FastAPI(
        title="paved platform",
        version=__version__,
        description="The catalog of an organisation's services, deployments and audit trail.",
        responses=ERROR_RESPONSES,
    )
    app.state.engine = engine

    # -- errors: always a JSON body, never a stack trace ---------------------------------

    def _caller_of(request: Request) -> Identity | None:
        header = request.headers.get("authorization", "")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token:
            return None
        with engine.connect() as conn:
            return authenticate(conn, token.strip(), clock())

    def _address(request: Request) -> str:
        return request.client.host if request.client else "unknown"

    def _audit(
        request: Request,
        who: Identity | None,
        action: str,
        target: str,
        outcome: str,
        detail: str = "",
        conn: sa.Connection | None = None,
    ) -> None:
        values = {
            "at": clock(),
            "actor": who.user if who else "anonymous",
            "action": action,
            "target": _printable(target, 200),
            "address": _printable(_address(request), 100),
            "outcome": outcome,
            "detail": _printable(detail, 500),
        }
        if conn is not None:
            conn.execute(audit_events.insert().values(**values))
        else:
            with write_engine.begin() as own:
                own.execute(audit_events.insert().values(**values))
        log.info(
            "audit actor=%s action=%s target=%s outcome=%s",
            values["actor"],
            action,
            values["target"],
            outcome,
        )

    def _mutation_action(request: Request) -> tuple[str, str] | None:
        return mutation_action(request.method, request.url.path)

    def _audit_refusal(request: Request, code: str, detail: str = "") -> None:
        """One audit row for a refused request to a mutation endpoint (nothing otherwise)."""
        action = _mutation_action(request)
        if action is None:
            return
        _audit(
            request, _caller_of(request), action[0], action[1], _OUTCOMES.get(code, code), detail
        )

    @app.exception_handler(ApiError)
    async def _api_error(request: Request, exc: ApiError) -> JSONResponse:
        if not exc.audited:
            await run_in_threadpool(_audit_refusal, request, exc.code, exc.message)
        return _error(exc.status, exc.code, exc.message)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = list(exc.errors())
        detail = [
            {"loc": [str(p) for p in e.get("loc", ())], "msg": str(e.get("msg", ""))}
            for e in errors
        ][:20]
        # A rule of paved's own (a free-text field, the repository rule) says what to do:
        # its words become the message; pydantic's own checks keep the generic one.
        message = "the request is not valid"
        if errors and errors[0].get("type") == "value_error":
            cause = (errors[0].get("ctx") or {}).get("error")
            message = _printable(str(cause), 1000) if cause is not None else message
        await run_in_threadpool(
            _audit_refusal, request, "invalid", str(detail[0]["msg"]) if detail else ""
        )
        return _error(422, "invalid", message, detail)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = _ERRORS.get(exc.status_code, "error")
        await run_in_threadpool(_audit_refusal, request, code, str(exc.detail))
        return _error(exc.status_code, code, str(exc.detail))

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.error("unexpected %s on %s %s", type(exc).__name__, request.method, request.url.path)
        try:
            await run_in_threadpool(_audit_refusal, request, "internal", type(exc).__name__)
        except Exception:  # noqa: BLE001 - the database itself may be what failed
            log.error("the failure above could not be audited")
        return _error(500, "internal", "the platform failed; try again, then tell its owners")

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
            request.method == "POST"
            and length is None
            and "chunked" in request.headers.get("transfer-encoding", "")
        ):
            return 411, "length_required", "send a Content-Length"
        return None

    @app.middleware("http")
    async def _guard(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        refused = _refusal(request)
        if refused is None:
            return await call_next(request)
        status, code, message = refused
        await run_in_threadpool(_audit_refusal, request, code, message)
        return _error(status, code, message)

    # -- who is calling ------------------------------------------------------------------

    def caller(request: Request) -> Identity | None:
        return _caller_of(request)

    def reader(who: Annotated[Identity | None, Depends(caller)]) -> Identity:
        if who is None:
            raise ApiError(401, "unauthenticated", "a valid bearer token is required")
        return who

    Caller = Annotated[Identity | None, Depends(caller)]
    Reader = Annotated[Identity, Depends(reader)]

    def _refused(
        request: Request,
        who: Identity | None,
        action: str,
        target: str,
        status: int,
        message: str,
        detail: str = "",
    ) -> ApiError:
        """The error to raise for a refused mutation, written to the audit trail first."""
        code = _ERRORS[status]
        _audit(request, who, action, target, _OUTCOMES.get(code, code), detail)
        return ApiError(status, code, message, audited=True)

    def _refuse_unless(
        request: Request, who: Identity | None, owner: str | None, action: str, target: str
    ) -> Identity:
        if who is None:
            raise _refused(request, None, action, target, 401, "a valid bearer token is required")
        if owner is not None and not who.owns(owner):
            raise _refused(
                request,
                who,
                action,
                target,
                403,
                f"{target} belongs to team {owner}, not to one of yours",
                f"owner {owner}",
            )
        return who

    def _not_ahead(stamps: Mapping[str, dt.datetime | None]) -> str | None:
        """Why one of ``stamps`` cannot be true (it is ahead of the server's clock), or None."""
        limit = clock() + MAX_SKEW
        for field, stamp in stamps.items():
            if stamp is not None and stamp > limit:
                return (
                    f"{field} {stamp.isoformat()} is in the future (the platform's clock says "
                    f"{clock().isoformat()}): check the clock of the machine that sent it"
                )
        return None

    @app.get("/v1/whoami", tags=["platform"])
    def whoami(who: Reader) -> s.WhoamiOut:
        """Who the token's holder is: their user, teams and whether they are a platform admin."""
        return s.WhoamiOut(user=who.user, teams=sorted(who.teams), admin=who.admin)

    # -- services ------------------------------------------------------------------------

    def _service_rows(conn: sa.Connection, rows: Sequence[sa.Row[Any]]) -> list[s.ServiceOut]:
        names = [row.name for row in rows]
        layers: dict[str, list[s.LayerIn]] = {name: [] for name in names}
        if names:
            query = (
                sa.select(service_layers)
                .where(service_layers.c.service.in_(names))
                .order_by(service_layers.c.service, service_layers.c.layer)
            )
            for layer in conn.execute(query):
                layers[layer.service].append(
                    s.LayerIn(layer=layer.layer, scaffold=layer.scaffold, version=layer.version)
                )
        return [
            s.ServiceOut(
                name=row.name,
                owner=row.owner,
                description=row.description,
                repository=row.repository,
                layers=layers[row.name],
                created_at=row.created_at,
                archived_at=row.archived_at,
            )
            for row in rows
        ]

    def _get_service(conn: sa.Connection, name: str) -> s.ServiceOut | None:
        rows = conn.execute(sa.select(services).where(services.c.name == name)).all()
        found = _service_rows(conn, rows)
        return found[0] if found else None

    NameQuery = Annotated[
        str | None,
        Query(min_length=2, max_length=40, pattern=s.NAME_REGEX),
    ]
    TokenQuery = Annotated[
        str | None, Query(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9][A-Za-z0-9._+-]*$")
    ]
    Limit = Annotated[int, Query(ge=1, le=1000)]
    Cursor = Annotated[str | None, Query(max_length=400)]

    @app.get("/healthz", tags=["platform"])
    def healthz() -> dict[str, str]:
        """Liveness: answers without a token."""
        return {"status": "ok"}

    @app.get("/v1/services", tags=["services"])
    def list_services(
        who: Reader,
        owner: NameQuery = None,
        template: TokenQuery = None,
        include_archived: bool = False,
        cursor: Cursor = None,
        limit: Limit = 100,
    ) -> s.ServicePage:
        """Services by name, a page at a time; filter by owner team or scaffold."""
        after = _decode_cursor(cursor, str)
        query = sa.select(services).order_by(services.c.name).limit(limit + 1)
        if owner is not None:
            query = query.where(services.c.owner == owner)
        if template is not None:
            query = query.where(
                services.c.name.in_(
                    sa.select(service_layers.c.service).where(service_layers.c.scaffold == template)
                )
            )
        if not include_archived:
            query = query.where(services.c.archived_at.is_(None))
        if after is not None:
            query = query.where(services.c.name > after)
        with engine.connect() as conn:
            rows = conn.execute(query).all()
            page = _service_rows(conn, rows[:limit])
        more = len(rows) > limit
        return s.ServicePage(
            services=page, next_cursor=_encode_cursor(page[-1].name) if more else None
        )

    @app.get("/v1/services/{name}", tags=["services"])
    def show_service(
        who: Reader,
        name: Annotated[str, s.Field(min_length=2, max_length=40, pattern=s.NAME_REGEX)],
    ) -> s.ServiceOut:
        """One service, archived or not."""
        with engine.connect() as conn:
            found = _get_service(conn, name)
        if found is None:
            raise ApiError(404, "not_found", f"service '{name}' is not in the catalog")
        return found

    DryRun = Annotated[
        bool,
        Query(
            description=(
                "Run every check of the registration (token, owner team, name taken or "
                "archived, repository rule) and write nothing: 201 with the entry it would "
                "create, 200 with the stored one when this exact registration exists."
            )
        ),
    ]

    @app.post(
        "/v1/services",
        tags=["services"],
        status_code=201,
        responses={200: {"model": s.ServiceOut, "description": "already registered, unchanged"}},
    )
    def register_service(
        request: Request,
        response: Response,
        who: Caller,
        body: s.ServiceIn,
        dry_run: DryRun = False,
    ) -> s.ServiceOut:
        """Register a service idempotently by name.

        201 when created; 200 with the stored entry when the same name is registered again
        with the same owner and repository; 409 when the name is taken otherwise or archived.
        The repository must be a URL other members can reach (not a path, not ``file:``).
        With ``dry_run`` nothing is written and a success is not audited.
        """
        target = f"service {body.name}"
        who = _refuse_unless(request, who, body.owner, "service.register", target)
        for _attempt in range(3):
            try:
                opened = engine.connect if dry_run else write_engine.begin
                status, stored = _register(opened, body, dry_run=dry_run)
            except sa.exc.IntegrityError:
                continue  # registered meanwhile by another request: decide again
            break
        else:  # pragma: no cover - three races in a row
            raise ApiError(409, "conflict", f"service '{body.name}' is being registered")
        if isinstance(stored, str):
            raise _refused(request, who, "service.register", target, 409, stored, stored)
        response.status_code = status
        if not dry_run:
            outcome = "created" if status == 201 else "unchanged"
            _audit(request, who, "service.register", target, outcome)
        return stored

    def _register(
        conn_factory: Callable[[], Any], body: s.ServiceIn, *, dry_run: bool
    ) -> tuple[int, s.ServiceOut | str]:
        """Insert ``body`` unless its name is taken: (201, new), (200, same) or (409, why).

        With ``dry_run``: the same answer, and nothing inserted.
        """
        with conn_factory() as conn:
            existing = _get_service(conn, body.name)
            if existing is not None:
                if (existing.owner, existing.repository) != (body.owner, body.repository):
                    return 409, (
                        f"service '{body.name}' is already registered "
                        f"(owner {existing.owner}, repository {existing.repository})"
                    )
                if existing.archived_at is not None:
                    return 409, f"service '{body.name}' was archived; choose another name"
                return 200, existing
            layers = sorted(
                {layer.layer: layer for layer in body.layers}.values(), key=lambda x: x.layer
            )
            if dry_run:
                return 201, s.ServiceOut(
                    name=body.name,
                    owner=body.owner,
                    description=body.description,
                    repository=body.repository,
                    layers=layers,
                    created_at=clock(),
                    archived_at=None,
                )
            conn.execute(
                services.insert().values(
                    name=body.name,
                    owner=body.owner,
                    description=body.description,
                    repository=body.repository,
                    created_at=clock(),
                )
            )
            if layers:
                conn.execute(
                    service_layers.insert(),
                    [
                        {
                            "service": body.name,
                            "layer": layer.layer,
                            "scaffold": layer.scaffold,
                            "version": layer.version,
                        }
                        for layer in layers
                    ],
                )
            created = _get_service(conn, body.name)
        assert created is not None
        return 201, created

    @app.post("/v1/services/{name}/archive", tags=["services"])
    def archive_service(
        request: Request,
        who: Caller,
        name: Annotated[str, s.Field(min_length=2, max_length=40, pattern=s.NAME_REGEX)],
    ) -> s.ServiceOut:
        """Archive a service: it leaves the default listing; its name stays taken."""
        target = f"service {name}"
        with engine.connect() as conn:
            found = _get_service(conn, name)
        who = _refuse_unless(
            request, who, found.owner if found else None, "service.archive", target
        )
        if found is None:
            raise _refused(
                request,
                who,
                "service.archive",
                target,
                404,
                f"service '{name}' is not in the catalog",
            )
        with write_engine.begin() as conn:
            conn.execute(
                services.update()
                .where(services.c.name == name, services.c.archived_at.is_(None))
                .values(archived_at=clock())
            )
            _audit(request, who, "service.archive", target, "archived", conn=conn)
            archived = _get_service(conn, name)
        assert archived is not None
        return archived

    # -- deployments ---------------------------------------------------------------------

    def _deployment_out(row: sa.Row[Any]) -> s.DeploymentOut:
        return s.DeploymentOut.model_validate(row._mapping)

    def _link_problem(
        conn: sa.Connection, service: str, environment: str, links: Mapping[str, int | None]
    ) -> str | None:
        """Why ``rollback_of`` or ``restored`` cannot be true, or ``None``: each must name a
        deployment of the same service to the same environment."""
        ids = {value for value in links.values() if value is not None}
        if not ids:
            return None
        query = sa.select(deployments.c.id, deployments.c.service, deployments.c.environment)
        rows = {row.id: row for row in conn.execute(query.where(deployments.c.id.in_(ids)))}
        for field, value in links.items():
            if value is None:
                continue
            row = rows.get(value)
            if row is None:
                return f"{field} {value} is not a deployment in the catalog"
            if (row.service, row.environment) != (service, environment):
                return (
                    f"{field} {value} is a deployment of {row.service} to {row.environment}, "
                    f"not of {service} to {environment}"
                )
        return None

    @app.post("/v1/deployments", tags=["deployments"], status_code=201)
    def record_deployment(request: Request, who: Caller, body: s.DeploymentIn) -> s.DeploymentOut:
        """Record one deploy attempt, whole, or open it as ``started`` before its effect.

        A member records deployments of their teams' services only. A refused attempt of a
        service that is not registered is accepted from anyone signed in (nothing was deployed).
        A ``started`` record (no ``finished_at``) is accepted only for a registered service
        that is not archived, from one of its team's members or an admin; close it with
        ``POST /v1/deployments/{id}/finish``.

        The platform sets ``actor`` to the token's user. ``rollback_of`` and ``restored`` must
        name deployments of the same service and environment; no time may be more than five
        minutes ahead of the platform's clock.
        """
        action = "deployment.record"
        target = f"deployment {body.service}/{body.environment}"
        with engine.connect() as conn:
            found = _get_service(conn, body.service)
        owner = found.owner if found else None
        who = _refuse_unless(request, who, owner, action, target)
        if body.outcome == "started" and (found is None or found.archived_at is not None):
            state = "not registered" if found is None else "archived"
            raise _refused(
                request,
                who,
                action,
                target,
                403,
                f"service '{body.service}' is {state}: a deployment starts only for a "
                "registered service of one of your teams",
                state,
            )
        if found is None and body.outcome != "refused" and not who.admin:
            raise _refused(
                request,
                who,
                action,
                target,
                403,
                f"service '{body.service}' is not registered: register it first",
                "not registered",
            )
        stamps = {
            "started_at": body.started_at,
            "finished_at": body.finished_at,
            "source_time": body.source_time,
        }
        links = {"rollback_of": body.rollback_of, "restored": body.restored}
        with engine.connect() as conn:
            problem = _not_ahead(stamps) or _link_problem(
                conn, body.service, body.environment, links
            )
        if problem is not None:
            raise _refused(request, who, action, target, 422, problem, problem)
        with write_engine.begin() as conn:
            values = {**body.model_dump(), "actor": who.user, "recorded_by": who.user}
            new_id = conn.execute(
                deployments.insert().values(**values).returning(deployments.c.id)
            ).scalar_one()
            detail = f"id {new_id}, {body.outcome}"
            _audit(request, who, action, target, "recorded", detail, conn=conn)
            row = conn.execute(sa.select(deployments).where(deployments.c.id == new_id)).one()
        return _deployment_out(row)

    @app.post("/v1/deployments/{id}/finish", tags=["deployments"])
    def finish_deployment(
        request: Request,
        who: Caller,
        deployment_id: Annotated[int, Path(alias="id", ge=1, le=s.MAX_ID)],
        body: s.DeploymentFinishIn,
    ) -> s.DeploymentOut:
        """Close a ``started`` deployment with what happened to it.

        Only a member of the team that owns the service, or an admin, may close it; 409 when
        it is not ``started`` any more. ``finished_at`` may not be before ``started_at`` nor
        more than five minutes ahead of the platform's clock. The platform sets ``actor`` to
        the token's user; ``revision`` and ``manifests`` are kept when not sent.
        """
        action = "deployment.finish"
        target = f"deployment {deployment_id}"
        who = _refuse_unless(request, who, None, action, target)
        with engine.connect() as conn:
            row = conn.execute(
                sa.select(deployments).where(deployments.c.id == deployment_id)
            ).first()
            found = _get_service(conn, row.service) if row is not None else None
        if row is None:
            message = f"deployment {deployment_id} is not in the catalog"
            raise _refused(request, who, action, target, 404, message)
        if found is None and not who.admin:
            message = f"service '{row.service}' is not registered: only an admin may finish it"
            raise _refused(request, who, action, target, 403, message, "not registered")
        who = _refuse_unless(request, who, found.owner if found else None, action, target)
        if row.outcome != "started":
            message = (
                f"deployment {deployment_id} has finished already (outcome {row.outcome}): "
                "only a started deployment can be finished"
            )
            raise _refused(request, who, action, target, 409, message, message)
        problem = _not_ahead({"finished_at": body.finished_at})
        if body.finished_at < row.started_at:
            problem = (
                f"finished_at {body.finished_at.isoformat()} is before "
                f"started_at {row.started_at.isoformat()}"
            )
        if problem is not None:
            raise _refused(request, who, action, target, 422, problem, problem)
        values: dict[str, Any] = {
            "outcome": body.outcome,
            "finished_at": body.finished_at,
            "message": body.message,
        }  # the actor stays who opened it; the audit trail says who closed it
        if body.revision is not None:
            values["revision"] = body.revision
        if body.manifests is not None:
            values["manifests"] = body.manifests
        with write_engine.begin() as conn:
            changed = conn.execute(
                deployments.update()
                .where(deployments.c.id == deployment_id, deployments.c.outcome == "started")
                .values(**values)
            ).rowcount
            if changed:
                detail = f"id {deployment_id}, {body.outcome}"
                _audit(request, who, action, target, "finished", detail, conn=conn)
            finished = conn.execute(
                sa.select(deployments).where(deployments.c.id == deployment_id)
            ).one()
        if not changed:  # finished meanwhile by another request
            message = (
                f"deployment {deployment_id} has finished already (outcome {finished.outcome})"
            )
            raise _refused(request, who, action, target, 409, message, message)
        return _deployment_out(finished)

    @app.get("/v1/deployments", tags=["deployments"])
    def list_deployments(
        who: Reader,
        service: NameQuery = None,
        environment: NameQuery = None,
        cursor: Cursor = None,
        limit: Limit = 100,
    ) -> s.DeploymentPage:
        """Deploy attempts, oldest first, a page at a time."""
        after = _decode_cursor(cursor, int)
        query = sa.select(deployments).order_by(deployments.c.id).limit(limit + 1)
        if service is not None:
            query = query.where(deployments.c.service == service)
        if environment is not None:
            query = query.where(deployments.c.environment == environment)
        if after is not None:
            query = query.where(deployments.c.id > after)
        with engine.connect() as conn:
            rows = conn.execute(query).all()
        page = [_deployment_out(row) for row in rows[:limit]]
        more = len(rows) > limit
        return s.DeploymentPage(
            deployments=page, next_cursor=_encode_cursor(page[-1].id) if more else None
        )

    # -- audit, scaffolds, settings, metrics ---------------------------------------------

    @app.get("/v1/audit", tags=["audit"])
    def list_audit(who: Reader, cursor: Cursor = None, limit: Limit = 100) -> s.AuditPage:
        """The audit trail, oldest first (platform admins only)."""
        if not who.admin:
            raise ApiError(403, "forbidden", "the audit trail is for platform admins")
        after = _decode_cursor(cursor, int)
        query = sa.select(audit_events).order_by(audit_events.c.id).limit(limit + 1)
        if after is not None:
            query = query.where(audit_events.c.id > after)
        with engine.connect() as conn:
            rows = conn.execute(query).all()
        page = [s.AuditEventOut.model_validate(row._mapping) for row in rows[:limit]]
        more = len(rows) > limit
        return s.AuditPage(events=page, next_cursor=_encode_cursor(page[-1].id) if more else None)

    @app.get("/v1/scaffolds", tags=["platform"])
    def list_scaffolds(who: Reader) -> list[s.ScaffoldOut]:
        """The scaffolds the platform offers, their versions, and the oldest it accepts."""
        return [
            s.ScaffoldOut(name=o.name, layer=o.layer, versions=list(o.versions), minimum=o.minimum)
            for o in platform.scaffolds
        ]

    @app.get("/v1/settings", tags=["platform"])
    def platform_settings(who: Reader) -> s.PlatformSettingsOut:
        """Organisation settings (environments and their targets) for ``paved login``."""
        return s.PlatformSettingsOut(settings=dict(platform.settings))

    @app.get("/v1/metrics", tags=["metrics"])
    def metrics(
        who: Reader,
        team: NameQuery = None,
        service: NameQuery = None,
        environment: Annotated[
            str, Query(min_length=2, max_length=40, pattern=s.NAME_REGEX)
        ] = "prod",
        days: Annotated[int, Query(ge=1, le=366)] = 30,
    ) -> s.MetricsOut:
        """Delivery metrics per service, and in total, over the last ``days`` (docs/platform.md)."""
        end = clock()
        start = end - dt.timedelta(days=days)
        query = (
            sa.select(
                deployments.c.id,
                deployments.c.service,
                deployments.c.outcome,
                deployments.c.source_time,
                deployments.c.finished_at,
                deployments.c.rollback_of,
                services.c.owner,
            )
            .join(services, services.c.name == deployments.c.service)
            .where(
                deployments.c.environment == environment,
                # Refused attempts changed nothing; started ones are not over (no finished_at).
                deployments.c.outcome.in_(("succeeded", "failed")),
                deployments.c.finished_at >= start,
                deployments.c.finished_at <= end,
            )
            .order_by(deployments.c.id)
        )
        if team is not None:
            query = query.where(services.c.owner == team)
        if service is not None:
            query = query.where(deployments.c.service == service)
        with engine.connect() as conn:
            rows = conn.execute(query).all()
        by_service: dict[str, list[Record]] = {}
        owners: dict[str, str] = {}
        for row in rows:
            owners[row.service] = row.owner
            by_service.setdefault(row.service, []).append(
                Record(
                    row.id,
                    row.service,
                    row.outcome,
                    row.source_time,
                    row.finished_at,
                    row.rollback_of,
                )
            )
        every = [r for records in by_service.values() for r in records]
        return s.MetricsOut(
            environment=environment,
            team=team,
            window_start=start,
            window_end=end,
            total=s.ServiceMetrics.model_validate(
                {"service": service or "*", "owner": team or "*", **delivery_metrics(every, days)}
            ),
            services=[
                s.ServiceMetrics.model_validate(
                    {"service": name, "owner": owners[name], **delivery_metrics(records, days)}
                )
                for name, records in sorted(by_service.items())
            ],
        )

    return app


def openapi_document(app: FastAPI) -> str:
    """The OpenAPI document as checked into docs/openapi.json."""
    return json.dumps(app.openapi(), indent=2, sort_keys=True) + "\n"
