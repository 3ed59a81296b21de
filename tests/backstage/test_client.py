"""paved.backstage and its settings, against answers shaped like Backstage's (no backend)."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest

from paved.backstage import Backstage, catalog_file_url, repository_problem, shown_url, url_problem
from paved.config import Paths, check_backstage_target, load_settings
from paved.errors import AuthError, ConflictError, InputError, RemoteError
from paved.models import CatalogEntry

TOKEN = "secret-token-0123456789abcdef0123456789"
TARGET = "https://git.example.com/team/orders/-/blob/main/catalog-info.yaml"
#: The entry of a service whose catalog-info.yaml holds its Component and API.
WITH_API = CatalogEntry(api_definition="openapi.json")


def error(status: int, name: str, message: str) -> httpx.Response:
    return httpx.Response(status, json={"error": {"name": name, "message": message}})


def client(answers: dict[tuple[str, str], httpx.Response], seen: list[httpx.Request]) -> Backstage:
    def handle(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        key = (
            request.method,
            request.url.path + (f"?{request.url.query.decode()}" if request.url.query else ""),
        )
        return answers.get(key, httpx.Response(404))

    return Backstage("https://backstage.example.com/", TOKEN, transport=httpx.MockTransport(handle))


def test_register_dry_runs_first_then_registers_with_the_token() -> None:
    seen: list[httpx.Request] = []
    answers = {
        ("POST", "/api/catalog/locations?dryRun=true"): httpx.Response(201, json={"entities": []}),
        ("POST", "/api/catalog/locations"): httpx.Response(201, json={"location": {}}),
    }
    assert client(answers, seen).register(TARGET) is True
    assert [str(r.url) for r in seen] == [
        "https://backstage.example.com/api/catalog/locations?dryRun=true",
        "https://backstage.example.com/api/catalog/locations",
    ]
    assert all(r.headers["authorization"] == f"Bearer {TOKEN}" for r in seen)
    assert json.loads(seen[1].content) == {"type": "url", "target": TARGET}


@pytest.mark.parametrize("which", ["dry run", "registration"])
def test_the_same_target_again_is_already_registered(which: str) -> None:
    answers = {
        ("POST", "/api/catalog/locations?dryRun=true"): (
            error(409, "ConflictError", "Location already exists")
            if which == "dry run"
            else httpx.Response(201, json={})
        ),
        ("POST", "/api/catalog/locations"): error(409, "ConflictError", "exists"),
    }
    assert client(answers, []).register(TARGET) is False


def test_a_refused_dry_run_registers_nothing_and_says_why() -> None:
    seen: list[httpx.Request] = []
    answers = {
        ("POST", "/api/catalog/locations?dryRun=true"): error(
            400, "InputError", "Policy check failed; kind Group is not allowed"
        )
    }
    with pytest.raises(InputError, match="kind Group is not allowed") as caught:
        client(answers, seen).register(TARGET)
    assert len(seen) == 1
    assert TOKEN not in str(caught.value) + (caught.value.hint or "")


def test_a_refused_token_is_an_auth_error_that_never_shows_it() -> None:
    answers = {
        ("GET", "/api/catalog/entities/by-name/component/default/orders"): error(
            401, "AuthenticationError", "Illegal token"
        )
    }
    with pytest.raises(AuthError) as caught:
        client(answers, []).check_free("orders", TARGET, WITH_API)
    assert TOKEN not in str(caught.value) + (caught.value.hint or "")
    assert TOKEN not in repr(client({}, []))


def test_another_location_with_the_name_is_a_conflict() -> None:
    entity = {
        "metadata": {"annotations": {"backstage.io/managed-by-location": "url:https://x/y.yaml"}}
    }
    answers = {
        ("GET", "/api/catalog/entities/by-name/component/default/orders"): httpx.Response(
            200, json=entity
        )
    }
    with pytest.raises(ConflictError, match=r"from url:https://x/y\.yaml"):
        client(answers, []).check_free("orders", TARGET, WITH_API)
    mine = {"metadata": {"annotations": {"backstage.io/managed-by-location": f"url:{TARGET}"}}}
    answers = {
        ("GET", "/api/catalog/entities/by-name/component/default/orders"): httpx.Response(
            200, json=mine
        )
    }
    client(answers, []).check_free("orders", TARGET, WITH_API)  # this very registration: free
    client({}, []).check_free("orders", TARGET, WITH_API)  # 404: free


def test_an_unreachable_backstage_is_a_remote_error() -> None:
    def fail(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused")

    backstage = Backstage("https://backstage.example.com", transport=httpx.MockTransport(fail))
    with pytest.raises(RemoteError, match="cannot be reached"):
        backstage.register(TARGET)


def test_catalog_file_url() -> None:
    assert catalog_file_url("https://github.com/acme/orders.git") == (
        "https://github.com/acme/orders/blob/main/catalog-info.yaml"
    )
    assert catalog_file_url("https://gitlab.example.com/acme/orders.git") == (
        "https://gitlab.example.com/acme/orders/-/blob/main/catalog-info.yaml"
    )
    assert catalog_file_url("https://git.acme.io/acme/orders", api="github") == (
        "https://git.acme.io/acme/orders/blob/main/catalog-info.yaml"
    )
    for local in (
        "file:///srv/repos/orders.git",
        "/srv/repos/orders.git",
        "git@github.com:a/b.git",
    ):
        assert catalog_file_url(local) is None


@pytest.mark.parametrize(
    "url",
    [
        "ftp://backstage",
        "https://",
        "https://user:pw@b.example.com",
        "https://b/?q=1",
        "https://b c",
    ],
)
def test_a_bad_backstage_url_is_a_settings_error(url: str, tmp_path: Path) -> None:
    assert url_problem(url) is not None
    paths = Paths(tmp_path / "c", tmp_path / "d", tmp_path / "k")
    with pytest.raises(InputError, match=r"setting 'backstage\.url' in \$PAVED_BACKSTAGE_URL"):
        load_settings(paths, {"PAVED_BACKSTAGE_URL": url})


def test_the_token_comes_from_the_person_never_from_the_platform(tmp_path: Path) -> None:
    paths = Paths(tmp_path / "c", tmp_path / "d", tmp_path / "k")
    platform = {"backstage": {"url": "https://backstage.example.com"}}
    with pytest.raises(InputError, match="never handed out by the platform"):
        load_settings(paths, {}, organisation={"backstage": {"token": TOKEN}})
    # The platform's URL with no token of the person's: usable, nothing to hand over.
    settings = load_settings(paths, {}, organisation=platform)
    assert settings.backstage_url == "https://backstage.example.com"
    assert settings.sources["backstage_url"] == "the platform settings"


@pytest.mark.parametrize("where", ["environment", "config.toml"])
def test_a_token_is_never_sent_to_the_platforms_backstage_url(where: str, tmp_path: Path) -> None:
    paths = Paths(tmp_path / "c", tmp_path / "d", tmp_path / "k")
    env = {}
    if where == "environment":
        env["PAVED_BACKSTAGE_TOKEN"] = TOKEN
    else:
        paths.config_file.parent.mkdir(parents=True)
        paths.config_file.write_text(f'[backstage]\ntoken = "{TOKEN}"\n')
    platform = {"backstage": {"url": "https://evil.example.com"}}
    settings = load_settings(paths, env, organisation=platform)  # other commands still run
    with pytest.raises(InputError) as caught:
        check_backstage_target(settings)
    assert str(caught.value).startswith(
        "backstage.url comes from the platform's settings; a token of yours is sent only to a "
        "Backstage URL you set yourself"
    )
    assert caught.value.exit_code == 2
    assert TOKEN not in str(caught.value) + (caught.value.hint or "")


@pytest.mark.parametrize("layer", ["environment", "config.toml"])
def test_a_url_the_person_sets_takes_the_token(layer: str, tmp_path: Path) -> None:
    paths = Paths(tmp_path / "c", tmp_path / "d", tmp_path / "k")
    env = {"PAVED_BACKSTAGE_TOKEN": TOKEN}
    if layer == "environment":
        env["PAVED_BACKSTAGE_URL"] = "https://backstage.example.com"
    else:
        paths.config_file.parent.mkdir(parents=True)
        paths.config_file.write_text('[backstage]\nurl = "https://backstage.example.com"\n')
    platform = {"backstage": {"url": "https://other.example.com"}}
    settings = load_settings(paths, env, organisation=platform)
    check_backstage_target(settings)
    assert (settings.backstage_url, settings.backstage_token) == (
        "https://backstage.example.com",
        TOKEN,
    )
    assert TOKEN not in repr(settings)


@pytest.mark.parametrize(
    ("url", "refused"),
    [
        ("http://backstage.example.com", True),
        ("http://10.0.0.5:7007", True),
        ("http://127.0.0.1:7007", False),
        ("http://[::1]:7007", False),
        ("http://localhost:7007", False),
        ("https://backstage.example.com", False),
    ],
)
def test_a_token_never_goes_over_http_to_another_machine(
    url: str, refused: bool, tmp_path: Path
) -> None:
    paths = Paths(tmp_path / "c", tmp_path / "d", tmp_path / "k")
    env = {"PAVED_BACKSTAGE_URL": url, "PAVED_BACKSTAGE_TOKEN": TOKEN}
    if refused:
        with pytest.raises(InputError, match="in the clear"):
            check_backstage_target(load_settings(paths, env))
        with pytest.raises(InputError, match="in the clear"):
            Backstage(url, TOKEN)
        # no token: nothing to protect
        check_backstage_target(load_settings(paths, {"PAVED_BACKSTAGE_URL": url}))
    else:
        check_backstage_target(load_settings(paths, env))
        Backstage(url, TOKEN)


def test_a_token_over_http_refuses_the_command_before_anything_happens(
    paved, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("PAVED_BACKSTAGE_TOKEN", TOKEN)
    monkeypatch.setenv("PAVED_BACKSTAGE_URL", "http://backstage.example.com")
    result = paved("new", "service", "payments", "--owner", "team-checkout", "--dry-run")
    assert result.exit_code == 2, result.stderr
    assert "in the clear" in result.stderr
    assert TOKEN not in result.stdout + result.stderr
    assert not (tmp_path / "payments").exists()
    assert paved("services", "list").exit_code == 0  # what does not call Backstage still runs


def test_verbose_output_never_shows_the_token(paved, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PAVED_BACKSTAGE_URL", "https://backstage.example.com")
    monkeypatch.setenv("PAVED_BACKSTAGE_TOKEN", TOKEN)
    result = paved("-v", "services", "list")
    assert "setting backstage_url = 'https://backstage.example.com'" in result.stderr
    assert "setting backstage_token = (set, not shown)" in result.stderr
    assert TOKEN not in result.stdout + result.stderr


def test_the_api_entity_is_checked_too() -> None:
    entity = {
        "metadata": {"annotations": {"backstage.io/managed-by-location": "url:https://x/y.yaml"}}
    }
    answers = {
        ("GET", "/api/catalog/entities/by-name/api/default/orders-api"): httpx.Response(
            200, json=entity
        )
    }
    with pytest.raises(
        ConflictError, match=r"already has an api 'orders-api' from url:https://x/y"
    ):
        client(answers, []).check_free("orders", TARGET, WITH_API)


def test_register_checks_every_entity_of_the_dry_run_before_registering() -> None:
    seen: list[httpx.Request] = []
    dry_run = {
        "entities": [
            {"kind": "Component", "metadata": {"name": "orders", "namespace": "default"}},
            {"kind": "Resource", "metadata": {"name": "orders-db"}},
            {"kind": "Location", "metadata": {"name": "generated-1"}},
        ]
    }
    elsewhere = {
        "metadata": {"annotations": {"backstage.io/managed-by-location": "url:https://x/y.yaml"}}
    }
    answers = {
        ("POST", "/api/catalog/locations?dryRun=true"): httpx.Response(201, json=dry_run),
        ("GET", "/api/catalog/entities/by-name/resource/default/orders-db"): httpx.Response(
            200, json=elsewhere
        ),
        ("POST", "/api/catalog/locations"): httpx.Response(201, json={}),
    }
    with pytest.raises(
        ConflictError, match="a resource 'orders-db' from url:https://x/y"
    ) as caught:
        client(answers, seen).register(TARGET)
    assert caught.value.exit_code == 6
    assert ("POST", "/api/catalog/locations") not in [
        (r.method, r.url.path) for r in seen if not r.url.query
    ]
    assert "/api/catalog/entities/by-name/component/default/orders" in [r.url.path for r in seen]
    # Each of them free (404) or from this very target: registered.
    mine = {"metadata": {"annotations": {"backstage.io/managed-by-location": f"url:{TARGET}"}}}
    answers[("GET", "/api/catalog/entities/by-name/resource/default/orders-db")] = httpx.Response(
        200, json=mine
    )
    seen.clear()
    assert client(answers, seen).register(TARGET) is True
    assert seen[-1].method == "POST"
    assert not seen[-1].url.query


@pytest.mark.parametrize(
    ("repository", "problem"),
    [
        ("https://user:s3cret@git.example.com/team/orders.git", "user or password"),
        ("https://oauth2@git.example.com/team/orders.git", "user or password"),
        ("https://git.example.com/team/orders.git?ref=x", "query or fragment"),
        ("https://git.example.com/team/orders.git#x", "query or fragment"),
        ("https://git.example.com/team/../admin/orders.git", ". or .. segments"),
        ("https://git.example.com/team/%2e%2e/orders.git", ". or .. segments"),
        ("https://git.example.com/./orders.git", ". or .. segments"),
    ],
)
def test_a_repository_url_backstage_would_store_badly_is_not_registered(
    repository: str, problem: str
) -> None:
    assert problem in (repository_problem(repository) or "")
    assert catalog_file_url(repository) is None
    assert "s3cret" not in shown_url(repository)
    assert repository_problem("https://git.example.com/team/orders.git") is None
