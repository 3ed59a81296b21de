"""A real platform server and a real git host on loopback, as an organisation runs them.

``git daemon`` serves bare repositories over ``git://127.0.0.1`` (pushes enabled), so new
services and the environment repository live where every member can reach them; ``paved
platform serve`` runs as its own process with organisation settings that point there.
"""

from __future__ import annotations

import contextlib
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx

from tests.helpers import free_port, git, run_paved

__all__ = ["GitDaemon", "Platform", "free_port", "git_daemon", "platform_server"]


def _wait_for_port(port: int, process: subprocess.Popen[str], what: str) -> None:
    deadline = time.monotonic() + 120
    while True:
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 1):
            return
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            raise RuntimeError(f"{what} did not start: {process.communicate()[1]}")
        time.sleep(0.1)


@dataclass(frozen=True)
class GitDaemon:
    root: Path
    port: int

    def url(self, name: str) -> str:
        return f"git://127.0.0.1:{self.port}/{name}.git"

    def create(self, name: str) -> Path:
        """An empty bare repository, as a git host's "new repository" makes one."""
        path = self.root / f"{name}.git"
        git("init", "--quiet", "--bare", "--initial-branch=main", str(path))
        return path


@contextlib.contextmanager
def git_daemon(root: Path) -> Iterator[GitDaemon]:
    root.mkdir(parents=True, exist_ok=True)
    port = free_port()
    process = subprocess.Popen(
        ["git", "daemon", "--reuseaddr", "--export-all", "--enable=receive-pack",
         f"--base-path={root}", "--listen=127.0.0.1", f"--port={port}", str(root)],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        _wait_for_port(port, process, "git daemon")
        yield GitDaemon(root, port)
    finally:
        process.terminate()
        process.communicate(timeout=120)  # reaps it and closes its stderr pipe


@dataclass(frozen=True)
class Platform:
    url: str
    database: Path

    @property
    def db(self) -> str:
        return f"sqlite:///{self.database}"

    def token(self, user: str, *teams: str, admin: bool = False) -> str:
        args = [arg for team in teams for arg in ("--team", team)]
        done = run_paved(
            "platform", "token", "create", "--user", user, *args,
            *(["--admin"] if admin else []), "--db", self.db,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
        return done.stdout.strip().splitlines()[-1]


@contextlib.contextmanager
def platform_server(
    database: Path, settings: Path | None = None, *, workers: int = 1
) -> Iterator[Platform]:
    """``paved platform serve`` as its own process on loopback, with a SQLite database (one
    worker unless told: tests/server/test_replicas.py tests several)."""
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "paved", "platform", "serve", "--port", str(port),
         "--workers", str(workers), "--db", f"sqlite:///{database}",
         *(["--settings", str(settings)] if settings is not None else [])],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_for_port(port, process, "the platform")
        httpx.get(f"{url}/healthz", timeout=120).raise_for_status()
        yield Platform(url, database)
    finally:
        process.terminate()
        process.communicate(timeout=120)  # reaps it and closes its stderr pipe
