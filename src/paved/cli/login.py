"""``paved login`` and ``paved logout``: use the organisation's platform catalog, or stop."""

import json
import os
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from paved.cli.app import handle_errors, runtime_of
from paved.errors import InputError

__all__ = ["credentials_file", "login", "logout", "read_credentials"]


def credentials_file(config_dir: Path) -> Path:
    return config_dir / "platform.json"


def read_credentials(config_dir: Path) -> dict[str, Any] | None:
    """The stored URL, token and platform settings, or ``None`` when not logged in."""
    path = credentials_file(config_dir)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        raise InputError(
            f"platform credentials {path} cannot be read ({type(exc).__name__})",
            hint="log in again: paved login URL",
        ) from None
    if not isinstance(data, dict) or not isinstance(data.get("url"), str):
        raise InputError(f"platform credentials {path} are damaged", hint="paved login URL")
    return data


def _write_private(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` readable by this user only, in a folder only they can list."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.chmod(path.parent, 0o700)  # it holds a token: no one else lists or opens it
    temp = path.with_suffix(".tmp")
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)
    os.chmod(temp, 0o600)
    os.replace(temp, path)


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
    path = credentials_file(runtime.paths.config_dir)
    _write_private(
        path, json.dumps({"url": url.rstrip("/"), "token": token, "settings": settings}, indent=2)
    )
    runtime.out.info(f"logged in to {url.rstrip('/')}; credentials in {path}")


@handle_errors
def logout(ctx: typer.Context) -> None:
    """Forget the platform's URL and token: commands use the local catalog again."""
    runtime = runtime_of(ctx)
    path = credentials_file(runtime.paths.config_dir)
    if path.exists():
        path.unlink()
        runtime.out.info(f"logged out; removed {path}")
    else:
        runtime.out.info("not logged in")
