"""``paved update`` fills in the platform's answers for the road's questions, as ``paved new
service`` does: the repository URL from the service's remote, and the API entity only when the
app layer ships its OpenAPI document (paved-road 0.3.1). Real releases (the bundles paved
ships), real copier, real git, the real local catalog."""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from paved.cli.app import app
from paved.errors import ExitCode
from paved.guardrails import check
from paved.scaffold.registry import ScaffoldRegistry, bundled_root
from tests.cli.test_new_bad_input import one_line_error
from tests.conftest import Invocation
from tests.update_helpers import git, runtime_at, snapshot

pytestmark = pytest.mark.slow

ANSWERS = ".copier-answers.road.yml"


def _run(root: Path, *args: str) -> Invocation:
    result = CliRunner().invoke(app, list(args), obj=runtime_at(root))
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    return Invocation(result.exit_code, result.stdout, result.stderr)


def _released(tmp: Path, app_version: str, road_version: str) -> Path:
    """A scaffolds folder as an older paved bundled it, each scaffold at its own version,
    taken from the releases this paved ships."""
    root = tmp / f"paved-app-{app_version}-road-{road_version}"
    for name, version in (("service-python", app_version), ("paved-road", road_version)):
        bundle = bundled_root() / "releases" / f"{name}.bundle"
        git(tmp, "clone", "--quiet", "--branch", version, str(bundle), str(root / name))
        shutil.rmtree(root / name / ".git")
    return root


def _made(tmp: Path, app_version: str, road_version: str, *, origin: str | None = None) -> Path:
    old = _released(tmp, app_version, road_version)
    made = _run(old, "new", "service", "payments", "--owner", "team-a", "--no-push",
                "--no-register")  # fmt: skip
    assert made.exit_code == 0, made.stderr
    service = tmp / "payments"
    if origin is not None:
        git(service, "remote", "add", "origin", origin)
    return service


def _entities(service: Path) -> dict[str, dict[str, Any]]:
    docs = list(yaml.safe_load_all((service / "catalog-info.yaml").read_text(encoding="utf-8")))
    return {f"{d['kind']}:{d['metadata']['name']}": d for d in docs}


def _update(service: Path, *args: str) -> dict[str, Any]:
    result = _run(bundled_root(), "update", str(service), "--json", *args)
    assert result.exit_code == 0, result.stderr
    data: dict[str, Any] = json.loads(result.stdout)
    return data


def _catalog_checks_pass(service: Path) -> None:
    report = check(service, today=dt.date.today(), env=dict(os.environ))
    assert [f for f in report.open if f.rule.startswith("PAVED-CATALOG")] == []
    doctor = _run(bundled_root(), "doctor", "--path", str(service), "--json")
    checks = {c["id"]: c for c in json.loads(doctor.stdout)["checks"]}
    assert checks["service.catalog-info"]["status"] == "ok", checks["service.catalog-info"]


def _newest_road() -> str:
    return ScaffoldRegistry(bundled_root()).get("paved-road").version


def _newest_app() -> str:
    return ScaffoldRegistry(bundled_root()).get("service-python").version


def test_an_app_without_an_openapi_document_gets_no_api_entity(pinned_env: Path) -> None:
    service = _made(pinned_env, "0.1.0", "0.2.0")
    assert not (service / "openapi.json").exists()
    data = _update(service)
    assert data["layers"] == [
        {"layer": "road", "scaffold": "paved-road", "from": "0.2.0", "to": _newest_road()}
    ]
    entities = _entities(service)
    assert sorted(entities) == ["Component:payments"]
    assert "providesApis" not in entities["Component:payments"]["spec"]
    answers = yaml.safe_load((service / ANSWERS).read_text(encoding="utf-8"))
    assert answers["api_definition"] == ""
    assert "openapi" not in (service / "docs/index.md").read_text(encoding="utf-8")
    _catalog_checks_pass(service)


def test_an_app_that_ships_its_openapi_document_gets_the_api_entity(pinned_env: Path) -> None:
    service = _made(pinned_env, "0.2.0", "0.2.0")
    assert (service / "openapi.json").is_file()
    dry = _run(bundled_root(), "update", str(service), "--dry-run")
    assert dry.exit_code == 0, dry.stderr
    assert "api_definition='openapi.json'" in dry.stderr  # the dry run shows the answers
    assert "api_definition" not in (service / ANSWERS).read_text(encoding="utf-8")
    _update(service)
    entities = _entities(service)
    assert sorted(entities) == ["API:payments-api", "Component:payments"]
    assert entities["Component:payments"]["spec"]["providesApis"] == ["payments-api"]
    assert entities["API:payments-api"]["spec"]["definition"] == {"$text": "./openapi.json"}
    _catalog_checks_pass(service)


def test_an_app_updated_with_the_road_to_a_version_with_the_document_gets_the_api(
    pinned_env: Path,
) -> None:
    service = _made(pinned_env, "0.1.0", "0.2.0")
    data = _update(service, "--layer", "all")
    assert sorted((layer["layer"], layer["to"]) for layer in data["layers"]) == [
        ("app", _newest_app()),
        ("road", _newest_road()),
    ]
    assert (service / "openapi.json").is_file()
    entities = _entities(service)
    assert entities["API:payments-api"]["spec"]["definition"] == {"$text": "./openapi.json"}
    _catalog_checks_pass(service)


def test_a_linked_openapi_document_gives_no_api_entity(pinned_env: Path) -> None:
    service = _made(pinned_env, "0.1.0", "0.2.0")
    outside = pinned_env / "outside.json"
    outside.write_text('{"openapi": "3.1.0"}\n', encoding="utf-8")
    (service / "openapi.json").symlink_to(outside)
    git(service, "add", "openapi.json")
    git(service, "commit", "--quiet", "-m", "a linked API document")
    _update(service)
    assert sorted(_entities(service)) == ["Component:payments"]


def test_an_updated_service_gets_its_repository_url_from_its_origin(pinned_env: Path) -> None:
    service = _made(pinned_env, "0.2.0", "0.2.0", origin="git@github.com:acme/x.git")
    _update(service)
    answers = yaml.safe_load((service / ANSWERS).read_text(encoding="utf-8"))
    assert answers["repository_url"] == "https://github.com/acme/x"
    annotations = _entities(service)["Component:payments"]["metadata"]["annotations"]
    assert annotations["github.com/project-slug"] == "acme/x"
    assert annotations["backstage.io/source-location"] == "url:https://github.com/acme/x/"


def test_a_bad_recorded_api_definition_is_refused_and_nothing_is_written(
    pinned_env: Path,
) -> None:
    service = _made(pinned_env, "0.2.0", "0.2.0")
    with (service / ANSWERS).open("a", encoding="utf-8") as handle:
        handle.write("api_definition: ../../etc/passwd\n")
    git(service, "commit", "--quiet", "-am", "a hand-edited answer")
    before = snapshot(service)
    result = _run(bundled_root(), "update", str(service))
    assert result.exit_code == ExitCode.USAGE, result.stderr
    line = one_line_error(result.stderr)
    assert "api_definition" in line
    assert "../../etc/passwd" in line
    assert snapshot(service) == before


def _record_api_definition(service: Path, document: str) -> None:
    """Record ``document`` as the road's answer where copier writes it (the keys in order), so
    the update merges the answers file without a conflict."""
    path = service / ANSWERS
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    at = next(i for i, line in enumerate(lines) if not line.startswith(("#", "_")))
    lines.insert(at, f"api_definition: {document}\n")
    path.write_text("".join(lines), encoding="utf-8")
    git(service, "add", "-A")
    git(service, "commit", "--quiet", "-m", "the API document is kept elsewhere")


def test_a_recorded_api_document_the_tree_holds_is_kept(pinned_env: Path) -> None:
    service = _made(pinned_env, "0.2.0", "0.2.0")
    (service / "api").mkdir()
    (service / "api" / "openapi.yaml").write_text("openapi: 3.1.0\n", encoding="utf-8")
    _record_api_definition(service, "api/openapi.yaml")
    _update(service)
    definition = _entities(service)["API:payments-api"]["spec"]["definition"]
    assert definition == {"$text": "./api/openapi.yaml"}


@pytest.mark.parametrize("linked", [False, True], ids=["missing", "behind-a-link"])
def test_a_recorded_api_document_the_tree_lacks_gives_way_to_the_apps(
    pinned_env: Path, linked: bool
) -> None:
    service = _made(pinned_env, "0.2.0", "0.2.0")
    if linked:  # the folder is a link out of the repository: not the service's document
        outside = pinned_env / "outside"
        outside.mkdir()
        (outside / "openapi.yaml").write_text("openapi: 3.1.0\n", encoding="utf-8")
        (service / "api").symlink_to(outside)
    _record_api_definition(service, "api/openapi.yaml")
    # The answer changes under a hand-edited line of the answers file, which the merge then
    # leaves to the person as a conflict: the platform's answer is what the dry run shows.
    dry = _run(bundled_root(), "update", str(service), "--dry-run")
    assert dry.exit_code == 0, dry.stderr
    assert "api_definition='openapi.json'" in dry.stderr
    assert "api/openapi.yaml" not in dry.stderr
