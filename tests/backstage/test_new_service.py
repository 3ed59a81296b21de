"""``paved new service`` registers the new repository's catalog-info.yaml in a real Backstage.

The repository is on a loopback git host over HTTP (git's own ``http-backend``), which also
serves each file on a branch at ``/NAME/-/blob/BRANCH/PATH`` as GitLab does: the address paved
gives Backstage, which reads the file from there itself.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from paved.catalog.sqlite import SqliteCatalog
from paved.errors import ExitCode
from tests.backstage.conftest import TOKEN, Catalog, Host
from tests.helpers import git, snapshot

pytestmark = pytest.mark.slow


@pytest.fixture
def with_backstage(monkeypatch: pytest.MonkeyPatch, backstage: Catalog, loopback: Host) -> Host:
    monkeypatch.setenv("PAVED_BACKSTAGE_URL", backstage.base)
    monkeypatch.setenv("PAVED_BACKSTAGE_TOKEN", TOKEN)
    monkeypatch.setenv("PAVED_GITHOST_REMOTE", f"{loopback.base}/git/{{name}}.git")
    return loopback


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
    status, locations = backstage.call("GET", "/locations")
    assert status == 200
    mine = [x for x in locations if x["data"]["target"] == target]
    assert len(mine) == 1, locations
    for output in (first.stdout, first.stderr, again.stdout, again.stderr):
        assert TOKEN not in output


def test_a_name_another_location_provides_is_a_conflict_before_anything_is_written(
    paved, pinned_env: Path, with_backstage: Host, backstage: Catalog, tmp_path: Path
) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "catalog-info.yaml").write_text(
        "apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata:\n  name: ledger\n"
        "spec:\n  type: service\n  lifecycle: production\n  owner: group:default/team-payments\n"
    )
    other = with_backstage.publish("ledger-elsewhere", elsewhere)
    status, body = backstage.call("POST", "/locations", {"type": "url", "target": other})
    assert status == 201, body
    backstage.wait_entity("component:default/ledger")
    with_backstage.new_repository("ledger")
    before = snapshot(pinned_env)

    result = paved("new", "service", "ledger", "--owner", "team-payments")
    assert result.exit_code == ExitCode.CONFLICT, result.stderr
    assert "already has a component 'ledger'" in result.stderr
    assert other in result.stderr
    assert TOKEN not in result.stderr + result.stdout
    added = snapshot(pinned_env) - before
    assert {p for p in added if not p.startswith("paved-home/")} == set()
    assert not (pinned_env / "ledger").exists()
    assert git("for-each-ref", cwd=with_backstage.server.root / "ledger.git") == ""
    assert SqliteCatalog(pinned_env / "paved-home/data/catalog.db").get("ledger") is None


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


def test_an_api_another_location_provides_is_a_conflict_before_anything_is_written(
    paved, pinned_env: Path, with_backstage: Host, backstage: Catalog, tmp_path: Path
) -> None:
    elsewhere = tmp_path / "elsewhere-api"
    elsewhere.mkdir()
    (elsewhere / "catalog-info.yaml").write_text(
        "apiVersion: backstage.io/v1alpha1\nkind: API\nmetadata:\n  name: payouts-api\n"
        "spec:\n  type: openapi\n  lifecycle: production\n  owner: group:default/team-payments\n"
        "  definition: '{}'\n"
    )
    other = with_backstage.publish("payouts-api-elsewhere", elsewhere)
    status, body = backstage.call("POST", "/locations", {"type": "url", "target": other})
    assert status == 201, body
    backstage.wait_entity("api:default/payouts-api")
    with_backstage.new_repository("payouts")

    result = paved("new", "service", "payouts", "--owner", "team-payments")
    assert result.exit_code == ExitCode.CONFLICT, result.stderr
    assert "already has an api 'payouts-api'" in result.stderr
    assert not (pinned_env / "payouts").exists()
    assert git("for-each-ref", cwd=with_backstage.server.root / "payouts.git") == ""


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
    status, locations = backstage.call("GET", "/locations")
    assert status == 200
    assert not [x for x in locations if "rebates" in x["data"]["target"]], locations
