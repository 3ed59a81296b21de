"""The console over several processes: two apps over one database (a SQLite file, a
PostgreSQL database) stand for two workers or two replicas. The bound on failed sign-ins
counts the failures made through either, and the figures one keeps give way to a change
made through the other on its next read."""

from __future__ import annotations

import contextlib
import datetime as dt
import warnings
from collections.abc import Iterator

import pytest
import sqlalchemy as sa

from paved.server import create_app, writer
from paved.server._tables import console_sign_in_failures, deployments
from paved.server.console._throttle import FAILURES, WINDOW
from tests.server.conftest import (  # noqa: F401  (fixtures: the database on each backend)
    CONFIG,
    NOW,
    Clock,
    db_url,
    deployment_body,
    make_tokens,
    postgres,
    service_body,
)

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

BAD_TOKEN = "pvd_0123456789abcdef_" + "x" * 43
ORIGIN = {"Origin": "http://testserver"}


@contextlib.contextmanager
def _two_apps(url: str) -> Iterator[tuple[TestClient, TestClient, Clock, dict[str, str]]]:
    """Two apps over ``url`` with one clock, seen from one client address."""
    clock = Clock()
    first = create_app(url, clock, CONFIG)
    tokens = make_tokens(first.state.engine, clock)
    second = create_app(url, clock, CONFIG)
    try:
        with (
            TestClient(first, client=("203.0.113.7", 5000), follow_redirects=False) as one,
            TestClient(second, client=("203.0.113.7", 5001), follow_redirects=False) as two,
        ):
            yield one, two, clock, tokens
    finally:
        first.state.engine.dispose()
        second.state.engine.dispose()


def _sign_in(client: TestClient, token: str) -> int:
    got = client.post("/sign-in", data={"token": token}, headers=ORIGIN)
    return got.status_code


def _failures(client: TestClient) -> int:
    engine: sa.Engine = client.app.state.engine  # type: ignore[attr-defined]
    with engine.connect() as conn:
        count = sa.select(sa.func.count()).select_from(console_sign_in_failures)
        return int(conn.execute(count).scalar_one())


def test_failed_sign_ins_through_two_apps_count_together(db_url: str) -> None:  # noqa: F811
    with _two_apps(db_url) as (one, two, clock, tokens):
        for k in range(FAILURES):
            assert _sign_in(one if k % 2 else two, BAD_TOKEN) == 401
        assert _failures(one) == FAILURES
        for client in (one, two):
            for token in (BAD_TOKEN, tokens["owner"]):  # even a good token waits
                got = client.post("/sign-in", data={"token": token}, headers=ORIGIN)
                assert got.status_code == 429, got.text
                wait = int(got.headers["retry-after"])
                assert 0 < wait <= WINDOW.total_seconds()
                assert "set-cookie" not in got.headers
        assert _failures(one) == FAILURES  # a refused attempt counts for nothing more
        # Another address is not bound by them.
        with TestClient(two.app, client=("198.51.100.9", 5002)) as elsewhere:
            assert _sign_in(elsewhere, BAD_TOKEN) == 401
        # The oldest failure leaves the window: one more attempt may come, through either.
        clock.now += dt.timedelta(seconds=wait)
        assert _sign_in(one, tokens["owner"]) == 303
        # It succeeded: the address starts again from nothing.
        for _ in range(FAILURES - 1):
            assert _sign_in(two, BAD_TOKEN) == 401
        assert _sign_in(one, BAD_TOKEN) == 401
        assert _sign_in(one, BAD_TOKEN) == 429


def test_failures_that_left_the_window_are_deleted(db_url: str) -> None:  # noqa: F811
    with _two_apps(db_url) as (one, two, clock, _tokens):
        for _ in range(3):
            assert _sign_in(one, BAD_TOKEN) == 401
        clock.now += WINDOW
        assert _sign_in(two, BAD_TOKEN) == 401
        assert _failures(one) == 1


@pytest.mark.parametrize("path", ["/teams/team-checkout", "/teams/team-checkout?weeks=4"])
def test_figures_kept_by_one_app_give_way_to_a_change_through_the_other(
    db_url: str,  # noqa: F811
    path: str,
) -> None:
    with _two_apps(db_url) as (one, two, _clock, tokens):
        admin = {"Authorization": f"Bearer {tokens['admin']}"}
        made = one.post("/v1/services", json=service_body(), headers=admin)
        assert made.status_code == 201, made.text

        def deploy(hours: float) -> None:
            done = NOW - dt.timedelta(hours=hours)
            stamp = done.isoformat().replace("+00:00", "Z")
            body = deployment_body(started_at=stamp, finished_at=stamp, source_time=stamp)
            got = one.post("/v1/deployments", json=body, headers=admin)
            assert got.status_code == 201, got.text

        deploy(20)
        assert _sign_in(two, tokens["owner"]) == 303
        kept = two.get(path)
        assert kept.status_code == 200, kept.text
        # A row written behind the platform's back (no audit row) is not seen: kept.
        done = NOW - dt.timedelta(hours=3)
        with writer(two.app.state.engine).begin() as conn:  # type: ignore[attr-defined]
            conn.execute(
                deployments.insert().values(
                    service="payments", environment="prod", target="gitops", actor="behind",
                    started_at=done, finished_at=done, outcome="succeeded", findings=[],
                    recorded_by="behind",
                )
            )  # fmt: skip
        assert two.get(path).text == kept.text
        deploy(5)  # through the other app
        moved = two.get(path)
        assert moved.status_code == 200
        assert moved.text != kept.text  # the page is the same on each read, until a change
