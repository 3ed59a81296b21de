"""What one member could do to the onboarding figures with their own token, on both
backends: end a teammate's onboarding by finishing their deployment, backdate a record,
or slide the window a day at a time to isolate one person. Each is refused or has no
effect."""

from __future__ import annotations

import datetime as dt

from paved.server import issue_token
from paved.server._store import Store
from tests.server.conftest import NOW, Platform, deployment_body, service_body


def _stamp(at: dt.datetime) -> str:
    return at.isoformat().replace("+00:00", "Z")


def _member(platform: Platform, user: str, at: dt.datetime) -> dict[str, str]:
    token = issue_token(
        platform.client.app.state.engine,  # type: ignore[attr-defined]
        user=user,
        teams=["team-checkout"],
        admin=False,
        lifetime=dt.timedelta(days=400),
        now=at,
        actor="test",
    ).token
    return {"Authorization": f"Bearer {token}"}


def _ends(platform: Platform) -> dict[str, dt.datetime | None]:
    """Each person's onboarding end, by the store's records (start: a year before NOW)."""
    store = Store(platform.client.app.state.engine)  # type: ignore[attr-defined]
    people, _ = store.onboarding_records(
        protected=("prod",), start=NOW - dt.timedelta(days=365), end=NOW, team="team-checkout"
    )
    return {p.start.isoformat(): p.end for p in people}


def _register(platform: Platform) -> None:
    made = platform.client.post("/v1/services", json=service_body(), headers=platform.auth("admin"))
    assert made.status_code == 201, made.text


def test_a_teammate_finishing_a_started_deployment_ends_no_onboarding(platform: Platform) -> None:
    _register(platform)
    began = NOW - dt.timedelta(hours=30)
    bob = _member(platform, "bob-new", began)
    mallory = _member(platform, "mallory", NOW - dt.timedelta(days=200))
    platform.clock.now = NOW - dt.timedelta(hours=2)
    body = deployment_body(
        started_at=_stamp(platform.clock.now), source_time=None, outcome="started"
    )
    del body["finished_at"]
    opened = platform.client.post("/v1/deployments", json=body, headers=bob)
    assert opened.status_code == 201, opened.text
    platform.clock.now = NOW
    done = {"outcome": "succeeded", "finished_at": _stamp(NOW)}
    closed = platform.client.post(
        f"/v1/deployments/{opened.json()['id']}/finish", json=done, headers=mallory
    )
    assert closed.status_code == 200, closed.text
    assert (closed.json()["actor"], closed.json()["finished_by"]) == ("bob-new", "mallory")
    assert closed.json()["recorded_at"] == _stamp(NOW)
    assert _ends(platform)[began.isoformat()] is None  # bob has not finished onboarding

    # Bob finishing his own started deployment does end it, at the platform's clock.
    platform.clock.now = NOW - dt.timedelta(minutes=30)
    body["started_at"] = _stamp(platform.clock.now)
    again = platform.client.post("/v1/deployments", json=body, headers=bob).json()
    platform.clock.now = NOW - dt.timedelta(minutes=10)
    done = {"outcome": "succeeded", "finished_at": _stamp(NOW - dt.timedelta(minutes=20))}
    mine = platform.client.post(f"/v1/deployments/{again['id']}/finish", json=done, headers=bob)
    assert mine.json()["finished_by"] == "bob-new"
    assert _ends(platform)[began.isoformat()] == NOW - dt.timedelta(minutes=10)


def test_a_backdated_record_is_refused_and_onboarding_ends_at_the_platform_s_clock(
    platform: Platform,
) -> None:
    _register(platform)
    began = NOW - dt.timedelta(hours=30)
    new = _member(platform, "newcomer", began)
    forged = deployment_body(
        started_at=_stamp(began), finished_at=_stamp(began + dt.timedelta(seconds=1))
    )
    refused = platform.client.post("/v1/deployments", json=forged, headers=new)
    assert refused.status_code == 422, refused.text
    assert "more than 24 hours before the platform's clock" in refused.text
    late_start = deployment_body(
        started_at=_stamp(NOW - dt.timedelta(hours=25)), finished_at=_stamp(NOW)
    )
    assert platform.client.post("/v1/deployments", json=late_start, headers=new).status_code == 422
    # Within the day it is accepted, but the onboarding ends when the record arrived.
    within = deployment_body(
        started_at=_stamp(NOW - dt.timedelta(hours=23)),
        finished_at=_stamp(NOW - dt.timedelta(hours=23)),
        source_time=None,
    )
    kept = platform.client.post("/v1/deployments", json=within, headers=new)
    assert kept.status_code == 201, kept.text
    assert (kept.json()["finished_by"], kept.json()["recorded_at"]) == ("newcomer", _stamp(NOW))
    assert _ends(platform)[began.isoformat()] == NOW

    # Finishing a started record with a backdated finished_at is refused too.
    platform.clock.now = NOW - dt.timedelta(hours=26)
    started = deployment_body(
        started_at=_stamp(platform.clock.now), source_time=None, outcome="started"
    )
    del started["finished_at"]
    opened = platform.client.post("/v1/deployments", json=started, headers=new)
    assert opened.status_code == 201, opened.text
    opened_id = opened.json()["id"]
    platform.clock.now = NOW
    old = {"outcome": "succeeded", "finished_at": _stamp(NOW - dt.timedelta(hours=25))}
    got = platform.client.post(f"/v1/deployments/{opened_id}/finish", json=old, headers=new)
    assert got.status_code == 422, got.text
    assert "more than 24 hours before" in got.text


def test_a_change_may_not_begin_more_than_90_days_before_its_deployment(
    platform: Platform,
) -> None:
    _register(platform)
    owner = platform.auth("owner")
    for began, code in (
        ("0001-01-01T00:00:00Z", 422),
        (_stamp(NOW - dt.timedelta(days=91)), 422),
        (_stamp(NOW - dt.timedelta(days=89)), 201),
    ):
        body = deployment_body(
            started_at=_stamp(NOW), finished_at=_stamp(NOW), source_time=None
        ) | {"change_started_at": began}
        got = platform.client.post("/v1/deployments", json=body, headers=owner)
        assert got.status_code == code, (began, got.text)
    # An old commit deployed today: the bound is from the commit's time, as paved deploy
    # clamps it.
    commit = NOW - dt.timedelta(days=120)
    old_commit = deployment_body(
        started_at=_stamp(NOW), finished_at=_stamp(NOW), source_time=_stamp(commit)
    )
    for start, code in (
        (commit - dt.timedelta(days=89), 201),
        (commit - dt.timedelta(days=91), 422),
    ):
        body = old_commit | {"change_started_at": _stamp(start)}
        got = platform.client.post("/v1/deployments", json=body, headers=owner)
        assert got.status_code == code, (start, got.text)
    assert (
        "more than 90 days before started_at"
        in platform.client.post(
            "/v1/deployments",
            json=deployment_body(source_time=None) | {"change_started_at": "1970-01-01T00:00:00Z"},
            headers=owner,
        ).text
    )


def test_the_onboarding_window_is_whole_months(platform: Platform) -> None:
    """Moving ``days`` a day at a time moves the window only a month at a time."""
    starts = set()
    for days in range(29, 35):  # NOW - 29 days is 2025-01-31; NOW - 34 days 2025-01-26
        got = platform.client.get(
            "/v1/metrics/onboarding", params={"days": days}, headers=platform.auth("owner")
        )
        assert got.status_code == 200, got.text
        starts.add(got.json()["window_start"])
    assert starts == {"2025-01-01T00:00:00Z"}
