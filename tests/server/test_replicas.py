"""The platform past one process: real ``paved platform serve`` processes, each with several
workers, on their own ports over one real PostgreSQL, as replicas behind a load balancer run.

Three servers started at the same moment on an empty database migrate it once and all become
ready; registrations and deployment records sent to all of them at once lose nothing and
duplicate nothing, and the audit trail counts every attempt exactly once.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import dataclasses
import datetime as dt
import os
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.helpers import free_port, run_paved
from tests.server.postgres import PostgresServer

pytestmark = pytest.mark.slow

SERVERS = 3
WORKERS = 2
LAYERS = [
    {"layer": "app", "scaffold": "service-python", "version": "1.0.0"},
    {"layer": "road", "scaffold": "paved-road", "version": "1.0.0"},
]


@dataclasses.dataclass
class Server:
    url: str
    process: subprocess.Popen[bytes]
    log: Path

    def log_text(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")

    def stop(self) -> int:
        if self.process.poll() is None:
            self.process.terminate()
        return self.process.wait(timeout=120)


def start_server(db_url: str, home: Path, *args: str) -> Server:
    """``paved platform serve`` in its own process on a free loopback port (not yet ready)."""
    port = free_port()
    home.mkdir(parents=True, exist_ok=True)
    log = home / "server.log"
    with log.open("wb") as stderr:  # the child keeps its own copy of the descriptor
        process = subprocess.Popen(
            [sys.executable, "-m", "paved", "platform", "serve", "--port", str(port),
             "--db", db_url, *args],
            env={**os.environ, "PAVED_HOME": str(home)},
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=stderr,
        )  # fmt: skip
    return Server(f"http://127.0.0.1:{port}", process, log)


def wait_ready(server: Server, deadline: float) -> httpx.Response:
    """The first ``/readyz`` answer of 200, or the last one seen when the deadline passes."""
    last: httpx.Response | None = None
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise AssertionError(f"server exited {server.process.returncode}: {server.log_text()}")
        with contextlib.suppress(httpx.TransportError):
            last = httpx.get(f"{server.url}/readyz", timeout=10)
            if last.status_code == 200:
                return last
        time.sleep(0.2)
    raise AssertionError(f"not ready in time: {last and last.text}: {server.log_text()}")


@contextlib.contextmanager
def replicas(db_url: str, root: Path, count: int, *args: str) -> Iterator[list[Server]]:
    """``count`` servers over ``db_url``, started at the same moment, all ready."""
    servers = [start_server(db_url, root / f"replica-{i}", *args) for i in range(count)]
    try:
        deadline = time.monotonic() + 180
        for server in servers:
            wait_ready(server, deadline)
        yield servers
    finally:
        codes = [server.stop() for server in servers]
        for server, code in zip(servers, codes, strict=True):
            assert code == 0, server.log_text()


@pytest.fixture(scope="module")
def empty_database(postgres: PostgresServer) -> Iterator[str]:
    with postgres.database() as url:
        yield url


@pytest.fixture(scope="module")
def three(empty_database: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[list[Server]]:
    root = tmp_path_factory.mktemp("replicas")
    with replicas(empty_database, root, SERVERS, "--workers", str(WORKERS)) as servers:
        yield servers


def admin_token(db_url: str) -> str:
    done = run_paved("platform", "token", "create", "--user", "ops", "--admin", "--db", db_url)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip().splitlines()[-1]


def test_three_servers_started_at_once_migrate_once_and_all_become_ready(
    three: list[Server], empty_database: str, postgres: PostgresServer
) -> None:
    import psycopg

    from paved.server._db import connect, migration_state

    engine = connect(empty_database)
    try:
        state = migration_state(engine)
    finally:
        engine.dispose()
    assert state.at_head
    database = empty_database.rsplit("/", 1)[1]
    with psycopg.connect(
        host=postgres.host, port=postgres.port, user=postgres.user, dbname=database
    ) as connection:
        versions = connection.execute("SELECT version_num FROM alembic_version").fetchall()
    assert versions == [(state.head,)]
    for server in three:
        ready = httpx.get(f"{server.url}/readyz", timeout=30)
        assert ready.json() == {"status": "ready", "migration": state.head}
        log = server.log_text()
        assert "Traceback" not in log
        assert log.count("Application startup complete.") == WORKERS


def _service(name: str, owner: str) -> dict[str, Any]:
    return {
        "name": name,
        "owner": owner,
        "description": f"replica test service {name}",
        "repository": f"https://git.example.com/{owner}/{name}.git",
        "layers": LAYERS,
    }


def _deployment(k: int, service: str, now: dt.datetime) -> dict[str, Any]:
    finished = now - dt.timedelta(minutes=30, seconds=k)
    return {
        "service": service,
        "environment": "prod",
        "target": "gitops",
        "image": f"registry.example.com/replicas/{service}@sha256:{k:064x}",
        "source_commit": f"{k:040x}",
        "source_time": (finished - dt.timedelta(hours=2)).isoformat(),
        "actor": "replica-test",
        "started_at": (finished - dt.timedelta(minutes=2)).isoformat(),
        "finished_at": finished.isoformat(),
        "outcome": "succeeded",
        "message": f"replica #{k}",
    }


def _walk(client: httpx.Client, path: str, key: str) -> list[Any]:
    items: list[Any] = []
    params: dict[str, Any] = {"limit": 500}
    for _ in range(100):
        page = client.get(path, params=params)
        page.raise_for_status()
        body = page.json()
        items.extend(body[key])
        if not body.get("next_cursor"):
            return items
        params["cursor"] = body["next_cursor"]
    raise AssertionError(f"{path}: too many pages")


def test_writes_sent_to_every_replica_at_once_are_kept_exactly_once(
    three: list[Server], empty_database: str
) -> None:
    token = admin_token(empty_database)
    headers = {"Authorization": f"Bearer {token}"}
    clients = [httpx.Client(base_url=s.url, headers=headers, timeout=60) for s in three]
    teams = ["team-0", "team-1", "team-2", "team-race"]
    for i, name in enumerate(teams):  # through different replicas
        made = clients[i % SERVERS].post("/v1/teams", json={"name": name})
        assert made.status_code == 201, made.text
    unique = [f"unique-{i:03d}" for i in range(60)]
    race = [f"race-{i:02d}" for i in range(8)]
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    jobs: list[tuple[int, str, dict[str, Any]]] = []
    for i, name in enumerate(unique):
        jobs.append((i, "/v1/services", _service(name, f"team-{i % 3}")))
    racers = 12
    for r in range(racers):  # every racer registers every race name, through every server
        for name in race:
            jobs.append((r, "/v1/services", _service(name, "team-race")))
    try:

        def send(job: tuple[int, str, dict[str, Any]]) -> tuple[str, int]:
            index, path, body = job
            response = clients[index % SERVERS].post(path, json=body)
            return body["name"], response.status_code

        with concurrent.futures.ThreadPoolExecutor(max_workers=12) as pool:
            answers = list(pool.map(send, jobs))
        assert {status for _, status in answers} <= {200, 201}, Counter(s for _, s in answers)
        created = Counter(name for name, status in answers if status == 201)
        assert created == Counter({name: 1 for name in [*unique, *race]})

        deployments = [
            (k, "/v1/deployments", _deployment(k, unique[k % 60], now)) for k in range(90)
        ]

        def record(job: tuple[int, str, dict[str, Any]]) -> tuple[int, int | None]:
            index, path, body = job
            response = clients[index % SERVERS].post(path, json=body)
            return response.status_code, response.json().get("id")

        with concurrent.futures.ThreadPoolExecutor(max_workers=12) as pool:
            recorded = list(pool.map(record, deployments))
        assert {status for status, _ in recorded} == {201}, recorded
        answered = {ident for _, ident in recorded}
        assert len(answered) == 90

        reader = clients[1]
        services = [s["name"] for s in _walk(reader, "/v1/services", "services")]
        assert sorted(services) == sorted([*unique, *race])
        records = _walk(reader, "/v1/deployments", "deployments")
        assert {d["id"] for d in records} == answered
        assert sorted(int(d["source_commit"], 16) for d in records) == list(range(90))
        events = _walk(clients[2], "/v1/audit", "events")
        audit = Counter((e["action"], e["outcome"]) for e in events)
        assert audit == Counter(
            {
                ("token.create", "ok"): 1,
                ("team.create", "created"): len(teams),
                ("service.register", "created"): len(unique) + len(race),
                ("service.register", "unchanged"): len(race) * (racers - 1),
                ("deployment.record", "recorded"): 90,
            }
        )
    finally:
        for client in clients:
            client.close()


def test_every_replica_counts_its_requests_for_prometheus(three: list[Server]) -> None:
    server = three[0]
    before = _requests_to(server, "/livez")
    for _ in range(10):
        assert httpx.get(f"{server.url}/livez", timeout=30).status_code == 200
    # Whichever worker answers /-/metrics, it sums every worker's figures.
    assert _requests_to(server, "/livez") == before + 10
    text = httpx.get(f"{server.url}/-/metrics", timeout=30).text
    assert "paved_db_pool_size" in text
    assert (
        'paved_http_request_duration_seconds_bucket{le="0.005",method="GET",route="/livez"}' in text
    )


def _requests_to(server: Server, route: str) -> float:
    text = httpx.get(f"{server.url}/-/metrics", timeout=30).text
    prefix = f'paved_http_requests_total{{method="GET",route="{route}",status="200"}} '
    found = [line for line in text.splitlines() if line.startswith(prefix)]
    return float(found[0][len(prefix) :]) if found else 0.0
