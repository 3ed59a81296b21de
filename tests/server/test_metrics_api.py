"""The metrics routes over real records, on both backends: delivery per week with incidents,
onboarding time from tokens, events and deployments, and adoption of the road."""

from __future__ import annotations

import datetime as dt
from typing import Any

from paved.server import issue_token
from tests.server.conftest import NOW, Platform, deployment_body, service_body

H = 3600.0


def _register(platform: Platform) -> None:
    admin = platform.auth("admin")
    for body in (service_body(), service_body("search", "team-search")):
        assert platform.client.post("/v1/services", json=body, headers=admin).status_code == 201


def _deploy(platform: Platform, who: str = "admin", **body: Any) -> int:
    sent = deployment_body(**body)
    # Recorded as it happens: the platform refuses a record more than a day behind it.
    platform.clock.now = dt.datetime.fromisoformat(sent["finished_at"])
    made = platform.client.post("/v1/deployments", json=sent, headers=platform.auth(who))
    platform.clock.now = NOW
    assert made.status_code == 201, made.text
    deployment_id: int = made.json()["id"]
    return deployment_id


def _stamp(at: dt.datetime) -> str:
    return at.isoformat().replace("+00:00", "Z")


def test_delivery_per_week_with_incidents_and_changes_from_their_start(
    platform: Platform,
) -> None:
    _register(platform)
    monday = dt.datetime(2025, 2, 24, tzinfo=dt.UTC)  # NOW is Saturday 2025-03-01 12:00

    def times(hours: float, lead: float) -> dict[str, str]:
        done = monday + dt.timedelta(hours=hours)
        return {
            "change_started_at": _stamp(done - dt.timedelta(hours=lead)),
            "source_time": _stamp(done - dt.timedelta(hours=lead / 2)),
            "started_at": _stamp(done),
            "finished_at": _stamp(done),
        }

    good = _deploy(platform, **times(1, 4))
    linked = _deploy(platform, **times(2, 6))
    _deploy(platform, **times(3, 2), outcome="failed")
    _deploy(platform, **times(5, 1))  # restores the failure after 2h
    _deploy(platform, service="search", **times(2, 1))
    earlier = monday - dt.timedelta(days=3)  # the week before
    _deploy(
        platform,
        started_at=_stamp(earlier),
        finished_at=_stamp(earlier),
        source_time=_stamp(earlier - dt.timedelta(hours=10)),
    )
    owner = platform.auth("owner")
    incident = {
        "service": "payments",
        "environment": "prod",
        "title": "Errors",
        "deployment_id": linked,
    }
    platform.clock.now = monday + dt.timedelta(hours=2, minutes=30)
    opened = platform.client.post("/v1/incidents", json=incident, headers=owner).json()
    platform.clock.now = monday + dt.timedelta(hours=3, minutes=30)
    platform.client.post(f"/v1/incidents/{opened['id']}/resolve", headers=owner)
    platform.clock.now = NOW

    got = platform.client.get(
        "/v1/metrics/delivery",
        params={"team": "team-checkout", "days": 10},
        headers=platform.auth("other"),
    )
    assert got.status_code == 200, got.text
    found = got.json()
    assert (found["window_start"], found["window_end"]) == (
        "2025-02-19T12:00:00Z",
        "2025-03-01T12:00:00Z",
    )
    assert found["services"] == [
        {
            "service": "payments",
            "owner": "team-checkout",
            "deployments": 5,
            "deployment_frequency": 0.4,
            # 10h (earlier, from its commit), 4h, 6h, 1h
            "lead_time_seconds": 5 * H,
            # 5 changes; the failed one and the one the incident names
            "change_failure_rate": 0.4,
            # the failure: 2h to the next good one; the incident: 1h
            "time_to_restore_seconds": 1.5 * H,
            "incidents": 1,
            "failed_deployments": 1,
            "rollbacks": 0,
        }
    ]
    assert found["total"]["service"] == "*"
    weeks = found["weeks"]
    assert [w["week_start"] for w in weeks] == ["2025-02-17T00:00:00Z", "2025-02-24T00:00:00Z"]
    assert [w["deployments"] for w in weeks] == [1, 4]
    assert [w["incidents"] for w in weeks] == [0, 1]
    assert weeks[1]["lead_time_seconds"] == 4 * H
    assert weeks[1]["change_failure_rate"] == 0.5
    assert good  # the first change is the one that did not fail
    # /v1/metrics answers as before: no incidents in its shape.
    plain = platform.client.get(
        "/v1/metrics", params={"team": "team-checkout", "days": 10}, headers=platform.auth("other")
    ).json()
    assert "incidents" not in plain["services"][0]
    assert "weeks" not in plain


def test_a_service_with_only_an_incident_is_listed(platform: Platform) -> None:
    _register(platform)
    body = {"service": "search", "environment": "prod", "title": "Down"}
    assert (
        platform.client.post("/v1/incidents", json=body, headers=platform.auth("other")).status_code
        == 201
    )
    found = platform.client.get("/v1/metrics/delivery", headers=platform.auth("owner")).json()
    assert [(m["service"], m["incidents"], m["deployments"]) for m in found["services"]] == [
        ("search", 1, 0)
    ]
    assert found["total"]["incidents"] == 1
    assert len(found["weeks"]) in (5, 6)  # 30 days cover five or six weeks


def _person(platform: Platform, user: str, team: str, *, days_ago: float) -> dict[str, str]:
    token = issue_token(
        platform.client.app.state.engine,  # type: ignore[attr-defined]
        user=user,
        teams=[team],
        admin=False,
        lifetime=dt.timedelta(days=400),
        now=NOW - dt.timedelta(days=days_ago),
        actor="test",
    ).token
    return {"Authorization": f"Bearer {token}"}


def test_onboarding_time_from_first_token_to_first_clean_protected_deploy(
    platform: Platform,
) -> None:
    _register(platform)
    people = {}
    for n, hours in enumerate((10, 20, 30, 40, 50)):
        user = f"new{n}"
        people[user] = auth = _person(platform, user, "team-checkout", days_ago=10)
        began = NOW - dt.timedelta(days=10)
        # Recorded when it happened (the platform's clock is when the onboarding ends).
        platform.clock.now = began + dt.timedelta(hours=hours)
        done = _stamp(platform.clock.now)
        # A staging deployment and a break-glass one do not end onboarding; this does.
        for extra in (
            {"environment": "staging"},
            {"break_glass": "incident 7"},
            {},
        ):
            body = deployment_body(started_at=done, finished_at=done, source_time=None, **extra)
            assert (
                platform.client.post("/v1/deployments", json=body, headers=auth).status_code == 201
            )
    platform.clock.now = NOW
    # One more person, in another team, who has not finished: they only count as started.
    _person(platform, "late", "team-search", days_ago=2)
    # An onboarding event earlier than the token moves the start.
    platform.clock.now = NOW - dt.timedelta(days=10, hours=10)
    event = {"step": "doctor", "status": "started"}
    platform.client.post("/v1/onboarding/events", json=event, headers=people["new0"])
    platform.clock.now = NOW - dt.timedelta(days=10, hours=9)
    event = {"step": "doctor", "status": "finished"}
    platform.client.post("/v1/onboarding/events", json=event, headers=people["new0"])
    platform.clock.now = NOW

    got = platform.client.get("/v1/metrics/onboarding", headers=platform.auth("other"))
    assert got.status_code == 200, got.text
    found = got.json()
    assert found["window_start"] == "2024-03-01T00:00:00Z"  # 365 days, to the month's start
    cohorts = {c["cohort"]: c for c in found["cohorts"]}
    # new0 took 20h (from the event), new1..new4 20h..50h; the test tokens made at NOW
    # (alice, bob, root, carol) and "late" started too and have not finished. Five
    # finished: a median; fewer than ten: no p90.
    assert cohorts["2025-02"] == {
        "cohort": "2025-02",
        "started": 6,
        "finished": 5,
        "median_seconds": 30 * H,
        "p90_seconds": None,
        "suppressed": True,
    }
    teams = {t["team"]: t for t in found["teams"]}
    assert (teams["team-checkout"]["finished"], teams["team-checkout"]["median_seconds"]) == (
        5,
        30 * H,
    )
    assert (teams["team-search"]["finished"], teams["team-search"]["median_seconds"]) == (0, None)
    steps = {s["step"]: s for s in found["steps"]}
    assert (steps["doctor"]["runs"], steps["doctor"]["finished"]) == (1, 1)
    assert steps["doctor"]["median_seconds"] is None  # one run: suppressed
    assert "new0" not in got.text
    only = platform.client.get(
        "/v1/metrics/onboarding", params={"team": "team-search"}, headers=platform.auth("owner")
    ).json()
    assert [t["team"] for t in only["teams"]] == ["team-search"]
    assert only["team"] == "team-search"


def test_adoption_of_the_road_and_the_gate(platform: Platform) -> None:
    _register(platform)
    admin = platform.auth("admin")
    old = service_body(
        "legacy", layers=[{"layer": "road", "scaffold": "paved-road", "version": "1.0.0"}]
    )
    assert platform.client.post("/v1/services", json=old, headers=admin).status_code == 201
    gate = "/v1/services/{}/gate"
    failing = {"passed": False, "rule_ids": ["SEC-IMG-001"], "findings": 2}
    platform.client.post(gate.format("payments"), json=failing, headers=admin)
    platform.client.post(gate.format("payments"), json={"passed": True}, headers=admin)
    platform.client.post(gate.format("legacy"), json=failing, headers=admin)
    _deploy(platform)
    got = platform.client.get("/v1/metrics/adoption", headers=platform.auth("other"))
    assert got.status_code == 200, got.text
    found = got.json()
    assert found["layer"] == "road"
    assert found["newest"] == {"paved-road": "1.1.0"}
    assert [(v["version"], v["services"]) for v in found["versions"]] == [
        ("1.0.0", 1),
        ("1.1.0", 2),
    ]
    assert found["on_newest"] == {"services": 2, "share": round(2 / 3, 4)}
    assert found["gate"] == {
        "reported": 2,
        "passed": 1,
        "share_passing": 0.5,
        "failing_rules": [{"rule_id": "SEC-IMG-001", "services": 1}],
    }
    teams = {t["team"]: t for t in found["teams"]}
    assert teams["team-checkout"] == {
        "team": "team-checkout",
        "services": 2,
        "deployed_in_window": True,
    }
    assert teams["team-search"]["deployed_in_window"] is False
    assert found["teams_deployed"] == 1
    # An archived service leaves the gate figures.
    platform.client.post("/v1/services/legacy/archive", headers=admin)
    found = platform.client.get("/v1/metrics/adoption", headers=admin).json()
    assert (found["gate"]["reported"], found["gate"]["failing_rules"]) == (1, [])


def test_the_metrics_need_a_token_and_bounded_queries(platform: Platform) -> None:
    for path in ("/v1/metrics/delivery", "/v1/metrics/onboarding", "/v1/metrics/adoption"):
        assert platform.client.get(path).status_code == 401
        assert (
            platform.client.get(f"{path}?days=0", headers=platform.auth("owner")).status_code == 422
        )
        assert (
            platform.client.get(f"{path}?days=367", headers=platform.auth("owner")).status_code
            == 422
        )
    bad = platform.client.get("/v1/metrics/adoption?layer=Road", headers=platform.auth("owner"))
    assert bad.status_code == 422
