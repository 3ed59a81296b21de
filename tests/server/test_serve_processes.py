"""``paved platform serve`` as an operator runs it: worker processes, SIGTERM with requests in
flight, the overload bound, ``paved platform migrate`` and ``--no-migrate`` (real servers in
their own processes on loopback, over SQLite).

A request is held "in flight" for as long as a test likes by sending its headers and only part
of its body over a raw socket: the server has started answering it and waits for the rest.
"""

from __future__ import annotations

import datetime as dt
import json
import signal
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import jsonschema
import pytest

from paved.catalog.remote import RemoteCatalog
from paved.errors import RemoteError
from paved.models import Deployment
from tests.helpers import REPO_ROOT, run_paved
from tests.server.test_replicas import Server, start_server, wait_ready

pytestmark = pytest.mark.slow


def _token(db: str, user: str, team: str) -> str:
    done = run_paved("platform", "token", "create", "--user", user, "--team", team, "--db", db)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip().splitlines()[-1]


class Held:
    """A POST /v1/services whose body is sent in two halves, the second when the test says."""

    def __init__(self, server: Server, token: str, name: str, owner: str) -> None:
        body = json.dumps(
            {
                "name": name,
                "owner": owner,
                "description": "held in flight",
                "repository": f"https://git.example.com/{owner}/{name}.git",
                "layers": [{"layer": "app", "scaffold": "service-python", "version": "1.0.0"}],
            }
        ).encode()
        port = int(server.url.rsplit(":", 1)[1])
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=60)
        head = (
            f"POST /v1/services HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
            f"Authorization: Bearer {token}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
        ).encode()
        half = len(body) // 2
        self.sock.sendall(head + body[:half])
        self.rest = body[half:]

    def finish(self) -> tuple[int, dict[str, object]]:
        """Send the rest; the status and the JSON body of the whole answer."""
        self.sock.sendall(self.rest)
        answer = b""
        while chunk := self.sock.recv(65536):
            answer += chunk
        self.sock.close()
        head, _, body = answer.partition(b"\r\n\r\n")
        return int(head.split(b" ", 2)[1]), json.loads(body)


def _until(predicate: object, what: str, seconds: float = 120) -> None:
    deadline = time.monotonic() + seconds
    while not predicate():  # type: ignore[operator]
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not in {seconds} s")
        time.sleep(0.1)


def _in_flight(server: Server) -> float:
    """The requests the server counts in flight (its own gauge), this one left out."""
    text = httpx.get(f"{server.url}/-/metrics", timeout=30).text
    line = [x for x in text.splitlines() if x.startswith("paved_http_requests_in_flight ")]
    # /-/metrics is itself in flight while it answers.
    return float(line[0].split()[1]) - 1 if line else -1.0


def _held_in_flight(server: Server, count: int) -> None:
    """Wait until the server counts ``count`` requests in flight."""
    _until(lambda: _in_flight(server) >= count, f"{count} requests in flight")


@pytest.fixture
def db(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'platform.db'}"


@pytest.fixture
def started(db: str, tmp_path: Path) -> Iterator[list[Server]]:
    """Servers a test starts; each is stopped (and must exit 0) at the end."""
    servers: list[Server] = []
    yield servers
    for server in servers:
        assert server.stop() == 0, server.log_text()


def test_sigterm_finishes_the_request_in_flight_then_exits_0(
    db: str, tmp_path: Path, started: list[Server]
) -> None:
    token = _token(db, "alice", "team-a")
    server = start_server(db, tmp_path / "home", "--workers", "2")
    started.append(server)
    wait_ready(server, time.monotonic() + 180)
    held = Held(server, token, "held-service", "team-a")
    _held_in_flight(server, 1)
    server.process.send_signal(signal.SIGTERM)
    _until(lambda: "Received SIGTERM" in server.log_text(), "the server heard SIGTERM")
    _until(lambda: server.log_text().count("Shutting down") >= 2, "both workers stopping")
    assert server.process.poll() is None  # still waiting for the request in flight
    status, body = held.finish()
    assert status == 201
    assert body["name"] == "held-service"
    assert server.process.wait(timeout=120) == 0
    assert "Traceback" not in server.log_text()


def test_past_the_bounds_the_answer_is_429_with_retry_after_never_5xx(
    db: str, tmp_path: Path, started: list[Server]
) -> None:
    first, second, third = (_token(db, u, "team-a") for u in ("alice", "bob", "carol"))
    server = start_server(
        db, tmp_path / "home", "--workers", "1", "--max-concurrency", "2", "--max-per-token", "1"
    )
    started.append(server)
    wait_ready(server, time.monotonic() + 180)

    def get(token: str) -> httpx.Response:
        auth = {"Authorization": f"Bearer {token}"}
        return httpx.get(f"{server.url}/v1/services", headers=auth, timeout=30)

    held_first = Held(server, first, "first-held", "team-a")
    _held_in_flight(server, 1)
    same_token = get(first)
    assert same_token.status_code == 429
    assert same_token.headers["retry-after"] == "1"
    assert same_token.json()["error"] == "overloaded"
    assert "token" in same_token.json()["message"]
    assert get(second).status_code == 200  # another token still has room

    held_second = Held(server, second, "second-held", "team-a")
    _held_in_flight(server, 2)
    full = get(third)
    assert full.status_code == 429
    assert "server" in full.json()["message"]
    # A busy server is still alive and ready.
    assert httpx.get(f"{server.url}/readyz", timeout=30).status_code == 200
    assert httpx.get(f"{server.url}/livez", timeout=30).status_code == 200

    assert held_first.finish()[0] == 201
    assert held_second.finish()[0] == 201
    assert get(third).status_code == 200
    metrics = httpx.get(f"{server.url}/-/metrics", timeout=30).text
    assert 'paved_http_requests_total{method="GET",route="refused",status="429"} 2.0' in metrics
    assert 'status="5' not in metrics


def test_the_cli_client_waits_out_a_429_for_an_idempotent_call_only(
    db: str, tmp_path: Path, started: list[Server]
) -> None:
    token = _token(db, "alice", "team-a")
    server = start_server(db, tmp_path / "home", "--workers", "1", "--max-per-token", "1")
    started.append(server)
    wait_ready(server, time.monotonic() + 180)
    held = Held(server, token, "held-service", "team-a")
    _held_in_flight(server, 1)
    waits: list[float] = []
    finished: list[int] = []

    def sleep(seconds: float) -> None:
        waits.append(seconds)
        if not finished:  # the request in the way ends while the client waits
            finished.append(held.finish()[0])

    catalog = RemoteCatalog(server.url, token, sleep=sleep)
    try:
        listed = catalog.list()
        assert [s.name for s in listed] == ["held-service"]
        # As long as Retry-After asked; once more if the held request's slot was not yet
        # free when the answer reached the test.
        assert waits
        assert set(waits) == {1.0}
        assert finished == [201]
        waited = len(waits)

        # A request's slot is free only after its answer is sent: the next held one must
        # not find the last one still counted (it would be refused, never in flight).
        _until(lambda: _in_flight(server) == 0, "no request in flight")
        again = Held(server, token, "other-held", "team-a")
        _held_in_flight(server, 1)
        now = dt.datetime.now(dt.UTC)
        record = Deployment(
            service="held-service", environment="dev", target="gitops", image="",
            source_commit=None, source_time=None, actor="alice", started_at=now,
            finished_at=now, outcome="failed", message="refused before it started",
        )  # fmt: skip
        with pytest.raises(RemoteError) as refused:
            catalog.record_deployment(record)  # sent once: a 429 is an error, not a retry
        assert "is busy and did not take the request" in refused.value.message
        assert refused.value.hint == "try again in 1 s"
        assert len(waits) == waited
        assert again.finish()[0] == 201
    finally:
        catalog.close()


def _migrate_json(db: str, *args: str) -> dict[str, object]:
    done = run_paved("platform", "migrate", "--db", db, "--json", *args)
    assert done.returncode == 0, done.stderr
    document = json.loads(done.stdout)
    schema = json.loads(
        (REPO_ROOT / "docs/schemas/platform-migrate.schema.json").read_text(encoding="utf-8")
    )
    jsonschema.validate(document, schema)
    return document


def test_platform_migrate_runs_once_and_says_so(db: str, tmp_path: Path) -> None:
    dry = _migrate_json(db, "--dry-run")
    assert dry["from"] is None
    assert dry["applied"] == []
    pending = dry["pending"]
    assert isinstance(pending, list)
    assert pending[0] == "0001"
    assert dry["to"] == pending[-1]
    assert not (tmp_path / "platform.db").exists()  # a dry run writes nothing

    done = _migrate_json(db)
    assert done["applied"] == pending
    assert done["from"] is None

    again = _migrate_json(db)
    assert again == {**again, "from": dry["to"], "pending": [], "applied": []}
    text = run_paved("platform", "migrate", "--db", db)
    assert text.returncode == 0
    assert (
        text.stdout == f"platform database at the newest migration ({dry['to']}): nothing to do\n"
    )


@pytest.mark.parametrize("workers", ["1", "2"])
def test_no_migrate_refuses_a_database_behind_in_one_line(
    db: str, tmp_path: Path, workers: str
) -> None:
    from tests.helpers import free_port

    got = run_paved(
        "platform", "serve", "--no-migrate", "--workers", workers,
        "--port", str(free_port()), "--db", db,
    )  # fmt: skip
    assert got.returncode == 2
    assert got.stderr.startswith(
        "error: the platform database is at no migration, not at the newest migration 0"
    )
    assert "; run: paved platform migrate" in got.stderr  # the hint
    assert len(got.stderr.strip().splitlines()) == 1


def test_no_migrate_serves_a_database_migrated_by_the_job(
    db: str, tmp_path: Path, started: list[Server]
) -> None:
    _migrate_json(db)
    server = start_server(db, tmp_path / "home", "--workers", "2", "--no-migrate")
    started.append(server)
    ready = wait_ready(server, time.monotonic() + 180)
    assert ready.json()["status"] == "ready"


@pytest.mark.parametrize(
    ("args", "error"),
    [
        (["--workers", "0"], "0 is not a number of workers (1 to 64)"),
        (["--workers", "65"], "65 is not a number of workers (1 to 64)"),
        (["--max-concurrency", "0"], "0 is not a bound of requests at once"),
        (["--max-per-token", "10001"], "10001 is not a bound of requests at once"),
        (["--log-format", "xml"], "'xml' is not one of"),
    ],
)
def test_serve_s_new_options_refuse_nonsense(paved, args: list[str], error: str) -> None:
    got = paved("platform", "serve", *args)
    assert got.exit_code == 2
    assert error in got.stderr
