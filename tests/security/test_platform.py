"""With a platform, the platform decides before anything happens.

A real ``paved platform serve`` with organisation settings, a real git host (``git daemon``
on loopback) holding the services and the shared environment repository, and the real CLI
in its own process, logged in as members of two teams. Each refusal is asserted to come
before its effect: no folder rendered, nothing pushed, the environment repository unchanged,
nothing recorded in the platform's own database.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from paved.errors import ExitCode
from tests.deploy_helpers import DIGEST_2, image, repo_state
from tests.helpers import git, run_paved
from tests.platform_helpers import GitDaemon, Platform, git_daemon, platform_server

pytest.importorskip("fastapi", reason="the platform server needs the 'server' extra")
pytestmark = pytest.mark.slow


@pytest.fixture
def githost(pinned_env: Path) -> Iterator[GitDaemon]:
    with git_daemon(pinned_env / "githost") as daemon:
        yield daemon


@pytest.fixture
def platform(pinned_env: Path, githost: GitDaemon) -> Iterator[Platform]:
    githost.create("environments")
    settings = pinned_env / "organisation.toml"
    settings.write_text(
        f'[githost]\nremote = "git://127.0.0.1:{githost.port}/{{name}}.git"\n'
        f'[deploy]\nrepository = "{githost.url("environments")}"\n',
        encoding="utf-8",
    )
    with platform_server(pinned_env / "platform.db", settings) as server:
        yield server


def _as(platform: Platform, home: Path, token: str) -> dict[str, str]:
    """The environment of a member logged in with ``token`` (their own PAVED_HOME)."""
    env = {**os.environ, "PAVED_HOME": str(home)}
    done = run_paved("login", platform.url, "--token", token, env=env)
    assert done.returncode == 0, done.stderr
    # the token is readable by this user only, in a folder only they can list
    assert (home / "config").stat().st_mode & 0o777 == 0o700
    assert (home / "config" / "platform.json").stat().st_mode & 0o777 == 0o600
    return env


def _rows(platform: Platform, sql: str) -> list[tuple[object, ...]]:
    with sqlite3.connect(platform.database) as db:
        return db.execute(sql).fetchall()


def _error(done, code: int) -> str:
    assert done.returncode == code, done.stdout + done.stderr
    assert "Traceback" not in done.stderr
    return str(done.stderr.strip().splitlines()[-1])


@pytest.fixture
def billing(pinned_env: Path, platform: Platform, githost: GitDaemon) -> Path:
    """team-a's billing, made and deployed to dev by ana."""
    githost.create("billing")
    ana = _as(platform, pinned_env / "ana", platform.token("ana", "team-a"))
    made = run_paved("new", "service", "billing", "--owner", "team-a", env=ana, cwd=pinned_env)
    assert made.returncode == 0, made.stderr
    service = pinned_env / "billing"
    shipped = run_paved("deploy", "--image", image("billing"), env=ana, cwd=service)
    assert shipped.returncode == 0, shipped.stderr
    return service


def test_another_team_cannot_deploy_through_the_shared_environment_repository(
    pinned_env: Path, platform: Platform, githost: GitDaemon, billing: Path
) -> None:
    bo = _as(platform, pinned_env / "bo", platform.token("bo", "team-b"))
    environments = githost.root / "environments.git"
    before = (repo_state(environments), _rows(platform, "SELECT * FROM deployments"))

    # bo clones team-a's repository itself: the name and the repository match the catalog,
    # but the owner is not bo's team.
    clone = pinned_env / "bo-billing"
    git("clone", "--quiet", githost.url("billing"), str(clone))
    done = run_paved("deploy", "--image", image("billing", DIGEST_2), env=bo, cwd=clone)
    assert "belongs to team team-a" in _error(done, ExitCode.AUTH)
    assert (repo_state(environments), _rows(platform, "SELECT * FROM deployments")) == before

    # bo's own service renamed to billing in its answers file: not billing's repository.
    githost.create("stock")
    made = run_paved("new", "service", "stock", "--owner", "team-b", env=bo, cwd=pinned_env)
    assert made.returncode == 0, made.stderr
    answers = pinned_env / "stock" / ".copier-answers.road.yml"
    answers.write_text(answers.read_text().replace("service_name: stock", "service_name: billing"))
    git("commit", "--quiet", "-am", "Rename", cwd=pinned_env / "stock")
    done = run_paved("deploy", "--image", image("billing", DIGEST_2), env=bo, cwd=answers.parent)
    assert "registered with repository" in _error(done, ExitCode.USAGE)
    assert (repo_state(environments), _rows(platform, "SELECT * FROM deployments")) == before


def test_new_service_for_a_team_that_is_not_yours_is_refused_before_rendering(
    pinned_env: Path, platform: Platform, githost: GitDaemon
) -> None:
    bare = githost.create("stock")
    platform.token("carol", "team-other")  # a known team, only not bo's
    bo = _as(platform, pinned_env / "bo", platform.token("bo", "team-b"))
    done = run_paved("new", "service", "stock", "--owner", "team-other", env=bo, cwd=pinned_env)
    _error(done, ExitCode.AUTH)
    assert not (pinned_env / "stock").exists()  # nothing rendered
    assert repo_state(bare) == ""  # nothing pushed
    assert _rows(platform, "SELECT name FROM services") == []
    refused = _rows(platform, "SELECT action, outcome FROM audit_events")
    assert ("service.register", "forbidden") in refused
    # The name is not lost: the same command with the right team works.
    again = run_paved("new", "service", "stock", "--owner", "team-b", env=bo, cwd=pinned_env)
    assert again.returncode == 0, again.stderr


def test_an_archived_name_is_refused_before_rendering(
    pinned_env: Path, platform: Platform, githost: GitDaemon, billing: Path
) -> None:
    ana = _as(platform, pinned_env / "ana", platform.token("ana2", "team-a"))
    assert run_paved("services", "archive", "billing", env=ana).returncode == 0
    elsewhere = pinned_env / "elsewhere"
    elsewhere.mkdir()
    done = run_paved("new", "service", "billing", "--owner", "team-a", env=ana, cwd=elsewhere)
    assert "archived" in _error(done, ExitCode.CONFLICT)
    assert list(elsewhere.iterdir()) == []


def test_a_repository_only_this_machine_can_reach_is_refused(
    pinned_env: Path, platform: Platform
) -> None:
    ana = _as(platform, pinned_env / "ana", platform.token("ana", "team-a"))
    local = pinned_env / "local.git"
    git("init", "--quiet", "--bare", str(local))
    for remote in (str(local), local.as_uri()):
        done = run_paved(
            "new", "service", "inventory", "--owner", "team-a", "--remote", remote,
            env=ana, cwd=pinned_env,
        )  # fmt: skip
        assert "githost.remote" in _error(done, ExitCode.USAGE)
        assert not (pinned_env / "inventory").exists()
    assert _rows(platform, "SELECT name FROM services") == []


def test_a_deploy_without_the_organisations_environment_repository_is_refused(
    pinned_env: Path, githost: GitDaemon
) -> None:
    """A platform whose settings name no environment repository: the embedded one on the
    laptop is no place for the organisation's deploys."""
    githost.create("ledger")
    settings = pinned_env / "no-deploy.toml"
    settings.write_text(f'[githost]\nremote = "git://127.0.0.1:{githost.port}/{{name}}.git"\n')
    with platform_server(pinned_env / "other.db", settings) as other:
        ana = _as(other, pinned_env / "ana", other.token("ana", "team-a"))
        made = run_paved("new", "service", "ledger", "--owner", "team-a", env=ana, cwd=pinned_env)
        assert made.returncode == 0, made.stderr
        done = run_paved("deploy", "--image", image("ledger"), env=ana, cwd=pinned_env / "ledger")
        assert "deploy.repository" in _error(done, ExitCode.USAGE)
        assert not (pinned_env / "ana" / "data" / "environments.git").exists()
        assert _rows(other, "SELECT * FROM deployments") == []
