"""The platform, console included, served by uvicorn on a loopback port per test, with a
fixed clock, the tokens of tests/server/conftest.py, and a small organisation to look at."""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import statistics
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("fastapi", reason="the platform server needs the 'server' extra")

import httpx
import sqlalchemy as sa

from paved.server import create_app
from tests.server.conftest import CONFIG, Clock, make_tokens

#: The clock of every console test: a Saturday noon (UTC).
NOW = dt.datetime(2025, 3, 1, 12, 0, tzinfo=dt.UTC)


@dataclasses.dataclass
class Console:
    url: str
    clock: Clock
    tokens: dict[str, str]
    engine: sa.Engine
    #: The deployments the organisation fixture recorded, as sent.
    deployments: list[dict[str, Any]] = dataclasses.field(default_factory=list)

    def api(self, who: str) -> httpx.Client:
        headers = {"Authorization": f"Bearer {self.tokens[who]}"}
        return httpx.Client(base_url=self.url, headers=headers, timeout=30)

    def client(self) -> httpx.Client:
        return httpx.Client(base_url=self.url, timeout=30, follow_redirects=False)

    @contextlib.contextmanager
    def signed_in(self, who: str) -> Iterator[httpx.Client]:
        """A client holding a console session of ``who``'s token."""
        with self.client() as client:
            got = client.post("/sign-in", data={"token": self.tokens[who]}, headers=self.origin())
            assert got.status_code == 303, got.text
            yield client

    def origin(self) -> dict[str, str]:
        return {"Origin": self.url}


def _serve(app: Any) -> tuple[str, Any, threading.Thread]:
    import uvicorn

    from paved.server._serve import listen

    sock = listen("127.0.0.1", 0)
    port = sock.getsockname()[1]
    config = uvicorn.Config(app, log_level="warning", lifespan="off")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():  # pragma: no cover
            raise RuntimeError("the console's server did not start")
        time.sleep(0.02)
    return f"http://127.0.0.1:{port}", server, thread


@pytest.fixture
def console(tmp_path: Path) -> Iterator[Console]:
    clock = Clock()
    clock.now = NOW
    app = create_app(f"sqlite:///{tmp_path / 'platform.db'}", clock, CONFIG)
    tokens = make_tokens(app.state.engine, clock)
    url, server, thread = _serve(app)
    try:
        yield Console(url, clock, tokens, app.state.engine)
    finally:
        server.should_exit = True
        thread.join(60)
        app.state.engine.dispose()


def _service(name: str, owner: str, road: str) -> dict[str, Any]:
    return {
        "name": name,
        "owner": owner,
        "description": f"The {name} service",
        "repository": f"https://git.example.com/repos/{name}.git",
        "layers": [
            {"layer": "app", "scaffold": "service-python", "version": "1.0.0"},
            {"layer": "road", "scaffold": "paved-road", "version": road},
        ],
    }


def _stamp(at: dt.datetime) -> str:
    return at.isoformat().replace("+00:00", "Z")


#: Production deployments of payments: (days before NOW it finished, hours of lead time,
#: outcome).
PAYMENTS = [
    (1, 2.0, "succeeded"),
    (3, 5.0, "succeeded"),
    (9, 1.5, "failed"),
    (10, 3.0, "succeeded"),
]
PAYMENTS += [(17, 6.0, "succeeded"), (30, 24.0, "succeeded"), (31, 12.0, "succeeded")]
#: Of search-api (another team).
SEARCH = [(2, 4.0, "succeeded"), (16, 8.0, "succeeded")]


@pytest.fixture
def organisation(console: Console) -> Console:
    """Two teams' services (payments, refunds: team-checkout; search-api: team-search),
    their production deployments and gate reports (payments failing, search-api passing,
    refunds none), recorded through the API."""
    with console.api("owner") as alice, console.api("other") as bob:
        for body, client in (
            (_service("payments", "team-checkout", "1.1.0"), alice),
            (_service("refunds", "team-checkout", "1.0.0"), alice),
            (_service("search-api", "team-search", "1.1.0"), bob),
        ):
            assert client.post("/v1/services", json=body).status_code == 201
        for service, client, history in (
            ("payments", alice, PAYMENTS),
            ("search-api", bob, SEARCH),
        ):
            # Oldest first, as they happened.
            for i, (days, lead, outcome) in enumerate(sorted(history, reverse=True)):
                finished = NOW - dt.timedelta(days=days)
                body = {
                    "service": service,
                    "environment": "prod",
                    "target": "gitops",
                    "image": f"registry.example.com/{service}:{i}",
                    "source_commit": f"{i:07x}",
                    "source_time": _stamp(finished - dt.timedelta(hours=lead)),
                    "actor": "Alice <alice@example.com>",
                    "started_at": _stamp(finished - dt.timedelta(minutes=5)),
                    "finished_at": _stamp(finished),
                    "outcome": outcome,
                }
                # Recorded when it happened: the platform refuses times a day behind its clock.
                console.clock.now = finished
                got = client.post("/v1/deployments", json=body)
                console.clock.now = NOW
                assert got.status_code == 201, got.text
                console.deployments.append(body)
        failing = {
            "commit": "abc1234",
            "passed": False,
            "rule_ids": ["PAVED-CI-001"],
            "findings": 2,
        }
        assert alice.post("/v1/services/payments/gate", json=failing).status_code == 201
        passing = {"commit": "def5678", "passed": True, "rule_ids": [], "findings": 0}
        assert bob.post("/v1/services/search-api/gate", json=passing).status_code == 201
    return console


def monday(at: dt.datetime) -> dt.datetime:
    day = at.replace(hour=0, minute=0, second=0, microsecond=0)
    return day - dt.timedelta(days=day.weekday())


def expected_weeks(
    console: Console, weeks: int, team_services: set[str] | None = None
) -> dict[str, tuple[int, str]]:
    """Per week (label ``MM-DD`` of its Monday): the deploy attempts and the median lead time
    in hours (``-`` when none), computed here from what the organisation fixture sent."""
    start = monday(NOW) - dt.timedelta(weeks=weeks - 1)
    found: dict[str, tuple[int, str]] = {}
    for i in range(weeks):
        week = start + dt.timedelta(weeks=i)
        rows = [
            d
            for d in console.deployments
            if (team_services is None or d["service"] in team_services)
            and week <= dt.datetime.fromisoformat(d["finished_at"]) < week + dt.timedelta(weeks=1)
        ]
        leads = [
            (
                dt.datetime.fromisoformat(d["finished_at"])
                - dt.datetime.fromisoformat(d["source_time"])
            ).total_seconds()
            / 3600
            for d in rows
            if d["outcome"] == "succeeded"
        ]
        found[week.strftime("%m-%d")] = (
            len(rows),
            f"{statistics.median(leads):.1f}" if leads else "-",
        )
    return found
