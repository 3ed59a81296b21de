"""Services paved renders, registered in a real Backstage through its own REST API.

Each sample (the defaults; GitLab CI with every resource; internal) is rendered by
``paved new service``, its folder served over loopback HTTP, and its ``catalog-info.yaml``
registered as a ``url`` location, dry run first, as an organisation's Backstage reads it from
the repository. Backstage then holds every entity of the file, every relation of every
entity points at an entity that exists (the owner at a Group), nothing failed to process,
and nothing written in the file was lost.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.backstage.conftest import ORG_GROUPS, TIMEOUT, Catalog, Host

pytestmark = pytest.mark.slow

ALL_RESOURCES = "s3-read,sqs-send,dynamodb-rw,secret-read"

#: name -> (owner, --set answers), as tests/validators/render_samples.py renders them.
SAMPLES: dict[str, tuple[str, list[str]]] = {
    "bs-default": ("team-checkout", []),
    "bs-full": (
        "team-payments",
        ["ci_provider=gitlab", f"resources={ALL_RESOURCES}", "python_version=3.13", "port=9000"],
    ),
    "bs-internal": (
        "team-platform",
        ["exposure=internal", f"resources={ALL_RESOURCES}", "environments=dev,prod"],
    ),
}


def ref_of(entity: dict[str, Any]) -> str:
    metadata = entity["metadata"]
    return f"{entity['kind']}:{metadata.get('namespace', 'default')}/{metadata['name']}".lower()


def settled(backstage: Catalog, ref: str) -> dict[str, Any]:
    """The entity once the engine has processed it again (relations and status filled in)."""
    backstage.wait_entity(ref)
    time.sleep(2.5)  # more than two processing intervals
    return backstage.wait_entity(ref)


@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_a_rendered_service_registers_whole(
    name: str, paved, pinned_env: Path, backstage: Catalog, loopback: Host
) -> None:
    owner, answers = SAMPLES[name]
    assert owner in ORG_GROUPS
    sets = [arg for answer in answers for arg in ("--set", answer)]
    made = paved(
        "--quiet", "new", "service", name, "--owner", owner, "--no-push", "--no-register", *sets
    )
    assert made.exit_code == 0, made.stderr
    folder = pinned_env / name
    text = (folder / "catalog-info.yaml").read_text(encoding="utf-8")
    written = [doc for doc in yaml.safe_load_all(text) if doc]
    assert any(doc["kind"] == "Component" for doc in written)
    target = loopback.publish(name, folder)

    status, dry = backstage.call(
        "POST", "/locations?dryRun=true", {"type": "url", "target": target}
    )
    assert status == 201, dry
    assert {ref_of(e) for e in written} <= {ref_of(e) for e in dry["entities"]}
    status, registered = backstage.call("POST", "/locations", {"type": "url", "target": target})
    assert status == 201, registered

    for want in written:
        ref = ref_of(want)
        got = settled(backstage, ref)
        assert got["kind"] == want["kind"]
        assert got.get("status", {}).get("items", []) == [], (ref, got["status"])
        for field in ("links", "tags"):
            assert got["metadata"].get(field) == want["metadata"].get(field), (ref, field)
        annotations = got["metadata"].get("annotations", {})
        for key, value in want["metadata"].get("annotations", {}).items():
            assert annotations.get(key) == value, (ref, key)
        assert annotations["backstage.io/managed-by-location"] == f"url:{target}"
        # every relation of every entity points at an entity that exists
        relations = got.get("relations", [])
        if "owner" in want.get("spec", {}):
            owners = [r["targetRef"] for r in relations if r["type"] == "ownedBy"]
            assert owners == [f"group:default/{owner}"], (ref, owners)
        for relation in relations:
            target_ref = relation["targetRef"]
            assert backstage.wait_entity(target_ref, timeout=TIMEOUT / 3), (ref, relation)

    component = next(e for e in written if e["kind"] == "Component")
    group = backstage.entity(f"group:default/{owner}")
    assert group is not None
    deadline = time.monotonic() + TIMEOUT / 3
    while not any(  # the Group sees what it owns: the relation resolved both ways
        r["type"] == "ownerOf" and r["targetRef"] == ref_of(component)
        for r in (group.get("relations") or [])
    ):
        assert time.monotonic() < deadline, group.get("relations")
        time.sleep(0.5)
        group = backstage.entity(f"group:default/{owner}") or {}

    ours = {ref_of(e) for e in written} | {f"url:{target}"}
    failed = [
        e
        for e in backstage.failed()
        if str(e.get("entity_ref", "")).lower() in ours or e.get("location_key") in ours
    ]
    assert failed == []


def test_the_dry_run_names_a_file_backstage_cannot_read(backstage: Catalog, loopback: Host) -> None:
    """What a plain registration would swallow (201, nothing ever appears), the dry run says."""
    target = f"{loopback.base}/files/nowhere/catalog-info.yaml"
    status, body = backstage.call(
        "POST", "/locations?dryRun=true", {"type": "url", "target": target}
    )
    assert status == 400 or status == 404, body


def test_the_catalog_refuses_a_call_without_the_token(backstage: Catalog) -> None:
    status, body = backstage.call("GET", "/entities/by-query?limit=1", auth=False)
    assert status == 401, body
