"""Onboarding events through the API, on both backends: the user is the token's, the time
the platform's, and every attempt is audited."""

from __future__ import annotations

import datetime as dt

from tests.server.conftest import NOW, Platform


def _events(platform: Platform) -> list[tuple[str, str, str, str]]:
    events = platform.client.get("/v1/audit", headers=platform.auth("admin")).json()["events"]
    return [
        (e["actor"], e["action"], e["target"], e["outcome"])
        for e in events
        if e["address"] != "local"
    ]


def test_a_step_is_recorded_for_the_token_s_user_at_the_platform_s_clock(
    platform: Platform,
) -> None:
    post = platform.client.post
    started = post(
        "/v1/onboarding/events",
        json={"step": "doctor", "status": "started"},
        headers=platform.auth("other"),
    )
    assert started.status_code == 201, started.text
    assert started.json() == {
        "id": started.json()["id"],
        "user": "bob",
        "step": "doctor",
        "status": "started",
        "at": "2025-03-01T12:00:00Z",
        "detail": "",
    }
    platform.clock.now = NOW + dt.timedelta(minutes=3)
    finished = post(
        "/v1/onboarding/events",
        json={"step": "doctor", "status": "finished", "detail": "2 fixes applied"},
        headers=platform.auth("other"),
    )
    assert finished.status_code == 201
    assert (finished.json()["at"], finished.json()["detail"]) == (
        "2025-03-01T12:03:00Z",
        "2 fixes applied",
    )
    assert finished.json()["id"] > started.json()["id"]
    assert _events(platform) == [
        ("bob", "onboarding.event", "onboarding doctor", "started"),
        ("bob", "onboarding.event", "onboarding doctor", "finished"),
    ]


def test_the_user_and_the_time_are_never_the_body_s(platform: Platform) -> None:
    auth = platform.auth("owner")
    for bad in (
        {"step": "doctor", "status": "started", "user": "mallory"},
        {"step": "doctor", "status": "started", "at": "2020-01-01T00:00:00Z"},
        {"step": "lunch", "status": "started"},
        {"step": "doctor", "status": "done"},
        {"step": "doctor", "status": "failed", "detail": "x" * 501},
        {"step": "doctor", "status": "failed", "detail": "bell\x07"},
    ):
        refused = platform.client.post("/v1/onboarding/events", json=bad, headers=auth)
        assert refused.status_code == 422, bad
    anonymous = platform.client.post(
        "/v1/onboarding/events", json={"step": "service", "status": "skipped"}
    )
    assert anonymous.status_code == 401
    assert _events(platform) == [
        *[("alice", "onboarding.event", "onboarding", "invalid")] * 6,
        ("anonymous", "onboarding.event", "onboarding service", "unauthenticated"),
    ]


def test_a_user_may_send_at_most_100_events_a_day(platform: Platform) -> None:
    """One token filling the step figures with runs is stopped: 429 with Retry-After."""
    post, auth = platform.client.post, platform.auth("owner")
    step = {"step": "doctor", "status": "started"}
    for n in range(100):
        platform.clock.now = NOW + dt.timedelta(minutes=n)
        assert post("/v1/onboarding/events", json=step, headers=auth).status_code == 201
    platform.clock.now = NOW + dt.timedelta(hours=2)
    over = post("/v1/onboarding/events", json=step, headers=auth)
    assert over.status_code == 429, over.text
    assert over.json()["error"] == "too_many_requests"
    assert "100 onboarding events in the last 24 hours" in over.json()["message"]
    # The oldest of the hundred leaves the day at NOW + 24h: 22 hours from now.
    assert over.headers["Retry-After"] == str(22 * 3600)
    # Another user is not held back; and the first may send again once the day has passed.
    assert post("/v1/onboarding/events", json=step, headers=platform.auth("other")).status_code == (
        201
    )
    platform.clock.now = NOW + dt.timedelta(hours=24, seconds=1)
    assert post("/v1/onboarding/events", json=step, headers=auth).status_code == 201
