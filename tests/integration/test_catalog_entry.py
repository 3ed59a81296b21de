"""The road layer's catalog-info.yaml as Backstage users expect it: the real repository URL (or
none), the CI slug, TechDocs, the API and Resource entities, title, lifecycle and system."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from paved.errors import ExitCode
from paved.repository_url import browse_url, configured_git_host
from tests.cli.test_new_bad_input import assert_nothing_written, one_line_error
from tests.helpers import SCAFFOLDS

ENTITY_NAME = r"^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$"


@pytest.mark.parametrize(
    ("remote", "url"),
    [
        ("https://github.com/acme/payments", "https://github.com/acme/payments"),
        ("https://github.com/acme/payments.git/", "https://github.com/acme/payments"),
        ("https://token@GitHub.com/acme/payments.git", "https://github.com/acme/payments"),
        ("https://git.acme.io:8443/shop/payments", "https://git.acme.io:8443/shop/payments"),
        ("git@github.com:acme/payments.git", "https://github.com/acme/payments"),
        (
            "ssh://git@gitlab.com:2222/shop/team/payments.git",
            "https://gitlab.com/shop/team/payments",
        ),
        ("ssh://gitlab.com/shop/payments", "https://gitlab.com/shop/payments"),
        ("http://github.com/acme/payments", ""),
        ("https://github.com/acme/payments?ref=x", ""),
        ("https://github.com/acme/payments#readme", ""),
        ("https://github.com/acme", ""),
        ("https://github.com/acme/../payments", ""),
        ("https://a:b@c@github.com/acme/payments", ""),
        ("https://github.com/acme/pay ments", ""),
        ("https://github.com/acme/" + "p" * 200, ""),
        ("file:///srv/git/payments.git", ""),
        ("/srv/git/payments.git", ""),
        ("git@github.com:/acme/payments.git", ""),
        ("", ""),
    ],
)
def test_the_browse_url_of_a_remote(remote: str, url: str) -> None:
    assert browse_url(remote) == url


def test_the_configured_git_host_is_a_self_hosted_github_or_gitlab() -> None:
    assert configured_git_host("github", "https://ghe.acme.io/api/v3") == ("github", "ghe.acme.io")
    assert configured_git_host("gitlab", "https://Git.Acme.io/api/v4") == ("gitlab", "git.acme.io")
    assert configured_git_host("github", "") is None  # the public service
    assert configured_git_host("github", "https://api.github.com") is None
    assert configured_git_host("", "https://ghe.acme.io/api/v3") is None
    assert configured_git_host("gitlab", "not a url") is None


def _entities(service: Path) -> dict[str, dict[str, Any]]:
    text = (service / "catalog-info.yaml").read_text(encoding="utf-8")
    docs = list(yaml.safe_load_all(text))
    assert all(isinstance(d, dict) for d in docs)
    found = {f"{d['kind']}:{d['metadata']['name']}": d for d in docs}
    assert len(found) == len(docs), "two entities with the same kind and name"
    return found


def _new(paved, *args: str) -> Path:
    result = paved(
        "new", "service", "payments", "--owner", "team-a", "--no-push", "--no-register", *args
    )  # fmt: skip
    assert result.exit_code == 0, result.stderr
    return Path("payments").resolve()


@pytest.mark.slow
def test_by_default_backstage_derives_the_source_location(paved) -> None:
    service = _new(paved)
    entities = _entities(service)
    assert sorted(entities) == ["API:payments-api", "Component:payments"]
    component, api = entities["Component:payments"], entities["API:payments-api"]
    annotations = component["metadata"]["annotations"]
    assert "backstage.io/source-location" not in annotations  # a local repository: no URL
    assert not any(key.endswith("/project-slug") for key in annotations)
    assert annotations["backstage.io/techdocs-ref"] == "dir:."
    assert "paved.invalid/team-a" not in (service / "catalog-info.yaml").read_text()
    assert [link["title"] for link in component["metadata"]["links"]] == ["Runbook", "Dashboard"]
    assert component["metadata"]["title"] == "Payments"
    assert component["spec"]["lifecycle"] == "experimental"
    assert "system" not in component["spec"]
    assert "system" not in api["spec"]
    assert component["spec"]["providesApis"] == ["payments-api"]
    assert "dependsOn" not in component["spec"]
    assert api["spec"]["type"] == "openapi"
    assert api["spec"]["owner"] == "group:default/team-a"
    assert api["spec"]["definition"] == {"$text": "./openapi.json"}
    document = json.loads((service / "openapi.json").read_text(encoding="utf-8"))
    assert document["info"]["title"] == "payments"
    assert "/healthz" in document["paths"]
    assert (service / "tests/test_openapi.py").is_file()
    mkdocs = yaml.safe_load((service / "mkdocs.yml").read_text(encoding="utf-8"))
    assert mkdocs["nav"] == [{"Home": "index.md"}]
    assert mkdocs["plugins"] == ["techdocs-core"]
    assert (service / "docs/index.md").read_text(encoding="utf-8").startswith("# payments\n")
    answers = yaml.safe_load((service / ".copier-answers.road.yml").read_text(encoding="utf-8"))
    assert answers["repository_url"] == ""


@pytest.mark.slow
def test_an_ssh_remote_on_github_gives_the_https_url_and_the_slug(paved) -> None:
    service = _new(paved, "--remote", "git@github.com:acme/payments.git")
    component = _entities(service)["Component:payments"]
    annotations = component["metadata"]["annotations"]
    assert annotations["backstage.io/source-location"] == "url:https://github.com/acme/payments/"
    assert annotations["github.com/project-slug"] == "acme/payments"
    assert "gitlab.com/project-slug" not in annotations
    assert component["metadata"]["links"][0] == {
        "url": "https://github.com/acme/payments",
        "title": "Repository",
        "icon": "github",
    }


@pytest.mark.slow
def test_a_self_hosted_gitlab_named_in_the_settings_gets_the_gitlab_slug(
    paved, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PAVED_GITHOST_API", "gitlab")
    monkeypatch.setenv("PAVED_GITHOST_API_URL", "https://git.acme.io/api/v4")
    service = _new(
        paved,
        "--remote",
        "ssh://git@git.acme.io/shop/team/payments.git",
        "--set",
        "ci_provider=gitlab",
    )
    annotations = _entities(service)["Component:payments"]["metadata"]["annotations"]
    assert (
        annotations["backstage.io/source-location"] == "url:https://git.acme.io/shop/team/payments/"
    )
    assert annotations["gitlab.com/project-slug"] == "shop/team/payments"
    answers = yaml.safe_load((service / ".copier-answers.road.yml").read_text(encoding="utf-8"))
    assert answers["git_host"] == "git.acme.io"


@pytest.mark.slow
def test_another_host_gets_the_url_but_no_slug(paved) -> None:
    service = _new(paved, "--remote", "https://git.acme.io/shop/payments.git")
    annotations = _entities(service)["Component:payments"]["metadata"]["annotations"]
    assert annotations["backstage.io/source-location"] == "url:https://git.acme.io/shop/payments/"
    assert not any(key.endswith("/project-slug") for key in annotations)


@pytest.mark.slow
def test_lifecycle_system_and_resources(paved) -> None:
    service = _new(
        paved,
        "--set", "lifecycle=production",
        "--set", "system=shop.payments",
        "--set", "resources=s3-read,sqs-send,dynamodb-rw,secret-read",
    )  # fmt: skip
    entities = _entities(service)
    resources = {key: d for key, d in entities.items() if d["kind"] == "Resource"}
    assert {key: d["spec"]["type"] for key, d in resources.items()} == {
        "Resource:payments-s3": "s3-bucket",
        "Resource:payments-sqs": "sqs-queue",
        "Resource:payments-dynamodb": "dynamodb-table",
        "Resource:payments-secret": "secretsmanager-secret",
    }
    component = entities["Component:payments"]
    assert component["spec"]["dependsOn"] == [
        "resource:payments-s3",
        "resource:payments-sqs",
        "resource:payments-dynamodb",
        "resource:payments-secret",
    ]
    for entity in entities.values():
        assert entity["spec"]["owner"] == "group:default/team-a"
        assert entity["spec"]["system"] == "shop.payments"
        assert len(entity["metadata"]["name"]) <= 63
    assert component["spec"]["lifecycle"] == "production"
    assert entities["API:payments-api"]["spec"]["lifecycle"] == "production"


@pytest.mark.parametrize(
    ("answer", "message"),
    [
        ("repository_url=https://user:secret@github.com/acme/payments", "an https URL"),
        ("repository_url=http://github.com/acme/payments", "an https URL"),
        ("repository_url=https://github.com/acme/payments?x=1", "an https URL"),
        ("repository_url=https://github.com/" + "a" * 200, "an https URL"),
        ("system=-shop", "catalog entity name"),
        ("lifecycle=retired", "lifecycle"),
        ("git_host=git acme", "host name"),
    ],
)
def test_bad_catalog_answers_are_refused_before_anything_is_written(
    paved, pinned_env: Path, answer: str, message: str
) -> None:
    before = {p.relative_to(pinned_env).as_posix() for p in pinned_env.rglob("*")}
    result = paved("new", "service", "payments", "--owner", "team-a", "--no-push", "--set", answer)
    assert result.exit_code == ExitCode.USAGE, result.stderr
    assert message in one_line_error(result.stderr)
    assert_nothing_written(pinned_env, before)


@pytest.mark.slow
def test_plain_copier_renders_the_road_without_a_repository(tmp_path: Path) -> None:
    import copier

    copier.run_copy(
        str(SCAFFOLDS / "paved-road"),
        tmp_path / "out",
        data={"service_name": "payments", "owner": "team-a", "system": "shop"},
        defaults=True,
        quiet=True,
    )
    entities = _entities(tmp_path / "out")
    component = entities["Component:payments"]
    assert "backstage.io/source-location" not in component["metadata"]["annotations"]
    assert component["spec"]["system"] == "shop"
    assert (tmp_path / "out" / "mkdocs.yml").is_file()
