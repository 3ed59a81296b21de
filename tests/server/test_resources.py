"""Data resources on the platform: the requests' journal (open, close, list), who may do
what, conflicts held by the database, dry runs, the catalog entry that keeps what was
committed, and the organisation URL serving it as the road's catalog-info.yaml does."""

from __future__ import annotations

import datetime as dt
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
import yaml

from paved.server import issue_token
from tests.server.conftest import NOW, Platform, service_body

URL = "/v1/services/payments/resources"
DATABASE = {"kind": "database", "name": "orders", "options": {"engine": "mysql", "size": "large"}}
BUCKET = {"kind": "bucket", "name": "uploads"}
QUEUE = {"kind": "queue", "name": "jobs", "options": {"dead_letter": False}, "branch": "add/jobs"}


def _register(platform: Platform, name: str = "payments", **extra: Any) -> None:
    got = platform.client.post(
        "/v1/services", json=service_body(name, **extra), headers=platform.auth("admin")
    )
    assert got.status_code == 201, got.text


def _ask(platform: Platform, body: dict[str, Any], who: str = "owner", **params: str) -> Any:
    return platform.client.post(URL, json=body, params=params, headers=platform.auth(who))


def _close(platform: Platform, request_id: int, body: dict[str, Any], who: str = "owner") -> Any:
    return platform.client.patch(f"{URL}/{request_id}", json=body, headers=platform.auth(who))


def _listed(platform: Platform, who: str = "other", **params: str) -> dict[str, Any]:
    got = platform.client.get(URL, params=params, headers=platform.auth(who))
    assert got.status_code == 200, got.text
    listed: dict[str, Any] = got.json()
    return listed


def _audit(platform: Platform) -> list[tuple[str, str, str]]:
    events = platform.client.get("/v1/audit", headers=platform.auth("admin")).json()["events"]
    return [(e["action"], e["target"], e["outcome"]) for e in events if "resource" in e["action"]]


def _member(platform: Platform, user: str) -> dict[str, str]:
    """A token of another member of the owning team."""
    engine = platform.client.app.state.engine  # type: ignore[attr-defined]
    token = issue_token(
        engine,
        user=user,
        teams=["team-checkout"],
        admin=False,
        lifetime=dt.timedelta(days=1),
        now=NOW,
        actor="test",
    ).token
    return {"Authorization": f"Bearer {token}"}


def test_a_request_opens_closes_and_joins_the_catalog_entry(platform: Platform) -> None:
    _register(platform)
    got = _ask(platform, DATABASE)
    assert got.status_code == 201, got.text
    opened = got.json()
    assert opened == {
        "id": 1,
        "service": "payments",
        "kind": "database",
        "name": "orders",
        "options": {"engine": "mysql", "size": "large"},
        "state": "started",
        "branch": None,
        "commit": None,
        "requested_by": "alice",
        "created_at": "2025-03-01T12:00:00Z",
        "updated_at": "2025-03-01T12:00:00Z",
        "detail": "",
    }
    assert _listed(platform)["data_resources"] == []  # not before it is committed
    platform.clock.now = NOW + dt.timedelta(minutes=3)
    closing = {"state": "committed", "commit": "abc1234", "branch": "main", "detail": "added"}
    got = _close(platform, 1, closing)
    assert got.status_code == 200, got.text
    assert got.json() == {
        **opened,
        **closing,
        "updated_at": "2025-03-01T12:03:00Z",
    }
    made = [{"kind": "database", "name": "orders", "engine": "mysql", "size": "large"}]
    entry = platform.client.get("/v1/services/payments", headers=platform.auth("other")).json()
    assert entry["catalog"]["data_resources"] == made
    assert _listed(platform) == {
        "service": "payments",
        "data_resources": made,
        "requests": [got.json()],
        "next_cursor": None,
    }
    assert _audit(platform) == [
        ("resource.request", "resource payments/orders", "started"),
        ("resource.close", "resource request payments/1", "committed"),
    ]


def test_every_option_of_the_kind_is_kept_and_no_other(platform: Platform) -> None:
    _register(platform)
    assert _ask(platform, BUCKET).json()["options"] == {}
    queue = _ask(platform, QUEUE).json()
    assert (queue["options"], queue["branch"]) == ({"dead_letter": False}, "add/jobs")
    small = _ask(platform, {"kind": "database", "name": "ledger"}).json()
    assert small["options"] == {"engine": "postgres", "size": "small"}
    for request_id in (1, 2, 3):
        assert _close(platform, request_id, {"state": "committed"}).status_code == 200
    assert _listed(platform)["data_resources"] == [  # the queue's is on its branch: not yet
        {"kind": "bucket", "name": "uploads"},
        {"kind": "database", "name": "ledger", "engine": "postgres", "size": "small"},
    ]
    assert [r["id"] for r in _listed(platform)["requests"]] == [3, 2, 1]  # newest first


@pytest.mark.parametrize(
    "body",
    [
        {"kind": "cache", "name": "orders"},
        {"kind": "bucket", "name": "Orders"},
        {"kind": "bucket", "name": "o"},
        {"kind": "bucket", "name": "a" * 21},
        {"kind": "bucket", "name": "s3"},  # the road's own entities end in it
        {"kind": "bucket", "name": "api"},
        {"kind": "bucket", "name": "up--loads"},
        {"kind": "bucket", "name": "uploads", "options": {"engine": "postgres"}},
        {"kind": "queue", "name": "jobs", "options": {"size": "small"}},
        {"kind": "database", "name": "orders", "options": {"engine": "oracle"}},
        {"kind": "database", "name": "orders", "options": {"engine": "postgres", "x": 1}},
        {"kind": "queue", "name": "jobs", "options": {"dead_letter": "yes"}},
        {"kind": "bucket", "name": "uploads", "branch": "-x"},
        {"kind": "bucket", "name": "uploads", "owner": "team-x"},
        {"kind": "bucket"},
    ],
)
def test_a_bad_request_is_refused_and_nothing_is_stored(
    platform: Platform, body: dict[str, Any]
) -> None:
    _register(platform)
    got = _ask(platform, body)
    assert got.status_code == 422, got.text
    assert _listed(platform)["requests"] == []
    assert _audit(platform) == [("resource.request", "resources of payments", "invalid")]


def test_a_name_the_service_has_or_has_asked_for_is_a_conflict(platform: Platform) -> None:
    _register(platform)
    _register(platform, "search")
    assert _ask(platform, DATABASE).status_code == 201
    # The same name, of any kind, while the first request is open.
    again = _ask(platform, {"kind": "bucket", "name": "orders"})
    assert again.status_code == 409, again.text
    assert "has an open request for a resource named orders" in again.json()["message"]
    # Another service may use the name.
    other = platform.client.post(
        "/v1/services/search/resources", json=DATABASE, headers=platform.auth("admin")
    )
    assert other.status_code == 201, other.text
    assert _close(platform, 1, {"state": "committed"}).status_code == 200
    taken = _ask(platform, {"kind": "queue", "name": "orders"})
    assert taken.status_code == 409, taken.text
    assert "has a database named orders already" in taken.json()["message"]
    # A failed request frees its name.
    assert _ask(platform, BUCKET).status_code == 201
    assert _close(platform, 3, {"state": "failed", "detail": "render failed"}).status_code == 200
    assert _ask(platform, BUCKET).status_code == 201
    assert [r["state"] for r in _listed(platform)["requests"]] == ["started", "failed", "committed"]
    outcomes = [outcome for action, _, outcome in _audit(platform) if action == "resource.request"]
    assert outcomes == ["started", "conflict", "started", "conflict", "started", "started"]


def test_one_open_request_per_name_among_concurrent_requests(platform: Platform) -> None:
    _register(platform)

    def ask(_: int) -> int:
        return int(_ask(platform, BUCKET).status_code)

    with ThreadPoolExecutor(max_workers=8) as pool:
        statuses = sorted(pool.map(ask, range(16)))
    assert statuses == [201] + [409] * 15
    assert len(_listed(platform)["requests"]) == 1


def test_the_database_refuses_a_second_open_request_whatever_the_checks_saw(
    platform: Platform,
) -> None:
    """Another replica's checks ran before this one's insert: the partial unique index holds."""
    import sqlalchemy as sa

    from paved.server import metadata, writer

    _register(platform)
    requests = metadata.tables["resource_requests"]
    engine = platform.client.app.state.engine  # type: ignore[attr-defined]
    row = {
        "service": "payments",
        "kind": "bucket",
        "name": "uploads",
        "options": {},
        "requested_by": "alice",
        "created_at": NOW,
        "updated_at": NOW,
    }
    with writer(engine).begin() as conn:
        conn.execute(requests.insert(), [{**row, "state": "failed"}, {**row, "state": "started"}])
    with pytest.raises(sa.exc.IntegrityError), writer(engine).begin() as conn:
        conn.execute(requests.insert().values(**row, state="requested"))
    with writer(engine).begin() as conn:  # closed ones do not count
        conn.execute(requests.insert().values(**row, state="committed"))


def test_who_may_ask_close_and_read(platform: Platform) -> None:
    _register(platform)
    assert _ask(platform, DATABASE, "other").status_code == 403  # another team's service
    assert _ask(platform, DATABASE, "none").status_code == 401
    assert _ask(platform, DATABASE).status_code == 201
    erin = _member(platform, "erin")  # the same team, not who asked
    got = platform.client.patch(f"{URL}/1", json={"state": "failed"}, headers=erin)
    assert got.status_code == 403, got.text
    assert "made by alice" in got.json()["message"]
    assert _close(platform, 1, {"state": "failed"}, "other").status_code == 403
    assert _close(platform, 1, {"state": "failed"}, "none").status_code == 401
    assert _listed(platform, "other")["requests"][0]["state"] == "started"
    assert platform.client.get(URL).status_code == 401
    assert platform.client.post(URL, json=BUCKET, headers=erin).status_code == 201
    assert _close(platform, 2, {"state": "committed"}, "admin").status_code == 200
    assert _audit(platform) == [
        ("resource.request", "resource payments/orders", "forbidden"),
        ("resource.request", "resource payments/orders", "unauthenticated"),
        ("resource.request", "resource payments/orders", "started"),
        ("resource.close", "resource request payments/1", "forbidden"),
        ("resource.close", "resource request payments/1", "forbidden"),
        ("resource.close", "resource request payments/1", "unauthenticated"),
        ("resource.request", "resource payments/uploads", "started"),
        ("resource.close", "resource request payments/2", "committed"),
    ]


def test_an_unknown_or_archived_service_has_no_requests(platform: Platform) -> None:
    got = _ask(platform, DATABASE, "admin")
    assert got.status_code == 404, got.text
    assert platform.client.get(URL, headers=platform.auth("owner")).status_code == 404
    _register(platform)
    assert _ask(platform, DATABASE).status_code == 201
    archived = platform.client.post("/v1/services/payments/archive", headers=platform.auth("owner"))
    assert archived.status_code == 200
    got = _ask(platform, BUCKET)
    assert got.status_code == 404, got.text
    assert got.json()["message"] == "service 'payments' is archived"
    assert _ask(platform, BUCKET, dry_run="true").status_code == 404
    # Its open journal can still be closed, and read.
    assert _close(platform, 1, {"state": "failed"}).status_code == 200
    assert len(_listed(platform)["requests"]) == 1


def test_a_dry_run_checks_everything_and_writes_nothing(platform: Platform) -> None:
    _register(platform)
    got = _ask(platform, QUEUE, dry_run="true")
    assert got.status_code == 200, got.text
    assert got.json()["id"] is None
    assert got.json()["options"] == {"dead_letter": False}
    assert _listed(platform)["requests"] == []
    assert _audit(platform) == []  # a dry run that passes leaves no trace
    assert _ask(platform, QUEUE, "other", dry_run="true").status_code == 403
    assert _ask(platform, QUEUE).status_code == 201
    assert _ask(platform, QUEUE, dry_run="true").status_code == 409
    assert _ask(platform, {"kind": "queue", "name": "q"}, dry_run="true").status_code == 422
    assert len(_listed(platform)["requests"]) == 1


def test_a_closed_request_never_changes(platform: Platform) -> None:
    _register(platform)
    assert _ask(platform, BUCKET).status_code == 201
    assert _close(platform, 1, {"state": "failed", "detail": "push refused"}).status_code == 200
    for body in ({"state": "committed", "commit": "abc1234"}, {"state": "failed"}):
        for who in ("owner", "admin"):
            got = _close(platform, 1, body, who)
            assert got.status_code == 409, got.text
            assert got.json()["message"] == (
                "resource request 1 is closed already (failed): it cannot change"
            )
    (closed,) = _listed(platform)["requests"]
    assert (closed["state"], closed["detail"], closed["commit"]) == ("failed", "push refused", None)
    assert _listed(platform)["data_resources"] == []
    # A closed request that is not this service's, or none at all.
    assert _close(platform, 2, {"state": "failed"}).status_code == 404
    platform.client.post(
        "/v1/services", json=service_body("search"), headers=platform.auth("admin")
    )
    other = platform.client.patch(
        "/v1/services/search/resources/1", json={"state": "failed"}, headers=platform.auth("admin")
    )
    assert other.status_code == 404
    for bad in ({"state": "started"}, {"state": "committed", "commit": "xyz"}, {"state": "x"}):
        assert _close(platform, 1, bad).status_code == 422


def test_requests_are_paged_newest_first(platform: Platform) -> None:
    _register(platform)
    for index in range(5):
        assert _ask(platform, {"kind": "bucket", "name": f"b{index}"}).status_code == 201
    seen: list[int] = []
    params: dict[str, str] = {"limit": "2"}
    while True:
        page = _listed(platform, **params)
        seen += [r["id"] for r in page["requests"]]
        if page["next_cursor"] is None:
            break
        params["cursor"] = page["next_cursor"]
    assert seen == [5, 4, 3, 2, 1]
    bad = platform.client.get(URL, params={"cursor": "bm90"}, headers=platform.auth("owner"))
    assert bad.status_code == 400


def test_a_stored_entry_that_is_not_valid_reads_as_none(platform: Platform) -> None:
    import sqlalchemy as sa

    from paved.server import metadata, writer

    services = metadata.tables["services"]
    engine = platform.client.app.state.engine  # type: ignore[attr-defined]
    _register(platform)
    for stored in (
        "not json",
        '{"kind": "bucket"}',
        '[{"kind": "bucket", "name": "uploads", "engine": "mysql"}]',
        '[{"kind": "bucket", "name": "uploads"}, {"kind": "queue", "name": "uploads"}]',
        '[{"kind": "bucket", "name": "S3"}]',
        "[" * 5000,
    ):
        with writer(engine).begin() as conn:
            conn.execute(
                sa.update(services)
                .where(services.c.name == "payments")
                .values(data_resources=stored)
            )
        shown = platform.client.get("/v1/services/payments", headers=platform.auth("owner"))
        assert shown.status_code == 200, stored
        assert shown.json()["catalog"]["data_resources"] == [], stored
        assert _listed(platform)["data_resources"] == [], stored
        components = yaml.safe_load_all(
            platform.client.get("/v1/backstage/catalog.yaml", headers=platform.auth("owner")).text
        )
        assert [e["metadata"]["name"] for e in components if e["kind"] == "Resource"] == []
    # A request row whose resource breaks the road's rules is not committed into the entry.
    requests = metadata.tables["resource_requests"]
    with writer(engine).begin() as conn:
        conn.execute(
            requests.insert().values(
                service="payments",
                kind="bucket",
                name="uploads",
                options={"engine": "mysql"},
                state="started",
                requested_by="alice",
                created_at=NOW,
                updated_at=NOW,
            )
        )
    got = _close(platform, 1, {"state": "committed"})
    assert got.status_code == 409, got.text
    assert _close(platform, 1, {"state": "failed"}).status_code == 200


def test_the_organisation_url_serves_a_resource_per_data_resource(platform: Platform) -> None:
    entry = {"system": "checkout", "resources": ["s3-read"]}
    _register(platform, catalog=entry)
    on_default_branch = {k: v for k, v in QUEUE.items() if k != "branch"}
    for body in (DATABASE, BUCKET, on_default_branch):
        assert _ask(platform, body).status_code == 201
    for request_id in (1, 2, 3):
        assert _close(platform, request_id, {"state": "committed"}).status_code == 200
    got = platform.client.get("/v1/backstage/catalog.yaml", headers=platform.auth("owner"))
    entities = {(e["kind"], e["metadata"]["name"]): e for e in yaml.safe_load_all(got.text)}
    owner = "group:default/team-checkout"
    assert entities["Component", "payments"]["spec"]["dependsOn"] == [
        "resource:payments-s3",
        "resource:payments-orders",
        "resource:payments-uploads",
        "resource:payments-jobs",
    ]
    resources = [e for e in entities.values() if e["kind"] == "Resource"]
    assert resources[1:] == [
        {
            "apiVersion": "backstage.io/v1alpha1",
            "kind": "Resource",
            "metadata": {"name": f"payments-{name}", "description": description},
            "spec": {"type": kind_type, "owner": owner, "system": "checkout"},
        }
        for name, kind_type, description in (
            ("orders", "database", DB_DESCRIPTION),
            (
                "uploads",
                "s3-bucket",
                "The S3 bucket uploads of payments, one per environment (terraform/buckets.tf).",
            ),
            (
                "jobs",
                "sqs-queue",
                "The SQS queue jobs of payments, one per environment (terraform/queues.tf).",
            ),
        )
    ]


DB_DESCRIPTION = (
    "The MySQL database orders of payments, one per environment (terraform/databases.tf)."
)


def test_recording_layers_keeps_or_replaces_the_data_resources(platform: Platform) -> None:
    _register(platform)
    assert _ask(platform, BUCKET).status_code == 201
    assert _close(platform, 1, {"state": "committed"}).status_code == 200
    layers = {"layers": [{"layer": "road", "scaffold": "paved-road", "version": "1.1.0"}]}
    url = "/v1/services/payments/layers"
    admin = platform.auth("admin")
    older = {"lifecycle": "experimental"}  # a client from before data resources: they stay
    got = platform.client.put(url, json={**layers, "catalog": older}, headers=admin)
    assert got.status_code == 200, got.text
    assert got.json()["catalog"]["data_resources"] == [{"kind": "bucket", "name": "uploads"}]
    assert got.json()["catalog"]["lifecycle"] == "experimental"
    answers = {"data_resources": [QUEUE | {"options": None}]}
    assert (
        platform.client.put(url, json={**layers, "catalog": answers}, headers=admin).status_code
        == 422
    )
    road = {"data_resources": [{"kind": "queue", "name": "jobs", "dead_letter": True}]}
    got = platform.client.put(url, json={**layers, "catalog": road}, headers=admin)
    assert got.status_code == 200, got.text
    assert _listed(platform)["data_resources"] == road["data_resources"]
