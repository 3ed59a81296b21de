"""The platform API: services, deployments, audit, scaffolds, settings, metrics, bad input."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.helpers import REPO_ROOT
from tests.server.conftest import NOW as NOW_STAMP
from tests.server.conftest import Platform, deployment_body, service_body

#: The catalog entry of a registration without one (an older client).
DEFAULT_ENTRY = {
    "lifecycle": "production",
    "system": "",
    "api_definition": "",
    "resources": [],
    "data_resources": [],
}


def test_register_is_idempotent_by_name(platform: Platform) -> None:
    auth = platform.auth("owner")
    first = platform.client.post("/v1/services", json=service_body(), headers=auth)
    assert first.status_code == 201
    assert first.json() == {
        "name": "payments",
        "owner": "team-checkout",
        "description": "Takes payments",
        "repository": "https://git.example.com/repos/payments.git",
        "layers": [
            {"layer": "app", "scaffold": "service-python", "version": "1.0.0"},
            {"layer": "road", "scaffold": "paved-road", "version": "1.1.0"},
        ],
        "catalog": DEFAULT_ENTRY,
        "created_at": "2025-03-01T12:00:00Z",
        "archived_at": None,
    }
    again = platform.client.post("/v1/services", json=service_body(), headers=auth)
    assert again.status_code == 200
    assert again.json() == first.json()
    other_repo = service_body(repository="https://git.example.com/elsewhere.git")
    taken = platform.client.post("/v1/services", json=other_repo, headers=auth)
    assert taken.status_code == 409
    assert taken.json()["error"] == "conflict"
    assert "already registered" in taken.json()["message"]


def test_list_filters_and_pages(platform: Platform) -> None:
    admin = platform.auth("admin")
    for i in range(7):
        owner = "team-checkout" if i % 2 else "team-search"
        body = service_body(f"svc-{i}", owner)
        if i == 3:
            body["layers"] = [{"layer": "app", "scaffold": "service-go", "version": "0.1.0"}]
        assert platform.client.post("/v1/services", json=body, headers=admin).status_code == 201
    seen: list[str] = []
    cursor = None
    pages = 0
    while True:
        params: dict[str, str | int] = {"limit": 3}
        if cursor:
            params["cursor"] = cursor
        page = platform.client.get("/v1/services", params=params, headers=admin).json()
        seen += [s["name"] for s in page["services"]]
        pages += 1
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == [f"svc-{i}" for i in range(7)]
    assert pages == 3
    owned = platform.client.get("/v1/services", params={"owner": "team-checkout"}, headers=admin)
    assert [s["name"] for s in owned.json()["services"]] == ["svc-1", "svc-3", "svc-5"]
    go = platform.client.get("/v1/services", params={"template": "service-go"}, headers=admin)
    assert [s["name"] for s in go.json()["services"]] == ["svc-3"]


def test_show_and_archive(platform: Platform) -> None:
    auth = platform.auth("owner")
    platform.client.post("/v1/services", json=service_body(), headers=auth)
    assert platform.client.get("/v1/services/payments", headers=auth).status_code == 200
    missing = platform.client.get("/v1/services/nothing", headers=auth)
    assert missing.status_code == 404
    assert missing.json() == {
        "error": "not_found",
        "message": "service 'nothing' is not in the catalog",
    }
    platform.clock.now += dt.timedelta(hours=1)
    archived = platform.client.post("/v1/services/payments/archive", headers=auth)
    assert archived.status_code == 200
    assert archived.json()["archived_at"] == "2025-03-01T13:00:00Z"
    assert platform.client.get("/v1/services", headers=auth).json()["services"] == []
    listed = platform.client.get(
        "/v1/services", params={"include_archived": "true"}, headers=auth
    ).json()["services"]
    assert [s["name"] for s in listed] == ["payments"]
    again = platform.client.post("/v1/services", json=service_body(), headers=auth)
    assert again.status_code == 409


def test_deployments_record_and_list(platform: Platform) -> None:
    auth = platform.auth("owner")
    platform.client.post("/v1/services", json=service_body(), headers=auth)
    ids = []
    for env in ("dev", "prod", "prod"):
        done = platform.client.post(
            "/v1/deployments", json=deployment_body(environment=env), headers=auth
        )
        assert done.status_code == 201, done.text
        assert done.json()["recorded_by"] == "alice"
        ids.append(done.json()["id"])
    listed = platform.client.get(
        "/v1/deployments", params={"environment": "prod", "limit": 1}, headers=auth
    ).json()
    assert [d["id"] for d in listed["deployments"]] == [ids[1]]
    rest = platform.client.get(
        "/v1/deployments",
        params={"environment": "prod", "cursor": listed["next_cursor"]},
        headers=auth,
    ).json()
    assert [d["id"] for d in rest["deployments"]] == [ids[2]]
    assert rest["next_cursor"] is None


def test_a_refused_deploy_of_an_unregistered_service_is_recorded(platform: Platform) -> None:
    body = deployment_body("ghost", outcome="refused", message="not registered")
    assert (
        platform.client.post("/v1/deployments", json=body, headers=platform.auth("other"))
    ).status_code == 201
    body["outcome"] = "succeeded"
    refused = platform.client.post("/v1/deployments", json=body, headers=platform.auth("other"))
    assert refused.status_code == 403


def test_audit_records_every_mutation_with_address_and_outcome(platform: Platform) -> None:
    platform.client.post("/v1/services", json=service_body(), headers=platform.auth("owner"))
    platform.client.post("/v1/services", json=service_body(), headers=platform.auth("other"))
    platform.client.post("/v1/services", json=service_body())
    platform.client.post("/v1/services", json={"name": "Bad"}, headers=platform.auth("owner"))
    events = platform.client.get("/v1/audit", headers=platform.auth("admin")).json()["events"]
    api = [
        (e["actor"], e["action"], e["target"], e["address"], e["outcome"])
        for e in events
        if e["address"] != "local"
    ]
    assert api == [
        ("alice", "service.register", "service payments", "203.0.113.7", "created"),
        ("bob", "service.register", "service payments", "203.0.113.7", "forbidden"),
        ("anonymous", "service.register", "service payments", "203.0.113.7", "unauthenticated"),
        ("alice", "service.register", "services", "203.0.113.7", "invalid"),
    ]
    assert all(e["at"] == "2025-03-01T12:00:00Z" for e in events if e["address"] != "local")
    local = [e["action"] for e in events if e["address"] == "local"]
    assert local == ["token.create"] * 4 + ["token.revoke", "token.create"]


def test_scaffolds_and_settings(platform: Platform) -> None:
    auth = platform.auth("other")
    assert platform.client.get("/v1/scaffolds", headers=auth).json() == [
        {"name": "paved-road", "layer": "road", "versions": ["1.0.0", "1.1.0"], "minimum": "1.0.0"}
    ]
    assert platform.client.get("/v1/settings", headers=auth).json() == {
        "settings": {"environments": {"prod": {"target": "gitops", "protected": "true"}}}
    }


def test_delivery_metrics(platform: Platform) -> None:
    admin = platform.auth("admin")
    platform.client.post("/v1/services", json=service_body(), headers=admin)
    platform.client.post("/v1/services", json=service_body("search", "team-search"), headers=admin)

    def deploy(service: str, commit_h: int, done_h: int, outcome: str = "succeeded", **kw: object):
        body = deployment_body(
            service,
            source_time=f"2025-02-20T{commit_h:02}:00:00Z",
            started_at=f"2025-02-20T{done_h:02}:00:00Z",
            finished_at=f"2025-02-20T{done_h:02}:00:00Z",
            outcome=outcome,
            **kw,
        )
        # Recorded as it happens: the platform refuses a record more than a day behind it.
        platform.clock.now = dt.datetime(2025, 2, 20, done_h, tzinfo=dt.UTC)
        return platform.client.post("/v1/deployments", json=body, headers=admin).json()["id"]

    deploy("payments", 1, 2)  # lead 1h
    bad = deploy("payments", 2, 5)  # lead 3h, later rolled back
    deploy("payments", 5, 6, rollback_of=bad, restored=1)  # restores after 1h
    deploy("payments", 6, 7, "failed")  # failure, restored by the next
    deploy("payments", 6, 9)  # lead 3h, restores after 2h
    deploy("payments", 1, 3, "refused")  # counts for nothing
    deploy("search", 1, 2)
    old = deployment_body(finished_at="2024-01-01T00:00:00Z", started_at="2024-01-01T00:00:00Z")
    platform.clock.now = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)
    platform.client.post("/v1/deployments", json=old, headers=admin)  # outside the window
    platform.clock.now = NOW_STAMP

    got = platform.client.get(
        "/v1/metrics", params={"team": "team-checkout", "days": 30}, headers=admin
    ).json()
    assert got["window_start"] == "2025-01-30T12:00:00Z"
    assert got["services"] == [
        {
            "service": "payments",
            "owner": "team-checkout",
            "deployments": 5,
            "deployment_frequency": round(4 / 30, 4),
            "lead_time_seconds": 3 * 3600.0,
            "change_failure_rate": 0.5,
            "time_to_restore_seconds": 1.5 * 3600,
        }
    ]
    everyone = platform.client.get("/v1/metrics", headers=admin).json()
    assert [m["service"] for m in everyone["services"]] == ["payments", "search"]
    assert everyone["total"]["deployments"] == 6


@pytest.mark.parametrize(
    ("body", "where"),
    [
        (service_body(name="Payments"), "name"),
        (service_body(name="a" * 41), "name"),
        (service_body(name="x"), "name"),
        (service_body(owner="team_checkout"), "owner"),
        (service_body(extra_field=1), "extra_field"),
        (service_body(description="d" * 501), "description"),
        (service_body(description="nul\x00byte"), "description"),
        (service_body(repository=""), "repository"),
        ({"name": "payments"}, "owner"),
    ],
)
def test_bad_service_bodies_are_refused_with_json(
    platform: Platform, body: dict[str, object], where: str
) -> None:
    got = platform.client.post("/v1/services", json=body, headers=platform.auth("admin"))
    assert got.status_code == 422
    assert got.json()["error"] == "invalid"
    assert any(where in d["loc"] for d in got.json()["detail"])


@pytest.mark.parametrize(
    ("path", "params"),
    [
        ("/v1/services", {"owner": "Bad Team"}),
        ("/v1/services", {"limit": 0}),
        ("/v1/services", {"limit": 10_000}),
        ("/v1/services", {"cursor": "!!!"}),
        ("/v1/services", {"cursor": "MQ"}),
        ("/v1/deployments", {"cursor": "InBheW1lbnRzIg"}),
        ("/v1/metrics", {"days": 0}),
        ("/v1/services/NOT_A_NAME", {}),
    ],
)
def test_bad_queries_are_4xx(platform: Platform, path: str, params: dict[str, object]) -> None:
    got = platform.client.get(path, params=params, headers=platform.auth("admin"))
    assert 400 <= got.status_code < 500
    assert set(got.json()) >= {"error", "message"}


def test_malformed_and_oversized_bodies(platform: Platform) -> None:
    auth = {**platform.auth("admin"), "content-type": "application/json"}
    broken = platform.client.post("/v1/services", content=b"{not json", headers=auth)
    assert broken.status_code == 422
    assert broken.json()["error"] == "invalid"
    huge = platform.client.post("/v1/services", content=b" " * 1_000_001, headers=auth)
    assert huge.status_code == 413
    assert huge.json()["error"] == "too_large"
    out_of_range = deployment_body(rollback_of=2**40)
    assert (
        platform.client.post("/v1/deployments", json=out_of_range, headers=auth).status_code == 422
    )
    naive = deployment_body(started_at="2025-03-01T11:00:00")
    assert platform.client.post("/v1/deployments", json=naive, headers=auth).status_code == 422


def test_openapi_is_checked_in(platform: Platform) -> None:
    from paved.server import openapi_document

    served = platform.client.get("/openapi.json").json()
    checked_in = REPO_ROOT / "docs" / "openapi.json"
    assert served == json.loads(openapi_document(platform.client.app))  # type: ignore[arg-type]
    assert checked_in.read_text(encoding="utf-8") == openapi_document(platform.client.app), (  # type: ignore[arg-type]
        "docs/openapi.json is stale: python -m paved.server.openapi > docs/openapi.json"
    )


HEAD = "0009"


def test_migrations_run_forward_from_empty_and_match_the_tables(db_url: str) -> None:
    import sqlalchemy as sa

    from paved.server import connect, metadata, migrate

    engine = connect(db_url)
    assert sa.inspect(engine).get_table_names() == []
    migrate(engine)
    migrate(engine)  # a second run is a no-op
    inspector = sa.inspect(engine)
    assert set(inspector.get_table_names()) == {*metadata.tables, "alembic_version"}
    for table in metadata.sorted_tables:
        columns = {c["name"]: c["nullable"] for c in inspector.get_columns(table.name)}
        assert set(columns) == {c.name for c in table.columns}, table.name
        for column in table.columns:
            if not column.primary_key:
                assert columns[column.name] == column.nullable, f"{table.name}.{column.name}"
        indexes = {i["name"] for i in inspector.get_indexes(table.name)}
        assert indexes >= {i.name for i in table.indexes}, table.name
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalar() == HEAD
        if engine.dialect.name == "postgresql":
            collations = conn.execute(
                sa.text(
                    "SELECT table_name, column_name, collation_name FROM information_schema.columns"
                    " WHERE collation_name IS NOT NULL AND table_schema = 'public'"
                )
            ).all()
            assert sorted(collations) == [
                ("gate_reports", "service", "C"),
                ("incidents", "service", "C"),
                ("layer_history", "layer", "C"),
                ("layer_history", "service", "C"),
                ("resource_requests", "name", "C"),
                ("resource_requests", "service", "C"),
                ("rollout_services", "rollout_id", "C"),
                ("rollout_services", "service", "C"),
                ("rollouts", "id", "C"),
                ("service_layers", "layer", "C"),
                ("service_layers", "service", "C"),
                ("services", "name", "C"),
                ("teams", "name", "C"),
            ]
    engine.dispose()


def test_a_database_at_the_first_migration_moves_forward_with_its_data(db_url: str) -> None:
    import sqlalchemy as sa
    from alembic import command
    from alembic.config import Config

    from paved.server import connect, metadata, migrate, writer

    services, service_layers, deployments = (
        metadata.tables[name] for name in ("services", "service_layers", "deployments")
    )

    engine = connect(db_url)
    config = Config()
    config.set_main_option("script_location", "paved.server:migrations")
    with writer(engine).begin() as conn:
        config.attributes["connection"] = conn
        command.upgrade(config, "0001")
        conn.execute(
            services.insert(),
            [
                {"name": n, "owner": "team-a", "repository": "r", "created_at": NOW_STAMP}
                for n in ("abc", "ab-z")
            ],
        )
        conn.execute(
            service_layers.insert().values(service="ab-z", layer="app", scaffold="s", version="1")
        )
        done = {
            "service": "abc",
            "environment": "prod",
            "target": "gitops",
            "actor": "alice",
            "started_at": NOW_STAMP,
            "finished_at": NOW_STAMP,
            "outcome": "succeeded",
            "findings": [],
            "recorded_by": "alice",
        }
        conn.execute(deployments.insert(), [done, done])
    migrate(engine)
    with writer(engine).begin() as conn:
        assert conn.scalars(sa.select(services.c.name).order_by(services.c.name)).all() == [
            "ab-z",
            "abc",
        ]
        assert conn.execute(sa.select(service_layers.c.service)).scalar_one() == "ab-z"
        kept = conn.execute(sa.select(deployments.c.id, deployments.c.finished_at)).all()
        assert [tuple(row) for row in kept] == [(1, NOW_STAMP), (2, NOW_STAMP)]
        # 0003: a started deployment has no finished_at; ids go on from the last one.
        started = {**done, "finished_at": None, "outcome": "started"}
        new = conn.execute(deployments.insert().values(**started).returning(deployments.c.id))
        assert new.scalar_one() == 3
    engine.dispose()


def test_serve_wires_the_cli_to_the_app(tmp_path: Path) -> None:
    from paved.cli.platform import serve

    assert serve.__doc__


def test_concurrent_registrations_of_one_name_make_one_service(platform: Platform) -> None:
    from concurrent.futures import ThreadPoolExecutor

    auth = platform.auth("owner")

    def register(_: int) -> int:
        return platform.client.post("/v1/services", json=service_body(), headers=auth).status_code

    with ThreadPoolExecutor(max_workers=16) as pool:
        statuses = sorted(pool.map(register, range(32)))
    assert statuses == [200] * 31 + [201]
    listed = platform.client.get("/v1/services", headers=auth).json()["services"]
    assert [s["name"] for s in listed] == ["payments"]
    assert len(listed[0]["layers"]) == 2


def test_listing_orders_names_bytewise_on_every_backend(platform: Platform) -> None:
    # A linguistic collation (en-US) ignores hyphens at first: "ab-z" would sort after "abc".
    admin = platform.auth("admin")
    names = ["abc", "ab-z", "ab", "a-b-c", "a1", "ab-c", "bb"]
    for name in names:
        assert platform.client.post(
            "/v1/services", json=service_body(name), headers=admin
        ).is_success
    seen: list[str] = []
    params: dict[str, str | int] = {"limit": 2}
    while True:
        page = platform.client.get("/v1/services", params=params, headers=admin).json()
        seen += [s["name"] for s in page["services"]]
        if page["next_cursor"] is None:
            break
        params["cursor"] = page["next_cursor"]
    assert seen == sorted(names)


def test_times_are_utc_whatever_the_offset_sent(platform: Platform) -> None:
    auth = platform.auth("owner")
    platform.client.post("/v1/services", json=service_body(), headers=auth)
    body = deployment_body(
        started_at="2025-03-01T13:00:00+02:00",
        finished_at="2025-03-01T06:01:00-05:00",
        source_time="2025-03-01T10:00:00.250000Z",
    )
    done = platform.client.post("/v1/deployments", json=body, headers=auth)
    assert done.status_code == 201, done.text
    listed = platform.client.get("/v1/deployments", headers=auth).json()["deployments"]
    for got in (done.json(), listed[0]):
        assert got["started_at"] == "2025-03-01T11:00:00Z"
        assert got["finished_at"] == "2025-03-01T11:01:00Z"
        assert got["source_time"] == "2025-03-01T10:00:00.250000Z"
    metrics = platform.client.get("/v1/metrics", params={"days": 1}, headers=auth).json()
    assert metrics["total"]["lead_time_seconds"] == 3659.75


@pytest.mark.parametrize(
    ("path", "cursor"),
    [
        ("/v1/services", json.dumps("a\x00b")),
        ("/v1/services", json.dumps("\ud800")),
        ("/v1/services", json.dumps("x" * 300)),
        ("/v1/deployments", json.dumps(2**70)),
        ("/v1/deployments", json.dumps(-1)),
        ("/v1/audit", json.dumps(2**64)),
    ],
)
def test_forged_cursors_are_400(platform: Platform, path: str, cursor: str) -> None:
    import base64

    forged = base64.urlsafe_b64encode(cursor.encode()).decode().rstrip("=")
    got = platform.client.get(path, params={"cursor": forged}, headers=platform.auth("admin"))
    assert got.status_code in {400, 422}, got.text
    assert got.json()["error"] in {"bad_cursor", "invalid"}


def test_odd_characters_in_a_refused_path_are_audited_safely(platform: Platform) -> None:
    got = platform.client.post("/v1/services/a%00b%0Ac/archive", headers=platform.auth("owner"))
    assert got.status_code == 422
    events = platform.client.get("/v1/audit", headers=platform.auth("admin")).json()["events"]
    assert events[-1]["outcome"] == "invalid"
    assert "\x00" not in events[-1]["target"]
    assert "\n" not in events[-1]["target"]


@pytest.mark.parametrize(
    "findings",
    [
        [{"rule": "a\x00b"}],
        [{"rule": "\ud800"}],
        [{"score": float("nan")}],
    ],
)
def test_findings_that_no_database_can_keep_are_422(
    platform: Platform, findings: list[dict[str, object]]
) -> None:
    auth = {**platform.auth("admin"), "content-type": "application/json"}
    body = json.dumps(deployment_body(findings=findings), allow_nan=True)
    got = platform.client.post("/v1/deployments", content=body.encode(), headers=auth)
    assert got.status_code == 422, got.text


# -- recording a service's layers after an update ------------------------------------------

LAYERS = {
    "layers": [
        {"layer": "road", "scaffold": "paved-road", "version": "1.2.0"},
        {"layer": "app", "scaffold": "service-python", "version": "1.0.1"},
    ]
}
#: The entry once LAYERS are recorded: the layers in name order, the rest as registered.
RECORDED = {
    "name": "payments",
    "owner": "team-checkout",
    "description": "Takes payments",
    "repository": "https://git.example.com/repos/payments.git",
    "layers": [
        {"layer": "app", "scaffold": "service-python", "version": "1.0.1"},
        {"layer": "road", "scaffold": "paved-road", "version": "1.2.0"},
    ],
    "catalog": DEFAULT_ENTRY,
    "created_at": "2025-03-01T12:00:00Z",
    "archived_at": None,
}


def _layer_events(platform: Platform) -> list[tuple[str, str, str, str, str]]:
    events = platform.client.get("/v1/audit", headers=platform.auth("admin")).json()["events"]
    return [
        (e["actor"], e["action"], e["target"], e["outcome"], e["detail"])
        for e in events
        if e["action"] == "service.layers"
    ]


def _registered_layers(platform: Platform) -> list[dict[str, str]]:
    got = platform.client.get("/v1/services/payments", headers=platform.auth("admin"))
    assert got.status_code == 200, got.text
    layers: list[dict[str, str]] = got.json()["layers"]
    return layers


def test_layers_are_recorded_by_the_owning_team_and_audited(platform: Platform) -> None:
    auth = platform.auth("owner")
    assert platform.client.post("/v1/services", json=service_body(), headers=auth).is_success
    platform.clock.now += dt.timedelta(hours=1)
    got = platform.client.put("/v1/services/payments/layers", json=LAYERS, headers=auth)
    assert got.status_code == 200, got.text
    assert got.json() == RECORDED
    assert _registered_layers(platform) == RECORDED["layers"]
    # Replaced, not merged: a layer left out is gone (and so is the scaffold's listing).
    only_app = {"layers": [{"layer": "app", "scaffold": "service-python", "version": "1.1.0"}]}
    admin = platform.auth("admin")
    again = platform.client.put("/v1/services/payments/layers", json=only_app, headers=admin)
    assert again.status_code == 200, again.text
    assert _registered_layers(platform) == only_app["layers"]
    road = platform.client.get("/v1/services", params={"template": "paved-road"}, headers=admin)
    assert road.json()["services"] == []
    assert _layer_events(platform) == [
        ("alice", "service.layers", "service payments", "recorded", ""),
        ("root", "service.layers", "service payments", "recorded", ""),
    ]


def test_layers_of_another_team_s_service_are_403_audited_and_unchanged(
    platform: Platform,
) -> None:
    platform.client.post("/v1/services", json=service_body(), headers=platform.auth("owner"))
    before = _registered_layers(platform)
    for dry_run in (False, True):
        got = platform.client.put(
            "/v1/services/payments/layers",
            params={"dry_run": "true"} if dry_run else {},
            json=LAYERS,
            headers=platform.auth("other"),
        )
        assert got.status_code == 403, got.text
        assert got.json() == {
            "error": "forbidden",
            "message": "service payments belongs to team team-checkout, not to one of yours",
        }
    anonymous = platform.client.put("/v1/services/payments/layers", json=LAYERS)
    assert anonymous.status_code == 401
    assert _registered_layers(platform) == before
    assert _layer_events(platform) == [
        ("bob", "service.layers", "service payments", "forbidden", "owner team-checkout"),
        ("bob", "service.layers", "service payments", "forbidden", "owner team-checkout"),
        ("anonymous", "service.layers", "service payments", "unauthenticated", ""),
    ]


def test_layers_of_an_unknown_service_are_404_and_of_an_archived_one_409(
    platform: Platform,
) -> None:
    auth = platform.auth("owner")
    missing = platform.client.put("/v1/services/ghost/layers", json=LAYERS, headers=auth)
    assert missing.status_code == 404
    assert missing.json() == {
        "error": "not_found",
        "message": "service 'ghost' is not in the catalog",
    }
    platform.client.post("/v1/services", json=service_body(), headers=auth)
    assert platform.client.post("/v1/services/payments/archive", headers=auth).is_success
    before = _registered_layers(platform)
    for dry_run in (False, True):
        archived = platform.client.put(
            "/v1/services/payments/layers",
            params={"dry_run": "true"} if dry_run else {},
            json=LAYERS,
            headers=auth,
        )
        assert archived.status_code == 409, archived.text
        assert archived.json() == {
            "error": "conflict",
            "message": "service 'payments' is archived: its layers are kept as they were",
        }
    assert _registered_layers(platform) == before
    assert [outcome for *_, outcome, _detail in _layer_events(platform)] == [
        "not-found",
        "conflict",
        "conflict",
    ]


def test_a_dry_run_of_layers_answers_as_the_record_would_and_writes_nothing(
    platform: Platform,
) -> None:
    auth = platform.auth("owner")
    platform.client.post("/v1/services", json=service_body(), headers=auth)
    before = _registered_layers(platform)
    dry = platform.client.put(
        "/v1/services/payments/layers", params={"dry_run": "true"}, json=LAYERS, headers=auth
    )
    assert dry.status_code == 200, dry.text
    assert dry.json() == RECORDED
    assert _registered_layers(platform) == before
    assert _layer_events(platform) == []  # a dry run that passes is not audited
    real = platform.client.put("/v1/services/payments/layers", json=LAYERS, headers=auth)
    assert real.json() == dry.json()
    document = platform.client.get("/openapi.json").json()
    parameters = document["paths"]["/v1/services/{name}/layers"]["put"]["parameters"]
    (dry_run,) = [p for p in parameters if p["name"] == "dry_run"]
    assert "write nothing" in dry_run["description"]


def test_layers_and_their_audit_row_are_written_together(
    platform: Platform, monkeypatch: pytest.MonkeyPatch
) -> None:
    """When the audit row cannot be written, the layers stay as they were."""
    auth = platform.auth("owner")
    platform.client.post("/v1/services", json=service_body(), headers=auth)
    before = _registered_layers(platform)
    store = platform.client.app.state.store  # type: ignore[attr-defined]

    def trail_down(_event: object) -> None:
        raise RuntimeError("the audit trail cannot be written")

    monkeypatch.setattr(store, "_audited", trail_down)
    with pytest.raises(RuntimeError, match="audit trail"):
        platform.client.put("/v1/services/payments/layers", json=LAYERS, headers=auth)
    monkeypatch.setattr(store, "_audited", None)
    assert _registered_layers(platform) == before
    assert _layer_events(platform) == []


@pytest.mark.parametrize(
    ("layers", "message"),
    [
        (
            [{"layer": "app", "scaffold": "service-python", "version": "latest"}],
            "version 'latest' of layer 'app' is not a version such as 1.4.0",
        ),
        (
            [
                {"layer": "app", "scaffold": "service-python", "version": "1.0.0"},
                {"layer": "app", "scaffold": "service-python", "version": "1.1.0"},
            ],
            "layer 'app' is given twice",
        ),
        ([], "the request is not valid"),
        ([{"layer": "App", "scaffold": "x", "version": "1.0.0"}], "the request is not valid"),
        ([{"layer": "app", "scaffold": "x", "version": "1.0.0", "extra": 1}], None),
    ],
)
def test_bad_layers_bodies_are_422_audited_and_change_nothing(
    platform: Platform, layers: list[dict[str, object]], message: str | None
) -> None:
    auth = platform.auth("owner")
    platform.client.post("/v1/services", json=service_body(), headers=auth)
    before = _registered_layers(platform)
    got = platform.client.put("/v1/services/payments/layers", json={"layers": layers}, headers=auth)
    assert got.status_code == 422, got.text
    assert got.json()["error"] == "invalid"
    if message is not None:
        assert got.json()["message"] == message
    assert _registered_layers(platform) == before
    assert [
        (actor, target, outcome) for actor, _, target, outcome, _ in _layer_events(platform)
    ] == [("alice", "service payments", "invalid")]


def test_an_unsized_layers_body_is_411_and_audited(platform: Platform) -> None:
    auth = {**platform.auth("owner"), "content-type": "application/json"}

    def chunks() -> Iterator[bytes]:
        yield b'{"layers": '
        yield b"[]}"

    got = platform.client.put("/v1/services/payments/layers", content=chunks(), headers=auth)
    assert got.status_code == 411
    assert _layer_events(platform) == [
        ("alice", "service.layers", "service payments", "length_required", "send a Content-Length")
    ]
