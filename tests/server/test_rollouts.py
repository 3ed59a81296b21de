"""Roll-outs on the platform, the layer history, and the organisation's time to patch."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from tests.server.conftest import NOW, Platform, service_body

ROLLOUT = "road-1-2-0-20250301-1200"
RELEASE = {"layer": "road", "scaffold": "paved-road", "version": "1.2.0", "mode": "branch"}
STATUSES = ("pending", "up-to-date", "declined", "ready", "pr-open", "conflicted", "refused",
            "failed", "merged")  # fmt: skip
RESULTS_ZERO = dict.fromkeys(STATUSES, 0)


def _events(platform: Platform, prefix: str = "rollout.") -> list[tuple[str, str, str, str, str]]:
    events = platform.client.get("/v1/audit", headers=platform.auth("admin")).json()["events"]
    return [
        (e["actor"], e["action"], e["target"], e["outcome"], e["detail"])
        for e in events
        if e["action"].startswith(prefix)
    ]


def _start(platform: Platform, who: str = "owner", rollout: str = ROLLOUT, **change: str) -> Any:
    return platform.client.put(
        f"/v1/rollouts/{rollout}", json={**RELEASE, **change}, headers=platform.auth(who)
    )


def _record(
    platform: Platform, service: str, who: str = "owner", rollout: str = ROLLOUT, **body: Any
) -> Any:
    return platform.client.put(
        f"/v1/rollouts/{rollout}/services/{service}",
        json={"status": "ready", **body},
        headers=platform.auth(who),
    )


def _register(platform: Platform, name: str, owner: str = "team-checkout", **extra: Any) -> None:
    got = platform.client.post(
        "/v1/services", json=service_body(name, owner, **extra), headers=platform.auth("admin")
    )
    assert got.status_code == 201, got.text


# -- starting a roll-out -------------------------------------------------------------------


def test_a_rollout_is_started_idempotently_by_its_id(platform: Platform) -> None:
    first = _start(platform)
    assert first.status_code == 201, first.text
    assert first.json() == {
        "id": ROLLOUT,
        **RELEASE,
        "started_by": "alice",
        "started_at": "2025-03-01T12:00:00Z",
        "finished_at": None,
        "counts": RESULTS_ZERO,
        "services": [],
    }
    platform.clock.now += dt.timedelta(minutes=5)
    again = _start(platform)  # a retry, later: the stored one, its time kept
    assert again.status_code == 200, again.text
    assert again.json() == first.json()
    by_another = _start(platform, "other")
    assert by_another.status_code == 200
    assert by_another.json()["started_by"] == "alice"
    other = _start(platform, version="1.3.0")
    assert other.status_code == 409, other.text
    assert other.json() == {
        "error": "conflict",
        "message": (
            f"rollout {ROLLOUT} exists already (road layer, paved-road 1.2.0, branch, started "
            "by alice): choose another id for another roll-out"
        ),
    }
    direct = _start(platform, "admin", mode="direct")
    assert direct.status_code == 409
    assert platform.client.get(
        f"/v1/rollouts/{ROLLOUT}", headers=platform.auth("other")
    ).json() == (first.json())
    target = f"rollout {ROLLOUT}"
    detail = "road paved-road 1.2.0 branch"
    assert _events(platform) == [
        ("alice", "rollout.start", target, "created", detail),
        ("alice", "rollout.start", target, "unchanged", detail),
        ("bob", "rollout.start", target, "unchanged", detail),
        ("alice", "rollout.start", target, "conflict", other.json()["message"]),
        ("root", "rollout.start", target, "conflict", direct.json()["message"]),
    ]


def test_concurrent_starts_of_one_rollout_make_one(platform: Platform) -> None:
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=8) as pool:
        statuses = sorted(pool.map(lambda _: _start(platform).status_code, range(16)))
    assert statuses == [200] * 15 + [201]
    listed = platform.client.get("/v1/rollouts", headers=platform.auth("owner")).json()
    assert [r["id"] for r in listed["rollouts"]] == [ROLLOUT]


@pytest.mark.parametrize(
    ("rollout", "body", "message"),
    [
        ("road-1-2-0", RELEASE, None),  # too short
        ("Road-1-2-0-20250301-1200", RELEASE, None),  # upper case
        ("r" * 65, RELEASE, None),
        (ROLLOUT, {**RELEASE, "version": "latest"}, "version 'latest' of layer 'road'"),
        (ROLLOUT, {**RELEASE, "layer": "Road"}, None),
        (ROLLOUT, {**RELEASE, "mode": "force"}, None),
        (ROLLOUT, {**RELEASE, "started_by": "mallory"}, None),
        (ROLLOUT, {"layer": "road"}, None),
    ],
)
def test_bad_starts_are_422_audited_and_store_nothing(
    platform: Platform, rollout: str, body: dict[str, str], message: str | None
) -> None:
    got = platform.client.put(f"/v1/rollouts/{rollout}", json=body, headers=platform.auth("owner"))
    assert got.status_code == 422, got.text
    assert got.json()["error"] == "invalid"
    if message is not None:
        assert got.json()["message"].startswith(message)
    assert platform.client.get("/v1/rollouts", headers=platform.auth("owner")).json() == {
        "rollouts": [],
        "next_cursor": None,
    }
    assert [(a, action, t, o) for a, action, t, o, _ in _events(platform)] == [
        ("alice", "rollout.start", f"rollout {rollout}", "invalid")
    ]


def test_starting_needs_a_valid_token(platform: Platform) -> None:
    for who in ("none", "expired", "revoked"):
        assert _start(platform, who).status_code == 401
    assert [outcome for *_, outcome, _ in _events(platform)] == ["unauthenticated"] * 3


# -- each service's result -------------------------------------------------------------------


def test_results_are_recorded_by_each_service_s_team_and_replace_earlier_ones(
    platform: Platform,
) -> None:
    _register(platform, "payments")
    _register(platform, "search", "team-search")
    assert _start(platform).status_code == 201
    assert _record(platform, "payments", status="pending").status_code == 200
    platform.clock.now += dt.timedelta(minutes=3)
    ready = _record(platform, "payments", detail="branch pushed", branch="paved/update-road-1.2.0")
    assert ready.status_code == 200, ready.text
    assert ready.json() == {
        "rollout": ROLLOUT,
        "service": "payments",
        "status": "ready",
        "detail": "branch pushed",
        "branch": "paved/update-road-1.2.0",
        "updated_at": "2025-03-01T12:03:00Z",
    }
    # alice is not in team-search: she started the roll-out, but search's result is its team's.
    refused = _record(platform, "search", status="conflicted")
    assert refused.status_code == 403
    assert refused.json()["message"] == (
        f"rollout {ROLLOUT}/search belongs to team team-search, not to one of yours"
    )
    conflicted = _record(platform, "search", "other", status="conflicted", detail="README.md")
    assert conflicted.status_code == 200, conflicted.text
    platform.clock.now += dt.timedelta(minutes=1)
    merged = _record(platform, "payments", "admin", status="merged")
    assert merged.json()["branch"] is None  # replaced whole, not merged with the earlier one
    shown = platform.client.get(f"/v1/rollouts/{ROLLOUT}", headers=platform.auth("other")).json()
    assert shown["services"] == [
        {
            "rollout": ROLLOUT,
            "service": "payments",
            "status": "merged",
            "detail": "",
            "branch": None,
            "updated_at": "2025-03-01T12:04:00Z",
        },
        {
            "rollout": ROLLOUT,
            "service": "search",
            "status": "conflicted",
            "detail": "README.md",
            "branch": None,
            "updated_at": "2025-03-01T12:03:00Z",
        },
    ]
    assert shown["counts"] == {**RESULTS_ZERO, "merged": 1, "conflicted": 1}
    listed = platform.client.get("/v1/rollouts", headers=platform.auth("other")).json()
    assert listed["rollouts"] == [{k: v for k, v in shown.items() if k != "services"}]
    target = f"rollout {ROLLOUT}"
    assert _events(platform)[1:] == [
        ("alice", "rollout.service", f"{target}/payments", "recorded", "pending"),
        ("alice", "rollout.service", f"{target}/payments", "recorded", "ready"),
        ("alice", "rollout.service", f"{target}/search", "forbidden", "owner team-search"),
        ("bob", "rollout.service", f"{target}/search", "recorded", "conflicted"),
        ("root", "rollout.service", f"{target}/payments", "recorded", "merged"),
    ]


def test_every_status_is_taken_and_counted(platform: Platform) -> None:
    _register(platform, "payments")
    _start(platform)
    for status in STATUSES:
        got = _record(platform, "payments", status=status)
        assert got.status_code == 200, got.text
        shown = platform.client.get(f"/v1/rollouts/{ROLLOUT}", headers=platform.auth("owner"))
        assert shown.json()["counts"] == {**RESULTS_ZERO, status: 1}


def test_results_of_unknown_rollouts_or_services_are_404_archived_ones_409(
    platform: Platform,
) -> None:
    _register(platform, "payments")
    _register(platform, "billing")
    missing_rollout = _record(platform, "payments")
    assert missing_rollout.status_code == 404
    assert missing_rollout.json()["message"] == f"rollout {ROLLOUT} is not in the catalog"
    _start(platform)
    missing_service = _record(platform, "ghost")
    assert missing_service.status_code == 404
    assert missing_service.json()["message"] == "service 'ghost' is not in the catalog"
    assert platform.client.post(
        "/v1/services/billing/archive", headers=platform.auth("owner")
    ).is_success
    archived = _record(platform, "billing")
    assert archived.status_code == 409
    assert archived.json()["message"] == (
        "service 'billing' is archived: it takes no part in roll-outs"
    )
    assert _record(platform, "ghost", "none").status_code == 401
    shown = platform.client.get(f"/v1/rollouts/{ROLLOUT}", headers=platform.auth("owner")).json()
    assert shown["services"] == []
    assert [(t, o) for _, action, t, o, _ in _events(platform) if action == "rollout.service"] == [
        (f"rollout {ROLLOUT}/payments", "not-found"),
        (f"rollout {ROLLOUT}/ghost", "not-found"),
        (f"rollout {ROLLOUT}/billing", "conflict"),
        (f"rollout {ROLLOUT}/ghost", "unauthenticated"),
    ]


@pytest.mark.parametrize(
    "body",
    [
        {"status": "done"},
        {"status": "ready", "detail": "two\nlines"},
        {"status": "ready", "detail": "d" * 501},
        {"status": "ready", "branch": "has space"},
        {"status": "ready", "branch": "-option"},
        {"status": "ready", "updated_at": "2025-03-01T12:00:00Z"},
        {},
    ],
)
def test_bad_results_are_422_audited_and_change_nothing(
    platform: Platform, body: dict[str, str]
) -> None:
    _register(platform, "payments")
    _start(platform)
    got = platform.client.put(
        f"/v1/rollouts/{ROLLOUT}/services/payments", json=body, headers=platform.auth("owner")
    )
    assert got.status_code == 422, got.text
    shown = platform.client.get(f"/v1/rollouts/{ROLLOUT}", headers=platform.auth("owner")).json()
    assert shown["services"] == []
    assert _events(platform)[-1][1:4] == (
        "rollout.service",
        f"rollout {ROLLOUT}/payments",
        "invalid",
    )


def test_a_result_and_its_audit_row_are_written_together(
    platform: Platform, monkeypatch: pytest.MonkeyPatch
) -> None:
    _register(platform, "payments")
    _start(platform)
    store = platform.client.app.state.store  # type: ignore[attr-defined]

    def trail_down(_event: object) -> None:
        raise RuntimeError("the audit trail cannot be written")

    monkeypatch.setattr(store, "_audited", trail_down)
    with pytest.raises(RuntimeError, match="audit trail"):
        _record(platform, "payments")
    with pytest.raises(RuntimeError, match="audit trail"):
        _start(platform, rollout="road-1-3-0-20250301-1300", version="1.3.0")
    monkeypatch.setattr(store, "_audited", None)
    shown = platform.client.get(f"/v1/rollouts/{ROLLOUT}", headers=platform.auth("owner")).json()
    assert shown["services"] == []
    listed = platform.client.get("/v1/rollouts", headers=platform.auth("owner")).json()
    assert [r["id"] for r in listed["rollouts"]] == [ROLLOUT]


def test_refusals_before_any_handler_are_audited_as_rollout_actions(platform: Platform) -> None:
    from collections.abc import Iterator

    auth = {**platform.auth("owner"), "content-type": "application/json"}
    start = f"/v1/rollouts/{ROLLOUT}"
    huge = platform.client.put(start, content=b" " * 1_000_001, headers=auth)
    assert huge.status_code == 413

    def chunks() -> Iterator[bytes]:
        yield b'{"status": '
        yield b'"ready"}'

    unsized = platform.client.put(f"{start}/services/payments", content=chunks(), headers=auth)
    assert unsized.status_code == 411
    broken = platform.client.put(start, content=b"{not json", headers=auth)
    assert broken.status_code == 422
    leaked = platform.client.post(
        f"{start}/finish", params={"token": platform.tokens["owner"]}, headers=auth
    )
    assert leaked.status_code == 400
    line = _record(platform, "payments", detail="two\u2028lines")
    assert line.status_code == 422
    assert line.json()["message"] == "detail contains the control character U+2028"
    for path in ("/v1/rollouts", start, "/v1/metrics/patching?layer=road"):
        platform.client.get(path, headers=platform.auth("owner"))  # reads leave no trace
    assert [(action, target, outcome) for _, action, target, outcome, _ in _events(platform)] == [
        ("rollout.start", f"rollout {ROLLOUT}", "too_large"),
        ("rollout.service", f"rollout {ROLLOUT}/payments", "length_required"),
        ("rollout.start", f"rollout {ROLLOUT}", "invalid"),
        ("rollout.finish", f"rollout {ROLLOUT}", "token_in_query"),
        ("rollout.service", f"rollout {ROLLOUT}/payments", "invalid"),
    ]


# -- finishing -------------------------------------------------------------------------------


def test_a_rollout_is_finished_by_who_started_it_or_an_admin_once(platform: Platform) -> None:
    _register(platform, "payments")
    _start(platform)
    _record(platform, "payments")
    finish = f"/v1/rollouts/{ROLLOUT}/finish"
    refused = platform.client.post(finish, headers=platform.auth("other"))
    assert refused.status_code == 403
    assert refused.json()["message"] == (
        f"rollout {ROLLOUT} was started by alice: only they or an admin may finish it"
    )
    platform.clock.now += dt.timedelta(hours=2)
    done = platform.client.post(finish, headers=platform.auth("owner"))
    assert done.status_code == 200, done.text
    assert done.json()["finished_at"] == "2025-03-01T14:00:00Z"
    assert [r["status"] for r in done.json()["services"]] == ["ready"]
    platform.clock.now += dt.timedelta(hours=1)
    again = platform.client.post(finish, headers=platform.auth("admin"))
    assert again.status_code == 200
    assert again.json() == done.json()  # finished once: its time is kept
    late = _record(platform, "payments", status="merged")
    assert late.status_code == 409
    assert late.json()["message"] == (
        f"rollout {ROLLOUT} has finished: its results are kept as they were; start another roll-out"
    )
    ghost = platform.client.post(
        "/v1/rollouts/road-9-9-9-00000000/finish", headers=platform.auth("admin")
    )
    assert ghost.status_code == 404
    assert platform.client.post(finish).status_code == 401
    finishes = [(a, o, d) for a, action, _, o, d in _events(platform) if action == "rollout.finish"]
    assert finishes == [
        ("bob", "forbidden", "started by alice"),
        ("alice", "finished", ""),
        ("root", "unchanged", ""),
        ("root", "not-found", ""),
        ("anonymous", "unauthenticated", ""),
    ]


def test_rollouts_are_listed_oldest_first_a_page_at_a_time(platform: Platform) -> None:
    started = []
    for i, layer in enumerate(["road", "road", "app", "road", "road"]):
        if i != 2:  # two start at one time: the id decides
            platform.clock.now += dt.timedelta(minutes=10)
        rollout = f"{layer}-rollout-{9 - i:010}"
        assert _start(platform, rollout=rollout, layer=layer).status_code == 201
        started.append(rollout)
    by_time = [started[0], started[2], started[1], started[3], started[4]]
    seen: list[str] = []
    params: dict[str, str | int] = {"limit": 2}
    pages = 0
    while True:
        page = platform.client.get("/v1/rollouts", params=params, headers=platform.auth("other"))
        assert page.status_code == 200, page.text
        seen += [r["id"] for r in page.json()["rollouts"]]
        pages += 1
        if page.json()["next_cursor"] is None:
            break
        params["cursor"] = page.json()["next_cursor"]
    assert (seen, pages) == (by_time, 3)
    road = platform.client.get(
        "/v1/rollouts", params={"layer": "road"}, headers=platform.auth("owner")
    )
    assert [r["id"] for r in road.json()["rollouts"]] == [
        x for x in by_time if x.startswith("road")
    ]
    missing = platform.client.get(
        "/v1/rollouts/road-0-0-0-00000000", headers=platform.auth("owner")
    )
    assert missing.status_code == 404
    assert platform.client.get("/v1/rollouts").status_code == 401
    import base64

    for position in ('"service/.."', '"no-such-rollout-0001"', "7"):
        forged = base64.urlsafe_b64encode(position.encode()).decode().rstrip("=")
        got = platform.client.get(
            "/v1/rollouts", params={"cursor": forged}, headers=platform.auth("owner")
        )
        assert got.status_code == 400, (position, got.text)
        assert got.json()["error"] == "bad_cursor"


# -- the layer history -------------------------------------------------------------------------


def _history(platform: Platform) -> list[tuple[str, str, str, str, dt.datetime]]:
    import sqlalchemy as sa

    from paved.server import metadata

    table = metadata.tables["layer_history"]
    engine = platform.client.app.state.engine  # type: ignore[attr-defined]
    with engine.connect() as conn:
        rows = conn.execute(
            sa.select(
                table.c.service,
                table.c.layer,
                table.c.scaffold,
                table.c.version,
                table.c.recorded_at,
            ).order_by(table.c.id)
        ).all()
    return [tuple(row) for row in rows]


def test_registering_and_recording_layers_write_the_layer_history(platform: Platform) -> None:
    auth = platform.auth("owner")
    assert platform.client.post("/v1/services", json=service_body(), headers=auth).is_success
    assert platform.client.post("/v1/services", json=service_body(), headers=auth).is_success
    one = NOW + dt.timedelta(hours=1)
    platform.clock.now = one
    road = {"layer": "road", "scaffold": "paved-road", "version": "1.2.0"}
    app = {"layer": "app", "scaffold": "service-python", "version": "1.0.0"}
    layers = {"layers": [road, app]}
    dry = platform.client.put(
        "/v1/services/payments/layers", params={"dry_run": "true"}, json=layers, headers=auth
    )
    assert dry.status_code == 200
    assert platform.client.put("/v1/services/payments/layers", json=layers, headers=auth).is_success
    platform.clock.now = two = NOW + dt.timedelta(hours=2)
    # The same again changes nothing; a layer that comes back is recorded again.
    assert platform.client.put("/v1/services/payments/layers", json=layers, headers=auth).is_success
    only_road = {"layers": [road]}
    assert platform.client.put(
        "/v1/services/payments/layers", json=only_road, headers=auth
    ).is_success
    assert platform.client.put("/v1/services/payments/layers", json=layers, headers=auth).is_success
    assert _history(platform) == [
        ("payments", "app", "service-python", "1.0.0", NOW),
        ("payments", "road", "paved-road", "1.1.0", NOW),
        ("payments", "road", "paved-road", "1.2.0", one),
        ("payments", "app", "service-python", "1.0.0", two),
    ]


def test_the_layer_history_is_written_in_the_change_s_transaction(
    platform: Platform, monkeypatch: pytest.MonkeyPatch
) -> None:
    """When the audit row cannot be written, neither the service nor its history are."""
    auth = platform.auth("owner")
    store = platform.client.app.state.store  # type: ignore[attr-defined]

    def trail_down(_event: object) -> None:
        raise RuntimeError("the audit trail cannot be written")

    monkeypatch.setattr(store, "_audited", trail_down)
    with pytest.raises(RuntimeError, match="audit trail"):
        platform.client.post("/v1/services", json=service_body(), headers=auth)
    monkeypatch.setattr(store, "_audited", None)
    assert platform.client.get("/v1/services/payments", headers=auth).status_code == 404
    assert _history(platform) == []
    assert platform.client.post("/v1/services", json=service_body(), headers=auth).is_success
    before = _history(platform)
    monkeypatch.setattr(store, "_audited", trail_down)
    newer = {"layers": [{"layer": "road", "scaffold": "paved-road", "version": "1.2.0"}]}
    with pytest.raises(RuntimeError, match="audit trail"):
        platform.client.put("/v1/services/payments/layers", json=newer, headers=auth)
    monkeypatch.setattr(store, "_audited", None)
    assert _history(platform) == before
    assert len(before) == 2


# -- time to patch -----------------------------------------------------------------------------


def _at(platform: Platform, hours: float) -> None:
    platform.clock.now = NOW + dt.timedelta(hours=hours)


def _road(platform: Platform, service: str, version: str, scaffold: str = "paved-road") -> None:
    body = {
        "layers": [
            {"layer": "app", "scaffold": "service-python", "version": "1.0.0"},
            {"layer": "road", "scaffold": scaffold, "version": version},
        ]
    }
    got = platform.client.put(
        f"/v1/services/{service}/layers", json=body, headers=platform.auth("admin")
    )
    assert got.status_code == 200, got.text


def _stamp(hours: float) -> str:
    return (NOW + dt.timedelta(hours=hours)).isoformat().replace("+00:00", "Z")


def test_time_to_patch_from_the_layer_history_and_the_rollouts(platform: Platform) -> None:
    admin = platform.auth("admin")
    road_100 = [
        {"layer": "app", "scaffold": "service-python", "version": "1.0.0"},
        {"layer": "road", "scaffold": "paved-road", "version": "1.0.0"},
    ]
    for name in ("svc-a", "svc-b", "svc-c", "svc-d", "svc-e", "gone"):
        _register(platform, name, layers=road_100)  # 1.0.0 first seen at 0h
    _at(platform, 1)
    org_road = [{"layer": "road", "scaffold": "org-road", "version": "2.0.0"}]
    _register(platform, "own-road", layers=org_road)
    # 1.1.0 is released by its roll-out at 1h, before any service has it.
    rollout = {**RELEASE, "version": "1.1.0"}
    started = platform.client.put("/v1/rollouts/road-1-1-0-00000001", json=rollout, headers=admin)
    assert started.status_code == 201
    _at(platform, 2)
    _road(platform, "svc-a", "1.1.0")  # 1h
    _at(platform, 3)
    _road(platform, "svc-b", "1.1.0")  # 2h
    _at(platform, 5)
    _road(platform, "svc-c", "1.1.0")  # 4h
    _at(platform, 11)
    _road(platform, "svc-d", "1.1.0")  # 10h
    _at(platform, 12)
    _road(platform, "svc-d", "1.0.0")  # back: not a move to 1.0.0
    _at(platform, 13)
    _road(platform, "svc-d", "1.1.0")  # and forward again: its first move counts, not this
    # 1.2.0 is first seen at 20h on svc-a; its roll-out starts later and does not move that.
    _at(platform, 20)
    _road(platform, "svc-a", "1.2.0")  # 0h
    _at(platform, 21)
    later = platform.client.put("/v1/rollouts/road-1-2-0-00000001", json=RELEASE, headers=admin)
    assert later.status_code == 201
    assert platform.client.post("/v1/services/gone/archive", headers=admin).is_success
    # 1.10.0 sorts after 1.2.0; a roll-out nobody has taken yet.
    _at(platform, 30)
    newest = {**RELEASE, "version": "1.10.0"}
    put = platform.client.put("/v1/rollouts/road-1-10-0-0000001", json=newest, headers=admin)
    assert put.status_code == 201

    got = platform.client.get(
        "/v1/metrics/patching", params={"layer": "road"}, headers=platform.auth("other")
    )
    assert got.status_code == 200, got.text
    assert got.json() == {
        "layer": "road",
        "versions": [
            {
                "scaffold": "org-road",
                "version": "2.0.0",
                "released_at": _stamp(1),
                "services": 1,
                "share": 1.0,
                "moved": 0,
                "time_to_patch_median_seconds": None,
                "time_to_patch_p90_seconds": None,
            },
            {
                "scaffold": "paved-road",
                "version": "1.0.0",
                "released_at": _stamp(0),
                "services": 1,  # svc-e (gone is archived)
                "share": 0.2,
                "moved": 0,
                "time_to_patch_median_seconds": None,
                "time_to_patch_p90_seconds": None,
            },
            {
                "scaffold": "paved-road",
                "version": "1.1.0",
                "released_at": _stamp(1),
                "services": 3,
                "share": 0.6,
                "moved": 4,
                # 1h, 2h, 4h, 10h: the median between 2h and 4h, the 90th percentile the 4th.
                "time_to_patch_median_seconds": 3 * 3600.0,
                "time_to_patch_p90_seconds": 10 * 3600.0,
            },
            {
                "scaffold": "paved-road",
                "version": "1.2.0",
                "released_at": _stamp(20),
                "services": 1,
                "share": 0.2,
                "moved": 1,
                "time_to_patch_median_seconds": 0.0,
                "time_to_patch_p90_seconds": 0.0,
            },
            {
                "scaffold": "paved-road",
                "version": "1.10.0",
                "released_at": _stamp(30),
                "services": 0,
                "share": 0.0,
                "moved": 0,
                "time_to_patch_median_seconds": None,
                "time_to_patch_p90_seconds": None,
            },
        ],
    }
    app = platform.client.get("/v1/metrics/patching", params={"layer": "app"}, headers=admin)
    assert [(v["scaffold"], v["version"], v["services"]) for v in app.json()["versions"]] == [
        ("service-python", "1.0.0", 5)  # gone is archived; own-road has no app layer
    ]
    nothing = platform.client.get("/v1/metrics/patching", params={"layer": "db"}, headers=admin)
    assert nothing.json() == {"layer": "db", "versions": []}
    assert platform.client.get("/v1/metrics/patching", headers=admin).status_code == 422
    assert platform.client.get("/v1/metrics/patching", params={"layer": "road"}).status_code == 401


@pytest.mark.parametrize(
    ("values", "median", "p90"),
    [
        ([], None, None),
        ([5.0], 5.0, 5.0),
        ([float(x) for x in range(1, 11)], 5.5, 9.0),
        ([float(x) for x in range(1, 12)], 6.0, 10.0),
        ([40.0, 10.0, 30.0, 20.0], 25.0, 40.0),
    ],
)
def test_the_quantiles_of_time_to_patch(
    values: list[float], median: float | None, p90: float | None
) -> None:
    from paved.server import LayerRecord, time_to_patch

    release = NOW
    history = [LayerRecord(0, "first", "road", "2.0.0", release)]
    for i, seconds in enumerate(values, start=1):
        at = release + dt.timedelta(seconds=seconds)
        history += [
            LayerRecord(2 * i, f"s{i}", "road", "1.0.0", release - dt.timedelta(days=1)),
            LayerRecord(2 * i + 1, f"s{i}", "road", "2.0.0", at),
        ]
    found = {f["version"]: f for f in time_to_patch(history, [], [])}
    assert found["2.0.0"]["moved"] == len(values)
    assert found["2.0.0"]["time_to_patch_median_seconds"] == median
    assert found["2.0.0"]["time_to_patch_p90_seconds"] == p90


# -- the migration ---------------------------------------------------------------------------


def test_a_database_before_rollouts_gets_them_and_a_history_of_its_current_layers(
    db_url: str,
) -> None:
    import sqlalchemy as sa
    from alembic import command
    from alembic.config import Config

    from paved.server import connect, metadata, migrate, writer

    services, service_layers, history, rollouts = (
        metadata.tables[name]
        for name in ("services", "service_layers", "layer_history", "rollouts")
    )
    engine = connect(db_url)
    config = Config()
    config.set_main_option("script_location", "paved.server:migrations")
    with writer(engine).begin() as conn:
        config.attributes["connection"] = conn
        command.upgrade(config, "0003")
        conn.execute(
            services.insert(),
            [
                {"name": n, "owner": "team-a", "repository": "r", "created_at": NOW}
                for n in ("abc", "ab-z", "empty")
            ],
        )
        conn.execute(
            service_layers.insert(),
            [
                {"service": "ab-z", "layer": "road", "scaffold": "paved-road", "version": "1.0.0"},
                {"service": "abc", "layer": "road", "scaffold": "paved-road", "version": "1.1.0"},
                {"service": "abc", "layer": "app", "scaffold": "service-go", "version": "0.1.0"},
            ],
        )
    before = dt.datetime.now(dt.UTC).replace(microsecond=0)
    migrate(engine)
    after = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=1)
    with writer(engine).begin() as conn:
        rows = conn.execute(sa.select(history).order_by(history.c.id)).all()
        assert [(r.id, r.service, r.layer, r.version) for r in rows] == [
            (1, "ab-z", "road", "1.0.0"),
            (2, "abc", "app", "0.1.0"),
            (3, "abc", "road", "1.1.0"),
        ]
        assert len({r.recorded_at for r in rows}) == 1
        assert before <= rows[0].recorded_at <= after
        assert conn.scalars(sa.select(services.c.name).order_by(services.c.name)).all() == [
            "ab-z",
            "abc",
            "empty",
        ]
        conn.execute(
            rollouts.insert().values(id=ROLLOUT, **{**RELEASE}, started_by="alice", started_at=NOW)
        )
        assert conn.execute(sa.select(rollouts.c.started_at)).scalar_one() == NOW
        if engine.dialect.name == "postgresql":
            collations = conn.execute(
                sa.text(
                    "SELECT table_name, column_name FROM information_schema.columns WHERE "
                    "collation_name = 'C' AND table_name IN "
                    "('rollouts', 'rollout_services', 'layer_history')"
                )
            ).all()
            assert sorted(collations) == [
                ("layer_history", "layer"),
                ("layer_history", "service"),
                ("rollout_services", "rollout_id"),
                ("rollout_services", "service"),
                ("rollouts", "id"),
            ]
    engine.dispose()
