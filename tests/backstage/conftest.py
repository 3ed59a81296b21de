"""A real Backstage catalog backend for the tests in this package, a real platform server, and a
loopback git host.

The backend is ``tools/backstage/backend.js`` on the packages of ``tools/backstage`` (its
lockfile), started once for the session on a free loopback port: in-memory SQLite (a clean
catalog), ``processingInterval`` 1 s, a static token, and ``backend.reading.allow`` for the
loopback hosts below. Its organisation data is the platform's own ``GET
/v1/backstage/catalog.yaml``, served by a real platform server (uvicorn on loopback, teams and
services registered through its API), read as a ``url`` location through a reverse proxy that
adds the Backstage reader token: nginx, with the snippet of docs/backstage.md, when
``PAVED_NGINX`` names one (the nox session sets it), else the loopback host's own forwarder.
The tests that use the backend are skipped unless ``PAVED_BACKSTAGE_MODULES`` names the
installed ``node_modules`` (the nox session ``backstage`` sets it; docs/backstage.md).
"""

from __future__ import annotations

import datetime as dt
import http.server
import json
import os
import signal
import socket
import subprocess
import threading
import time
import urllib.parse
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
#: The nginx binary the proxy test runs (the nox session sets it when one is installed), and
#: whether its absence fails the session's tests instead of skipping them (CI sets it).
NGINX = os.environ.get("PAVED_NGINX", "")
NGINX_REQUIRED = os.environ.get("PAVED_NGINX_REQUIRED", "") == "1"
#: The platform's Backstage reader token (PAVED_PLATFORM_BACKSTAGE_TOKEN): the proxy adds it.
READER_TOKEN = "paved-tests-backstage-reader-0123456789abcdef"


class GitHostHandler(http.server.BaseHTTPRequestHandler):
    """``/git/NAME.git/…``: git's smart HTTP (``git http-backend``) over the bare repositories
    in ``server.root``; ``/git/NAME/-/blob/BRANCH/PATH``: that file on that branch, as a
    repository host serves it to Backstage; ``/files/KEY/PATH``: a file of a folder the tests
    publish in ``server.folders``; ``/forward/KEY``: what ``server.forwards[KEY]`` answers to a
    GET with its token in the Authorization header (with this request's query), as a reverse
    proxy that adds the header does."""

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
        if len(parts) == 3 and parts[1] == "forward" and parts[2] in self.server.forwards:
            upstream, token = self.server.forwards[parts[2]]
            got = httpx.get(
                upstream + (f"?{query}" if query else ""),
                headers={"authorization": f"Bearer {token}"},
                timeout=30,
            )
            kind = got.headers.get("content-type", "text/plain")
            return self._send(got.status_code, got.content, kind)
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
    forwards: dict[str, tuple[str, str]]


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

    def forward(self, key: str, upstream: str, token: str) -> str:
        """Answer ``/forward/KEY`` with what ``upstream`` answers to ``token``; return its URL."""
        self.server.forwards[key] = (upstream, token)
        return f"{self.base}/forward/{key}"

    def new_repository(self, name: str, files: dict[str, str] | None = None) -> str:
        """A bare repository ``name``, empty or with ``files`` committed on ``main``; return
        its URL."""
        bare = self.server.root / f"{name}.git"
        subprocess.run(["git", "init", "--quiet", "--bare", str(bare)], check=True)
        if files:
            work = self.server.root / f"{name}.work"
            subprocess.run(["git", "init", "--quiet", "-b", "main", str(work)], check=True)
            for path, text in files.items():
                (work / path).write_text(text, encoding="utf-8")
            who = ["-c", "user.name=tests", "-c", "user.email=tests@example.invalid"]
            for args in (["add", "--all"], [*who, "commit", "--quiet", "-m", "first"]):
                subprocess.run(["git", "-C", str(work), *args], check=True)
            subprocess.run(
                ["git", "-C", str(work), "push", "--quiet", str(bare), "main"], check=True
            )
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
    server.forwards = {}
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield Host(server)
    server.shutdown()
    server.server_close()


#: The teams the services are owned by: a Group each (the platform's) and a System each.
ORG_GROUPS = ("team-checkout", "team-payments", "team-platform")
#: The services registered in the platform, as the organisation URL serves them: name ->
#: (owner, archived, catalog entry as registered). Their names are not those of any sample, so
#: no entity comes from two locations.
ORG_SERVICES: dict[str, tuple[str, bool, dict[str, Any]]] = {
    "org-live": (
        "team-checkout",
        False,
        {
            "lifecycle": "experimental",
            "system": "team-checkout",
            "api_definition": "openapi.json",
            "resources": ["s3-read", "sqs-send", "dynamodb-rw", "secret-read"],
        },
    ),
    "org-archived": (
        "team-payments",
        True,
        {
            "lifecycle": "production",
            "system": "",
            "api_definition": "openapi.json",
            "resources": [],
        },
    ),
}
SYSTEMS = "".join(
    f"---\napiVersion: backstage.io/v1alpha1\nkind: System\nmetadata:\n  name: {g}\n"
    f"spec:\n  owner: group:default/{g}\n"
    for g in ORG_GROUPS
)


def openapi_document(name: str) -> str:
    return json.dumps(
        {"openapi": "3.1.0", "info": {"title": name, "version": "0.1.0"}, "paths": {}}, indent=2
    )


@dataclass
class Platform:
    """A real platform server on loopback, holding the test teams and ``ORG_SERVICES``."""

    base: str
    token: str  # a platform token of the test teams

    @property
    def organisation(self) -> str:
        return f"{self.base}/v1/backstage/catalog.yaml"

    def call(self, method: str, path: str, body: Any = None) -> Any:
        response = httpx.request(
            method,
            f"{self.base}{path}",
            json=body,
            headers={"authorization": f"Bearer {self.token}"},
            timeout=60,
        )
        assert response.status_code in (200, 201), (path, response.text)
        return response.json()


@pytest.fixture(scope="session")
def platform(tmp_path_factory: pytest.TempPathFactory, loopback: Host) -> Iterator[Platform]:
    """The platform (``paved platform serve``'s app, with a Backstage reader token) on a
    loopback socket of its own; its teams are those of a token, its services registered and
    archived through its API, each with a repository on the loopback host that holds an
    OpenAPI document."""
    import uvicorn

    from paved.server import PlatformConfig, create_app, issue_token

    folder = tmp_path_factory.mktemp("platform")
    app = create_app(
        f"sqlite:///{folder / 'platform.db'}",
        lambda: dt.datetime.now(dt.UTC),
        PlatformConfig(backstage_token=READER_TOKEN),
    )
    token = issue_token(
        app.state.engine,
        user="tests",
        teams=list(ORG_GROUPS),
        admin=False,
        lifetime=dt.timedelta(days=1),
        now=dt.datetime.now(dt.UTC),
        actor="tests",
    ).token
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + TIMEOUT
        while not server.started:
            assert thread.is_alive(), "the platform stopped while starting"
            assert time.monotonic() < deadline, "the platform did not start"
            time.sleep(0.05)
        platform = Platform(f"http://127.0.0.1:{sock.getsockname()[1]}", token)
        for name, (owner, archived, entry) in ORG_SERVICES.items():
            repository = loopback.new_repository(name, {"openapi.json": openapi_document(name)})
            platform.call(
                "POST",
                "/v1/services",
                {
                    "name": name,
                    "owner": owner,
                    "description": f"The {name} service.",
                    "repository": repository,
                    "layers": [
                        {"layer": "app", "scaffold": "service-python", "version": "0.2.0"},
                        {"layer": "road", "scaffold": "paved-road", "version": "0.3.1"},
                    ],
                    "catalog": entry,
                },
            )
            if archived:
                platform.call("POST", f"/v1/services/{name}/archive")
        yield platform
    finally:
        server.should_exit = True
        thread.join(timeout=30)
        sock.close()
        app.state.engine.dispose()


@dataclass
class Proxy:
    """How Backstage reads the organisation URL: ``url``, through ``kind`` (``nginx``, or
    ``loopback`` when no nginx is installed), which adds the reader token."""

    url: str
    kind: str


#: The placeholders of docs/backstage.md's nginx snippet, and what each stands for.
SNIPPET_PLACEHOLDERS = ("127.0.0.1:8080", "https://platform.example.com", "READER_TOKEN")


def nginx_snippet() -> str:
    """The ``server`` block docs/backstage.md gives for the proxy (its only nginx block)."""
    text = (REPO_ROOT / "docs" / "backstage.md").read_text(encoding="utf-8")
    blocks = text.split("```nginx\n")
    assert len(blocks) == 2, "docs/backstage.md should hold exactly one nginx block"
    snippet = blocks[1].split("```", 1)[0]
    for placeholder in SNIPPET_PLACEHOLDERS:
        assert placeholder in snippet, f"the nginx snippet lost {placeholder}"
    return snippet


def nginx_config(run: Path, port: int, upstream: str, token: str) -> str:
    """A whole nginx.conf for a run as this user: the documented ``server`` block with this
    run's port, platform and token, and every path under ``run``."""
    server_block = (
        nginx_snippet()
        .replace("127.0.0.1:8080", f"127.0.0.1:{port}")
        .replace("https://platform.example.com", upstream)
        .replace("platform.example.com", upstream.split("://", 1)[1])
        .replace("READER_TOKEN", token)
    )
    temp = "\n".join(
        f"    {kind}_temp_path {run / kind};"
        for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    return f"""daemon off;
master_process off;
pid {run / "nginx.pid"};
error_log {run / "error.log"} info;
events {{
    worker_connections 64;
}}
http {{
    access_log {run / "access.log"};
{temp}
{server_block}
}}
"""


@pytest.fixture(scope="session")
def proxy(
    tmp_path_factory: pytest.TempPathFactory, platform: Platform, loopback: Host
) -> Iterator[Proxy]:
    """nginx on a free loopback port in front of the platform's organisation URL, adding the
    reader token; without nginx (a local run), the loopback host's forwarder in its place."""
    if not NGINX:
        if NGINX_REQUIRED:
            raise AssertionError("PAVED_NGINX_REQUIRED is set but no nginx was found")
        yield Proxy(loopback.forward("org", platform.organisation, READER_TOKEN), "loopback")
        return
    for attempt in range(3):
        run = tmp_path_factory.mktemp("nginx")
        port = free_port()
        (run / "nginx.conf").write_text(nginx_config(run, port, platform.base, READER_TOKEN))
        process = subprocess.Popen(
            [NGINX, "-p", str(run), "-c", str(run / "nginx.conf"), "-e", str(run / "error.log")],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        url = f"http://127.0.0.1:{port}/v1/backstage/catalog.yaml"
        if _wait_serving(url, process):
            break
        _stop(process)
        log = (run / "error.log").read_text() if (run / "error.log").exists() else ""
        if "Address already in use" not in log or attempt == 2:
            raise AssertionError(f"nginx did not start:\n{log[-3000:]}")
    try:
        yield Proxy(url, "nginx")
    finally:
        _stop(process)


def _wait_serving(url: str, process: subprocess.Popen[bytes]) -> bool:
    deadline = time.monotonic() + TIMEOUT
    while time.monotonic() < deadline and process.poll() is None:
        try:
            if httpx.get(url, timeout=5).status_code == 200:
                return True
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    return False


@pytest.fixture(scope="session")
def backstage(
    tmp_path_factory: pytest.TempPathFactory, loopback: Host, proxy: Proxy
) -> Iterator[Catalog]:
    if not INSTALLED:
        pytest.skip("PAVED_BACKSTAGE_MODULES names no installed Backstage (nox -s backstage)")
    run = tmp_path_factory.mktemp("backstage")
    (run / "package.json").write_text('{"name": "paved-backstage-run", "private": true}\n')
    systems = run / "systems.yaml"
    systems.write_text(SYSTEMS)  # the platform serves no Systems; the samples name them
    proxy_host = proxy.url.split("/")[2]
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
      - host: {proxy_host}
catalog:
  rules:
    - allow: [Component, System, API, Resource, Location]
  processingInterval: {{ seconds: 1 }}
  locations:
    - type: file
      target: {json.dumps(str(systems))}
      rules:
        - allow: [System]
    - type: url
      target: {proxy.url}
      rules:
        - allow: [Group, Component, API, Resource]
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


# -- What a test checks of each entity Backstage serves ---------------------------------------

#: spec field -> (the relation Backstage makes of it, the kind a reference without one has).
RELATION_FIELDS: dict[str, tuple[str, str | None]] = {
    "owner": ("ownedBy", "group"),
    "system": ("partOf", "system"),
    "domain": ("partOf", "domain"),
    "subcomponentOf": ("partOf", "component"),
    "providesApis": ("providesApi", "api"),
    "consumesApis": ("consumesApi", "api"),
    "dependsOn": ("dependsOn", None),
    "dependencyOf": ("dependencyOf", None),
    "parent": ("childOf", "group"),
    "children": ("parentOf", "group"),
}


def ref_of(entity: dict[str, Any]) -> str:
    metadata = entity["metadata"]
    return f"{entity['kind']}:{metadata.get('namespace', 'default')}/{metadata['name']}".lower()


def _full_ref(ref: str, kind: str | None) -> str:
    if ":" not in ref:
        assert kind is not None, f"{ref} names no kind"
        ref = f"{kind}:{ref}"
    kind_part, _, rest = ref.partition(":")
    return f"{kind_part}:{rest if '/' in rest else 'default/' + rest}".lower()


def expected_relations(entity: dict[str, Any]) -> set[tuple[str, str]]:
    """(type, target) of every relation the file's ``spec`` asks Backstage to make."""
    wanted = set()
    for field, (relation, kind) in RELATION_FIELDS.items():
        value = entity.get("spec", {}).get(field)
        for ref in [value] if isinstance(value, str) else value or []:
            wanted.add((relation, _full_ref(ref, kind)))
    return wanted


def processed(backstage: Catalog, want: dict[str, Any]) -> dict[str, Any]:
    """The entity once Backstage has processed it: served, with every relation its file asks
    for (relations come out of processing, and so do its errors)."""
    ref = ref_of(want)
    wanted = expected_relations(want)
    deadline = time.monotonic() + TIMEOUT
    while True:
        got = backstage.entity(ref)
        have = {(r["type"], r["targetRef"]) for r in (got or {}).get("relations") or []}
        if got is not None and wanted <= have:
            return got
        if time.monotonic() > deadline:
            raise AssertionError(
                f"{ref} not processed after {TIMEOUT} s: relations {sorted(have)}, "
                f"wanted {sorted(wanted)}, failed {backstage.failed()}"
            )
        time.sleep(0.2)


def assert_kept(want: dict[str, Any], got: dict[str, Any]) -> None:
    """Backstage serves every key of the file's ``metadata`` and its whole ``spec`` as the file
    gives them (it adds uid, etag, its own annotations, relations and status; it serves an API's
    ``$text`` definition as the text it points at, and lists of references sorted)."""
    ref = ref_of(want)
    assert (got["apiVersion"], got["kind"]) == (want["apiVersion"], want["kind"]), ref
    for key, value in want["metadata"].items():
        if key == "annotations":
            kept = {k: got["metadata"].get(key, {}).get(k) for k in value}
            assert kept == value, (ref, key)
        else:
            assert got["metadata"].get(key) == value, (ref, key)
    spec = dict(want.get("spec") or {})
    served = dict(got.get("spec") or {})
    text = spec.get("definition")
    if isinstance(text, dict) and set(text) == {"$text"}:  # Backstage serves what it points at
        base = got["metadata"]["annotations"]["backstage.io/managed-by-location"]
        document = httpx.get(urllib.parse.urljoin(base.removeprefix("url:"), text["$text"]))
        assert document.status_code == 200, (ref, text)
        spec["definition"] = document.text
    for field in RELATION_FIELDS:  # Backstage keeps references, not their order
        for side in (spec, served):
            if isinstance(side.get(field), list):
                side[field] = sorted(side[field])
    assert served == spec, ref


def assert_processed_whole(
    backstage: Catalog, written: list[dict[str, Any]], location: str
) -> dict[str, int]:
    """Each entity of ``written`` (one file, read from ``location``) is processed with no error,
    kept whole, and every relation it has points at an entity that exists. Returns how many
    relations of each type were checked."""
    checked: dict[str, int] = {}
    for want in written:
        ref = ref_of(want)
        got = processed(backstage, want)
        assert_kept(want, got)
        assert got.get("status", {}).get("items", []) == [], (ref, got["status"])
        annotations = got["metadata"]["annotations"]
        assert annotations["backstage.io/managed-by-location"] == location, ref
        for relation in got.get("relations") or []:
            target = relation["targetRef"]
            assert backstage.wait_entity(target, timeout=TIMEOUT / 3), (ref, relation)
            checked[relation["type"]] = checked.get(relation["type"], 0) + 1
    ours = {ref_of(e) for e in written} | {location}
    failed = [
        e
        for e in backstage.failed()
        if str(e.get("entity_ref", "")).lower() in ours or e.get("location_key") in ours
    ]
    assert failed == []
    return checked
