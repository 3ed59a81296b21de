"""Serving the app with uvicorn: the listening socket, and an access log without query strings.

The socket is bound here, before uvicorn starts, so that a port in use is a usage error named
in one line (uvicorn itself logs it and exits with its own code). The access log keeps the
path of each request but never its query string: a query string is where a careless client
puts a token, and the server refuses those requests (400 ``token_in_query``) but would still
log them.
"""

from __future__ import annotations

import copy
import errno
import logging
import socket
from collections.abc import Callable
from typing import Any

from paved.errors import InputError
from paved.server._app import create_app
from paved.server._db import unusable_database
from paved.server._state import Clock, PlatformConfig

__all__ = ["DropQueryString", "listen", "log_config", "serve"]


class DropQueryString(logging.Filter):
    """Cut the query string from the path of uvicorn's access log records.

    uvicorn logs each request on ``uvicorn.access`` with the arguments ``(client address,
    method, path with query string, HTTP version, status)``.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if isinstance(args, tuple) and len(args) == 5 and isinstance(args[2], str):
            path = args[2].partition("?")[0]
            record.args = (args[0], args[1], path, args[3], args[4])
        return True


def log_config() -> dict[str, Any]:
    """uvicorn's logging configuration with :class:`DropQueryString` on the access log."""
    from uvicorn.config import LOGGING_CONFIG

    config = copy.deepcopy(LOGGING_CONFIG)
    config.setdefault("filters", {})["no_query_string"] = {"()": DropQueryString}
    access = config["loggers"].setdefault("uvicorn.access", {})
    access["filters"] = [*access.get("filters", []), "no_query_string"]
    return config


def listen(host: str, port: int) -> socket.socket:
    """A socket bound to ``host``:``port``, or :class:`InputError` saying why not."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        if exc.errno == errno.EADDRINUSE:
            raise InputError(
                f"port {port} on {host} is in use: choose another with --port"
            ) from None
        reason = exc.strerror or type(exc).__name__
        raise InputError(
            f"cannot listen on {host} port {port} ({reason})",
            hint="check --host (an address of this machine) and --port",
        ) from None
    return sock


def _run(app: Any, sock: socket.socket, *, host: str, port: int) -> None:
    """Serve ``app`` on ``sock`` until interrupted."""
    import uvicorn

    config = uvicorn.Config(app, host=host, port=port, log_level="info", log_config=log_config())
    server = uvicorn.Server(config)
    try:
        server.run(sockets=[sock])
    finally:
        sock.close()


def serve(
    db_url: str,
    *,
    host: str,
    port: int,
    clock: Clock,
    config: PlatformConfig,
    ready: Callable[[], None],
    secure_cookies: bool = False,
) -> None:
    """Serve the platform API over ``db_url`` on ``host``:``port`` until interrupted.

    The port is taken first, then the database opened and migrated; ``ready`` is called
    just before serving. A port in use, or a database that cannot be opened, is an
    :class:`InputError` in one line. With ``secure_cookies``, the console holds every
    request to have come over TLS (its cookie always ``Secure``, its forms from ``https``).
    """
    sock = listen(host, port)
    try:
        try:
            app = create_app(db_url, clock, config)
        except Exception as exc:  # noqa: BLE001 - a database driver's error, named in one line
            raise unusable_database(exc) from None
        if secure_cookies:
            from paved.server.console import require_tls

            require_tls(app)
        ready()
        _run(app, sock, host=host, port=port)
    finally:
        sock.close()
