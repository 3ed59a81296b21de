"""``paved new service`` end to end: real copier, real git, the real SQLite catalog."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import jsonschema
import pytest

from paved.catalog.sqlite import SqliteCatalog
from paved.errors import ExitCode
from paved.scaffold.registry import ScaffoldRegistry, bundled_root
from tests.helpers import REPO_ROOT, git, snapshot, tree_files

#: The versions this paved bundles (read from the scaffolds, so a release changes no test).
APP = ScaffoldRegistry(bundled_root()).get("service-python").version
ROAD = ScaffoldRegistry(bundled_root()).get("paved-road").version

pytestmark = pytest.mark.slow

SCHEMA = json.loads((REPO_ROOT / "docs/schemas/new-service.schema.json").read_text())
SERVICES_SCHEMA = json.loads((REPO_ROOT / "docs/schemas/services.schema.json").read_text())


def home(pinned_env: Path) -> Path:
    return pinned_env / "paved-home"


def catalog_rows(pinned_env: Path) -> list[tuple[str, ...]]:
    db = home(pinned_env) / "data" / "catalog.db"
    if not db.exists():
        return []
    with sqlite3.connect(db) as conn:
        return conn.execute("SELECT name, owner, repository FROM services ORDER BY name").fetchall()


def test_happy_path_end_to_end(paved, pinned_env: Path) -> None:
    result = paved(
        "new", "service", "payments", "--owner", "team-checkout",
        "--description", "Takes the money.", "--set", "port=9090", "--json",
    )  # fmt: skip
    assert result.exit_code == 0, result.stderr
    data = json.loads(result.stdout)
    jsonschema.validate(data, SCHEMA)
    service_dir = pinned_env / "payments"
    bare = home(pinned_env) / "data" / "repos" / "payments.git"
    assert data["status"] == "created"
    assert data["path"] == str(service_dir)
    assert data["repository"] == bare.as_uri()
    assert [s["status"] for s in data["steps"]] == ["done"] * 4
    assert data["layers"] == [
        {"layer": "app", "scaffold": "service-python", "version": APP},
        {"layer": "road", "scaffold": "paved-road", "version": ROAD},
    ]

    # The pushed repository holds exactly what was rendered, in one commit on main.
    clone = pinned_env / "clone"
    git("clone", "--quiet", str(bare), str(clone))
    assert tree_files(clone) == tree_files(service_dir)
    assert git("rev-parse", "HEAD", cwd=clone) == data["commit"]
    assert git("log", "--format=%an <%ae>|%s", cwd=clone) == (
        "Test Engineer <engineer@example.com>|Create payments on the paved road"
    )
    assert git("status", "--porcelain", cwd=service_dir) == ""
    assert git("rev-parse", "--abbrev-ref", "main@{upstream}", cwd=service_dir) == "origin/main"
    assert "port: 9090" in (service_dir / ".copier-answers.app.yml").read_text()
    assert "containerPort: 9090" in (service_dir / "k8s/base/deployment.yaml").read_text()

    # The catalog entry reads back, from the file and through the CLI.
    catalog = SqliteCatalog(home(pinned_env) / "data" / "catalog.db")
    stored = catalog.get("payments")
    catalog.close()
    assert stored is not None
    assert (stored.owner, stored.description, stored.repository) == (
        "team-checkout", "Takes the money.", bare.as_uri()
    )  # fmt: skip
    assert [(r.layer, r.scaffold, r.version) for r in stored.layers] == [
        ("app", "service-python", APP),
        ("road", "paved-road", ROAD),
    ]
    shown = paved("services", "show", "payments", "--json")
    assert shown.exit_code == 0
    jsonschema.validate(json.loads(shown.stdout), SERVICES_SCHEMA)
    assert json.loads(shown.stdout)["owner"] == "team-checkout"


def test_running_it_again_changes_nothing_and_says_so(paved, pinned_env: Path) -> None:
    assert paved("new", "service", "orders", "--owner", "team-a").exit_code == 0
    before = tree_files(pinned_env / "orders")
    head = git("rev-parse", "HEAD", cwd=pinned_env / "orders")
    again = paved("new", "service", "orders", "--owner", "team-a", "--json")
    assert again.exit_code == 0, again.stderr
    data = json.loads(again.stdout)
    assert data["status"] == "unchanged"
    assert [s["status"] for s in data["steps"]] == ["already done"] * 4
    assert "nothing to do" in again.stderr
    assert tree_files(pinned_env / "orders") == before
    assert git("rev-parse", "HEAD", cwd=pinned_env / "orders") == head
    assert len(catalog_rows(pinned_env)) == 1
    assert sorted(p.name for p in (home(pinned_env) / "data" / "repos").iterdir()) == ["orders.git"]


def test_a_taken_name_is_a_conflict_with_nothing_written(paved, pinned_env: Path) -> None:
    assert paved("new", "service", "orders", "--owner", "team-a").exit_code == 0
    before = snapshot(pinned_env)
    for args in (
        ["--owner", "team-b", "--dir", "elsewhere"],
        ["--owner", "team-a", "--dir", "elsewhere"],
    ):
        result = paved("new", "service", "orders", *args)
        assert result.exit_code == ExitCode.CONFLICT, result.stderr
        assert "already" in result.stderr
        assert snapshot(pinned_env) == before
    assert catalog_rows(pinned_env) == [
        ("orders", "team-a", (home(pinned_env) / "data/repos/orders.git").as_uri())
    ]


def test_dry_run_writes_nothing_and_lists_the_files_a_real_run_renders(
    paved, pinned_env: Path
) -> None:
    before = snapshot(pinned_env)
    planned = paved(
        "new",
        "service",
        "billing",
        "--owner",
        "team-a",
        "--set",
        "ci_provider=gitlab",
        "--dry-run",
        "--json",
    )
    assert planned.exit_code == 0, planned.stderr
    data = json.loads(planned.stdout)
    jsonschema.validate(data, SCHEMA)
    assert data["status"] == "planned"
    assert data["commit"] is None
    assert snapshot(pinned_env) == before, "a dry run wrote something"

    assert (
        paved(
            "new", "service", "billing", "--owner", "team-a", "--set", "ci_provider=gitlab"
        ).exit_code
        == 0
    )
    assert data["files"] == sorted(tree_files(pinned_env / "billing"))
    assert ".gitlab-ci.yml" in data["files"]
    assert not any(f.startswith(".github/") for f in data["files"])


def test_dry_run_after_success_shows_every_step_already_done(paved, pinned_env: Path) -> None:
    assert paved("new", "service", "billing", "--owner", "team-a").exit_code == 0
    before = snapshot(pinned_env)
    planned = paved("new", "service", "billing", "--owner", "team-a", "--dry-run", "--json")
    assert planned.exit_code == 0, planned.stderr
    data = json.loads(planned.stdout)
    jsonschema.validate(data, SCHEMA)
    assert data["status"] == "planned"
    assert [s["status"] for s in data["steps"]] == ["already done"] * 4
    assert data["registered"] is True
    assert data["commit"] == git("rev-parse", "HEAD", cwd=pinned_env / "billing")
    assert snapshot(pinned_env) == before


def test_dry_run_as_plain_text(paved, pinned_env: Path) -> None:
    result = paved("new", "service", "billing", "--owner", "team-a", "--dry-run")
    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    assert "status\tplanned" in lines
    assert "file\tcatalog-info.yaml" in lines
    assert "nothing written" in result.stderr
    assert not (pinned_env / "billing").exists()


def test_no_push_and_no_register(paved, pinned_env: Path) -> None:
    result = paved(
        "new", "service", "local-only", "--owner", "team-a", "--no-push", "--no-register", "--json"
    )
    assert result.exit_code == 0, result.stderr
    data = json.loads(result.stdout)
    assert [s["status"] for s in data["steps"]] == ["done", "done", "skipped", "skipped"]
    assert data["registered"] is False
    assert data["repository"] == (pinned_env / "local-only").as_uri()
    assert git("log", "--oneline", cwd=pinned_env / "local-only").count("\n") == 0
    assert not (home(pinned_env) / "data" / "repos").exists()
    assert catalog_rows(pinned_env) == []


def test_into_an_existing_empty_folder(paved, pinned_env: Path) -> None:
    (pinned_env / "empty").mkdir()
    result = paved("new", "service", "search", "--owner", "team-a", "--dir", "empty")
    assert result.exit_code == 0, result.stderr
    assert (pinned_env / "empty" / "catalog-info.yaml").is_file()


def test_services_and_templates_read_commands(paved, pinned_env: Path) -> None:
    assert paved("new", "service", "alpha", "--owner", "team-a").exit_code == 0
    assert paved("new", "service", "beta", "--owner", "team-b", "--no-push").exit_code == 0

    listed = paved("services", "list")
    rows = [line.split("\t") for line in listed.stdout.splitlines()]
    assert [(r[0], r[1], r[2]) for r in rows] == [
        ("alpha", "team-a", f"service-python {APP}, paved-road {ROAD}"),
        ("beta", "team-b", f"service-python {APP}, paved-road {ROAD}"),
    ]
    only_b = json.loads(paved("services", "list", "--owner", "team-b", "--json").stdout)
    jsonschema.validate(only_b, SERVICES_SCHEMA)
    assert [s["name"] for s in only_b["services"]] == ["beta"]
    by_template = json.loads(paved("--json", "services", "list", "--template", "paved-road").stdout)
    assert [s["name"] for s in by_template["services"]] == ["alpha", "beta"]
    assert (
        json.loads(paved("services", "list", "--template", "nope", "--json").stdout)["services"]
        == []
    )

    missing = paved("services", "show", "gamma")
    assert missing.exit_code == ExitCode.USAGE
    assert "service 'gamma' is not in the catalog" in missing.stderr

    templates = json.loads(paved("templates", "list", "--json").stdout)
    by_name = {t["name"]: t for t in templates["templates"]}
    assert by_name["service-python"]["layer"] == "app"
    assert by_name["paved-road"]["version"] == ROAD
    assert {"exposure", "ci_provider", "port"} <= {
        q["name"] for q in by_name["paved-road"]["questions"]
    }
    plain = paved("templates", "list").stdout.splitlines()
    assert plain[0].split("\t")[:3] == ["paved-road", "road", ROAD]


def test_empty_catalog_says_how_to_start(paved) -> None:
    result = paved("services", "list")
    assert result.exit_code == 0
    assert result.stdout == ""
    assert "paved new service NAME --owner TEAM" in result.stderr
