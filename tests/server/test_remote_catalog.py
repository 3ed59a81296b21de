"""One catalog suite, two backends: the local SQLite store and the platform over HTTP."""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import json
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import jsonschema
import pytest

from paved.catalog import Catalog
from paved.catalog.remote import RemoteCatalog
from paved.catalog.sqlite import SqliteCatalog
from paved.errors import AuthError, ConflictError, InputError, RemoteError
from paved.models import (
    ROLLOUT_STATUSES,
    Deployment,
    LayerRef,
    Rollout,
    RolloutService,
    Service,
    VersionAdoption,
)
from tests.helpers import REPO_ROOT, free_port
from tests.server.conftest import Platform, serving
from tests.server.postgres import PostgresServer

T0 = dt.datetime(2025, 3, 1, 12, 0, tzinfo=dt.UTC)


def _service(name: str = "payments", owner: str = "team-checkout", repo: str = "") -> Service:
    return Service(
        name=name,
        owner=owner,
        description="Takes payments",
        repository=repo or f"https://git.example.com/repos/{name}.git",
        layers=(
            LayerRef("app", "service-python", "1.0.0"),
            LayerRef("road", "paved-road", "1.1.0"),
        ),
        created_at=T0,
    )


def _deployment(service: str = "payments", env: str = "prod") -> Deployment:
    return Deployment(
        service=service,
        environment=env,
        target="gitops",
        image="registry.example.com/payments:abc1234",
        source_commit="abc1234",
        source_time=T0 - dt.timedelta(hours=1),
        actor="Alice <alice@example.com>",
        started_at=T0,
        finished_at=T0 + dt.timedelta(minutes=1),
        outcome="succeeded",
        message="deployed",
        findings=({"rule": "PAVED-K8S-001", "severity": "warning"},),
        revision="def5678",
    )


@pytest.fixture(params=["sqlite", "remote-sqlite", "remote-postgresql"])
def catalog(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Catalog]:
    """The local store, and the platform over HTTP on each of its databases."""
    if request.param == "sqlite":
        local = SqliteCatalog(tmp_path / "catalog.db")
        yield local
        local.close()
        return
    with contextlib.ExitStack() as stack:
        if request.param == "remote-sqlite":
            url = f"sqlite:///{tmp_path / 'platform.db'}"
        else:
            server: PostgresServer = request.getfixturevalue("postgres")
            url = stack.enter_context(server.database())
        platform = stack.enter_context(serving(url))
        yield RemoteCatalog("http://testserver", platform.tokens["admin"], client=platform.client)


def test_register_get_list(catalog: Catalog) -> None:
    assert catalog.get("payments") is None
    stored, created = catalog.register(_service())
    assert created
    assert stored.name == "payments"
    assert stored.layers == _service().layers
    again, created = catalog.register(_service())
    assert not created
    assert again == stored
    with pytest.raises(ConflictError, match="already registered"):
        catalog.register(_service(repo="https://git.example.com/elsewhere.git"))
    catalog.register(_service("search", "team-search"))
    assert [s.name for s in catalog.list()] == ["payments", "search"]
    assert [s.name for s in catalog.list(owner="team-search")] == ["search"]
    assert [s.name for s in catalog.list(template="paved-road")] == ["payments", "search"]
    assert catalog.list(template="nothing") == []
    assert catalog.get("payments") == stored


def test_deployments_round_trip(catalog: Catalog) -> None:
    catalog.register(_service())
    first = catalog.record_deployment(_deployment())
    second = catalog.record_deployment(_deployment(env="dev"))
    assert first.id is not None
    assert second.id is not None
    assert first.id < second.id
    # The platform records the token's user (the admin, "root") as the actor, whatever is sent.
    actor = "root" if isinstance(catalog, RemoteCatalog) else _deployment().actor
    assert dataclasses.replace(first, id=None) == dataclasses.replace(_deployment(), actor=actor)
    assert [d.id for d in catalog.deployments()] == [first.id, second.id]
    assert catalog.deployments(environment="dev") == [second]
    assert catalog.deployments(service="other") == []


UPDATED = (LayerRef("road", "paved-road", "1.2.0"), LayerRef("app", "service-python", "1.0.1"))


def test_record_layers_replaces_them_and_a_dry_run_stores_nothing(catalog: Catalog) -> None:
    stored, _ = catalog.register(_service())
    ordered = (LayerRef("app", "service-python", "1.0.1"), LayerRef("road", "paved-road", "1.2.0"))
    dry = catalog.record_layers("payments", UPDATED, dry_run=True)
    assert dry == dataclasses.replace(stored, layers=ordered)
    assert catalog.get("payments") == stored
    assert catalog.record_layers("payments", UPDATED) == dry
    assert catalog.get("payments") == dry
    only_app = (LayerRef("app", "service-python", "1.1.0"),)
    catalog.record_layers("payments", only_app)
    assert catalog.get("payments") == dataclasses.replace(stored, layers=only_app)
    assert catalog.list(template="paved-road") == []
    with pytest.raises(InputError, match="service 'ghost' is not in the catalog"):
        catalog.record_layers("ghost", UPDATED)
    with pytest.raises(InputError, match="version 'latest' of layer 'app' is not a version"):
        catalog.record_layers("payments", (LayerRef("app", "service-python", "latest"),))
    assert catalog.get("payments") == dataclasses.replace(stored, layers=only_app)


def test_remote_errors_map_to_paved_errors(platform: Platform) -> None:
    anonymous = RemoteCatalog("http://testserver", None, client=platform.client)
    with pytest.raises(AuthError) as refused:
        anonymous.list()
    assert refused.value.exit_code == 4
    member = RemoteCatalog("http://testserver", platform.tokens["other"], client=platform.client)
    with pytest.raises(AuthError, match="team-checkout"):
        member.register(_service())


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        ({"restored": None, "drop": "restored"}, "has no restored"),
        ({"drop": "manifests"}, "has no manifests"),
        ({"drop": "id"}, "has no id"),
        ({"id": None}, "has no id"),
        ({"started_at": ""}, "has no started_at"),
        ({"rollback_of": "3"}, "rollback_of is not a number"),
        ({"restored": True}, "restored is not a number"),
        ({"image": 7}, "image is not text"),
        ({"break_glass": ["x"]}, "break_glass is not text"),
        ({"findings": "none"}, "findings is not a list"),
        ({"started_at": "yesterday"}, "Invalid isoformat string"),
    ],
)
def test_a_deployment_record_the_platform_answers_with_is_checked(
    change: dict[str, object], problem: str
) -> None:
    """What the platform answers is input: a record without ``restored`` would make a rollback
    restore what was rolled back from, so a record that is not whole is a remote error (exit
    5), never a record with the gaps filled in."""
    body = {**_deployment().to_json(manifests=True), "id": 1, "recorded_by": "root"}
    dropped = change.pop("drop", None)
    body.update(change)
    if isinstance(dropped, str):
        del body[dropped]

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"deployments": [body], "next_cursor": None})

    client = httpx.Client(base_url="http://p", transport=httpx.MockTransport(handler))
    remote = RemoteCatalog("http://p", "t", client=client)
    with pytest.raises(RemoteError, match=problem) as refused:
        remote.deployments()
    assert refused.value.exit_code == 5
    assert str(refused.value).startswith("the platform answered with a deployment record")


def test_a_whole_deployment_record_reads_back_as_it_was_sent() -> None:
    sent = dataclasses.replace(_deployment(), id=4, rollback_of=2, restored=1, manifests="x")
    assert Deployment.from_json({**sent.to_json(manifests=True), "recorded_by": "r"}) == sent


def test_idempotent_calls_retry_5xx_and_network_errors_but_records_do_not() -> None:
    calls: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request.method)
        if len(calls) == 1:
            raise httpx.ConnectError("refused")
        return httpx.Response(503, json={"error": "internal", "message": "down"})

    client = httpx.Client(base_url="http://p", transport=httpx.MockTransport(handler))
    remote = RemoteCatalog("http://p", "t", client=client, retries=2, sleep=lambda _: None)
    with pytest.raises(RemoteError, match="HTTP 503"):
        remote.list()
    assert calls == ["GET"] * 3
    calls.clear()
    calls.append("skip the connect error")
    with pytest.raises(RemoteError) as failed:
        remote.record_deployment(_deployment())
    assert calls == ["skip the connect error", "POST"]
    assert failed.value.exit_code == 5


def test_login_new_registration_and_archive_over_a_real_socket(
    paved, tmp_path: Path, db_url: str
) -> None:
    import uvicorn

    from paved.server import create_app, issue_token
    from tests.server.conftest import CONFIG

    app = create_app(db_url, config=CONFIG)
    token = issue_token(
        app.state.engine,
        user="alice",
        teams=["team-checkout"],
        admin=False,
        lifetime=dt.timedelta(days=1),
        now=dt.datetime.now(dt.UTC),
        actor="test",
    ).token
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        while not server.started:
            time.sleep(0.02)
        url = f"http://127.0.0.1:{port}"
        done = paved("login", url, input=token + "\n")
        assert done.exit_code == 0, done.stderr
        stored = tmp_path / "paved-home" / "config" / "platform.json"
        assert stored.stat().st_mode & 0o777 == 0o600
        assert token not in done.stderr + done.stdout
        remote = RemoteCatalog(url, token)
        remote.register(_service())
        remote.register(dataclasses.replace(_service(), name="orders"))
        remote.close()
        as_json = paved("services", "archive", "orders", "--json")
        assert as_json.exit_code == 0, as_json.stderr
        document = json.loads(as_json.stdout)
        schema = REPO_ROOT / "docs" / "schemas" / "services-archive.schema.json"
        jsonschema.validate(document, json.loads(schema.read_text(encoding="utf-8")))
        assert document == {
            "schema": "paved/services-archive/v1",
            "name": "orders",
            "owner": "team-checkout",
            "catalog": url,
        }
        listed = paved("services", "list")
        assert listed.exit_code == 0, listed.stderr
        assert listed.stdout.startswith("payments\tteam-checkout")
        archived = paved("services", "archive", "payments")
        assert archived.exit_code == 0, archived.stderr
        assert archived.stdout == "payments\n"
        assert paved("services", "list").stdout == ""
        assert paved("logout").exit_code == 0
        assert not stored.exists()
        local = paved("services", "archive", "payments")
        assert local.exit_code == 2
        assert "paved login URL" in local.stderr
    finally:
        server.should_exit = True
        thread.join(10)
        app.state.engine.dispose()


def test_record_layers_over_a_real_socket(db_url: str) -> None:
    """The platform's team rule, archive and dry run, through the client, over loopback."""
    import uvicorn

    from paved.server import create_app, issue_token
    from tests.server.conftest import CONFIG

    app = create_app(db_url, config=CONFIG)

    def token(user: str, team: str) -> str:
        return issue_token(
            app.state.engine,
            user=user,
            teams=[team],
            admin=False,
            lifetime=dt.timedelta(days=1),
            now=dt.datetime.now(dt.UTC),
            actor="test",
        ).token

    alice, bob = token("alice", "team-checkout"), token("bob", "team-search")
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    owner = other = None
    try:
        while not server.started:
            time.sleep(0.02)
        url = f"http://127.0.0.1:{port}"
        owner, other = RemoteCatalog(url, alice), RemoteCatalog(url, bob)
        stored, created = owner.register(_service())
        assert created
        with pytest.raises(AuthError, match="belongs to team team-checkout") as refused:
            other.record_layers("payments", UPDATED)
        assert refused.value.exit_code == 4
        dry = owner.record_layers("payments", UPDATED, dry_run=True)
        assert [ref.version for ref in dry.layers] == ["1.0.1", "1.2.0"]
        assert owner.get("payments") == stored
        done = owner.record_layers("payments", UPDATED)
        assert done == dry
        assert other.get("payments") == done
        with pytest.raises(InputError, match="service 'ghost' is not in the catalog"):
            owner.record_layers("ghost", UPDATED)
        owner.archive("payments")
        with pytest.raises(ConflictError) as archived:
            owner.record_layers("payments", stored.layers)
        assert str(archived.value) == (
            "service 'payments' is archived: its layers are kept as they were; "
            "the update stays committed in its repository"
        )
        assert archived.value.exit_code == 6
    finally:
        for client in (owner, other):
            if client is not None:
                client.close()
        server.should_exit = True
        thread.join(10)
        app.state.engine.dispose()


# -- roll-outs ---------------------------------------------------------------------------

ROLLOUT = "road-1-2-0-20250301-1200"


def test_only_the_platform_s_catalog_records_rollouts(platform: Platform, tmp_path: Path) -> None:
    from paved.catalog import rollout_catalog

    local = SqliteCatalog(tmp_path / "catalog.db")
    assert rollout_catalog(local) is None
    local.close()
    remote = RemoteCatalog("http://testserver", platform.tokens["owner"], client=platform.client)
    assert rollout_catalog(remote) is remote


def test_rollouts_over_a_real_socket(db_url: str) -> None:
    """Start, record, list, finish and time to patch, through the client, over loopback."""
    import uvicorn

    from paved.server import create_app, issue_token
    from tests.server.conftest import CONFIG, Clock

    clock = Clock()
    app = create_app(db_url, clock, CONFIG)

    def token(user: str, team: str) -> str:
        return issue_token(
            app.state.engine,
            user=user,
            teams=[team],
            admin=False,
            lifetime=dt.timedelta(days=1),
            now=clock(),
            actor="test",
        ).token

    alice, bob = token("alice", "team-checkout"), token("bob", "team-search")
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    owner = other = None
    try:
        while not server.started:
            time.sleep(0.02)
        url = f"http://127.0.0.1:{port}"
        owner, other = RemoteCatalog(url, alice), RemoteCatalog(url, bob)
        owner.register(_service())
        other.register(_service("search", "team-search"))
        release = {"layer": "road", "scaffold": "paved-road", "version": "1.2.0"}
        started, created = owner.start_rollout(ROLLOUT, **release, mode="branch")
        assert created
        assert started == Rollout(
            id=ROLLOUT,
            layer="road",
            scaffold="paved-road",
            version="1.2.0",
            mode="branch",
            started_by="alice",
            started_at=T0,
            finished_at=None,
            counts=dict.fromkeys(ROLLOUT_STATUSES, 0),
            services=(),
        )
        assert other.start_rollout(ROLLOUT, **release, mode="branch") == (started, False)
        with pytest.raises(ConflictError, match="exists already") as taken:
            owner.start_rollout(ROLLOUT, **release, mode="direct")
        assert taken.value.exit_code == 6
        assert str(taken.value).endswith("; choose another rollout id")

        clock.now = T0 + dt.timedelta(minutes=5)
        ready = owner.record_rollout_service(
            ROLLOUT,
            "payments",
            status="ready",
            detail="pushed\n\tpaved/update-road-1.2.0\x1b[31m " + "x" * 600,
            branch="paved/update-road-1.2.0",
        )
        assert ready.status == "ready"
        assert ready.branch == "paved/update-road-1.2.0"
        assert ready.updated_at == clock.now
        assert ready.detail.startswith("pushed paved/update-road-1.2.0\\u001b[31m xxx")
        assert len(ready.detail) == 500
        assert ready.detail.endswith("x...")
        with pytest.raises(AuthError, match="belongs to team team-checkout") as refused:
            other.record_rollout_service(ROLLOUT, "payments", status="merged")
        assert refused.value.exit_code == 4
        with pytest.raises(InputError, match="service 'ghost' is not in the catalog"):
            owner.record_rollout_service(ROLLOUT, "ghost", status="pending")
        other.record_rollout_service(ROLLOUT, "search", status="up-to-date")

        (listed,) = owner.rollouts(layer="road")
        assert listed.services is None
        assert listed.counts == {**dict.fromkeys(ROLLOUT_STATUSES, 0), "ready": 1, "up-to-date": 1}
        assert owner.rollouts(layer="app") == []
        shown = other.rollout(ROLLOUT)
        assert shown.services == (
            ready,
            RolloutService(ROLLOUT, "search", "up-to-date", "", None, clock.now),
        )
        with pytest.raises(InputError, match="is not in the catalog"):
            owner.rollout("road-0-0-0-00000000")

        with pytest.raises(AuthError, match="started by alice"):
            other.finish_rollout(ROLLOUT)
        clock.now = T0 + dt.timedelta(hours=1)
        finished = owner.finish_rollout(ROLLOUT)
        assert finished.finished_at == clock.now
        assert finished.services == shown.services
        assert owner.finish_rollout(ROLLOUT) == finished
        with pytest.raises(ConflictError, match="has finished") as late:
            owner.record_rollout_service(ROLLOUT, "payments", status="merged")
        assert late.value.exit_code == 6

        owner.record_layers("payments", (LayerRef("road", "paved-road", "1.2.0"),))
        adoption = {(v.scaffold, v.version): v for v in owner.patching("road")}
        assert adoption[("paved-road", "1.2.0")] == VersionAdoption(
            scaffold="paved-road",
            version="1.2.0",
            released_at=T0,  # the roll-out's start
            services=1,
            share=0.5,
            moved=1,
            time_to_patch_median_seconds=3600.0,
            time_to_patch_p90_seconds=3600.0,
        )
        assert adoption[("paved-road", "1.1.0")].services == 1
    finally:
        for client in (owner, other):
            if client is not None:
                client.close()
        server.should_exit = True
        thread.join(10)
        app.state.engine.dispose()


def _unused(request: httpx.Request) -> httpx.Response:
    raise AssertionError(f"no request was to be sent: {request.method} {request.url}")


@pytest.mark.parametrize(
    "rollout_id", ["short", "../../v1/audit-x", "Road-1-2-0-20250301", "a" * 65]
)
def test_a_rollout_id_is_checked_before_it_goes_into_a_url(rollout_id: str) -> None:
    client = httpx.Client(base_url="http://p", transport=httpx.MockTransport(_unused))
    remote = RemoteCatalog("http://p", "t", client=client)
    with pytest.raises(InputError, match="is not 16 to 64 characters"):
        remote.rollout(rollout_id)
    with pytest.raises(InputError, match="is not 16 to 64 characters"):
        remote.record_rollout_service(rollout_id, "payments", status="ready")
    with pytest.raises(InputError, match="is not a version"):
        remote.start_rollout(
            ROLLOUT, layer="road", scaffold="paved-road", version="x", mode="direct"
        )


def _rollout_json() -> dict[str, object]:
    result = RolloutService(ROLLOUT, "payments", "ready", "", "paved/x", T0)
    return Rollout(
        ROLLOUT, "road", "paved-road", "1.2.0", "branch", "alice", T0, None,
        dict.fromkeys(ROLLOUT_STATUSES, 0), (result,),
    ).to_json()  # fmt: skip


def test_a_whole_rollout_record_reads_back_as_it_was_sent() -> None:
    data = _rollout_json()
    assert Rollout.from_json(data).to_json() == data
    listed = {k: v for k, v in data.items() if k != "services"}
    assert Rollout.from_json(listed).services is None


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        ({"drop": "counts"}, "has no counts"),
        ({"drop": "started_by"}, "has no started_by"),
        ({"mode": "force"}, "mode 'force' is not one of branch, direct"),
        ({"counts": {"ready": "1"}}, "counts is not a number for each status"),
        ({"counts": {"done": 1}}, "counts is not a number for each status"),
        ({"finished_at": 7}, "finished_at is not text"),
        ({"started_at": "2025-03-01T12:00:00"}, "started_at has no time zone"),
        ({"services": {}}, "services is not a list"),
        ({"services": [{"service": "x"}]}, "rollout result has no rollout"),
        ({"services": [{**_rollout_json()["services"][0], "status": "ok"}]}, "status 'ok'"),  # type: ignore[index]
    ],
)
def test_a_rollout_record_the_platform_answers_with_is_checked(
    change: dict[str, object], problem: str
) -> None:
    body = _rollout_json()
    dropped = change.pop("drop", None)
    body.update(change)
    if isinstance(dropped, str):
        del body[dropped]

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json=body)

    client = httpx.Client(base_url="http://p", transport=httpx.MockTransport(handler))
    remote = RemoteCatalog("http://p", "t", client=client)
    with pytest.raises(RemoteError, match=problem) as refused:
        remote.rollout(ROLLOUT)
    assert refused.value.exit_code == 5
    assert str(refused.value).startswith("the platform answered with a rollout record")


def test_the_catalog_entry_is_kept_with_the_registration_and_the_layers(catalog: Catalog) -> None:
    from paved.models import CatalogEntry

    entry = CatalogEntry("experimental", "checkout", "openapi.json", ("sqs-send", "s3-read"))
    stored, _ = catalog.register(dataclasses.replace(_service(), catalog=entry))
    assert stored.catalog == entry
    assert catalog.get("payments") == stored
    road = (LayerRef("road", "paved-road", "1.2.0"),)
    kept = catalog.record_layers("payments", road)  # no entry: the stored one is kept
    assert kept.catalog == entry
    moved = CatalogEntry("production")
    dry = catalog.record_layers("payments", road, dry_run=True, catalog=moved)
    assert dry.catalog == moved
    assert catalog.get("payments").catalog == entry  # type: ignore[union-attr]
    assert catalog.record_layers("payments", road, catalog=moved).catalog == moved
    assert catalog.get("payments").catalog == moved  # type: ignore[union-attr]
    other, _ = catalog.register(_service("orders"))  # without an entry: the default
    assert other.catalog == CatalogEntry()
    assert catalog.get("orders").catalog == CatalogEntry("production", "", "", ())  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("call", "answer", "problem"),
    [
        ("get", httpx.Response(200, content=b""), "not JSON"),
        ("get", httpx.Response(200, content=b"<html>proxy</html>"), "not JSON"),
        ("get", httpx.Response(200, content=b"\xff\xfe"), "not JSON"),
        ("get", httpx.Response(200, json=["payments"]), "service record paved cannot use"),
        ("get", httpx.Response(200, json={"name": "payments"}), "service record paved cannot use"),
        ("list", httpx.Response(200, json={"services": {}}), "page of services"),
        ("list", httpx.Response(200, json={"services": [], "next_cursor": 3}), "page of services"),
        ("deployments", httpx.Response(200, json=[]), "page of deployments"),
        ("rollouts", httpx.Response(200, content=b"{"), "not JSON"),
        ("settings", httpx.Response(200, json={"settings": []}), "settings paved cannot use"),
        ("patching", httpx.Response(200, json={"versions": None}), "version adoption"),
    ],
)
def test_an_answer_that_is_not_the_documented_shape_is_a_remote_error(
    call: str, answer: httpx.Response, problem: str
) -> None:
    """What the platform answers is input: an empty body, a proxy's HTML page or another shape
    is one line and exit 5, never a traceback."""

    def handler(request: httpx.Request) -> httpx.Response:
        return answer

    client = httpx.Client(base_url="http://p", transport=httpx.MockTransport(handler))
    remote = RemoteCatalog("http://p", "t", client=client)
    calls: dict[str, Callable[[], object]] = {
        "get": lambda: remote.get("payments"),
        "list": remote.list,
        "deployments": remote.deployments,
        "rollouts": remote.rollouts,
        "settings": remote.settings,
        "patching": lambda: remote.patching("road"),
    }
    with pytest.raises(RemoteError, match=problem) as refused:
        calls[call]()
    assert refused.value.exit_code == 5
