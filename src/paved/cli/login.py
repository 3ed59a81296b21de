"""``paved login`` and ``paved logout``: use the organisation's platform catalog, or stop."""

import sys
from typing import Annotated

import typer

from paved.cli.common import handle_errors, runtime_of
from paved.credentials import credentials_file, write_credentials
from paved.errors import InputError

__all__ = ["login", "logout"]


@handle_errors
def login(
    ctx: typer.Context,
    url: Annotated[str, typer.Argument(metavar="URL", help="The platform's URL.")],
    token: Annotated[
        str | None,
        typer.Option("--token", help="The token (default: read from stdin or asked for)."),
    ] = None,
) -> None:
    """Log in to the platform: every command then uses its catalog."""
    runtime = runtime_of(ctx)
    if not url.startswith(("http://", "https://")):
        raise InputError(f"platform URL '{url}' must start with http:// or https://")
    if token is None:
        if runtime.interactive:
            token = typer.prompt("Token", hide_input=True, err=True)
        else:
            token = sys.stdin.readline()
    token = (token or "").strip()
    if not token:
        raise InputError("no token given", hint="pass --token or pipe it on stdin")
    from paved.catalog.remote import RemoteCatalog

    catalog = RemoteCatalog(url, token)
    try:
        settings = catalog.settings()
    finally:
        catalog.close()
    path = write_credentials(runtime.paths.config_dir, url.rstrip("/"), token, settings)
    runtime.out.info(f"logged in to {url.rstrip('/')}; credentials in {path}")


@handle_errors
def logout(ctx: typer.Context) -> None:
    """Forget the platform login: back to the local catalog.

    The platform's URL and token are removed; commands use the local catalog again.
    """
    runtime = runtime_of(ctx)
    path = credentials_file(runtime.paths.config_dir)
    if path.exists():
        path.unlink()
        runtime.out.info(f"logged out; removed {path}")
    else:
        runtime.out.info("not logged in")
