"""The console against hostile input, over plain HTTP to the real server: numbers that are not
ASCII digits, forms that are not the sign-in form, a flood of failed sign-ins, and the audit
rows of sign-ins that must not throw away the kept figures."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from paved.server._tables import audit_events
from paved.server.console._queries import data_version
from paved.server.console._throttle import FAILURES, WINDOW, SignInThrottle
from tests.console.conftest import Console

BAD_TOKEN = "pvd_0000000000000000_" + "x" * 43


def _audit_rows(console: Console) -> int:
    with console.engine.connect() as conn:
        return int(conn.execute(sa.select(sa.func.count()).select_from(audit_events)).scalar_one())


@pytest.mark.parametrize(
    "path",
    [
        "/?page=%C2%B2",
        "/?page=%D9%A3",  # ARABIC-INDIC DIGIT THREE: a digit to str.isdigit, not to us
        "/?page=abc",
        "/?page=1234567",
        "/?page=-1",
        "/metrics?weeks=%C2%B2",
        "/metrics?weeks=",
        "/teams/team-checkout?weeks=%C2%B2",
        "/teams/team-checkout?weeks=1e3",
        "/?team=team-search%0A",
        "/?road=1.0.0%0A",
        "/metrics?team=team-search%0A",
    ],
)
def test_a_query_parameter_that_is_not_one_is_a_400_page(organisation: Console, path: str) -> None:
    with organisation.signed_in("owner") as client:
        got = client.get(path)
        assert got.status_code == 400, got.text
        assert got.headers["content-type"].startswith("text/html")
        assert "<h1>Not a filter</h1>" in got.text


def test_numbers_in_range_still_work(organisation: Console) -> None:
    with organisation.signed_in("owner") as client:
        for path in ("/?page=2", "/?page=000001", "/metrics?weeks=52", "/metrics?weeks=999999"):
            assert client.get(path).status_code == 200, path
        assert client.get("/teams/team-checkout?weeks=4").status_code == 200


def test_a_name_with_a_trailing_newline_is_no_name(organisation: Console) -> None:
    with organisation.signed_in("owner") as client:
        for path in ("/services/payments%0A", "/teams/team-checkout%0A"):
            got = client.get(path)
            assert got.status_code == 404, path
            assert "<h1>Not found</h1>" in got.text


def _post(
    console: Console, client: httpx.Client, content: bytes | Iterator[bytes]
) -> httpx.Response:
    headers = {**console.origin(), "Content-Type": "application/x-www-form-urlencoded"}
    return client.post("/sign-in", content=content, headers=headers)


def test_a_body_that_is_not_the_sign_in_form_is_the_400_sign_in_page(console: Console) -> None:
    before = _audit_rows(console)
    token = console.tokens["owner"].encode()
    with console.client() as client:
        for body in (
            b"token=" + token + b"&a=1&b=2&c=3&d=4",  # five fields
            b"a&b&c&d&e&token=" + token,
            b"token=\xff\xfe" + token,  # not UTF-8
            b"token=%FF%FE" + token,  # not UTF-8 once decoded
        ):
            got = _post(console, client, body)
            assert got.status_code == 400, (body, got.text)
            assert got.headers["content-type"].startswith("text/html")
            assert "<h1>Sign in</h1>" in got.text
            assert "not this page&#39;s form" in got.text
            assert "set-cookie" not in got.headers
    assert _audit_rows(console) == before


def test_a_huge_body_is_refused_without_being_read(console: Console) -> None:
    before = _audit_rows(console)
    with console.client() as client:
        got = _post(console, client, b"token=" + b"x" * 100_000)
        assert got.status_code == 413
        assert "far larger than a token" in got.text
        # Beyond the platform's bound for any request, and streamed without a length: the
        # platform's own guard refuses them first.
        assert _post(console, client, b"token=" + b"x" * 5_000_000).status_code == 413

        def chunks() -> Iterator[bytes]:
            yield b"token="
            for _ in range(100):
                yield b"x" * 100_000

        assert _post(console, client, chunks()).status_code == 411
    assert _audit_rows(console) == before


def test_failed_sign_ins_from_one_address_are_bounded(console: Console) -> None:
    with console.client() as client:
        for _ in range(FAILURES):
            got = client.post("/sign-in", data={"token": BAD_TOKEN}, headers=console.origin())
            assert got.status_code == 401
        written = _audit_rows(console)
        for token in (BAD_TOKEN, console.tokens["owner"]):  # even a good token waits
            got = client.post("/sign-in", data={"token": token}, headers=console.origin())
            assert got.status_code == 429, got.text
            wait = int(got.headers["retry-after"])
            assert 0 < wait <= WINDOW.total_seconds()
            assert "Too many failed sign-ins" in got.text
            assert "set-cookie" not in got.headers
        assert _audit_rows(console) == written  # the database was not touched
        console.clock.now += dt.timedelta(seconds=wait)
        got = client.post(
            "/sign-in", data={"token": console.tokens["owner"]}, headers=console.origin()
        )
        assert got.status_code == 303


def test_a_sign_in_that_succeeds_clears_its_address() -> None:
    now = dt.datetime(2025, 3, 1, 12, 0, tzinfo=dt.UTC)
    throttle = SignInThrottle(failures=3, window=dt.timedelta(minutes=10))
    for _ in range(2):
        throttle.failed("10.0.0.1", now)
    assert throttle.retry_after("10.0.0.1", now) is None
    throttle.failed("10.0.0.1", now + dt.timedelta(minutes=1))
    assert throttle.retry_after("10.0.0.1", now + dt.timedelta(minutes=1)) == 9 * 60
    assert throttle.retry_after("10.0.0.2", now) is None  # another address
    # The oldest failures leave the window: the address may try again.
    assert throttle.retry_after("10.0.0.1", now + dt.timedelta(minutes=10)) is None
    throttle.failed("10.0.0.1", now + dt.timedelta(minutes=10))
    throttle.failed("10.0.0.1", now + dt.timedelta(minutes=10))
    assert throttle.retry_after("10.0.0.1", now + dt.timedelta(minutes=10)) is not None
    throttle.succeeded("10.0.0.1")
    assert throttle.retry_after("10.0.0.1", now + dt.timedelta(minutes=10)) is None


def test_the_throttle_forgets_the_least_recently_failing_addresses_beyond_its_bound() -> None:
    now = dt.datetime(2025, 3, 1, 12, 0, tzinfo=dt.UTC)
    throttle = SignInThrottle(failures=1, window=dt.timedelta(minutes=10), addresses=3)
    for i in range(5):
        throttle.failed(f"10.0.0.{i}", now)
    assert [throttle.retry_after(f"10.0.0.{i}", now) is None for i in range(5)] == [
        True,
        True,
        False,
        False,
        False,
    ]


def test_sign_ins_and_outs_do_not_move_the_data_version(organisation: Console) -> None:
    """The kept figures are keyed by the data version: a console audit row is no change."""
    before = data_version(organisation.engine)
    assert before > 0
    with organisation.client() as client:
        got = client.post("/sign-in", data={"token": BAD_TOKEN}, headers=organisation.origin())
        assert got.status_code == 401
    with organisation.signed_in("owner") as client:
        assert client.get("/metrics").status_code == 200
        assert client.post("/sign-out", headers=organisation.origin()).status_code == 303
    with organisation.engine.connect() as conn:
        console_rows = conn.execute(
            sa.select(sa.func.max(audit_events.c.id)).where(audit_events.c.action.like("console.%"))
        ).scalar_one()
    assert console_rows > before  # the rows were written, after every other one
    assert data_version(organisation.engine) == before
    with organisation.api("owner") as alice:
        body = {"commit": "abc1234", "passed": True, "rule_ids": [], "findings": 0}
        assert alice.post("/v1/services/payments/gate", json=body).status_code == 201
    assert data_version(organisation.engine) > before


@pytest.fixture
def live_console(tmp_path: Path) -> Iterator[Console]:
    """A console whose organisation also protects ``live`` (``"true"``, as the settings rule
    writes it)."""
    from paved.server import PlatformConfig, create_app
    from tests.console.conftest import NOW, _serve
    from tests.server.conftest import CONFIG, Clock, make_tokens

    environments = {
        "prod": {"target": "gitops", "protected": "true"},
        "live": {"target": "gitops", "protected": "true"},
    }
    config = PlatformConfig(scaffolds=CONFIG.scaffolds, settings={"environments": environments})
    clock = Clock()
    clock.now = NOW
    app = create_app(f"sqlite:///{tmp_path / 'platform.db'}", clock, config)
    tokens = make_tokens(app.state.engine, clock)
    url, server, thread = _serve(app)
    try:
        yield Console(url, clock, tokens, app.state.engine)
    finally:
        server.should_exit = True
        thread.join(60)
        app.state.engine.dispose()


def test_onboarding_ends_in_any_environment_the_platform_holds_protected(
    live_console: Console,
) -> None:
    """The console asks the platform's rule (paved.server._metrics.protected_environments)
    which environments end an onboarding: five February hires who first deployed to ``live``
    (1, 3, 5, 7 and 9 days after their first token) make February's median 5.0 days."""
    from paved.server import issue_token
    from tests.console.conftest import NOW

    console = live_console
    with console.api("owner") as alice:
        body = {
            "name": "payments",
            "owner": "team-checkout",
            "description": "",
            "repository": "https://git.example.com/repos/payments.git",
            "layers": [{"layer": "road", "scaffold": "paved-road", "version": "1.1.0"}],
        }
        assert alice.post("/v1/services", json=body).status_code == 201
    # Five who finished: the fewest for which the platform shows a median (docs/metrics.md).
    people = (("erin", 2, 1), ("frank", 4, 3), ("grace", 6, 5), ("heidi", 8, 7), ("ivan", 10, 9))
    for user, day, took in people:
        started = dt.datetime(2025, 2, day, 9, 0, tzinfo=dt.UTC)
        token = issue_token(
            console.engine,
            user=user,
            teams=["team-checkout"],
            admin=False,
            lifetime=dt.timedelta(days=90),
            now=started,
            actor="test",
        ).token
        finished = started + dt.timedelta(days=took)
        assert finished < NOW
        deploy = {
            "service": "payments",
            "environment": "live",
            "target": "gitops",
            "source_commit": "abc1234",
            "source_time": (finished - dt.timedelta(hours=1)).isoformat(),
            "actor": user,
            "started_at": (finished - dt.timedelta(minutes=5)).isoformat(),
            "finished_at": finished.isoformat(),
            "outcome": "succeeded",
        }
        # Recorded when it happened: the platform takes no deployment from long ago.
        console.clock.now = finished
        with console.client() as client:
            got = client.post(
                "/v1/deployments", json=deploy, headers={"Authorization": f"Bearer {token}"}
            )
        assert got.status_code == 201, got.text
    console.clock.now = NOW
    with console.signed_in("owner") as client:
        got = client.get("/metrics")
    assert got.status_code == 200
    cohorts = dict(
        re.findall(r'<tr><th scope="row">(\d{4}-\d\d)</th><td data-value="([^"]*)">', got.text)
    )
    assert cohorts["2025-02"] == "5.0", cohorts


def _flags(response: httpx.Response) -> set[str]:
    return {part.strip().lower() for part in response.headers["set-cookie"].split(";")[1:]}


def test_a_server_that_requires_tls_sets_a_secure_cookie_over_plain_http(
    paved: Callable[..., Any], tmp_path: Path
) -> None:
    """``paved platform serve --secure-cookies`` behind a TLS proxy uvicorn does not trust
    (it forwards plain HTTP, no X-Forwarded-Proto): the cookie is Secure all the same, and
    only an https Origin may sign in or out."""
    from tests.server.test_serve import _server

    db = f"sqlite:///{tmp_path / 'platform.db'}"
    made = paved("platform", "token", "create", "--user", "alice", "--team", "team-a", "--db", db)
    token = made.stdout.strip()
    with _server("--db", db, "--secure-cookies") as (url, process):
        host = url.removeprefix("http://")
        with httpx.Client(base_url=url, timeout=30) as client:
            plain = {"Origin": url}
            got = client.post("/sign-in", data={"token": token}, headers=plain)
            assert got.status_code == 403
            tls = {"Origin": f"https://{host}"}
            got = client.post("/sign-in", data={"token": token}, headers=tls)
            assert got.status_code == 303, got.text
            assert {"secure", "httponly", "samesite=strict", "path=/"} <= _flags(got)
            value = got.cookies["paved_console"]
            # The client would not send a Secure cookie over http: send it as the proxy would.
            cookie = {"Cookie": f"paved_console={value}"}
            assert client.get("/", headers=cookie).status_code == 200
            got = client.post("/sign-out", headers={**plain, **cookie})
            assert got.status_code == 403
            got = client.post("/sign-out", headers={**tls, **cookie})
            assert got.status_code == 303
            assert "secure" in _flags(got)
            assert client.get("/", headers=cookie).status_code == 303
    process.communicate(timeout=120)  # the server stopped; its pipes are closed


def test_an_unknown_path_under_the_console_s_prefixes_is_its_404_page(
    organisation: Console,
) -> None:
    paths = ["/services/payments/extra", "/teams/team-checkout/x/y", "/metrics/nothing", "/teams/"]
    with organisation.client() as client:
        for path in paths:
            got = client.get(path)
            assert got.status_code == 303, path  # signed out: the sign-in page first
    with organisation.signed_in("owner") as client:
        for path in paths:
            got = client.get(path)
            assert got.status_code == 404, path
            assert got.headers["content-type"].startswith("text/html")
            assert "<h1>Not found</h1>" in got.text
            assert "frame-ancestors 'none'" in got.headers["content-security-policy"]
        # The API's answers are its own.
        got = client.get("/v1/nothing")
        assert got.status_code == 404
        assert got.headers["content-type"].startswith("application/json")
        got = client.get("/nothing-at-all")
        assert got.headers["content-type"].startswith("application/json")
    with organisation.api("owner") as api:
        assert api.delete("/v1/services").status_code == 405
        assert api.get("/v1/services/nothing-here").status_code == 404
