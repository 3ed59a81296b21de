"""What ``paved new service`` asks Backstage about before anything is written: the entities of
the service's catalog-info.yaml (:meth:`paved.models.CatalogEntry.entity_refs`; the really
rendered file is compared to it in test_resource_kinds.py) and the address Backstage reads it
at (:meth:`Backstage.file_url`). Refusals against an httpx ``MockTransport``; the real Backstage
is tests/backstage's."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from paved.backstage import Backstage
from paved.errors import ConflictError
from paved.models import CatalogEntry

WITH_API = CatalogEntry(api_definition="openapi.json")
ELSEWHERE = {"metadata": {"annotations": {"backstage.io/managed-by-location": "url:https://x/y"}}}


@pytest.mark.parametrize(
    ("answers", "wanted"),
    [
        ({}, ["component:orders"]),  # a road before 0.3.0 writes no API
        ({"lifecycle": "production"}, ["component:orders", "api:orders-api"]),  # 0.3.0 always did
        ({"api_definition": "openapi.json"}, ["component:orders", "api:orders-api"]),
        ({"api_definition": ""}, ["component:orders"]),
        (
            {"api_definition": "", "resources": ["secret-read", "s3-read"]},
            ["component:orders", "resource:orders-secret", "resource:orders-s3"],
        ),
    ],
)
def test_the_entities_of_a_catalog_entry(answers: dict[str, object], wanted: list[str]) -> None:
    """The one rule for which entities the road writes (the rendered file is compared to it in
    tests/integration/test_resource_kinds.py)."""
    refs = CatalogEntry.from_answers(answers).entity_refs("orders")
    assert [f"{kind}:{name}" for kind, _, name in refs] == wanted


@pytest.mark.parametrize(
    ("remote", "api", "target"),
    [
        ("git@github.com:acme/orders.git", "", "https://github.com/acme/orders/blob/main"),
        ("ssh://git@gitlab.com/shop/orders.git", "", "https://gitlab.com/shop/orders/-/blob/main"),
        ("https://github.com/acme/orders.git", "", "https://github.com/acme/orders/blob/main"),
        (
            "https://tok@git.acme.io/shop/orders",
            "github",
            "https://git.acme.io/shop/orders/blob/main",
        ),
        # no https browse URL, but an http(s) remote Backstage can read as it is
        (
            "http://127.0.0.1:8123/git/orders.git",
            "",
            "http://127.0.0.1:8123/git/orders/-/blob/main",
        ),
        ("file:///srv/git/orders.git", "", None),
        ("/srv/git/orders.git", "", None),
        ("http://deploy:pw@127.0.0.1:8123/git/orders.git", "", None),
        ("https://git.acme.io/shop/../orders.git", "", None),
    ],
)
def test_the_address_backstage_reads_the_file_at(remote: str, api: str, target: str | None) -> None:
    got = Backstage("https://backstage.example.com", githost_api=api).file_url(remote)
    assert got == (f"{target}/catalog-info.yaml" if target else None)


def _backstage(found: dict[str, Any], seen: list[str]) -> Backstage:
    def handle(request: httpx.Request) -> httpx.Response:
        seen.append(request.url.path)
        entity = found.get(request.url.path.removeprefix("/api/catalog/entities/by-name/"))
        return httpx.Response(200, json=entity) if entity else httpx.Response(404)

    return Backstage("https://backstage.example.com", transport=httpx.MockTransport(handle))


def test_a_resource_another_location_provides_is_a_conflict() -> None:
    seen: list[str] = []
    backstage = _backstage({"resource/default/orders-sqs": ELSEWHERE}, seen)
    entry = CatalogEntry(resources=("s3-read", "sqs-send"))
    with pytest.raises(ConflictError, match=r"already has a resource 'orders-sqs' from url:https"):
        backstage.check_free("orders", "https://git/x/-/blob/main/catalog-info.yaml", entry)
    assert seen == [
        "/api/catalog/entities/by-name/component/default/orders",
        "/api/catalog/entities/by-name/resource/default/orders-s3",
        "/api/catalog/entities/by-name/resource/default/orders-sqs",
    ]


def test_no_api_is_asked_for_when_the_file_has_none() -> None:
    seen: list[str] = []
    backstage = _backstage({"api/default/orders-api": ELSEWHERE}, seen)
    backstage.check_free("orders", "https://git/x/-/blob/main/catalog-info.yaml", CatalogEntry())
    assert seen == ["/api/catalog/entities/by-name/component/default/orders"]
    with pytest.raises(ConflictError, match="an api 'orders-api'"):
        backstage.check_free("orders", "https://git/x/-/blob/main/catalog-info.yaml", WITH_API)
