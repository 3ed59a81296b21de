"""The console's rules that need no browser, over plain HTTP to the real server: sessions and
their cookie, the Origin check, the headers, the team rules, errors, no token anywhere."""

from __future__ import annotations

import hashlib
import re

import sqlalchemy as sa

from paved.server._tables import audit_events, console_sessions
from tests.console.conftest import Console

PAGES = ["/", "/services/payments", "/teams/team-checkout", "/metrics"]


def test_every_page_asks_for_a_session_first(organisation: Console) -> None:
    with organisation.client() as client:
        for page in PAGES:
            got = client.get(page)
            assert got.status_code == 303, page
            assert got.headers["location"] == "/sign-in"
        # An API token is not a session: the console reads only its own cookie.
        got = client.get("/", headers={"Authorization": f"Bearer {organisation.tokens['owner']}"})
        assert got.status_code == 303


def test_sign_in_sets_a_strict_http_only_cookie_kept_only_as_its_hash(console: Console) -> None:
    with console.client() as client:
        got = client.post(
            "/sign-in", data={"token": console.tokens["owner"]}, headers=console.origin()
        )
        assert got.status_code == 303
        assert got.headers["location"] == "/"
        cookie = got.headers["set-cookie"]
        value = re.match(r"paved_console=([A-Za-z0-9_-]+);", cookie)
        assert value is not None, cookie
        flags = {part.strip().lower() for part in cookie.split(";")[1:]}
        assert {"httponly", "path=/", "samesite=strict"} <= flags
        assert "secure" not in flags  # plain HTTP on loopback; Secure over TLS
        assert len(value.group(1)) == 43  # 32 random bytes
        with console.engine.connect() as conn:
            ids = [row.id for row in conn.execute(sa.select(console_sessions))]
        assert ids == [hashlib.sha256(value.group(1).encode()).hexdigest()]
        page = client.get("/")
        assert page.status_code == 200
        assert "alice" in page.text
        assert console.tokens["owner"] not in page.text
        assert value.group(1) not in page.text


def test_a_bad_token_is_refused_on_the_form_and_audited(console: Console) -> None:
    with console.client() as client:
        for token in (
            "pvd_0000000000000000_" + "x" * 43,
            console.tokens["revoked"],
            console.tokens["expired"],
            "",
        ):
            got = client.post("/sign-in", data={"token": token}, headers=console.origin())
            assert got.status_code == 401
            assert "set-cookie" not in got.headers
            assert "not valid" in got.text
            if token:
                assert token not in got.text
    with console.engine.connect() as conn:
        outcomes = [
            row.outcome
            for row in conn.execute(
                sa.select(audit_events).where(audit_events.c.action == "console.sign-in")
            )
        ]
    assert outcomes == ["unauthenticated"] * 4


def test_a_post_from_another_origin_or_none_is_refused(console: Console) -> None:
    with console.client() as client:
        for headers in ({}, {"Origin": "https://evil.example.com"}, {"Origin": "null"}):
            got = client.post("/sign-in", data={"token": console.tokens["owner"]}, headers=headers)
            assert got.status_code == 403
            assert "set-cookie" not in got.headers
    with console.signed_in("owner") as client:
        got = client.post("/sign-out", headers={"Origin": "https://evil.example.com"})
        assert got.status_code == 403
        assert client.get("/").status_code == 200  # still signed in


def test_sign_out_ends_the_session_even_for_a_kept_copy_of_the_cookie(console: Console) -> None:
    with console.signed_in("owner") as client:
        kept = dict(client.cookies)
        got = client.post("/sign-out", headers=console.origin())
        assert got.status_code == 303
        assert got.headers["location"] == "/sign-in"
        assert 'paved_console=""' in got.headers["set-cookie"]
    with console.client() as replay:
        replay.cookies.update(kept)
        assert replay.get("/").status_code == 303


def test_a_session_ends_with_its_token_and_after_twelve_hours(console: Console) -> None:
    import datetime as dt

    from paved.server import revoke

    with console.signed_in("owner") as client:
        console.clock.now += dt.timedelta(hours=11, minutes=59)
        assert client.get("/").status_code == 200
        console.clock.now += dt.timedelta(minutes=2)
        assert client.get("/").status_code == 303
    console.clock.now += dt.timedelta(hours=1)
    with console.signed_in("other") as client:
        token_id = console.tokens["other"].split("_")[1]
        revoke(console.engine, token_id=token_id, user=None, now=console.clock(), actor="t")
        assert client.get("/").status_code == 303


def test_security_headers_on_every_page(organisation: Console) -> None:
    with organisation.signed_in("owner") as client:
        for page in [*PAGES, "/sign-in", "/services/nothing-here", "/console.css"]:
            got = client.get(page)
            csp = got.headers["content-security-policy"]
            assert "frame-ancestors 'none'" in csp
            assert "unsafe-inline" not in csp
            assert "default-src 'none'" in csp
            assert got.headers["x-content-type-options"] == "nosniff"
            assert got.headers["referrer-policy"] == "same-origin"


def test_unknown_service_and_team_are_404_pages(organisation: Console) -> None:
    with organisation.signed_in("owner") as client:
        for page in ("/services/nothing-here", "/teams/team-nobody", "/services/NOT_A_NAME"):
            got = client.get(page)
            assert got.status_code == 404
            assert got.headers["content-type"].startswith("text/html")
            assert "<h1>Not found</h1>" in got.text


def test_a_bad_filter_is_a_400_page_naming_it(organisation: Console) -> None:
    with organisation.signed_in("owner") as client:
        got = client.get("/", params={"team": "<script>"})
        assert got.status_code == 400
        assert "&#39;&lt;script&gt;&#39; is not a team name" in got.text
        assert client.get("/", params={"gate": "green"}).status_code == 400
        assert client.get("/", params={"q": "a%b"}).status_code == 400


def test_the_catalog_filters(organisation: Console) -> None:
    with organisation.signed_in("owner") as client:

        def names(**params: str) -> list[str]:
            got = client.get("/", params=params)
            assert got.status_code == 200
            return re.findall(r'<td><a href="/services/([a-z0-9-]+)">', got.text)

        assert names() == ["payments", "refunds", "search-api"]
        assert names(q="pay") == ["payments"]
        assert names(team="team-search") == ["search-api"]
        assert names(road="1.0.0") == ["refunds"]
        assert names(gate="unreported") == ["refunds"]
        assert names(gate="passing") == ["search-api"]
        assert names(gate="failing") == ["payments"]
        assert names(gate="failing", team="team-search") == []


def test_the_audit_trail_of_a_service_is_for_admins_only(organisation: Console) -> None:
    """As GET /v1/audit: the owner team and other teams read the service, not its audit."""
    for who, shown in (("owner", False), ("other", False), ("admin", True)):
        with organisation.signed_in(who) as client:
            got = client.get("/services/payments")
            assert got.status_code == 200
            assert ('id="audit"' in got.text) is shown, who
            assert ("service.register" in got.text) is shown, who
    with organisation.api("owner") as api:
        assert api.get("/v1/audit").status_code == 403


def test_no_token_in_any_page(organisation: Console) -> None:
    for who in ("owner", "other", "admin"):
        with organisation.signed_in(who) as client:
            for page in [*PAGES, "/teams/team-search", "/services/search-api"]:
                text = client.get(page).text
                for token in organisation.tokens.values():
                    assert token not in text
                    assert token[len("pvd_") + 17 :] not in text  # the secret part alone
                assert "pvd_" not in text


def test_the_console_is_not_in_the_api_document(console: Console) -> None:
    with console.client() as client:
        paths = client.get("/openapi.json").json()["paths"]
    console_paths = {"/", "/sign-in", "/sign-out", "/console.css", "/metrics"}
    assert console_paths.isdisjoint(paths)
    assert not [p for p in paths if p.startswith(("/services", "/teams"))]


def test_the_cookie_is_secure_when_the_request_came_over_tls(console: Console) -> None:
    """Behind a TLS proxy on this host (uvicorn trusts 127.0.0.1's X-Forwarded-Proto)."""
    host = console.url.removeprefix("http://")
    tls = {"X-Forwarded-Proto": "https", "Origin": f"https://{host}"}
    with console.client() as client:
        got = client.post("/sign-in", data={"token": console.tokens["owner"]}, headers=tls)
        assert got.status_code == 303
        flags = {part.strip().lower() for part in got.headers["set-cookie"].split(";")[1:]}
        assert {"secure", "httponly", "samesite=strict", "path=/"} <= flags
        # The plain-HTTP origin is not this request's origin.
        plain = {"X-Forwarded-Proto": "https", "Origin": console.url}
        got = client.post("/sign-in", data={"token": console.tokens["owner"]}, headers=plain)
        assert got.status_code == 403
