"""``paved new service`` registers the new repository's catalog-info.yaml in a real Backstage.

The repository is on a loopback git host over HTTP (git's own ``http-backend``), which also
serves each file on a branch at ``/NAME/-/blob/BRANCH/PATH`` as GitLab does: the address paved
gives Backstage, which reads the file from there itself. One test needs a Backstage that fails
on cue (a 500 to the registration after its dry run passed): an httpx ``MockTransport`` there.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from paved.backstage import Backstage
from paved.catalog.sqlite import SqliteCatalog
from paved.cli.new import new_service_deps
from paved.cli.runtime import Runtime
from paved.errors import ExitCode, StepFailed
from paved.service.new import NewServiceRequest, create_service, plan_new_service
from tests.backstage.conftest import TOKEN, Catalog, Host
from tests.helpers import git, snapshot

pytestmark = pytest.mark.slow


@pytest.fixture
def with_backstage(monkeypatch: pytest.MonkeyPatch, backstage: Catalog, loopback: Host) -> Host:
    monkeypatch.setenv("PAVED_BACKSTAGE_URL", backstage.base)
    monkeypatch.setenv("PAVED_BACKSTAGE_TOKEN", TOKEN)
    monkeypatch.setenv("PAVED_GITHOST_REMOTE", f"{loopback.base}/git/{{name}}.git")
    return loopback


@pytest.fixture
def elsewhere(backstage: Catalog, loopback: Host, tmp_path: Path) -> Callable[[str, str], str]:
    """Register, from a location of its own, a file holding one entity (``kind``, ``name``)
    and wait until Backstage serves it; return that location's URL."""

    def provide(kind: str, name: str) -> str:
        folder = tmp_path / f"elsewhere-{name}"
        folder.mkdir()
        spec = {
            "Component": "  type: service\n  lifecycle: production\n",
            "API": "  type: openapi\n  lifecycle: production\n  definition: '{}'\n",
            "Resource": "  type: sqs-queue\n",
        }[kind]
        (folder / "catalog-info.yaml").write_text(
            f"apiVersion: backstage.io/v1alpha1\nkind: {kind}\nmetadata:\n  name: {name}\n"
            f"spec:\n{spec}  owner: group:default/team-payments\n"
        )
        other = loopback.publish(f"{name}-elsewhere", folder)
        status, body = backstage.call("POST", "/locations", {"type": "url", "target": other})
        assert status == 201, body
        backstage.wait_entity(f"{kind.lower()}:default/{name}")
        return other

    return provide


def assert_nothing_made(root: Path, host: Host, name: str, before: set[str]) -> None:
    """No file outside paved's home, no folder, nothing pushed, nothing in the catalog."""
    added = snapshot(root) - before
    assert {p for p in added if not p.startswith("paved-home/")} == set()
    assert not (root / name).exists()
    assert git("for-each-ref", cwd=host.server.root / f"{name}.git") == ""
    assert SqliteCatalog(root / "paved-home/data/catalog.db").get(name) is None


def locations_of(backstage: Catalog, name: str) -> list[str]:
    status, locations = backstage.call("GET", "/locations")
    assert status == 200, locations
    return [x["data"]["target"] for x in locations if f"/{name}/-/blob/" in x["data"]["target"]]


def test_new_service_registers_in_backstage_once(
    paved, with_backstage: Host, backstage: Catalog
) -> None:
    repository = with_backstage.new_repository("orders")
    target = f"{with_backstage.base}/git/orders/-/blob/main/catalog-info.yaml"
    first = paved("new", "service", "orders", "--owner", "team-checkout", "--json")
    assert first.exit_code == 0, first.stderr
    data = json.loads(first.stdout)
    assert data["repository"] == repository
    assert [s["status"] for s in data["steps"]] == ["done"] * 4
    entity = backstage.wait_entity("component:default/orders")
    annotations = entity["metadata"]["annotations"]
    assert annotations["backstage.io/managed-by-location"] == f"url:{target}"
    assert backstage.wait_entity("group:default/team-checkout")

    again = paved("new", "service", "orders", "--owner", "team-checkout", "--json")
    assert again.exit_code == 0, again.stderr
    assert json.loads(again.stdout)["status"] == "unchanged"
    assert locations_of(backstage, "orders") == [target]
    for output in (first.stdout, first.stderr, again.stdout, again.stderr):
        assert TOKEN not in output


@pytest.mark.parametrize(
    ("kind", "entity", "name", "sets", "message"),
    [
        ("Component", "ledger", "ledger", [], "already has a component 'ledger'"),
        ("API", "payouts-api", "payouts", [], "already has an api 'payouts-api'"),
        (
            "Resource",
            "shipments-sqs",
            "shipments",
            ["--set", "resources=s3-read,sqs-send"],
            "already has a resource 'shipments-sqs'",
        ),
    ],
)
def test_an_entity_another_location_provides_is_a_conflict_before_anything_is_written(
    paved,
    pinned_env: Path,
    with_backstage: Host,
    elsewhere: Callable[[str, str], str],
    kind: str,
    entity: str,
    name: str,
    sets: list[str],
    message: str,
) -> None:
    other = elsewhere(kind, entity)
    with_backstage.new_repository(name)
    before = snapshot(pinned_env)

    result = paved("new", "service", name, "--owner", "team-payments", *sets)
    assert result.exit_code == ExitCode.CONFLICT, result.stderr
    assert message in result.stderr
    assert other in result.stderr
    assert TOKEN not in result.stderr + result.stdout
    assert_nothing_made(pinned_env, with_backstage, name, before)


def test_a_wrong_token_is_refused_before_anything_is_written(
    paved, pinned_env: Path, with_backstage: Host, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PAVED_BACKSTAGE_TOKEN", "not-the-token-" + "x" * 30)
    with_backstage.new_repository("refunds")
    result = paved("new", "service", "refunds", "--owner", "team-checkout")
    assert result.exit_code == ExitCode.AUTH, result.stderr
    assert "refused paved's credentials" in result.stderr
    assert "not-the-token" not in result.stderr + result.stdout
    assert not (pinned_env / "refunds").exists()


def test_an_embedded_repository_is_not_registered_and_says_so_once(
    paved, pinned_env: Path, with_backstage: Host, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("PAVED_GITHOST_REMOTE")
    result = paved("new", "service", "invoices", "--owner", "team-checkout")
    assert result.exit_code == 0, result.stderr
    assert result.stderr.count("not registered in Backstage") == 1, result.stderr
    assert "is not an http(s) URL" in result.stderr


def test_a_repository_url_with_credentials_is_not_registered_and_never_shown(
    paved, with_backstage: Host, backstage: Catalog, monkeypatch: pytest.MonkeyPatch
) -> None:
    with_backstage.new_repository("rebates")
    remote = with_backstage.base.replace("://", "://deploy:s3cret-pw@", 1)
    monkeypatch.setenv("PAVED_GITHOST_REMOTE", f"{remote}/git/{{name}}.git")
    result = paved("new", "service", "rebates", "--owner", "team-checkout")
    assert result.exit_code == 0, result.stderr
    assert result.stderr.count("not registered in Backstage") == 1, result.stderr
    assert "holds a user or password" in result.stderr
    # The Backstage step never shows the password (the repository line of the summary is not
    # Backstage's: paved new service shows the remote as given).
    [line] = [x for x in result.stderr.splitlines() if "not registered in Backstage" in x]
    assert "s3cret-pw" not in line
    assert "***@127.0.0.1" in line
    assert locations_of(backstage, "rebates") == []


def test_a_refused_dry_run_registers_the_service_nowhere(
    paved, pinned_env: Path, with_backstage: Host, backstage: Catalog
) -> None:
    # /git/team/NAME/-/blob/... is not served: Backstage's dry run cannot read the file.
    remote = with_backstage.new_repository("team/credits")
    result = paved("new", "service", "credits", "--owner", "team-checkout", "--remote", remote)
    assert result.exit_code == ExitCode.USAGE, result.stderr
    assert "refused" in result.stderr
    assert f"{with_backstage.base}/git/team/credits/-/blob/main/catalog-info.yaml" in result.stderr
    # Backstage said no before the platform's catalog was asked: registered in neither.
    assert SqliteCatalog(pinned_env / "paved-home/data/catalog.db").get("credits") is None
    assert locations_of(backstage, "credits") == []


def test_no_push_says_once_why_backstage_is_left_and_a_run_with_push_registers(
    paved, pinned_env: Path, with_backstage: Host, backstage: Catalog
) -> None:
    repository = with_backstage.new_repository("coupons")
    args = ("new", "service", "coupons", "--owner", "team-checkout", "--remote", repository)
    first = paved(*args, "--no-push", "--json")
    assert first.exit_code == 0, first.stderr
    steps = {s["step"]: s["status"] for s in json.loads(first.stdout)["steps"]}
    assert steps == {"render": "done", "commit": "done", "push": "skipped", "register": "done"}
    [line] = [x for x in first.stderr.splitlines() if "not registered in Backstage" in x]
    assert "--no-push" in line
    assert "without --no-push" in line
    assert locations_of(backstage, "coupons") == []

    again = paved(*args, "--json")
    assert again.exit_code == 0, again.stderr
    steps = {s["step"]: s["status"] for s in json.loads(again.stdout)["steps"]}
    assert steps == {
        "render": "already done",
        "commit": "already done",
        "push": "done",
        "register": "done",  # in Backstage now; the catalog had it already
    }
    target = f"{with_backstage.base}/git/coupons/-/blob/main/catalog-info.yaml"
    assert locations_of(backstage, "coupons") == [target]
    assert backstage.wait_entity("component:default/coupons")
    assert "not registered in Backstage" not in again.stderr


def test_a_backstage_failure_after_the_catalog_is_finished_by_the_same_command(
    pinned_env: Path, loopback: Host
) -> None:
    """Backstage answering 500 to the registration itself (after its dry run passed and the
    catalog registered the service): the same command run again registers it in Backstage."""
    remote = loopback.new_repository("vouchers")
    target = f"{loopback.base}/git/vouchers/-/blob/main/catalog-info.yaml"
    seen: list[str] = []
    answers = {"registration": 500}

    def handle(request: httpx.Request) -> httpx.Response:
        path = request.url.path.removeprefix("/api/catalog")
        if path != "/locations":
            return httpx.Response(404)  # entity look-ups: every name free
        seen.append(request.url.query.decode() or "registration")
        assert json.loads(request.content) == {"type": "url", "target": target}
        if request.url.query:
            return httpx.Response(201, json={"entities": []})
        return httpx.Response(answers["registration"], json={})

    backstage = Backstage("https://backstage.example.com", transport=httpx.MockTransport(handle))
    runtime = Runtime.from_process()
    deps = dataclasses.replace(new_service_deps(runtime, remote), backstage=lambda: backstage)
    request = NewServiceRequest(name="vouchers", owner="team-checkout", remote=remote)
    catalog = SqliteCatalog(pinned_env / "paved-home/data/catalog.db")

    with pytest.raises(StepFailed, match="step 'register' failed"):
        create_service(plan_new_service(request, deps), deps)
    assert seen == ["dryRun=true", "registration"]
    assert catalog.get("vouchers") is not None  # the catalog had said yes

    answers["registration"] = 201
    seen.clear()
    result = create_service(plan_new_service(request, deps), deps)
    assert seen == ["dryRun=true", "registration"]
    assert [(o.step.value, o.status) for o in result.steps] == [
        ("render", "already done"),
        ("commit", "already done"),
        ("push", "already done"),
        ("register", "done"),
    ]
    assert result.status == "resumed"
