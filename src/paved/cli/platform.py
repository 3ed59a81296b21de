"""``paved platform``: run the platform server and manage its tokens (on the server's host)."""

import enum
import importlib.util
import re
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from paved.cli.common import JsonOption, handle_errors, runtime_of
from paved.cli.output import Column
from paved.errors import InputError

if TYPE_CHECKING:
    from paved.cli.runtime import Runtime
    from paved.server import PlatformConfig
    from paved.server._schemas import TeamOut

app = typer.Typer(help="Run the platform server and manage its tokens.", no_args_is_help=True)
token_app = typer.Typer(help="Tokens for the platform API (run on the server's host).")
app.add_typer(token_app, name="token")
team_app = typer.Typer(help="The teams that own services (run on the server's host).")
app.add_typer(team_app, name="team")

DbOption = Annotated[
    str | None,
    typer.Option(
        "--db",
        metavar="URL",
        help="Database URL: sqlite:///PATH or postgresql://... "
        "[default: platform.db in the data directory]",
    ),
]


def _server() -> None:
    """Fail with a hint when the server extra is not installed, or installed only in part."""
    modules = ("fastapi", "starlette", "pydantic", "sqlalchemy", "alembic", "uvicorn")
    for module in (*modules, "prometheus_client", "pythonjsonlogger"):
        if importlib.util.find_spec(module) is None:
            raise InputError(
                f"the platform server needs the 'server' extra ({module} is not installed)",
                hint="pip install 'paved[server]'",
            )
    try:
        import paved.server  # noqa: F401 - one of its libraries may not import
    except ImportError as exc:
        raise InputError(
            f"the platform server needs the 'server' extra ({exc.name} cannot be imported)",
            hint="pip install --force-reinstall 'paved[server]'",
        ) from None


def _db_url(runtime: "Runtime", db: str | None) -> str:
    from paved.server import sqlite_url

    return (
        db
        or runtime.env.get("PAVED_PLATFORM_DB")
        or sqlite_url(runtime.paths.data_dir / "platform.db")
    )


def _platform_config(runtime: "Runtime", settings_file: Path | None) -> "PlatformConfig":
    """Scaffolds offered: the bundled ones. Settings for clients: the file given with
    ``--settings``, else the environments and minimum road version of this host's settings."""
    from paved.server import PlatformConfig, ScaffoldOffer, organisation_settings

    offers = tuple(
        ScaffoldOffer(s.name, s.layer.value, (s.version,), s.version)
        for s in runtime.registry.all()
    )
    reader = _backstage_reader(runtime)
    if settings_file is not None:
        return PlatformConfig(
            scaffolds=offers,
            settings=organisation_settings(settings_file),
            backstage_token=reader,
        )
    settings = runtime.settings
    organisation: dict[str, object] = {}
    if settings.environments:
        organisation["environments"] = {k: dict(v) for k, v in settings.environments.items()}
    if settings.deploy_min_road_version:
        organisation["deploy"] = {"min_road_version": settings.deploy_min_road_version}
    return PlatformConfig(scaffolds=offers, settings=organisation, backstage_token=reader)


#: The variable holding the token a Backstage reads the organisation with (and nothing else).
BACKSTAGE_READER = "PAVED_PLATFORM_BACKSTAGE_TOKEN"
_READER_TOKEN = re.compile(r"^[A-Za-z0-9._~+/=-]{32,512}$")


def _backstage_reader(runtime: "Runtime") -> str | None:
    """The Backstage reader token of ``$PAVED_PLATFORM_BACKSTAGE_TOKEN``, checked, or ``None``."""
    value = runtime.env.get(BACKSTAGE_READER, "")
    if value == "":
        return None
    if _READER_TOKEN.match(value) is None:
        raise InputError(
            f"{BACKSTAGE_READER} must be 32 to 512 characters of A-Z, a-z, 0-9 and ._~+/=-",
            hint="make one with: openssl rand -hex 32",
        )
    return value


def _actor(runtime: "Runtime") -> str:
    return "local:" + (runtime.env.get("USER") or runtime.env.get("LOGNAME") or "unknown")


def _port(value: int) -> int:
    if not 1 <= value <= 65535:
        raise typer.BadParameter(f"{value} is not a port (1 to 65535)")
    return value


class LogFormat(enum.Enum):
    """How ``platform serve`` writes its log."""

    TEXT = "text"
    JSON = "json"


#: The most worker processes one server starts (a bigger machine runs more replicas).
MOST_WORKERS = 64


def _workers(value: int | None) -> int | None:
    if value is not None and not 1 <= value <= MOST_WORKERS:
        raise typer.BadParameter(f"{value} is not a number of workers (1 to {MOST_WORKERS})")
    return value


def _bound(value: int) -> int:
    if not 1 <= value <= 10_000:
        raise typer.BadParameter(f"{value} is not a bound of requests at once (1 to 10000)")
    return value


@app.command("serve")
@handle_errors
def serve(
    ctx: typer.Context,
    host: Annotated[str, typer.Option("--host", help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[
        int,
        typer.Option(
            "--port", callback=_port, show_default=False, help="The port to listen on (8420)."
        ),
    ] = 8420,
    db: DbOption = None,
    settings: Annotated[
        Path | None,
        typer.Option(
            "--settings",
            metavar="FILE",
            help="Organisation settings for clients: TOML in the shape of config.toml "
            "([githost] remote, [deploy] repository, [environments.NAME], ...).",
        ),
    ] = None,
    secure_cookies: Annotated[
        bool,
        typer.Option(
            "--secure-cookies",
            help="Behind a TLS proxy: the console's session cookie is always Secure, and its "
            "forms must come from https.",
        ),
    ] = False,
    workers: Annotated[
        int | None,
        typer.Option(
            "--workers",
            callback=_workers,
            show_default=False,
            help="Worker processes serving the one port [default: the CPUs this may use].",
        ),
    ] = None,
    no_migrate: Annotated[
        bool,
        typer.Option(
            "--no-migrate",
            help="Do not migrate: refuse to start unless 'paved platform migrate' has "
            "brought the database to the newest migration.",
        ),
    ] = False,
    max_concurrency: Annotated[
        int,
        typer.Option(
            "--max-concurrency",
            callback=_bound,
            help="Requests one worker serves at once; past it, 429 with Retry-After.",
        ),
    ] = 64,
    max_per_token: Annotated[
        int,
        typer.Option(
            "--max-per-token",
            callback=_bound,
            help="Requests one token has served at once by one worker; past it, 429.",
        ),
    ] = 32,
    log_format: Annotated[
        LogFormat,
        typer.Option(
            "--log-format",
            help="The log on stderr: lines for people, or one JSON object a line.",
        ),
    ] = LogFormat.TEXT,
) -> None:
    """Serve the platform API (migrates the database forward first).

    Several servers over one PostgreSQL may start at once: the migration runs under a lock,
    once. SIGTERM finishes the requests in flight, then stops. The access log shows each
    request's path, never its query string. Probes: /livez, /readyz; Prometheus: /-/metrics.
    """
    runtime = runtime_of(ctx)
    if runtime.json:  # `paved --json platform serve`: after the command it is refused already
        raise InputError(
            "platform serve prints no JSON document: it serves until stopped",
            hint="run it without --json (its requests are logged on stderr)",
        )
    _server()
    from paved.server import Bounds, default_workers
    from paved.server import serve as serve_platform

    processes = workers or default_workers()

    def ready() -> None:
        many = f", {processes} workers" if processes > 1 else ""
        runtime.out.info(f"platform API on http://{host}:{port} (OpenAPI at /openapi.json{many})")

    serve_platform(
        _db_url(runtime, db),
        host=host,
        port=port,
        clock=runtime.clock,
        config=_platform_config(runtime, settings),
        ready=ready,
        secure_cookies=secure_cookies,
        workers=processes,
        run_migrations=not no_migrate,
        bounds=Bounds(process=max_concurrency, token=max_per_token),
        log_format="json" if log_format is LogFormat.JSON else "text",
    )


@app.command("migrate")
@handle_errors
def migrate(
    ctx: typer.Context,
    db: DbOption = None,
    dry_run: Annotated[
        bool,
        typer.Option("--dry-run", help="Say which migrations would run; change nothing."),
    ] = False,
    json_output: JsonOption = False,
) -> None:
    """Bring the platform database to the newest migration, then exit.

    Run it as a job before the servers roll out (they then start with --no-migrate), or let
    each server migrate at start: either way the migrations run once, under a lock, however
    many run it at the same moment.
    """
    runtime = runtime_of(ctx, json_output=json_output)
    _server()
    from paved.server import migrate_database

    state = migrate_database(_db_url(runtime, db), dry_run=dry_run)
    applied = [] if dry_run else list(state.pending)
    out = runtime.out
    if out.json_mode:  # docs/schemas/platform-migrate.schema.json
        out.json(
            {
                "schema": "paved/platform-migrate/v1",
                "from": state.current,
                "to": state.head,
                "pending": list(state.pending),
                "applied": applied,
                "dry_run": dry_run,
            }
        )
        return
    if not state.pending:
        out.line(f"platform database at the newest migration ({state.head}): nothing to do")
    elif dry_run:
        out.line(f"would migrate the platform database to {state.head}: {', '.join(state.pending)}")
    else:
        out.line(f"migrated the platform database to {state.head}: {', '.join(state.pending)}")


@token_app.command("create")
@handle_errors
def create_token(
    ctx: typer.Context,
    user: Annotated[str, typer.Option("--user", help="Whom the token is for.")],
    team: Annotated[
        list[str] | None, typer.Option("--team", help="A team of the user's (repeatable).")
    ] = None,
    admin: Annotated[
        bool, typer.Option("--admin", help="Give the token the platform-admin role.")
    ] = False,
    expires: Annotated[
        str, typer.Option("--expires", help="Lifetime, in days or hours: 90d, 12h.")
    ] = "90d",
    db: DbOption = None,
    json_output: JsonOption = False,
) -> None:
    """Create a token; print it once on stdout (only its hash is kept)."""
    runtime = runtime_of(ctx, json_output=json_output)
    _server()
    from paved.server import create_token as issue
    from paved.server import parse_lifetime

    lifetime = parse_lifetime(expires)
    if not team and not admin:
        raise InputError("a member token needs at least one --team", hint="or give --admin")
    issued = issue(
        _db_url(runtime, db),
        user=user,
        teams=team or [],
        admin=admin,
        lifetime=lifetime,
        now=runtime.clock(),
        actor=_actor(runtime),
    )
    out = runtime.out
    out.info(
        f"token {issued.id} for {user}, expires {issued.expires_at.isoformat()}; "
        "it is shown once: keep it now"
    )
    if out.json_mode:
        out.json(
            {
                "schema": "paved/platform-token/v1",
                "id": issued.id,
                "user": user,
                "teams": sorted(set(team or [])),
                "role": "platform-admin" if admin else "member",
                "expires_at": issued.expires_at.isoformat(),
                "token": issued.token,
            }
        )
        return
    out.line(issued.token)


@token_app.command("list")
@handle_errors
def list_tokens(
    ctx: typer.Context,
    db: DbOption = None,
    json_output: JsonOption = False,
) -> None:
    """List every token: id, user, teams, role, created, expiry and status.

    Never a token's secret, nor its hash: the id is what 'paved platform token revoke' takes.
    """
    runtime = runtime_of(ctx, json_output=json_output)
    _server()
    from paved.server import list_tokens as stored_tokens

    records = stored_tokens(_db_url(runtime, db))
    now = runtime.clock()
    out = runtime.out
    if out.json_mode:
        out.json(
            {"schema": "paved/platform-tokens/v1", "tokens": [r.to_json(now) for r in records]}
        )
        return
    out.table(
        [
            Column("ID"),
            Column("USER"),
            Column("TEAMS", wrap=True),
            Column("ROLE", hide=2),
            Column("CREATED", hide=1),
            Column("EXPIRES"),
            Column("STATUS"),
        ],
        [
            (
                r.id,
                r.user,
                ",".join(r.teams) or "-",
                r.role,
                r.created_at.date().isoformat(),
                r.expires_at.date().isoformat(),
                r.status(now),
            )
            for r in records
        ],
        empty="No tokens yet: make one with 'paved platform token create'.",
    )


@token_app.command("revoke")
@handle_errors
def revoke_token(
    ctx: typer.Context,
    token_id: Annotated[
        str | None, typer.Argument(metavar="TOKEN_ID", help="The id printed at creation.")
    ] = None,
    user: Annotated[str | None, typer.Option("--user", help="Every token of this user.")] = None,
    db: DbOption = None,
) -> None:
    """Revoke one token by id, or every token of a user."""
    runtime = runtime_of(ctx)
    if (token_id is None) == (user is None):
        raise InputError("give either TOKEN_ID or --user")
    _server()
    from paved.server import revoke_tokens

    ids = revoke_tokens(
        _db_url(runtime, db),
        token_id=token_id,
        user=user,
        now=runtime.clock(),
        actor=_actor(runtime),
    )
    if not ids:
        raise InputError(
            f"no live token {'with id ' + token_id if token_id else 'of user ' + str(user)}",
            hint="it may be revoked already",
        )
    if runtime.out.json_mode:  # docs/schemas/platform-token-revoke.schema.json
        runtime.out.json({"schema": "paved/platform-token-revoke/v1", "revoked": list(ids)})
        return
    for revoked in ids:
        runtime.out.line(revoked)


def _team_json(team: "TeamOut") -> dict[str, str]:
    return {
        "name": team.name,
        "display_name": team.display_name,
        "description": team.description,
        "created_by": team.created_by,
        "created_at": team.created_at.isoformat(),
    }


@team_app.command("create")
@handle_errors
def create_team(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(metavar="NAME", help="The team's name (team-checkout).")],
    display_name: Annotated[
        str, typer.Option("--display-name", help="How people call it (Checkout).")
    ] = "",
    description: Annotated[str, typer.Option("--description", help="What it does.")] = "",
    db: DbOption = None,
    json_output: JsonOption = False,
) -> None:
    """Create a team that services may be registered to.

    The same team again changes nothing; another display name or description is exit 6.
    """
    runtime = runtime_of(ctx, json_output=json_output)
    _server()
    from paved.server import create_team as make_team

    team, created = make_team(
        _db_url(runtime, db),
        name=name,
        display_name=display_name,
        description=description,
        now=runtime.clock(),
        actor=_actor(runtime),
    )
    if runtime.out.json_mode:  # docs/schemas/platform-team.schema.json
        runtime.out.json(
            {"schema": "paved/platform-team/v1", **_team_json(team), "created": created}
        )
        return
    runtime.out.line(f"team {team.name} {'created' if created else 'unchanged'}")


@team_app.command("list")
@handle_errors
def list_teams(
    ctx: typer.Context,
    db: DbOption = None,
    json_output: JsonOption = False,
) -> None:
    """List the teams the platform knows.

    Those created here or through the API, and those a token names.
    """
    runtime = runtime_of(ctx, json_output=json_output)
    _server()
    from paved.server import list_teams as stored_teams

    teams = stored_teams(_db_url(runtime, db))
    out = runtime.out
    if out.json_mode:  # docs/schemas/platform-teams.schema.json
        out.json({"schema": "paved/platform-teams/v1", "teams": [_team_json(t) for t in teams]})
        return
    out.table(
        [
            Column("NAME"),
            Column("DISPLAY NAME", hide=2),
            Column("CREATED BY", hide=1),
            Column("CREATED"),
        ],
        [
            (t.name, t.display_name or "-", t.created_by, t.created_at.date().isoformat())
            for t in teams
        ],
        empty="No teams yet: make one with 'paved platform team create NAME'.",
    )
