"""A real Backstage catalog backend for the tests in this package, and a loopback git host.

The backend is ``tools/backstage/backend.js`` on the packages of ``tools/backstage`` (its
lockfile), started once for the session on a free loopback port: in-memory SQLite (a clean
catalog), ``processingInterval`` 1 s, a static token, and ``backend.reading.allow`` for the
loopback host below. The tests that use it are skipped unless ``PAVED_BACKSTAGE_MODULES`` names
the installed ``node_modules`` (the nox session ``backstage`` sets it; docs/backstage.md).
"""

from __future__ import annotations

import http.server
import json
import os
import signal
import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.helpers import REPO_ROOT, free_port

#: Read at import: the autouse fixture that pins each test's environment removes PAVED_*.
MODULES = os.environ.get("PAVED_BACKSTAGE_MODULES", "")
TOKEN = "paved-tests-static-token-0123456789abcdef"
TIMEOUT = 90.0

INSTALLED = bool(MODULES) and (Path(MODULES) / "@backstage/plugin-catalog-backend").is_dir()


class GitHostHandler(http.server.BaseHTTPRequestHandler):
    """``/git/NAME.git/…``: git's smart HTTP (``git http-backend``) over the bare repositories
    in ``server.root``; ``/git/NAME/-/blob/BRANCH/PATH``: that file on that branch, as a
    repository host serves it to Backstage; ``/files/KEY/PATH``: a file of a folder the tests
    publish in ``server.folders``."""

    server: LoopbackServer

    def log_message(self, format: str, *args: Any) -> None:  # quiet
        return

    def _send(self, status: int, body: bytes, kind: str = "text/plain") -> None:
        self.send_response(status)
        self.send_header("content-type", kind)
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:
        self._handle()

    def do_POST(self) -> None:
        self._handle()

    def _handle(self) -> None:
        path, _, query = self.path.partition("?")
        parts = path.split("/")
        if len(parts) > 3 and parts[1] == "files" and parts[2] in self.server.folders:
            root = self.server.folders[parts[2]]
            file = (root / "/".join(parts[3:])).resolve()
            if file.is_relative_to(root) and file.is_file():
                return self._send(200, file.read_bytes(), "text/yaml; charset=utf-8")
            return self._send(404, b"not found")
        if len(parts) > 6 and parts[1] == "git" and parts[3:5] == ["-", "blob"]:
            bare = self.server.root / f"{parts[2]}.git"
            shown = subprocess.run(
                ["git", "--git-dir", str(bare), "show", f"{parts[5]}:{'/'.join(parts[6:])}"],
                capture_output=True,
                check=False,
            )
            if bare.is_dir() and shown.returncode == 0:
                return self._send(200, shown.stdout, "text/yaml; charset=utf-8")
            return self._send(404, b"not found")
        if len(parts) > 2 and parts[1] == "git":
            return self._git(path.removeprefix("/git"), query)
        return self._send(404, b"not found")

    def _git(self, path_info: str, query: str) -> None:
        length = int(self.headers.get("content-length") or 0)
        body = self.rfile.read(length) if length else b""
        env = {
            **os.environ,
            "GIT_PROJECT_ROOT": str(self.server.root),
            "GIT_HTTP_EXPORT_ALL": "1",
            "REMOTE_USER": "tests",  # receive-pack (push) needs an authenticated user
            "PATH_INFO": path_info,
            "QUERY_STRING": query,
            "REQUEST_METHOD": self.command,
            "CONTENT_TYPE": self.headers.get("content-type", ""),
            "CONTENT_LENGTH": str(len(body)),
        }
        out = subprocess.run(
            ["git", "http-backend"], input=body, env=env, capture_output=True, check=False
        ).stdout
        head, _, payload = out.partition(b"\r\n\r\n")
        status, headers = 200, []
        for line in head.decode("latin-1").split("\r\n"):
            key, _, value = line.partition(":")
            if key.lower() == "status":
                status = int(value.split()[0])
            elif key:
                headers.append((key, value.strip()))
        self.send_response(status)
        for key, value in headers:
            self.send_header(key, value)
        self.send_header("content-length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)


class LoopbackServer(http.server.ThreadingHTTPServer):
    root: Path
    folders: dict[str, Path]


@dataclass
class Host:
    """The loopback host: publish folders, make bare repositories reachable over HTTP."""

    server: LoopbackServer

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def publish(self, key: str, folder: Path) -> str:
        """Serve ``folder``; return the URL of its catalog-info.yaml."""
        self.server.folders[key] = folder.resolve()
        return f"{self.base}/files/{key}/catalog-info.yaml"

    def new_repository(self, name: str) -> str:
        """An empty bare repository ``name``; return its URL."""
        bare = self.server.root / f"{name}.git"
        subprocess.run(["git", "init", "--quiet", "--bare", str(bare)], check=True)
        return f"{self.base}/git/{name}.git"


@dataclass
class Catalog:
    """Backstage's catalog REST API (``/api/catalog``), as the tests call it."""

    base: str
    token: str = TOKEN

    def call(
        self, method: str, path: str, body: Any = None, *, auth: bool = True
    ) -> tuple[int, Any]:
        headers = {"authorization": f"Bearer {self.token}"} if auth else {}
        response = httpx.request(
            method, f"{self.base}/api/catalog{path}", json=body, headers=headers, timeout=60
        )
        try:
            return response.status_code, response.json() if response.content else None
        except json.JSONDecodeError:
            return response.status_code, response.text

    def entity(self, ref: str) -> dict[str, Any] | None:
        kind, _, rest = ref.partition(":")
        namespace, _, name = rest.partition("/")
        status, data = self.call("GET", f"/entities/by-name/{kind}/{namespace}/{name}")
        return data if status == 200 else None

    def wait_entity(self, ref: str, timeout: float = TIMEOUT) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if (found := self.entity(ref)) is not None:
                return found
            time.sleep(0.2)
        raise AssertionError(f"{ref} not in the catalog after {timeout} s")

    def failed(self) -> list[Any]:
        status, data = self.call("GET", "/entities/unprocessed/failed")
        assert status == 200, data
        return list(data.get("entities") or [])


@pytest.fixture(scope="session")
def loopback(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Host]:
    server = LoopbackServer(("127.0.0.1", 0), GitHostHandler)
    server.root = tmp_path_factory.mktemp("git-host")
    server.folders = {}
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield Host(server)
    server.shutdown()
    server.server_close()


#: The teams the services are owned by: a Group and a System each, loaded as organisation data.
ORG_GROUPS = ("team-checkout", "team-payments", "team-platform")


def platform_organisation(folder: Path) -> str:
    """The organisation as the platform serves it to Backstage (``GET
    /v1/backstage/catalog.yaml``): a platform whose token holds the test teams, so each is a
    Group there."""
    import datetime as dt
    import warnings

    from paved.server import PlatformConfig, create_app, issue_token

    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Using `httpx` with `starlette.testclient`")
        from fastapi.testclient import TestClient

    now = dt.datetime.now(dt.UTC)
    app = create_app(f"sqlite:///{folder / 'platform.db'}", lambda: now, PlatformConfig())
    try:
        token = issue_token(
            app.state.engine,
            user="tests",
            teams=list(ORG_GROUPS),
            admin=False,
            lifetime=dt.timedelta(days=1),
            now=now,
            actor="tests",
        ).token
        with TestClient(app) as client:
            got = client.get(
                "/v1/backstage/catalog.yaml", headers={"Authorization": f"Bearer {token}"}
            )
    finally:
        app.state.engine.dispose()
    assert got.status_code == 200, got.text
    for group in ORG_GROUPS:
        assert f"name: {group}\n" in got.text, got.text
    return got.text if got.text.endswith("\n") else got.text + "\n"


@pytest.fixture(scope="session")
def backstage(tmp_path_factory: pytest.TempPathFactory, loopback: Host) -> Iterator[Catalog]:
    if not INSTALLED:
        pytest.skip("PAVED_BACKSTAGE_MODULES names no installed Backstage (nox -s backstage)")
    run = tmp_path_factory.mktemp("backstage")
    (run / "package.json").write_text('{"name": "paved-backstage-run", "private": true}\n')
    org = run / "org.yaml"
    org.write_text(  # the platform's Groups, and the System of each team the road refers to
        platform_organisation(run)
        + "".join(
            f"---\napiVersion: backstage.io/v1alpha1\nkind: System\nmetadata:\n  name: {g}\n"
            f"spec:\n  owner: group:default/{g}\n"
            for g in ORG_GROUPS
        )
    )
    for attempt in range(3):
        port = free_port()
        (run / "app-config.yaml").write_text(
            f"""app:
  baseUrl: http://127.0.0.1:3000
backend:
  baseUrl: http://127.0.0.1:{port}
  listen: {{ host: 127.0.0.1, port: {port} }}
  database: {{ client: better-sqlite3, connection: ':memory:' }}
  auth:
    externalAccess:
      - type: static
        options: {{ token: {TOKEN}, subject: paved-tests }}
  reading:
    allow:
      - host: 127.0.0.1:{loopback.server.server_address[1]}
catalog:
  rules:
    - allow: [Component, System, API, Resource, Location]
  processingInterval: {{ seconds: 1 }}
  locations:
    - type: file
      target: {json.dumps(str(org))}
      rules:
        - allow: [User, Group, System, Domain, Component]
"""
        )
        log = (run / "backend.log").open("w")
        process = subprocess.Popen(
            ["node", str(REPO_ROOT / "tools/backstage/backend.js"), "--config", "app-config.yaml"],
            cwd=run,
            env={**os.environ, "PAVED_BACKSTAGE_MODULES": MODULES},
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        catalog = Catalog(f"http://127.0.0.1:{port}")
        ready = _wait_ready(catalog, process)
        if ready:
            break
        _stop(process)
        if "EADDRINUSE" not in (run / "backend.log").read_text() or attempt == 2:
            raise AssertionError(
                "Backstage did not start:\n" + (run / "backend.log").read_text()[-3000:]
            )
    try:
        for group in ORG_GROUPS:  # readiness comes before the organisation data is in
            catalog.wait_entity(f"group:default/{group}")
            catalog.wait_entity(f"system:default/{group}")
        yield catalog
    finally:
        _stop(process)
        log.close()


def _wait_ready(catalog: Catalog, process: subprocess.Popen[bytes]) -> bool:
    deadline = time.monotonic() + TIMEOUT
    while time.monotonic() < deadline and process.poll() is None:
        try:
            response = httpx.get(f"{catalog.base}/.backstage/health/v1/readiness", timeout=5)
            if response.status_code == 200:
                return True
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    return False


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
