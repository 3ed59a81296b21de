"""The whole road against a real platform server: login, new service, deploy, all recorded there."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import jsonschema
import pytest

from tests.helpers import REPO_ROOT, git, run_paved
from tests.platform_helpers import GitDaemon, git_daemon, platform_server
from tests.terminal_helpers import run_in_terminal

pytest.importorskip("fastapi", reason="the platform server needs the 'server' extra")
pytestmark = pytest.mark.slow

DIGEST = "sha256:" + "ab" * 32
SCHEMAS = REPO_ROOT / "docs" / "schemas"


@pytest.fixture
def githost(pinned_env: Path) -> Iterator[GitDaemon]:
    with git_daemon(pinned_env / "githost") as daemon:
        yield daemon


@pytest.fixture
def platform(pinned_env: Path, githost: GitDaemon) -> Iterator[tuple[str, Path]]:
    """The organisation's platform: its settings put repositories on the git host."""
    githost.create("environments")
    settings = pinned_env / "organisation.toml"
    settings.write_text(
        f'[githost]\nremote = "git://127.0.0.1:{githost.port}/{{name}}.git"\n'
        f'[deploy]\nrepository = "{githost.url("environments")}"\n',
        encoding="utf-8",
    )
    with platform_server(pinned_env / "platform.db", settings) as server:
        yield server.url, server.database


def test_login_then_new_service_then_deploy_lands_in_the_platform(
    pinned_env: Path, platform: tuple[str, Path], githost: GitDaemon
) -> None:
    url, database = platform
    bare = githost.create("payments")  # the git host's "new repository"
    created = run_paved(
        "platform", "token", "create", "--user", "ana", "--team", "team-a",
        "--db", f"sqlite:///{database}",
    )  # fmt: skip
    assert created.returncode == 0, created.stderr
    token = created.stdout.strip().splitlines()[-1]

    empty = run_paved("services", "list")  # the local catalog: nothing said about which
    assert empty.stderr == (
        f"No services in the catalog {pinned_env}/paved-home/data/catalog.db yet. "
        "Create one: paved new service NAME --owner TEAM\n"
    )
    login = run_paved("login", url, "--token", token)
    assert login.returncode == 0, login.stderr
    assert token not in login.stdout + login.stderr
    assert login.stdout == ""
    assert login.stderr.splitlines() == [
        f"logged in to {url} as ana (teams: team-a); credentials in "
        f"{pinned_env}/paved-home/config/platform.json",
        f"commands now use the platform's catalog at {url}",
    ]
    # At a terminal the token is asked for, hidden, and asked again when the platform refuses it.
    code, screen = run_in_terminal(
        ["login", url], [("Token: ", "not-a-token"), ("Token: ", token)], cwd=pinned_env
    )
    assert code == 0, screen
    assert "(2 more tries)" in screen
    assert "not-a-token" not in screen  # never echoed
    assert token not in screen
    assert f"logged in to {url} as ana (teams: team-a)" in screen
    again = run_paved("login", url, "--token", token, "--json")
    assert again.returncode == 0, again.stderr
    said = json.loads(again.stdout)
    jsonschema.validate(said, json.loads((SCHEMAS / "login.schema.json").read_text()))
    assert (said["user"], said["teams"], said["catalog"]) == ("ana", ["team-a"], url)
    assert said["admin"] is False
    assert token not in again.stdout
    listed = run_paved("services", "list")
    assert listed.returncode == 0, listed.stderr
    assert listed.stderr == (
        f"catalog: {url} (logged in as ana)\n"
        f"No services in the catalog {url} yet. Create one: paved new service NAME --owner TEAM\n"
    )
    assert run_paved("--quiet", "services", "list").stderr == ""

    made = run_paved("new", "service", "payments", "--owner", "team-a", "--json")
    assert made.returncode == 0, made.stderr
    assert json.loads(made.stdout)["registered"] is True
    assert json.loads(made.stdout)["repository"] == githost.url("payments")
    assert git("--git-dir", str(bare), "rev-parse", "main")  # pushed to the git host

    deployed = run_paved(
        "deploy", "--env", "dev", "--image", f"registry.example.com/payments@{DIGEST}", "--json",
        cwd=pinned_env / "payments",
    )  # fmt: skip
    assert deployed.returncode == 0, deployed.stderr

    listed = run_paved("deployments", "list", "--service", "payments", "--json")
    assert listed.returncode == 0, listed.stderr
    records = json.loads(listed.stdout)["deployments"]
    assert [(r["environment"], r["outcome"]) for r in records] == [("dev", "succeeded")]

    # What the CLI says is in the platform is in the platform's own database.
    with sqlite3.connect(database) as db:
        owners = db.execute("SELECT name, owner FROM services").fetchall()
        shipped = db.execute("SELECT service, environment, outcome FROM deployments").fetchall()
    assert owners == [("payments", "team-a")]
    assert shipped == [("payments", "dev", "succeeded")]
    # ...and the manifests in the organisation's environment repository.
    environments = githost.root / "environments.git"
    assert "payments" in git("--git-dir", str(environments), "ls-tree", "-r", "main", "envs/dev")
    # ...and not in a local catalog beside it.
    assert not (pinned_env / "paved-home" / "data" / "catalog.db").exists()

    other_team = run_paved(
        "platform", "token", "create", "--user", "bo", "--team", "team-b",
        "--db", f"sqlite:///{database}",
    )  # fmt: skip
    assert (
        run_paved("login", url, "--token", other_team.stdout.strip().splitlines()[-1]).returncode
        == 0
    )
    refused = run_paved("services", "archive", "payments")
    assert refused.returncode == 4, refused.stderr
    shown = run_paved("services", "show", "payments")
    assert shown.stderr == f"catalog: {url} (logged in as bo)\n"
    logout = run_paved("logout")
    assert logout.returncode == 0
    assert logout.stderr.splitlines() == [
        f"logged out of {url}; removed {pinned_env}/paved-home/config/platform.json",
        f"commands use the local catalog {pinned_env}/paved-home/data/catalog.db again",
    ]
