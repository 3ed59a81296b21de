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

import io
import shutil
import subprocess
import tarfile
import time
from pathlib import Path
from typing import Any

import pytest
import yaml

from paved.scaffold.registry import bundled_root
from tests.backstage.conftest import (
    ORG_GROUPS,
    TIMEOUT,
    Catalog,
    Host,
    assert_processed_whole,
    ref_of,
)
from tests.update_helpers import runtime_at

pytestmark = pytest.mark.slow

ALL_RESOURCES = "s3-read,sqs-send,dynamodb-rw,secret-read"
APP = "service-python"


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


def register_sample(
    paved,
    folder: Path,
    backstage: Catalog,
    loopback: Host,
    name: str,
    owner: str,
    answers: list[str],
    **kw: Any,
) -> tuple[dict[str, Any], dict[str, int]]:
    """Render ``name`` with paved, register its catalog-info.yaml in Backstage (dry run first)
    and check it was processed whole; return its Component and the relations checked."""
    assert owner in ORG_GROUPS
    sets = [arg for answer in answers for arg in ("--set", answer)]
    made = paved(
        "--quiet",
        "new",
        "service",
        name,
        "--owner",
        owner,
        "--no-push",
        "--no-register",
        *sets,
        **kw,
    )
    assert made.exit_code == 0, made.stderr
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
    return component, assert_processed_whole(backstage, written, f"url:{target}")


@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_a_rendered_service_registers_whole(
    name: str, paved, pinned_env: Path, backstage: Catalog, loopback: Host
) -> None:
    owner, answers, relations = SAMPLES[name]
    component, checked = register_sample(
        paved, pinned_env / name, backstage, loopback, name, owner, answers
    )
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


def app_released_at(version: str, folder: Path) -> Path:
    """A scaffolds folder with service-python as released at ``version`` (the tag of its
    shipped bundle) and the road, and the releases, as bundled: paved's registry reads the
    app layer's version there, as a paved that shipped that version would."""
    root = folder / f"scaffolds-app-{version}"
    shutil.copytree(bundled_root(), root, ignore=shutil.ignore_patterns(APP))
    bare = folder / "app-releases.git"
    subprocess.run(["git", "init", "--quiet", "--bare", str(bare)], check=True)
    bundle = root / "releases" / f"{APP}.bundle"
    tag = f"refs/tags/{version}"
    subprocess.run(
        ["git", "-C", str(bare), "fetch", "--quiet", str(bundle), f"{tag}:{tag}"], check=True
    )
    archive = subprocess.run(
        ["git", "-C", str(bare), "archive", "--format=tar", version],
        capture_output=True,
        check=True,
    ).stdout
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(root / APP, filter="data")
    return root


def test_a_service_on_the_first_app_release_and_the_newest_road_registers_whole(
    paved, pinned_env: Path, tmp_path: Path, backstage: Catalog, loopback: Host
) -> None:
    """service-python 0.1.0 ships no openapi.json: the road emits no API entity for it (a
    ``$text`` pointing at a missing file would be a processing error)."""
    root = app_released_at("0.1.0", tmp_path)
    runtime = runtime_at(root)
    assert runtime.registry.get(APP).version == "0.1.0"
    assert not (root / APP / "template" / "openapi.json").exists()
    name = "bs-first-app"
    component, checked = register_sample(
        paved, pinned_env / name, backstage, loopback, name, "team-checkout", [], runtime=runtime
    )
    assert "ownedBy" in checked, checked
    assert "providesApis" not in component["spec"], component["spec"]
    assert not (pinned_env / name / "openapi.json").exists()


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
