"""A throwaway PostgreSQL for the server tests: one cluster per session, one database per test.

The cluster lives in a temporary directory, listens on 127.0.0.1 on a free port (and on a
Unix socket in that directory only) and trusts local connections; it is stopped and removed
at the end of the session. PostgreSQL refuses to run as root, so as root the directory is
handed to ``nobody`` (or to a ``paved-pg`` system user made for it) and ``initdb`` and
``pg_ctl`` run as that user through ``runuser``.

Its default collation is ICU's ``en-US`` (when the server has ICU), as on most production
servers, so that an ``ORDER BY`` that depends on the collation shows up here.

Binaries: ``PAVED_TEST_PG_BIN`` if set, else ``initdb`` on PATH, else the newest
``/usr/lib/postgresql/*/bin``. When PostgreSQL cannot start, the PostgreSQL tests fail in
CI (``CI`` set) and are skipped with the reason elsewhere.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import pwd
import shutil
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.helpers import free_port

__all__ = ["PostgresServer", "start_postgres", "unavailable"]

_USER = "postgres"
#: The environment as the session started: tests/conftest.py pins each test's environment
#: (removing CI and PAVED_*) before the session fixture first runs.
_ENVIRON = dict(os.environ)


@dataclasses.dataclass(frozen=True)
class PostgresServer:
    host: str
    port: int
    user: str

    def url(self, database: str) -> str:
        return f"postgresql://{self.user}@{self.host}:{self.port}/{database}"

    def admin(self) -> object:
        import psycopg

        return psycopg.connect(
            host=self.host, port=self.port, user=self.user, dbname="postgres", autocommit=True
        )

    @contextlib.contextmanager
    def database(self) -> Iterator[str]:
        """A new empty database for the duration of the block; its URL."""
        name = f"paved_{uuid.uuid4().hex[:16]}"
        with self.admin() as conn:  # type: ignore[attr-defined]
            conn.execute(f'CREATE DATABASE "{name}"')
        try:
            yield self.url(name)
        finally:
            with self.admin() as conn:  # type: ignore[attr-defined]
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def unavailable(reason: str) -> None:
    """Fail in CI, skip elsewhere; never quietly."""
    message = f"PostgreSQL is not available: {reason}"
    if _ENVIRON.get("CI"):
        pytest.fail(message, pytrace=False)
    pytest.skip(message)


def _bindir() -> Path | None:
    if configured := _ENVIRON.get("PAVED_TEST_PG_BIN"):
        return Path(configured)
    if found := shutil.which("initdb", path=_ENVIRON.get("PATH")):
        return Path(found).parent
    candidates = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"))
    return candidates[-1].parent if candidates else None


def _unprivileged_user() -> str:
    for name in ("nobody", "paved-pg"):
        with contextlib.suppress(KeyError):
            pwd.getpwnam(name)
            return name
    subprocess.run(
        ["useradd", "--system", "--no-create-home", "paved-pg"],
        check=True,
        capture_output=True,
        timeout=60,
    )
    return "paved-pg"


def _run(argv: list[str], run_as: str | None, timeout: float = 120) -> None:
    program = Path(argv[0]).name
    if run_as is not None:
        argv = ["runuser", "-u", run_as, "--", *argv]
    done = subprocess.run(
        argv,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
        env={**_ENVIRON, "LC_ALL": "C.UTF-8", "LANG": "C.UTF-8"},
        cwd="/",
    )
    if done.returncode != 0:
        output = (done.stderr or done.stdout).strip().splitlines()
        raise RuntimeError(f"{program} exited {done.returncode}: {' / '.join(output[-5:])}")


@contextlib.contextmanager
def start_postgres() -> Iterator[PostgresServer]:
    """Start a throwaway cluster; stop and remove it on leaving. Raises RuntimeError on failure."""
    bindir = _bindir()
    if bindir is None or not (bindir / "initdb").exists() or not (bindir / "pg_ctl").exists():
        raise RuntimeError("initdb and pg_ctl were not found (set PAVED_TEST_PG_BIN)")
    run_as = _unprivileged_user() if os.geteuid() == 0 else None
    # Not under pytest's tmp_path: as root that is a 0700 directory the server's user
    # could not enter.
    folder = Path(tempfile.mkdtemp(prefix="paved-pg-"))
    data = folder / "data"
    data.mkdir()
    if run_as is not None:
        entry = pwd.getpwnam(run_as)
        for path in (folder, data):
            os.chown(path, entry.pw_uid, entry.pw_gid)
    started = False
    try:
        initdb = [str(bindir / "initdb"), "-D", str(data), "-U", _USER, "--auth=trust"]
        initdb += ["--no-sync", "-E", "UTF8", "--locale=C.UTF-8"]
        try:
            _run([*initdb, "--locale-provider=icu", "--icu-locale=en-US-u-ka-shifted"], run_as)
        except RuntimeError:  # a server built without ICU: the libc collation it is
            shutil.rmtree(data)
            data.mkdir()
            if run_as is not None:
                os.chown(data, pwd.getpwnam(run_as).pw_uid, pwd.getpwnam(run_as).pw_gid)
            _run(initdb, run_as)
        options = (
            "-c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off "
            "-c full_page_writes=off -c max_connections=200"
        )
        for attempt in range(3):
            port = free_port()
            try:
                _run(
                    [
                        str(bindir / "pg_ctl"),
                        "-D",
                        str(data),
                        "-l",
                        str(folder / "server.log"),
                        "-o",
                        f"{options} -p {port} -k {folder}",
                        "-w",
                        "-t",
                        "60",
                        "start",
                    ],
                    run_as,
                )
            except RuntimeError as exc:
                if attempt == 2:
                    log = folder / "server.log"
                    tail = log.read_text(errors="replace").strip().splitlines()[-3:]
                    raise RuntimeError(f"{exc}; server log: {' / '.join(tail)}") from exc
                continue
            started = True
            break
        yield PostgresServer("127.0.0.1", port, _USER)
    finally:
        if started:
            with contextlib.suppress(RuntimeError, subprocess.TimeoutExpired):
                _run([str(bindir / "pg_ctl"), "-D", str(data), "-m", "fast", "stop"], run_as)
        shutil.rmtree(folder, ignore_errors=True)
