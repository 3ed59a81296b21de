"""Gate reports through the API, on both backends: what ``paved guardrails check --report``
sends, the team rules, dry runs, the latest report, and an audit row for every attempt."""

from __future__ import annotations

import datetime as dt
from typing import Any

from tests.server.conftest import NOW, Platform, service_body


def _events(platform: Platform) -> list[tuple[str, str, str, str]]:
    events = platform.client.get("/v1/audit", headers=platform.auth("admin")).json()["events"]
    return [
        (e["actor"], e["action"], e["target"], e["outcome"])
        for e in events
        if e["address"] != "local" and e["action"] == "gate.report"
    ]


def _setup(platform: Platform) -> None:
    admin = platform.auth("admin")
    for body in (service_body(), service_body("search", "team-search")):
        assert platform.client.post("/v1/services", json=body, headers=admin).status_code == 201


def _report(platform: Platform, who: str = "owner", service: str = "payments", **body: Any) -> Any:
    payload = {"commit": "abc1234", "passed": False, "rule_ids": [], "findings": 0, **body}
    return platform.client.post(
        f"/v1/services/{service}/gate", json=payload, headers=platform.auth(who)
    )


def test_the_latest_report_is_served_with_its_rule_ids_sorted_once(platform: Platform) -> None:
    _setup(platform)
    rule_ids = ["SEC-IMG-001", "DEP-PIN-002", "SEC-IMG-001", "K8S-NET-001"]
    first = _report(platform, rule_ids=rule_ids, findings=3)
    assert first.status_code == 201, first.text
    assert first.json() == {
        "id": first.json()["id"],
        "service": "payments",
        "commit": "abc1234",
        "passed": False,
        "rule_ids": ["DEP-PIN-002", "K8S-NET-001", "SEC-IMG-001"],
        "findings": 3,
        "reported_at": "2025-03-01T12:00:00Z",
        "reported_by": "alice",
    }
    latest = platform.client.get("/v1/services/payments/gate", headers=platform.auth("other"))
    assert latest.json() == first.json()
    platform.clock.now = NOW + dt.timedelta(hours=1)
    second = _report(platform, commit=None, passed=True)
    assert second.status_code == 201
    latest = platform.client.get("/v1/services/payments/gate", headers=platform.auth("other"))
    assert latest.json() == second.json()
    assert (latest.json()["commit"], latest.json()["reported_at"]) == (
        None,
        "2025-03-01T13:00:00Z",
    )
    assert _events(platform) == [
        ("alice", "gate.report", "service payments", "reported"),
        ("alice", "gate.report", "service payments", "reported"),
    ]


def test_no_report_and_no_service_are_two_different_404s(platform: Platform) -> None:
    _setup(platform)
    none = platform.client.get("/v1/services/search/gate", headers=platform.auth("owner"))
    assert (none.status_code, none.json()["error"]) == (404, "no_gate_report")
    ghost = platform.client.get("/v1/services/ghost/gate", headers=platform.auth("owner"))
    assert (ghost.status_code, ghost.json()["error"]) == (404, "not_found")
    assert platform.client.get("/v1/services/search/gate").status_code == 401


def test_only_the_owning_team_or_an_admin_reports(platform: Platform) -> None:
    _setup(platform)
    assert _report(platform, "other").status_code == 403
    assert _report(platform, "nobody").status_code == 401
    assert _report(platform, service="ghost").status_code == 404
    assert _report(platform, "admin", "search", passed=True).status_code == 201
    archived = platform.client.post("/v1/services/search/archive", headers=platform.auth("admin"))
    assert archived.status_code == 200
    assert _report(platform, "other", "search").status_code == 409
    none = platform.client.get("/v1/services/payments/gate", headers=platform.auth("owner"))
    assert none.status_code == 404
    assert _events(platform) == [
        ("bob", "gate.report", "service payments", "forbidden"),
        ("anonymous", "gate.report", "service payments", "unauthenticated"),
        ("alice", "gate.report", "service ghost", "not-found"),
        ("root", "gate.report", "service search", "reported"),
        ("bob", "gate.report", "service search", "conflict"),
    ]


def test_bad_reports_are_422_audited_and_store_nothing(platform: Platform) -> None:
    _setup(platform)
    for bad in (
        {"passed": "yes"},
        {"passed": None},
        {"rule_ids": ["sec-img-001"]},
        {"rule_ids": ["SEC"]},
        {"rule_ids": ["1SEC-IMG-001"]},
        {"rule_ids": ["SEC-IMG-001\n"]},
        {"rule_ids": [f"R-{n}" for n in range(501)]},
        {"findings": -1},
        {"commit": "main"},
        {"reported_by": "mallory"},
    ):
        assert _report(platform, **bad).status_code == 422, bad
    assert (
        platform.client.post(
            "/v1/services/payments/gate", json={}, headers=platform.auth("owner")
        ).status_code
        == 422
    )
    none = platform.client.get("/v1/services/payments/gate", headers=platform.auth("owner"))
    assert none.status_code == 404
    assert _events(platform) == [("alice", "gate.report", "service payments", "invalid")] * 11


def test_a_dry_run_writes_nothing(platform: Platform) -> None:
    _setup(platform)
    payload = {"passed": True, "rule_ids": [], "findings": 0}
    tried = platform.client.post(
        "/v1/services/payments/gate?dry_run=true", json=payload, headers=platform.auth("owner")
    )
    assert tried.status_code == 200
    assert (tried.json()["id"], tried.json()["passed"]) == (None, True)
    refused = platform.client.post(
        "/v1/services/payments/gate?dry_run=true", json=payload, headers=platform.auth("other")
    )
    assert refused.status_code == 403
    none = platform.client.get("/v1/services/payments/gate", headers=platform.auth("owner"))
    assert none.status_code == 404
    assert _events(platform) == [("bob", "gate.report", "service payments", "forbidden")]
