"""Incidents through the API, on both backends: the team rules, the platform's clock, dry
runs, the link to the deployment that caused one, and an audit row for every attempt."""

from __future__ import annotations

import datetime as dt
from typing import Any

from tests.server.conftest import NOW, Platform, deployment_body, service_body

STAMP = "2025-03-01T12:00:00Z"


def _events(platform: Platform) -> list[tuple[str, str, str, str]]:
    events = platform.client.get("/v1/audit", headers=platform.auth("admin")).json()["events"]
    return [
        (e["actor"], e["action"], e["target"], e["outcome"])
        for e in events
        if e["address"] != "local" and e["action"] not in ("service.register", "deployment.record")
    ]


def _setup(platform: Platform) -> int:
    """payments (team-checkout) and search (team-search) registered; one prod deployment
    of payments; its id."""
    admin = platform.auth("admin")
    for body in (service_body(), service_body("search", "team-search")):
        assert platform.client.post("/v1/services", json=body, headers=admin).status_code == 201
    made = platform.client.post(
        "/v1/deployments", json=deployment_body(), headers=platform.auth("owner")
    )
    assert made.status_code == 201, made.text
    deployment_id: int = made.json()["id"]
    return deployment_id


def _open(platform: Platform, who: str = "owner", **body: Any) -> Any:
    payload = {"service": "payments", "environment": "prod", "title": "Checkout errors", **body}
    return platform.client.post("/v1/incidents", json=payload, headers=platform.auth(who))


def test_a_team_opens_and_resolves_an_incident_at_the_platform_s_clock(
    platform: Platform,
) -> None:
    deployment_id = _setup(platform)
    opened = _open(platform, deployment_id=deployment_id, severity="sev1")
    assert opened.status_code == 201, opened.text
    incident = opened.json()
    assert incident == {
        "id": incident["id"],
        "service": "payments",
        "environment": "prod",
        "title": "Checkout errors",
        "severity": "sev1",
        "deployment_id": deployment_id,
        "opened_at": STAMP,
        "opened_by": "alice",
        "resolved_at": None,
        "resolved_by": None,
    }
    platform.clock.now = NOW + dt.timedelta(minutes=42)
    resolved = platform.client.post(
        f"/v1/incidents/{incident['id']}/resolve", headers=platform.auth("admin")
    )
    assert resolved.status_code == 200, resolved.text
    assert resolved.json() == {
        **incident,
        "resolved_at": "2025-03-01T12:42:00Z",
        "resolved_by": "root",
    }
    again = platform.client.post(
        f"/v1/incidents/{incident['id']}/resolve", headers=platform.auth("owner")
    )
    assert again.status_code == 409
    assert "resolved already" in again.json()["message"]
    target = f"incident {incident['id']}"
    assert _events(platform) == [
        ("alice", "incident.open", "incident of payments/prod", "opened"),
        ("root", "incident.resolve", target, "resolved"),
        ("alice", "incident.resolve", target, "conflict"),
    ]


def test_the_default_severity_is_sev2_and_no_deployment_is_needed(platform: Platform) -> None:
    _setup(platform)
    opened = _open(platform)
    assert opened.status_code == 201
    assert (opened.json()["severity"], opened.json()["deployment_id"]) == ("sev2", None)


def test_only_the_owning_team_or_an_admin_opens_one(platform: Platform) -> None:
    _setup(platform)
    assert _open(platform, "other").status_code == 403
    assert _open(platform, "nobody").status_code == 401
    assert _open(platform, "revoked").status_code == 401
    assert _open(platform, service="ghost").status_code == 404
    assert _open(platform, "admin").status_code == 201
    listed = platform.client.get("/v1/incidents", headers=platform.auth("other")).json()
    assert [i["opened_by"] for i in listed["incidents"]] == ["root"]
    assert _events(platform) == [
        ("bob", "incident.open", "incident of payments/prod", "forbidden"),
        ("anonymous", "incident.open", "incident of payments/prod", "unauthenticated"),
        ("anonymous", "incident.open", "incident of payments/prod", "unauthenticated"),
        ("alice", "incident.open", "incident of ghost/prod", "not-found"),
        ("root", "incident.open", "incident of payments/prod", "opened"),
    ]


def test_another_team_cannot_resolve_an_incident(platform: Platform) -> None:
    _setup(platform)
    incident_id = _open(platform).json()["id"]
    refused = platform.client.post(
        f"/v1/incidents/{incident_id}/resolve", headers=platform.auth("other")
    )
    assert refused.status_code == 403
    unknown = platform.client.post("/v1/incidents/999/resolve", headers=platform.auth("owner"))
    assert unknown.status_code == 404
    listed = platform.client.get("/v1/incidents?open=true", headers=platform.auth("owner"))
    assert [i["id"] for i in listed.json()["incidents"]] == [incident_id]
    assert _events(platform)[1:] == [
        ("bob", "incident.resolve", f"incident {incident_id}", "forbidden"),
        ("alice", "incident.resolve", "incident 999", "not-found"),
    ]


def test_the_deployment_named_must_be_of_that_service_and_environment(
    platform: Platform,
) -> None:
    deployment_id = _setup(platform)
    staging = platform.client.post(
        "/v1/deployments",
        json=deployment_body(environment="staging"),
        headers=platform.auth("owner"),
    ).json()["id"]
    other_env = _open(platform, deployment_id=staging)
    assert other_env.status_code == 422
    assert "payments to staging, not of payments to prod" in other_env.json()["message"]
    missing = _open(platform, deployment_id=deployment_id + 100)
    assert missing.status_code == 422
    assert platform.client.get("/v1/incidents", headers=platform.auth("owner")).json() == {
        "incidents": []
    }
    assert [e[3] for e in _events(platform)] == ["invalid", "invalid"]


def test_bad_bodies_are_422_audited_and_store_nothing(platform: Platform) -> None:
    _setup(platform)
    for bad in (
        {"title": ""},
        {"title": "x" * 201},
        {"title": "line\nbreak"},
        {"severity": "sev5"},
        {"environment": "Prod"},
        {"deployment_id": 0},
        {"opened_by": "mallory"},
        {"opened_at": STAMP},
    ):
        assert _open(platform, **bad).status_code == 422, bad
    assert platform.client.get("/v1/incidents", headers=platform.auth("owner")).json() == {
        "incidents": []
    }
    assert _events(platform) == [("alice", "incident.open", "incidents", "invalid")] * 8


def test_a_dry_run_writes_nothing_and_refuses_what_a_real_one_refuses(
    platform: Platform,
) -> None:
    _setup(platform)
    auth = platform.auth("owner")
    payload = {"service": "payments", "environment": "prod", "title": "Slow"}
    tried = platform.client.post("/v1/incidents?dry_run=true", json=payload, headers=auth)
    assert tried.status_code == 200
    assert (tried.json()["id"], tried.json()["opened_at"]) == (None, STAMP)
    refused = platform.client.post(
        "/v1/incidents?dry_run=true", json=payload, headers=platform.auth("other")
    )
    assert refused.status_code == 403
    assert platform.client.get("/v1/incidents", headers=auth).json() == {"incidents": []}
    incident_id = platform.client.post("/v1/incidents", json=payload, headers=auth).json()["id"]
    resolve = f"/v1/incidents/{incident_id}/resolve"
    would = platform.client.post(f"{resolve}?dry_run=true", headers=auth)
    assert would.status_code == 200
    assert would.json()["resolved_by"] == "alice"
    listed = platform.client.get("/v1/incidents?open=true", headers=auth).json()["incidents"]
    assert [i["id"] for i in listed] == [incident_id]
    # Dry runs that succeed are not audited; refused ones are.
    assert [e[3] for e in _events(platform)] == ["forbidden", "opened"]


def test_incidents_are_listed_newest_first_by_service_team_and_state(
    platform: Platform,
) -> None:
    _setup(platform)
    first = _open(platform, title="One").json()["id"]
    second = _open(platform, "other", service="search", title="Two").json()["id"]
    third = _open(platform, title="Three").json()["id"]
    platform.client.post(f"/v1/incidents/{first}/resolve", headers=platform.auth("owner"))

    def ids(query: str) -> list[int]:
        found = platform.client.get(f"/v1/incidents{query}", headers=platform.auth("other"))
        assert found.status_code == 200, found.text
        return [i["id"] for i in found.json()["incidents"]]

    assert ids("") == [third, second, first]
    assert ids("?service=payments") == [third, first]
    assert ids("?team=team-search") == [second]
    assert ids("?team=team-checkout&open=true") == [third]
    assert ids("?open=false") == [first]
    assert ids("?limit=1") == [third]
    assert platform.client.get("/v1/incidents").status_code == 401
    assert (
        platform.client.get("/v1/incidents?team=Bad", headers=platform.auth("owner")).status_code
        == 422
    )


def test_an_archived_service_or_an_unknown_environment_takes_no_incident(
    platform: Platform,
) -> None:
    admin, owner = platform.auth("admin"), platform.auth("owner")
    for name in ("payments", "legacy"):
        body = service_body(name)
        assert platform.client.post("/v1/services", json=body, headers=admin).status_code == 201
    platform.client.post("/v1/services/legacy/archive", headers=admin)
    incident = {"service": "legacy", "environment": "prod", "title": "Down"}
    got = platform.client.post("/v1/incidents", json=incident, headers=owner)
    assert got.status_code == 409, got.text
    assert "archived" in got.json()["message"]
    made_up = {"service": "payments", "environment": "moon-base", "title": "Down"}
    got = platform.client.post("/v1/incidents", json=made_up, headers=owner)
    assert got.status_code == 422, got.text
    # An environment the service deploys to is known, also outside the settings.
    deploy = deployment_body(environment="moon-base")
    assert platform.client.post("/v1/deployments", json=deploy, headers=owner).status_code == 201
    assert platform.client.post("/v1/incidents", json=made_up, headers=owner).status_code == 201
    for environment in ("dev", "staging"):
        known = {**made_up, "environment": environment}
        assert platform.client.post("/v1/incidents", json=known, headers=owner).status_code == 201
