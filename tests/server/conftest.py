"""The platform app over a fresh database per test, with a fixed clock and tokens to hand."""

from __future__ import annotations

import contextlib
import datetime as dt
import subprocess
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("fastapi", reason="the platform server needs the 'server' extra")

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

from paved.server import PlatformConfig, ScaffoldOffer, create_app, issue_token, revoke
from tests.server.postgres import PostgresServer, start_postgres, unavailable

NOW = dt.datetime(2025, 3, 1, 12, 0, tzinfo=dt.UTC)


class Clock:
    """A clock tests move by hand."""

    def __init__(self) -> None:
        self.now = NOW

    def __call__(self) -> dt.datetime:
        return self.now


@dataclass
class Platform:
    client: TestClient
    clock: Clock
    url: str
    tokens: dict[str, str]

    def auth(self, who: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[who]}"} if who in self.tokens else {}


CONFIG = PlatformConfig(
    scaffolds=(ScaffoldOffer("paved-road", "road", ("1.0.0", "1.1.0"), "1.0.0"),),
    settings={"environments": {"prod": {"target": "gitops", "protected": "true"}}},
)


def make_tokens(app_engine: object, clock: Clock) -> dict[str, str]:
    from sqlalchemy import Engine

    assert isinstance(app_engine, Engine)

    def issue(user: str, teams: list[str], *, admin: bool = False, days: int = 90) -> str:
        return issue_token(
            app_engine,
            user=user,
            teams=teams,
            admin=admin,
            lifetime=dt.timedelta(days=days),
            now=clock(),
            actor="test",
        ).token

    tokens = {
        "owner": issue("alice", ["team-checkout"]),
        "other": issue("bob", ["team-search"]),
        "admin": issue("root", [], admin=True),
        "revoked": issue("carol", ["team-checkout"]),
    }
    revoke(app_engine, token_id=tokens["revoked"].split("_")[1], user=None, now=clock(), actor="t")
    # Expired: issued 100 days before now, for 1 day.
    earlier = Clock()
    earlier.now = clock() - dt.timedelta(days=100)
    tokens["expired"] = issue_token(
        app_engine,
        user="dave",
        teams=["team-checkout"],
        admin=False,
        lifetime=dt.timedelta(days=1),
        now=earlier(),
        actor="test",
    ).token
    return tokens


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresServer]:
    """One throwaway PostgreSQL for the whole session (see tests/server/postgres.py)."""
    try:
        server = start_postgres()
        running = server.__enter__()
    except (RuntimeError, OSError, subprocess.SubprocessError) as exc:
        unavailable(str(exc))
        raise  # pragma: no cover - unavailable() fails or skips
    try:
        yield running
    finally:
        server.__exit__(None, None, None)


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty database on each backend: a SQLite file, or a new PostgreSQL database."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'platform.db'}"
        return
    server: PostgresServer = request.getfixturevalue("postgres")
    with server.database() as url:
        yield url


@contextlib.contextmanager
def serving(db_url: str) -> Iterator[Platform]:
    """The app over ``db_url`` with a fixed clock and the tokens of :func:`make_tokens`."""
    clock = Clock()
    app = create_app(db_url, clock, CONFIG)
    tokens = make_tokens(app.state.engine, clock)
    try:
        with TestClient(app, client=("203.0.113.7", 5000)) as client:
            yield Platform(client, clock, db_url, tokens)
    finally:
        app.state.engine.dispose()


@pytest.fixture
def platform(db_url: str) -> Iterator[Platform]:
    with serving(db_url) as running:
        yield running


ServiceBody = Callable[..., dict[str, object]]


def service_body(
    name: str = "payments", owner: str = "team-checkout", **extra: object
) -> dict[str, Any]:
    return {
        "name": name,
        "owner": owner,
        "description": "Takes payments",
        "repository": f"https://git.example.com/repos/{name}.git",
        "layers": [
            {"layer": "app", "scaffold": "service-python", "version": "1.0.0"},
            {"layer": "road", "scaffold": "paved-road", "version": "1.1.0"},
        ],
        **extra,
    }


def deployment_body(service: str = "payments", **extra: object) -> dict[str, Any]:
    return {
        "service": service,
        "environment": "prod",
        "target": "gitops",
        "image": "registry.example.com/payments:abc1234",
        "source_commit": "abc1234",
        "source_time": "2025-03-01T10:00:00Z",
        "actor": "Alice <alice@example.com>",
        "started_at": "2025-03-01T11:00:00Z",
        "finished_at": "2025-03-01T11:01:00Z",
        "outcome": "succeeded",
        **extra,
    }
