"""``paved login`` and ``paved logout``: use the organisation's platform catalog, or stop."""

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from paved.cli.common import JsonOption, handle_errors, runtime_of
from paved.credentials import credentials_file, write_credentials
from paved.errors import InputError
from paved.text import escaped

if TYPE_CHECKING:
    from paved.cli.runtime import Runtime
    from paved.models import Caller

__all__ = ["login", "logout"]


@handle_errors
def login(
    ctx: typer.Context,
    url: Annotated[str, typer.Argument(metavar="URL", help="The platform's URL.")],
    token: Annotated[
        str | None,
        typer.Option("--token", help="The token (default: read from stdin or asked for)."),
    ] = None,
    json_output: JsonOption = False,
) -> None:
    """Log in to the platform: every command then uses its catalog."""
    runtime = runtime_of(ctx, json_output=json_output)
    if not url.startswith(("http://", "https://")):
        raise InputError(f"platform URL '{url}' must start with http:// or https://")
    url = url.rstrip("/")
    if token is None and runtime.interactive:
        from paved.cli.prompts import ask
        from paved.errors import AuthError

        settings, caller, token = ask(
            runtime,
            "Token",
            check=lambda answer: (*_verify(url, answer), answer),
            missing=InputError("no token given", hint="pass --token or pipe it on stdin"),
            retry=(InputError, AuthError),
            hide_input=True,
        )
    else:
        if token is None and runtime.stdin_is_terminal:  # --yes or CI: never read it echoed
            raise InputError(
                "no token given and the run is not interactive",
                hint="pass --token TOKEN or pipe it on stdin",
            )
        token = (sys.stdin.readline() if token is None else token).strip()
        settings, caller = _verify(url, token)
    path = write_credentials(runtime.paths.config_dir, url, token, settings)
    _show_login(runtime, url, caller, path)


def _verify(url: str, token: str) -> tuple[dict[str, Any], "Caller"]:
    """The platform's settings and who the token is: both ask the platform to accept it."""
    token = token.strip()
    if not token:
        raise InputError("no token given", hint="pass --token or pipe it on stdin")
    from paved.catalog.remote import RemoteCatalog

    catalog = RemoteCatalog(url, token)
    try:
        return catalog.settings(), catalog.caller()
    finally:
        catalog.close()


def _show_login(runtime: "Runtime", url: str, caller: "Caller", path: Path) -> None:
    # catalog.url (a setting or PAVED_CATALOG_URL) wins over the login, as in Runtime.catalog
    from paved.config import load_settings

    chosen = load_settings(runtime.paths, runtime.env).catalog_url.rstrip("/") or url
    out = runtime.out
    if out.json_mode:
        out.json(
            {
                "schema": "paved/login/v1",
                "url": url,
                "user": caller.user,
                "teams": list(caller.teams),
                "admin": caller.admin,
                "catalog": chosen,
                "credentials": str(path),
            }
        )
    teams = ", ".join(caller.teams) or "no team"
    out.info(
        f"logged in to {url} as {escaped(caller.user)} ({'admin; ' if caller.admin else ''}"
        f"teams: {teams}); credentials in {path}"
    )
    if chosen == url:
        out.info(f"commands now use the platform's catalog at {url}")
    else:
        out.info(
            f"warning: commands use the catalog at {chosen}, not this platform's: "
            "catalog.url is set (paved -v shows where)"
        )


@handle_errors
def logout(ctx: typer.Context) -> None:
    """Forget the platform login: back to the local catalog.

    The platform's URL and token are removed; commands use the local catalog again.
    """
    runtime = runtime_of(ctx)
    path = credentials_file(runtime.paths.config_dir)
    from paved.config import load_settings

    catalog_url = load_settings(runtime.paths, runtime.env).catalog_url
    if catalog_url:
        now = f"commands use the catalog at {catalog_url} (catalog.url is set)"
    else:
        now = f"commands use the local catalog {runtime.paths.catalog_db}"
    catalog = catalog_url or str(runtime.paths.catalog_db)
    out = runtime.out
    if not path.exists():
        if out.json_mode:
            out.json(_logout_document(None, None, catalog))
        out.info(f"not logged in; {now}")
        return
    url = (runtime.platform_login or {}).get("url")
    path.unlink()
    if out.json_mode:
        out.json(_logout_document(url, path, catalog))
    out.info(f"logged out{f' of {url}' if url else ''}; removed {path}")
    out.info(f"{now}{'' if catalog_url else ' again'}")


def _logout_document(url: str | None, removed: Path | None, catalog: str) -> dict[str, Any]:
    """What ``paved logout --json`` says (docs/schemas/logout.schema.json)."""
    return {
        "schema": "paved/logout/v1",
        "logged_out": removed is not None,
        "url": url,
        "removed": str(removed) if removed is not None else None,
        "catalog": catalog,
    }
