"""The organisation's delivery metrics a page of services at a time, and the judgements a
server keeps: until the next change through the platform, made through any app over the
database (two apps over one database stand for two workers or two replicas)."""

from __future__ import annotations

import contextlib
import datetime as dt
import warnings
from collections.abc import Iterator
from typing import Any

from paved.server import create_app, writer
from paved.server._tables import deployments
from tests.server.conftest import CONFIG, NOW, Platform, deployment_body, service_body

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

NAMES = ("alpha", "bravo", "charlie", "delta", "echo")


def _stamp(at: dt.datetime) -> str:
    return at.isoformat().replace("+00:00", "Z")


def _deploy(client: TestClient, auth: dict[str, str], service: str, hours: float) -> None:
    done = NOW - dt.timedelta(hours=hours)
    body = deployment_body(
        service,
        source_time=_stamp(done - dt.timedelta(hours=3)),
        started_at=_stamp(done - dt.timedelta(minutes=1)),
        finished_at=_stamp(done),
    )
    made = client.post("/v1/deployments", json=body, headers=auth)
    assert made.status_code == 201, made.text


def _organisation(platform: Platform) -> None:
    admin = platform.auth("admin")
    for k, name in enumerate(NAMES):
        owner = "team-checkout" if k % 2 else "team-search"
        made = platform.client.post("/v1/services", json=service_body(name, owner), headers=admin)
        assert made.status_code == 201, made.text
        for hours in range(1, k + 2):
            _deploy(platform.client, admin, name, hours)


def _walk(platform: Platform, path: str, **params: Any) -> tuple[list[dict[str, Any]], int]:
    """Every page of ``path`` with ``params``: the services in order, and the pages."""
    services: list[dict[str, Any]] = []
    cursor, pages = None, 0
    first: dict[str, Any] | None = None
    while True:
        asked = {**params, **({"cursor": cursor} if cursor else {})}
        got = platform.client.get(path, params=asked, headers=platform.auth("other"))
        assert got.status_code == 200, got.text
        page = got.json()
        pages += 1
        first = first or page
        # The total and the weeks are of every service, on every page.
        assert page["total"] == first["total"]
        assert page.get("weeks") == first.get("weeks")
        assert page["service_count"] == len(NAMES)
        services += page["services"]
        cursor = page["next_cursor"]
        if cursor is None:
            return services, pages


def test_metrics_come_a_page_of_services_at_a_time(platform: Platform) -> None:
    _organisation(platform)
    for path in ("/v1/metrics", "/v1/metrics/delivery"):
        whole = platform.client.get(path, headers=platform.auth("other")).json()
        assert [m["service"] for m in whole["services"]] == list(NAMES)
        assert whole["next_cursor"] is None
        assert whole["service_count"] == len(NAMES)
        assert whole["total"]["deployments"] == 15
        services, pages = _walk(platform, path, limit=2)
        assert pages == 3
        assert services == whole["services"]
        one, _ = _walk(platform, path, limit=1)
        assert one == whole["services"]
        team = platform.client.get(
            path, params={"team": "team-checkout", "limit": 1}, headers=platform.auth("other")
        ).json()
        assert team["total"]["deployments"] == 2 + 4
        assert [m["service"] for m in team["services"]] == ["bravo"]
        assert team["service_count"] == 2
        assert team["next_cursor"] is not None


def test_a_cursor_or_a_limit_the_platform_did_not_give_is_refused(platform: Platform) -> None:
    _organisation(platform)
    for path in ("/v1/metrics", "/v1/metrics/delivery"):
        for params, code in (
            ({"cursor": "not-a-cursor"}, 400),
            ({"cursor": "MTI"}, 400),  # an integer, not a service's name
            ({"limit": 0}, 422),
            ({"limit": 1001}, 422),
        ):
            got = platform.client.get(path, params=params, headers=platform.auth("other"))
            assert got.status_code == code, (path, params, got.text)


@contextlib.contextmanager
def _another_app(platform: Platform) -> Iterator[TestClient]:
    """A second app over the same database, with the same clock: another worker."""
    app = create_app(platform.url, platform.clock, CONFIG)
    try:
        with TestClient(app, client=("203.0.113.8", 5000)) as client:
            yield client
    finally:
        app.state.engine.dispose()


def test_a_change_through_one_app_is_seen_on_the_next_read_through_another(
    platform: Platform,
) -> None:
    _organisation(platform)
    admin, reader = platform.auth("admin"), platform.auth("other")
    with _another_app(platform) as other:
        for path in ("/v1/metrics", "/v1/metrics/delivery"):
            before = other.get(path, headers=reader).json()
            assert before == other.get(path, headers=reader).json()  # kept, the same
        _deploy(platform.client, admin, "alpha", 0.5)
        for path in ("/v1/metrics", "/v1/metrics/delivery"):
            after = other.get(path, headers=reader).json()
            assert after["total"]["deployments"] == 16
            assert after["services"][0]["deployments"] == 2
        # An incident opened through the first app counts in the other's delivery.
        opened = platform.client.post(
            "/v1/incidents",
            json={"service": "alpha", "environment": "prod", "title": "Checkout down"},
            headers=admin,
        )
        assert opened.status_code == 201, opened.text
        delivery = other.get("/v1/metrics/delivery", headers=reader).json()
        assert delivery["total"]["incidents"] == 1
        # The clock moves on: the window with it, from what the other app kept.
        platform.clock.now = NOW + dt.timedelta(hours=1, minutes=30)
        moved = other.get("/v1/metrics", headers=reader).json()
        assert moved["window_end"].startswith("2025-03-01T13:30")
        assert moved["total"]["deployments"] == 16


def test_figures_are_kept_until_a_change_through_the_platform(platform: Platform) -> None:
    """A row written behind the platform's back (no audit row) is not seen until the next
    change through the platform: the figures were kept, not read again."""
    _organisation(platform)
    admin, reader = platform.auth("admin"), platform.auth("other")
    kept = platform.client.get("/v1/metrics", headers=reader).json()
    engine = platform.client.app.state.engine  # type: ignore[attr-defined]
    done = NOW - dt.timedelta(hours=2)
    with writer(engine).begin() as conn:
        conn.execute(
            deployments.insert().values(
                service="echo", environment="prod", target="gitops", actor="behind",
                started_at=done, finished_at=done, outcome="succeeded", findings=[],
                recorded_by="behind",
            )
        )  # fmt: skip
    again = platform.client.get("/v1/metrics", headers=reader).json()
    assert again["total"] == kept["total"]
    _deploy(platform.client, admin, "alpha", 0.5)
    moved = platform.client.get("/v1/metrics", headers=reader).json()
    assert moved["total"]["deployments"] == kept["total"]["deployments"] + 2


def test_every_write_of_the_store_writes_an_audit_row_in_its_transaction() -> None:
    """What is kept is keyed by the newest audit row: a store method that changes a record
    must write one (through :meth:`Store.audit`, in the same transaction), or a change
    would not be seen until the next one."""
    import ast
    import inspect

    from paved.server._store import Store

    tree = ast.parse(inspect.getsource(Store))
    writers = {
        method.name: "self.audit(" in ast.unparse(method)
        for method in ast.walk(tree)
        if isinstance(method, ast.FunctionDef)
        and method.name != "audit"
        and "self._writer.begin()" in ast.unparse(method)
    }
    assert len(writers) > 10, writers
    assert sorted(name for name, audited in writers.items() if not audited) == []
