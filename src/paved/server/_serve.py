"""Serving the app with uvicorn: the listening socket, the worker processes, and the logs.

The socket is bound here, before uvicorn starts, so that a port in use is a usage error named
in one line (uvicorn itself logs it and exits with its own code). The access log keeps the
path of each request but never its query string: a query string is where a careless client
puts a token, and the server refuses those requests (400 ``token_in_query``) but would still
log them.

With several workers the process that binds the socket migrates the database once (under the
migration lock, :func:`paved.server.migrate`) and hands the socket to uvicorn's own process
supervisor, which spawns the workers, restarts one that dies, and on SIGTERM stops each
gracefully: a worker stops accepting, finishes the requests it has (for up to
:data:`GRACE` seconds), then exits. Each worker builds its app from a :class:`WorkerSpec`
over a database already migrated.
"""

from __future__ import annotations

import copy
import dataclasses
import errno
import functools
import logging
import os
import re
import shutil
import signal
import socket
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, Literal

from paved.errors import InputError, PavedError
from paved.server._app import NotMigrated, create_app
from paved.server._db import connect, migrate, migration_state, unusable_database
from paved.server._observe import MULTIPROCESS_DIR
from paved.server._overload import Bounds
from paved.server._state import Clock, PlatformConfig

__all__ = [
    "GRACE",
    "DropQueryString",
    "LogFormat",
    "WorkerSpec",
    "default_workers",
    "listen",
    "log_config",
    "serve",
    "worker_app",
]

#: Seconds a stopping worker gives the requests in flight (Kubernetes waits 30 by default).
GRACE = 25

#: The files prometheus-client's multi-process mode writes: ``counter_1234.db``,
#: ``gauge_livesum_1234.db``. Nothing else in an operator's folder is removed.
_METRIC_FILE = re.compile(r"(counter|histogram|summary|gauge_[a-z]+)_[0-9]+\.db")

#: Seconds the supervisor waits for a worker's answer before taking it for hung.
HEALTHCHECK = 120

LogFormat = Literal["text", "json"]


class DropQueryString(logging.Filter):
    """Cut the query string from the path of uvicorn's access log records, and give them
    their parts as fields (``client``, ``method``, ``path``, ``http_version``, ``status``)
    for the JSON log.

    uvicorn logs each request on ``uvicorn.access`` with the arguments ``(client address,
    method, path with query string, HTTP version, status)``.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if isinstance(args, tuple) and len(args) == 5 and isinstance(args[2], str):
            path = args[2].partition("?")[0]
            record.args = (args[0], args[1], path, args[3], args[4])
            record.client, record.method, record.path = args[0], args[1], path
            record.http_version, record.status = args[3], args[4]
        return True


#: Fields of a JSON log line beyond the record's own (time, level, logger, message).
_JSON_FORMAT = "%(asctime)s %(levelname)s %(name)s %(message)s"


def log_config(log_format: LogFormat = "text") -> dict[str, Any]:
    """uvicorn's logging configuration with :class:`DropQueryString` on the access log; with
    ``json``, one JSON object a line (python-json-logger) for a log collector."""
    from uvicorn.config import LOGGING_CONFIG

    config = copy.deepcopy(LOGGING_CONFIG)
    config.setdefault("filters", {})["no_query_string"] = {"()": DropQueryString}
    access = config["loggers"].setdefault("uvicorn.access", {})
    access["filters"] = [*access.get("filters", []), "no_query_string"]
    if log_format == "json":
        for name in ("default", "access"):
            config["formatters"][name] = {
                "()": "pythonjsonlogger.json.JsonFormatter",
                "fmt": _JSON_FORMAT,
                "rename_fields": {"asctime": "time", "levelname": "level", "name": "logger"},
                # uvicorn's coloured copy of the message is for terminals only.
                "reserved_attrs": [*_RESERVED, "color_message"],
            }
    return config


def _reserved() -> list[str]:
    from pythonjsonlogger.core import RESERVED_ATTRS

    return list(RESERVED_ATTRS)


_RESERVED: list[str] = _reserved()


def default_workers() -> int:
    """The CPUs this process may run on (its affinity, not the machine's count)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not on Linux
        return max(1, os.cpu_count() or 1)


def listen(host: str, port: int) -> socket.socket:
    """A socket bound to ``host``:``port``, or :class:`InputError` saying why not."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # IPPROTO_TCP by name: asyncio turns Nagle's algorithm off (TCP_NODELAY) only on
    # connections whose socket says so, and with it on, a keep-alive client waited 40 ms
    # (its delayed ACK) for the body of every answer sent after its headers.
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
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


@dataclasses.dataclass(frozen=True)
class WorkerSpec:
    """What a worker process needs to build its app (it is pickled to the worker)."""

    db_url: str
    clock: Clock
    config: PlatformConfig
    secure_cookies: bool
    bounds: Bounds


def worker_app(spec: WorkerSpec) -> Any:
    """The app of one worker, over a database the serving process has migrated."""
    app = create_app(spec.db_url, spec.clock, spec.config, run_migrations=False, bounds=spec.bounds)
    if spec.secure_cookies:
        from paved.server.console import require_tls

        require_tls(app)
    return app


def _uvicorn_config(app: Any, *, host: str, port: int, workers: int, log: LogFormat) -> Any:
    import uvicorn

    return uvicorn.Config(
        app,
        host=host,
        port=port,
        workers=workers,
        factory=workers > 1,
        log_level="info",
        log_config=log_config(log),
        timeout_graceful_shutdown=GRACE,
        # A worker answers the supervisor's ping only once it has imported the app: on a
        # loaded machine that takes longer than uvicorn's 5 s, and a worker killed for it
        # is restarted into the same wait, for ever.
        timeout_worker_healthcheck=HEALTHCHECK,
    )


@contextmanager
def _metrics_folder() -> Iterator[None]:
    """A fresh folder for the workers' metric files, named in the environment they inherit;
    the operator's own ``PROMETHEUS_MULTIPROC_DIR`` is emptied of old files and kept."""
    given = os.environ.get(MULTIPROCESS_DIR)
    if given:
        if not os.path.isdir(given):
            raise InputError(
                f"{MULTIPROCESS_DIR} is {given!r}, which is not a folder",
                hint="make it an empty folder for the workers' metric files, or unset it",
            )
        for old in os.scandir(given):  # only the files prometheus-client writes
            if _METRIC_FILE.fullmatch(old.name) and old.is_file(follow_symlinks=False):
                os.unlink(old.path)
        yield
        return
    folder = tempfile.mkdtemp(prefix="paved-metrics-")
    os.environ[MULTIPROCESS_DIR] = folder
    try:
        yield
    finally:
        os.environ.pop(MULTIPROCESS_DIR, None)
        shutil.rmtree(folder, ignore_errors=True)


def _prepare(db_url: str, *, run_migrations: bool) -> None:
    """Migrate the database (or check it is migrated) once, before any worker starts."""
    try:
        engine = connect(db_url)
    except Exception as exc:  # noqa: BLE001 - a database driver's error, named in one line
        raise unusable_database(exc) from None
    try:
        if run_migrations:
            migrate(engine)
        else:
            state = migration_state(engine)
            if not state.at_head:
                raise NotMigrated(state)
    except NotMigrated as exc:
        raise _not_migrated(exc) from None
    except Exception as exc:  # noqa: BLE001
        raise unusable_database(exc) from None
    finally:
        engine.dispose()


def _not_migrated(exc: NotMigrated) -> InputError:
    at = exc.state.current or "no migration"
    return InputError(
        f"the platform database is at {at}, not at the newest migration {exc.state.head}",
        hint="run: paved platform migrate (or serve without --no-migrate)",
    )


def serve(
    db_url: str,
    *,
    host: str,
    port: int,
    clock: Clock,
    config: PlatformConfig,
    ready: Callable[[], None],
    secure_cookies: bool = False,
    workers: int = 1,
    run_migrations: bool = True,
    bounds: Bounds | None = None,
    log_format: LogFormat = "text",
) -> None:
    """Serve the platform API over ``db_url`` on ``host``:``port`` until interrupted.

    The port is taken first, then the database opened and migrated (or, without
    ``run_migrations``, checked to be at the newest migration); ``ready`` is called just
    before serving. A port in use, or a database that cannot be opened, is an
    :class:`InputError` in one line. With ``secure_cookies``, the console holds every
    request to have come over TLS (its cookie always ``Secure``, its forms from ``https``).
    ``workers`` above 1 serves from that many processes on the one socket.
    """
    bounds = bounds or Bounds()
    sock = listen(host, port)
    try:
        if workers > 1:
            _prepare(db_url, run_migrations=run_migrations)
            spec = WorkerSpec(db_url, clock, config, secure_cookies, bounds)
            with _metrics_folder():
                ready()
                _run_workers(spec, sock, host=host, port=port, workers=workers, log=log_format)
            return
        try:
            app = create_app(db_url, clock, config, run_migrations=run_migrations, bounds=bounds)
        except NotMigrated as exc:
            raise _not_migrated(exc) from None
        except Exception as exc:  # noqa: BLE001 - a database driver's error, named in one line
            raise unusable_database(exc) from None
        if secure_cookies:
            from paved.server.console import require_tls

            require_tls(app)
        ready()
        _run(app, sock, host=host, port=port, log=log_format)
    finally:
        sock.close()


def _run(app: Any, sock: socket.socket, *, host: str, port: int, log: LogFormat) -> None:
    """Serve ``app`` on ``sock`` in this process until interrupted."""
    import uvicorn

    config = _uvicorn_config(app, host=host, port=port, workers=1, log=log)
    # uvicorn stops gracefully on SIGTERM, then raises the signal again for the handler it
    # found: this one ends the process with 0, as the workers' supervisor does.
    previous = signal.signal(signal.SIGTERM, _stopped)
    try:
        uvicorn.Server(config).run(sockets=[sock])
    finally:
        signal.signal(signal.SIGTERM, previous)


def _stopped(signum: int, frame: object) -> None:
    raise SystemExit(0)


def _run_workers(
    spec: WorkerSpec, sock: socket.socket, *, host: str, port: int, workers: int, log: LogFormat
) -> None:
    """Serve from ``workers`` processes on ``sock`` until SIGTERM or SIGINT."""
    from uvicorn.config import STARTUP_FAILURE
    from uvicorn.supervisors import Multiprocess

    factory = functools.partial(worker_app, spec)
    config = _uvicorn_config(factory, host=host, port=port, workers=workers, log=log)
    supervisor = Multiprocess(config, sockets=[sock])
    supervisor.run()
    if any(p.process.exitcode == STARTUP_FAILURE for p in supervisor.processes):
        raise PavedError(
            "a worker of the platform server could not start (its error is logged above)",
            hint="check the database (--db) and the settings, then start it again",
        )
