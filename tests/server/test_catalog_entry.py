"""Each service's catalog entry (lifecycle, system, API document, resources): taken with the
registration and with the layers, refused when it breaks the road's rules, kept across the
migration, and served by the organisation URL as the service's own catalog-info.yaml does."""

from __future__ import annotations

from typing import Any

import pytest
import yaml

from tests.server.conftest import NOW, Platform, service_body

ENTRY = {
    "lifecycle": "experimental",
    "system": "checkout",
    "api_definition": "api/openapi.yaml",
    "resources": ["sqs-send", "s3-read", "dynamodb-rw", "secret-read"],
}


def _organisation(platform: Platform) -> dict[tuple[str, str], dict[str, Any]]:
    got = platform.client.get("/v1/backstage/catalog.yaml", headers=platform.auth("owner"))
    assert got.status_code == 200, got.text
    return {(e["kind"], e["metadata"]["name"]): e for e in yaml.safe_load_all(got.text)}


def _register(platform: Platform, body: dict[str, Any]) -> None:
    got = platform.client.post("/v1/services", json=body, headers=platform.auth("admin"))
    assert got.status_code == 201, got.text


def test_the_organisation_url_serves_each_entity_of_the_entry(platform: Platform) -> None:
    _register(platform, service_body(catalog=ENTRY))
    github = service_body("orders", repository="https://github.com/acme/orders.git")
    _register(platform, {**github, "catalog": {**ENTRY, "system": "", "resources": []}})
    entities = _organisation(platform)
    assert list(entities) == [
        ("Group", "team-checkout"),
        ("Group", "team-search"),
        ("Component", "orders"),
        ("Component", "payments"),
        ("API", "orders-api"),
        ("API", "payments-api"),
        ("Resource", "payments-sqs"),
        ("Resource", "payments-s3"),
        ("Resource", "payments-dynamodb"),
        ("Resource", "payments-secret"),
    ]
    owner = "group:default/team-checkout"
    assert entities["Component", "payments"]["spec"] == {
        "type": "service",
        "lifecycle": "experimental",
        "owner": owner,
        "system": "checkout",
        "providesApis": ["payments-api"],
        "dependsOn": [
            "resource:payments-sqs",
            "resource:payments-s3",
            "resource:payments-dynamodb",
            "resource:payments-secret",
        ],
    }
    assert entities["Component", "orders"]["spec"] == {
        "type": "service",
        "lifecycle": "experimental",
        "owner": owner,
        "providesApis": ["orders-api"],
    }
    assert entities["API", "payments-api"] == {
        "apiVersion": "backstage.io/v1alpha1",
        "kind": "API",
        "metadata": {
            "name": "payments-api",
            "description": "The HTTP API of payments (its OpenAPI document, api/openapi.yaml).",
        },
        "spec": {
            "type": "openapi",
            "lifecycle": "experimental",
            "owner": owner,
            "system": "checkout",
            "definition": {
                "$text": "https://git.example.com/repos/payments/-/blob/main/api/openapi.yaml"
            },
        },
    }
    assert entities["API", "orders-api"]["spec"]["definition"] == {
        "$text": "https://github.com/acme/orders/blob/main/api/openapi.yaml"
    }
    assert entities["Resource", "payments-dynamodb"] == {
        "apiVersion": "backstage.io/v1alpha1",
        "kind": "Resource",
        "metadata": {
            "name": "payments-dynamodb",
            "description": "The DynamoDB table payments reads and writes.",
        },
        "spec": {"type": "dynamodb-table", "owner": owner, "system": "checkout"},
    }


def test_an_archived_service_and_its_api_are_deprecated(platform: Platform) -> None:
    _register(platform, service_body(catalog={**ENTRY, "lifecycle": "production"}))
    archived = platform.client.post("/v1/services/payments/archive", headers=platform.auth("admin"))
    assert archived.is_success
    entities = _organisation(platform)
    assert entities["Component", "payments"]["spec"]["lifecycle"] == "deprecated"
    assert entities["API", "payments-api"]["spec"]["lifecycle"] == "deprecated"


def test_no_api_where_backstage_cannot_read_the_repository(platform: Platform) -> None:
    body = service_body(repository="git@git.example.com:repos/payments.git", catalog=ENTRY)
    _register(platform, body)
    entities = _organisation(platform)
    assert ("API", "payments-api") not in entities
    assert "providesApis" not in entities["Component", "payments"]["spec"]
    assert ("Resource", "payments-s3") in entities  # resources do not need the repository


def test_an_older_client_registers_and_records_layers_without_the_entry(
    platform: Platform,
) -> None:
    _register(platform, service_body())  # no catalog: the entry from before it existed
    default = {
        "lifecycle": "production",
        "system": "",
        "api_definition": "",
        "resources": [],
        "data_resources": [],
    }
    admin = platform.auth("admin")
    assert platform.client.get("/v1/services/payments", headers=admin).json()["catalog"] == default
    assert _organisation(platform)["Component", "payments"]["spec"] == {
        "type": "service",
        "lifecycle": "production",
        "owner": "group:default/team-checkout",
    }
    layers = {"layers": [{"layer": "road", "scaffold": "paved-road", "version": "1.1.0"}]}
    url = "/v1/services/payments/layers"
    entry = {**ENTRY, "resources": ["s3-read"], "data_resources": []}
    got = platform.client.put(url, json={**layers, "catalog": entry}, headers=admin)
    assert got.status_code == 200, got.text
    assert got.json()["catalog"] == entry
    got = platform.client.put(url, json=layers, headers=admin)  # an older client: kept
    assert got.json()["catalog"] == entry
    assert platform.client.get("/v1/services/payments", headers=admin).json()["catalog"] == entry


@pytest.mark.parametrize(
    "bad",
    [
        {"lifecycle": "retired"},
        {"system": "-checkout"},
        {"system": "x" * 64},
        {"system": "checkout\n"},  # Python's $ matches before a final newline
        {"api_definition": "../openapi.json"},
        {"api_definition": "/openapi.json"},
        {"api_definition": "openapi.txt"},
        {"api_definition": "a/./openapi.json"},
        {"api_definition": "openapi.json\n"},
        {"resources": ["s3-write"]},
        {"resources": ["s3-read", "s3-read"]},
        {"owner": "team-x"},
    ],
)
def test_a_bad_entry_is_refused_and_nothing_is_stored(
    platform: Platform, bad: dict[str, Any]
) -> None:
    admin = platform.auth("admin")
    got = platform.client.post("/v1/services", json=service_body(catalog=bad), headers=admin)
    assert got.status_code == 422, got.text
    assert platform.client.get("/v1/services/payments", headers=admin).status_code == 404
    _register(platform, service_body())
    layers = {"layers": [{"layer": "road", "scaffold": "paved-road", "version": "1.2.0"}]}
    url = "/v1/services/payments/layers"
    got = platform.client.put(url, json={**layers, "catalog": bad}, headers=admin)
    assert got.status_code == 422, got.text
    kept = platform.client.get("/v1/services/payments", headers=admin).json()
    assert kept["layers"][-1]["version"] == "1.1.0"
    assert kept["catalog"]["lifecycle"] == "production"


def test_apis_and_resources_follow_their_kept_component(platform: Platform) -> None:
    from paved.server import metadata, writer

    services = metadata.tables["services"]
    engine = platform.client.app.state.engine  # type: ignore[attr-defined]
    long = "a" * 40  # the longest name: its APIs and Resources are names Backstage takes
    row = {"owner": "team-checkout", "repository": "https://git.example.com/x", "created_at": NOW}
    entry = {
        "lifecycle": "production",
        "api_definition": "openapi.json",
        "resources": "dynamodb-rw,s3-read",
    }
    with writer(engine).begin() as conn:
        conn.execute(
            services.insert(),
            [
                {**row, **entry, "name": "Pay"},
                {**row, **entry, "name": "pay-api"},  # its Component is fine
                {**row, **entry, "name": "pay"},  # equal to Pay but for case: left out
                {**row, **entry, "name": long},
                {**row, **entry, "name": "odd", "lifecycle": "bogus", "resources": "s3-read,x"},
            ],
        )
    entities = _organisation(platform)
    assert [key for key in entities if key[0] != "Group"] == [
        ("Component", "Pay"),
        ("Component", long),
        ("Component", "odd"),
        ("Component", "pay-api"),
        ("API", "Pay-api"),
        ("API", f"{long}-api"),
        ("API", "pay-api-api"),
        ("Resource", "Pay-dynamodb"),
        ("Resource", "Pay-s3"),
        ("Resource", f"{long}-dynamodb"),
        ("Resource", f"{long}-s3"),
        ("Resource", "pay-api-dynamodb"),
        ("Resource", "pay-api-s3"),
    ]
    # A stored entry that breaks the road's rules is served as the default entry.
    assert entities["Component", "odd"]["spec"]["lifecycle"] == "production"


def test_a_database_before_the_entry_moves_forward_with_the_default(db_url: str) -> None:
    import sqlalchemy as sa
    from alembic import command
    from alembic.config import Config

    from paved.server import connect, metadata, migrate, writer

    services = metadata.tables["services"]
    engine = connect(db_url)
    config = Config()
    config.set_main_option("script_location", "paved.server:migrations")
    with writer(engine).begin() as conn:
        config.attributes["connection"] = conn
        command.upgrade(config, "0005")
        conn.execute(
            sa.text(
                "INSERT INTO services (name, owner, description, repository, created_at)"
                " VALUES ('abc', 'team-a', '', 'r', :now)"
            ),
            {"now": NOW.replace(tzinfo=None)},
        )
    migrate(engine)
    with engine.connect() as conn:
        row = conn.execute(
            sa.select(
                services.c.lifecycle,
                services.c.system,
                services.c.api_definition,
                services.c.resources,
            )
        ).one()
    assert tuple(row) == ("production", "", "", "")
    engine.dispose()
