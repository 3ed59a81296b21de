"""Teams on the platform, registration by known teams only, and the Backstage catalog."""

from __future__ import annotations

import datetime as dt
import re
import warnings
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.server.conftest import CONFIG, NOW, Clock, Platform, service_body

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

#: Backstage's rule for metadata.name, as its catalog validates it.
ENTITY_NAME = re.compile(r"^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$")


def _team_names(platform: Platform, who: str = "owner") -> list[str]:
    got = platform.client.get("/v1/teams", headers=platform.auth(who))
    assert got.status_code == 200
    return [team["name"] for team in got.json()["teams"]]


def test_a_tokens_teams_are_known_and_an_admin_creates_more(platform: Platform) -> None:
    assert _team_names(platform) == ["team-checkout", "team-search"]
    body = {"name": "team-data", "display_name": "Data", "description": "Pipelines"}
    made = platform.client.post("/v1/teams", json=body, headers=platform.auth("admin"))
    assert made.status_code == 201
    assert made.json() == {**body, "created_by": "root", "created_at": "2025-03-01T12:00:00Z"}
    again = platform.client.post("/v1/teams", json=body, headers=platform.auth("admin"))
    assert (again.status_code, again.json()) == (200, made.json())
    other = platform.client.post(
        "/v1/teams", json={**body, "display_name": "Else"}, headers=platform.auth("admin")
    )
    assert other.status_code == 409
    assert _team_names(platform, "other") == ["team-checkout", "team-data", "team-search"]
    listed = platform.client.get("/v1/teams", headers=platform.auth("owner")).json()["teams"]
    assert listed[0]["created_by"] == "token"


def test_only_an_admin_creates_a_team_and_every_attempt_is_audited(platform: Platform) -> None:
    body = {"name": "team-data"}
    member = platform.client.post("/v1/teams", json=body, headers=platform.auth("owner"))
    assert member.status_code == 403
    anonymous = platform.client.post("/v1/teams", json=body)
    assert anonymous.status_code == 401
    bad = platform.client.post("/v1/teams", json={"name": "Team X"}, headers=platform.auth("admin"))
    assert bad.status_code == 422
    assert platform.client.get("/v1/teams").status_code == 401
    assert "team-data" not in _team_names(platform)
    platform.client.post("/v1/teams", json=body, headers=platform.auth("admin"))
    events = platform.client.get("/v1/audit", headers=platform.auth("admin")).json()["events"]
    api = [(e["actor"], e["action"], e["target"], e["outcome"]) for e in events]
    assert [e for e in api if e[1] == "team.create"] == [
        ("alice", "team.create", "team team-data", "forbidden"),
        ("anonymous", "team.create", "team team-data", "unauthenticated"),
        ("root", "team.create", "teams", "invalid"),
        ("root", "team.create", "team team-data", "created"),
    ]


def test_registration_refuses_an_owner_the_platform_does_not_know(platform: Platform) -> None:
    admin = platform.auth("admin")
    body = service_body(owner="team-unknown")
    for dry_run in (True, False):
        got = platform.client.post(
            "/v1/services", json=body, params={"dry_run": dry_run}, headers=admin
        )
        assert got.status_code == 422
        assert got.json()["error"] == "invalid"
        assert "team 'team-unknown' is not known to the platform" in got.json()["message"]
    listed = platform.client.get("/v1/services", headers=admin).json()["services"]
    assert listed == []
    events = platform.client.get("/v1/audit", headers=admin).json()["events"]
    assert events[-1]["action"] == "service.register"
    assert events[-1]["outcome"] == "invalid"
    platform.client.post("/v1/teams", json={"name": "team-unknown"}, headers=admin)
    assert platform.client.post("/v1/services", json=body, headers=admin).status_code == 201


def test_a_database_before_teams_moves_forward_knowing_its_teams(db_url: str) -> None:
    import sqlalchemy as sa
    from alembic import command
    from alembic.config import Config

    from paved.server import connect, metadata, migrate, writer

    services, tokens, teams = (metadata.tables[n] for n in ("services", "tokens", "teams"))
    engine = connect(db_url)
    config = Config()
    config.set_main_option("script_location", "paved.server:migrations")
    with writer(engine).begin() as conn:
        config.attributes["connection"] = conn
        command.upgrade(config, "0004")
        conn.execute(
            services.insert(),
            [
                {"name": "abc", "owner": "team-owner", "repository": "r", "created_at": NOW},
                {"name": "abd", "owner": "Not A Team", "repository": "r", "created_at": NOW},
            ],
        )
        token = {
            "user": "u",
            "admin": False,
            "created_at": NOW,
            "expires_at": NOW,
            "revoked_at": NOW,
        }
        conn.execute(
            tokens.insert(),
            [
                {**token, "id": "1", "hash": "a", "teams": ["team-b", "team-a"]},
                {**token, "id": "2", "hash": "b", "teams": ["team-a", "../x"]},
                {**token, "id": "3", "hash": "c", "teams": []},
            ],
        )
    migrate(engine)
    with engine.connect() as conn:
        rows = conn.execute(sa.select(teams.c.name, teams.c.created_by).order_by(teams.c.name))
        assert [tuple(row) for row in rows] == [
            ("team-a", "migration"),
            ("team-b", "migration"),
            ("team-owner", "migration"),
        ]
    engine.dispose()


def _entities(text: str) -> list[dict[str, Any]]:
    documents = [doc for doc in yaml.safe_load_all(text) if doc is not None]
    for entity in documents:
        assert entity["apiVersion"] == "backstage.io/v1alpha1"
        assert entity["kind"] in ("Group", "Component")
        name = entity["metadata"]["name"]
        assert isinstance(name, str)
        assert 1 <= len(name) <= 63
        assert ENTITY_NAME.match(name), name
        for key, value in entity["metadata"].get("annotations", {}).items():
            assert isinstance(key, str)
            assert isinstance(value, str)
        spec = entity["spec"]
        if entity["kind"] == "Group":
            assert spec == {"type": "team", "children": []}
        else:
            assert spec["type"] == "service"
            assert spec["lifecycle"] in ("production", "deprecated")
            owner = re.fullmatch(r"group:default/(.+)", spec["owner"])
            assert owner is not None
            assert ENTITY_NAME.match(owner.group(1))
    return documents


def test_the_backstage_catalog_is_the_organisation_as_entities(platform: Platform) -> None:
    admin = platform.auth("admin")
    made = platform.client.post(
        "/v1/teams",
        json={"name": "team-data", "display_name": 'Data: "pipes" #1', "description": "a: b"},
        headers=admin,
    )
    assert made.status_code == 201
    hostile = "Takes payments --- !!python/object:os.system {} # &a *a"
    bodies = [
        service_body(description=hostile),
        service_body("search", "team-search", repository="git@git.example.com:search.git"),
    ]
    bodies[1]["layers"] = []
    for body in bodies:
        registered = platform.client.post("/v1/services", json=body, headers=admin)
        assert registered.status_code == 201, registered.text
    assert platform.client.post("/v1/services/search/archive", headers=admin).is_success
    got = platform.client.get("/v1/backstage/catalog.yaml", headers=platform.auth("other"))
    assert got.status_code == 200
    assert got.headers["content-type"].startswith("application/yaml")
    entities = _entities(got.text)
    assert [(e["kind"], e["metadata"]["name"]) for e in entities] == [
        ("Group", "team-checkout"),
        ("Group", "team-data"),
        ("Group", "team-search"),
        ("Component", "payments"),
        ("Component", "search"),
    ]
    assert entities[1]["metadata"]["title"] == 'Data: "pipes" #1'
    assert entities[1]["metadata"]["description"] == "a: b"
    payments, search = entities[3], entities[4]
    assert payments["metadata"] == {
        "name": "payments",
        "description": hostile,
        "annotations": {
            "backstage.io/source-location": "url:https://git.example.com/repos/payments/",
            "paved.dev/road-template": "paved-road",
            "paved.dev/road-template-version": "1.1.0",
        },
    }
    assert payments["spec"] == {
        "type": "service",
        "lifecycle": "production",
        "owner": "group:default/team-checkout",
    }
    assert "annotations" not in search["metadata"]  # not an http(s) URL, no road layer
    assert search["spec"]["lifecycle"] == "deprecated"
    assert search["spec"]["owner"] == "group:default/team-search"


def test_the_backstage_catalog_leaves_out_names_backstage_refuses(platform: Platform) -> None:
    from paved.server import metadata, writer

    services, teams = metadata.tables["services"], metadata.tables["teams"]
    engine = platform.client.app.state.engine  # type: ignore[attr-defined]
    row = {"repository": "javascript:alert(1)", "created_at": NOW}
    text = "line\n--- !!python/object/apply:os.system ['true']\u2028\x85end"
    with writer(engine).begin() as conn:
        conn.execute(
            teams.insert(),
            [
                {"name": name, "created_by": "db", "created_at": NOW, "description": text}
                for name in ("-bad", "bad_", "ok.team_1")
            ],
        )
        conn.execute(
            services.insert(),
            [
                {**row, "name": "bad name", "owner": "team-checkout"},
                {**row, "name": "orphan", "owner": "team-gone"},
                {**row, "name": "owned-badly", "owner": "bad owner"},
                {**row, "name": "fine", "owner": "ok.team_1"},
                {**row, "name": "newline\n", "owner": "ok.team_1"},
                {**row, "name": "owned-newline", "owner": "team-search\n"},
            ],
        )
    got = platform.client.get("/v1/backstage/catalog.yaml", headers=platform.auth("owner"))
    entities = _entities(got.text)
    assert [(e["kind"], e["metadata"]["name"]) for e in entities] == [
        ("Group", "ok.team_1"),
        ("Group", "team-checkout"),
        ("Group", "team-gone"),  # an owner the teams table lacks still has its Group
        ("Group", "team-search"),
        ("Component", "fine"),
        ("Component", "orphan"),
    ]
    assert "annotations" not in entities[-1]["metadata"]
    assert entities[0]["metadata"]["description"] == text


def test_the_backstage_catalog_reads_with_a_platform_or_reader_token(tmp_path: Path) -> None:
    import dataclasses

    from paved.server import create_app, issue_token

    reader = "backstage-reader-secret"
    config = dataclasses.replace(CONFIG, backstage_token=reader)
    app = create_app(f"sqlite:///{tmp_path / 'platform.db'}", Clock(), config)
    token = issue_token(
        app.state.engine,
        user="alice",
        teams=["team-checkout"],
        admin=False,
        lifetime=dt.timedelta(days=1),
        now=NOW,
        actor="test",
    ).token
    try:
        with TestClient(app) as client:
            path = "/v1/backstage/catalog.yaml"
            for good in (reader, token):
                got = client.get(path, headers={"Authorization": f"Bearer {good}"})
                assert got.status_code == 200
                assert _entities(got.text)[0]["metadata"]["name"] == "team-checkout"
            for bad in ("backstage-reader-secreT", "", reader[:-1]):
                refused = client.get(path, headers={"Authorization": f"Bearer {bad}"})
                assert refused.status_code == 401
            assert client.get(path).status_code == 401
            # The reader token reads the catalog and nothing else.
            whoami = client.get("/v1/whoami", headers={"Authorization": f"Bearer {reader}"})
            assert whoami.status_code == 401
            # Never in the URL, where proxies and Backstage's own logs would keep it.
            assert client.get(path, params={"token": reader}).status_code == 400
    finally:
        app.state.engine.dispose()


@pytest.mark.parametrize("token", [None, ""])
def test_without_a_reader_token_configured_none_is_accepted(
    platform: Platform, token: str | None
) -> None:
    headers = {} if token is None else {"Authorization": f"Bearer {token}"}
    assert platform.client.get("/v1/backstage/catalog.yaml", headers=headers).status_code == 401


def test_entity_names_longer_than_backstage_allows_are_left_out() -> None:
    from paved.server import _schemas as s
    from paved.server.routes.backstage import catalog_entities

    def team(name: str) -> s.TeamOut:
        return s.TeamOut(name=name, display_name="", description="", created_by="t", created_at=NOW)

    kept = catalog_entities([team("a" * 63), team("b" * 64), team("c")], [])
    assert [e["metadata"]["name"] for e in kept] == ["a" * 63, "c"]


@pytest.mark.parametrize("value", ["short", "x" * 31, "a b" * 20, "\u00e9" * 40])
def test_a_malformed_backstage_reader_token_stops_serve_in_one_line(
    paved: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, value: str
) -> None:
    monkeypatch.setenv("PAVED_PLATFORM_BACKSTAGE_TOKEN", value)
    db = f"sqlite:///{tmp_path / 'platform.db'}"
    got = paved("platform", "serve", "--port", "8420", "--db", db)
    assert got.exit_code == 2
    assert got.stderr.startswith("error: PAVED_PLATFORM_BACKSTAGE_TOKEN must be 32 to 512")
    assert value not in got.stderr
    assert got.stdout == ""
    assert not (tmp_path / "platform.db").exists()  # stopped before the database is opened


def test_the_remote_catalog_reads_the_platform_s_teams(platform: Platform) -> None:
    from paved.catalog.remote import RemoteCatalog

    remote = RemoteCatalog("http://testserver", platform.tokens["other"], client=platform.client)
    assert remote.teams() == ("team-checkout", "team-search")


@pytest.mark.parametrize(
    ("status", "body", "expected"),
    [
        (404, {"error": "not_found", "message": "Not Found"}, None),
        (200, {"teams": [{"name": "team-a"}, {"name": "Bad Name"}, {"name": 3}]}, ("team-a",)),
        (200, {"teams": [{"name": "team-b"}, {"name": "team-a"}]}, ("team-a", "team-b")),
        (200, {"teams": "team-a"}, "error"),
        (200, {"groups": []}, "error"),
        (200, [1, 2], "error"),
    ],
)
def test_the_remote_catalog_treats_the_teams_answer_as_input(
    status: int, body: object, expected: object
) -> None:
    import httpx

    from paved.catalog.remote import RemoteCatalog
    from paved.errors import RemoteError

    def answer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(status, json=body)

    client = httpx.Client(transport=httpx.MockTransport(answer), base_url="http://p")
    remote = RemoteCatalog("http://p", "t", client=client)
    if expected == "error":
        with pytest.raises(RemoteError, match="answered the list of teams"):
            remote.teams()
    else:
        assert remote.teams() == expected


def _schema(name: str) -> dict[str, Any]:
    import json

    from tests.helpers import REPO_ROOT

    text = (REPO_ROOT / "docs" / "schemas" / f"{name}.schema.json").read_text(encoding="utf-8")
    loaded: dict[str, Any] = json.loads(text)
    return loaded


def test_platform_team_create_and_list_on_the_server_s_host(paved: Any, tmp_path: Path) -> None:
    import json

    import jsonschema

    db = f"sqlite:///{tmp_path / 'platform.db'}"
    assert paved("platform", "team", "list", "--db", db).exit_code == 0
    made = paved("platform", "team", "create", "team-data", "--display-name", "Data", "--db", db)
    assert (made.exit_code, made.stdout) == (0, "team team-data created\n")
    again = paved(
        "platform", "team", "create", "team-data", "--display-name", "Data", "--db", db, "--json"
    )
    assert again.exit_code == 0
    document = json.loads(again.stdout)
    jsonschema.validate(document, _schema("platform-team"))
    assert (document["name"], document["display_name"], document["created"]) == (
        "team-data",
        "Data",
        False,
    )
    other = paved("platform", "team", "create", "team-data", "--db", db)
    assert other.exit_code == 6
    assert other.stderr.startswith("error: team 'team-data' exists with another display name")
    token = paved("platform", "token", "create", "--user", "a", "--team", "team-ops", "--db", db)
    assert token.exit_code == 0
    listed = paved("platform", "team", "list", "--db", db, "--json")
    teams = json.loads(listed.stdout)
    jsonschema.validate(teams, _schema("platform-teams"))
    assert [(t["name"], t["created_by"]) for t in teams["teams"]] == [
        ("team-data", document["created_by"]),
        ("team-ops", "token"),
    ]
    assert document["created_by"].startswith("local:")
    table = paved("platform", "team", "list", "--db", db)
    assert "team-data" in table.stdout
    assert "team-ops" in table.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["Team-X"], "team name"),
        (["team-x", "--display-name", "a\x1bb"], "--display-name"),
        (["team-x", "--description", "x" * 501], "--description"),
    ],
)
def test_platform_team_create_refuses_bad_input_in_one_line(
    paved: Any, tmp_path: Path, args: list[str], message: str
) -> None:
    db = f"sqlite:///{tmp_path / 'platform.db'}"
    got = paved("platform", "team", "create", *args, "--db", db)
    assert got.exit_code == 2
    assert got.stderr.startswith("error: ")
    assert message in got.stderr
    assert len(got.stderr.strip().splitlines()) == 1
    listed = paved("platform", "team", "list", "--db", db, "--json")
    assert '"teams": []' in listed.stdout


def test_the_backstage_catalog_never_serves_credentials_nor_names_equal_but_for_case() -> None:
    from paved.models import LayerRef
    from paved.server import _schemas as s
    from paved.server.routes.backstage import _source_location, catalog_entities

    for repository in (
        "https://user:secret@git.example.com/a/payments.git",
        "https://token@git.example.com/a/payments.git",
        "https://git.example.com/a/payments.git?ref=x",
        "https://git.example.com/a/payments.git#frag",
        "https://git.example.com/a/../b/payments.git",
        "https://git.example.com:notaport/a.git",
        "file:///srv/git/payments.git",
    ):
        assert _source_location(repository) is None, repository
    assert _source_location("https://git.example.com/a/payments") == (
        "url:https://git.example.com/a/payments/"
    )

    def service(name: str) -> s.ServiceOut:
        return s.ServiceOut(
            name=name, owner="team-a", description="", repository="", created_at=NOW,
            archived_at=None,
            layers=[s.LayerIn.model_validate(LayerRef("road", "paved-road", "0.3.0").to_json())],
        )  # fmt: skip

    kept = catalog_entities([], [service("svc"), service("Svc")])
    assert [(e["kind"], e["metadata"]["name"]) for e in kept] == [
        ("Group", "team-a"),
        ("Component", "Svc"),
    ]
