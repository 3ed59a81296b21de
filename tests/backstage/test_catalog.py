"""Services paved renders, registered in a real Backstage through its own REST API.

Each sample (the defaults; GitLab CI with every resource; internal; a GitHub repository URL
and a System) is rendered by ``paved new service``, its folder served over loopback HTTP, and
its ``catalog-info.yaml`` registered as a ``url`` location, dry run first, as an
organisation's Backstage reads it from the repository. Backstage then holds every entity of
the file, processed with no error, with the relations the file asks for, every relation of
every entity pointing at an entity that exists (the owner at a Group, the System at the
organisation's), and nothing written in the file lost: its whole ``metadata`` and ``spec``.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest
import yaml

from tests.backstage.conftest import (
    ORG_GROUPS,
    TIMEOUT,
    Catalog,
    Host,
    assert_processed_whole,
    ref_of,
)

pytestmark = pytest.mark.slow

ALL_RESOURCES = "s3-read,sqs-send,dynamodb-rw,secret-read"


#: name -> (owner, --set answers, the relation types its entities must have), as
#: tests/validators/render_samples.py renders them.
SAMPLES: dict[str, tuple[str, list[str], set[str]]] = {
    "bs-default": ("team-checkout", [], {"ownedBy", "providesApi"}),
    "bs-full": (
        "team-payments",
        ["ci_provider=gitlab", f"resources={ALL_RESOURCES}", "python_version=3.13", "port=9000"],
        {"ownedBy", "providesApi", "dependsOn"},
    ),
    "bs-internal": (
        "team-platform",
        ["exposure=internal", f"resources={ALL_RESOURCES}", "environments=dev,prod"],
        {"ownedBy", "providesApi", "dependsOn"},
    ),
    "bs-system": (
        "team-payments",
        ["repository_url=https://github.com/acme/bs-system", "system=team-payments"],
        {"ownedBy", "providesApi", "partOf"},
    ),
}


@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_a_rendered_service_registers_whole(
    name: str, paved, pinned_env: Path, backstage: Catalog, loopback: Host
) -> None:
    owner, answers, relations = SAMPLES[name]
    assert owner in ORG_GROUPS
    sets = [arg for answer in answers for arg in ("--set", answer)]
    made = paved(
        "--quiet", "new", "service", name, "--owner", owner, "--no-push", "--no-register", *sets
    )
    assert made.exit_code == 0, made.stderr
    folder = pinned_env / name
    text = (folder / "catalog-info.yaml").read_text(encoding="utf-8")
    written = [doc for doc in yaml.safe_load_all(text) if doc]
    component = next(doc for doc in written if doc["kind"] == "Component")
    target = loopback.publish(name, folder)

    status, dry = backstage.call(
        "POST", "/locations?dryRun=true", {"type": "url", "target": target}
    )
    assert status == 201, dry
    assert {ref_of(e) for e in written} <= {ref_of(e) for e in dry["entities"]}
    status, registered = backstage.call("POST", "/locations", {"type": "url", "target": target})
    assert status == 201, registered

    checked = assert_processed_whole(backstage, written, f"url:{target}")
    assert relations <= set(checked), (name, checked)
    served = backstage.entity(ref_of(component)) or {}
    owners = [r["targetRef"] for r in served["relations"] if r["type"] == "ownedBy"]
    assert owners == [f"group:default/{owner}"], (name, owners)
    annotations = served["metadata"]["annotations"]
    if "system" in component["spec"]:
        assert [r["targetRef"] for r in served["relations"] if r["type"] == "partOf"] == [
            f"system:default/{component['spec']['system']}"
        ]
    if "repository_url=https://github.com/acme/bs-system" in answers:
        assert annotations["github.com/project-slug"] == "acme/bs-system"
        assert (
            annotations["backstage.io/source-location"] == "url:https://github.com/acme/bs-system/"
        )
    if "ci_provider=gitlab" in answers:
        assert "github.com/project-slug" not in annotations

    # the Group sees what it owns, the System what it holds: the relations resolved both ways
    back = {f"group:default/{owner}": "ownerOf"}
    if "system" in component["spec"]:
        back[f"system:default/{component['spec']['system']}"] = "hasPart"
    for ref, relation in back.items():
        deadline = time.monotonic() + TIMEOUT
        seen = backstage.entity(ref) or {}
        while not any(
            r["type"] == relation and r["targetRef"] == ref_of(component)
            for r in seen.get("relations") or []
        ):
            assert time.monotonic() < deadline, (ref, seen.get("relations"))
            time.sleep(0.5)
            seen = backstage.entity(ref) or {}


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
