"""The organisation URL in a real Backstage: the platform's own ``GET
/v1/backstage/catalog.yaml``, served by a real platform server that holds teams and services
(one archived), read by Backstage as a ``url`` location through a reverse proxy that adds the
Backstage reader token (nginx with the snippet of docs/backstage.md; skipped without nginx,
except in CI, where the session requires it)."""

from __future__ import annotations

import httpx
import pytest
import yaml

from tests.backstage.conftest import (
    NGINX,
    ORG_GROUPS,
    ORG_SERVICES,
    READER_TOKEN,
    Catalog,
    Platform,
    Proxy,
    assert_processed_whole,
    ref_of,
)

pytestmark = pytest.mark.slow


def test_backstage_processes_every_entity_of_the_organisation_url(
    backstage: Catalog, platform: Platform, proxy: Proxy
) -> None:
    got = httpx.get(platform.organisation, headers={"authorization": f"Bearer {READER_TOKEN}"})
    assert got.status_code == 200, got.text
    served = [doc for doc in yaml.safe_load_all(got.text) if doc]
    kinds = {doc["kind"] for doc in served}
    assert {"Group", "Component", "API", "Resource"} <= kinds, kinds
    components = {doc["metadata"]["name"]: doc for doc in served if doc["kind"] == "Component"}
    assert set(components) == set(ORG_SERVICES)
    for name, (owner, archived, entry) in ORG_SERVICES.items():
        spec = components[name]["spec"]
        assert spec["owner"] == f"group:default/{owner}"
        assert spec["lifecycle"] == ("deprecated" if archived else entry["lifecycle"]), name
        assert spec.get("system", "") == entry["system"], name
        assert spec.get("providesApis") == [f"{name}-api"], name
        assert len(spec.get("dependsOn", [])) == len(entry["resources"]), name
    assert {doc["metadata"]["name"] for doc in served if doc["kind"] == "Group"} >= set(ORG_GROUPS)

    checked = assert_processed_whole(backstage, served, f"url:{proxy.url}")
    wanted = {"ownedBy", "ownerOf"}
    if "API" in kinds:
        wanted |= {"providesApi", "apiProvidedBy"}
    if "Resource" in kinds:
        wanted |= {"dependsOn", "dependencyOf"}
    if any("system" in doc.get("spec", {}) for doc in served):
        wanted.add("partOf")
    assert wanted <= set(checked), checked


def test_backstage_reads_the_organisation_through_nginx_adding_the_token(
    backstage: Catalog, platform: Platform, proxy: Proxy
) -> None:
    """Backstage sends no Authorization header of its own: the platform answers it 401, and
    through the proxy of docs/backstage.md it gets the organisation. A token in the query is
    refused, through the proxy or not."""
    if proxy.kind != "nginx":
        pytest.skip(f"no nginx installed (PAVED_NGINX={NGINX!r}): apt-get install nginx-light")
    for group in ORG_GROUPS:
        entity = backstage.wait_entity(f"group:default/{group}")
        location = entity["metadata"]["annotations"]["backstage.io/managed-by-location"]
        assert location == f"url:{proxy.url}", (group, location)
    assert (
        ref_of(backstage.wait_entity("component:default/org-live")) == "component:default/org-live"
    )

    bare = httpx.get(platform.organisation)
    assert bare.status_code == 401, bare.text
    through = httpx.get(proxy.url)
    assert through.status_code == 200, through.text
    assert (
        through.text
        == httpx.get(
            platform.organisation, headers={"authorization": f"Bearer {READER_TOKEN}"}
        ).text
    )
    for url in (platform.organisation, proxy.url):
        queried = httpx.get(url, params={"token": READER_TOKEN})
        assert queried.status_code == 400, (url, queried.text)
        assert queried.json()["error"] == "token_in_query", (url, queried.text)
    elsewhere = httpx.get(proxy.url.replace("/v1/backstage/catalog.yaml", "/v1/services"))
    assert elsewhere.status_code == 404, elsewhere.text  # the proxy forwards that one URL only
