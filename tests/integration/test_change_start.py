"""When a deployed change began: the oldest commit since the previous deployment's commit, read
with real git from the service repository, and sent to a real platform with the deployment."""

from __future__ import annotations

import datetime as dt
import os
import sqlite3
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from paved.deploy._source import change_start, source_commit
from tests.helpers import git, run_paved
from tests.platform_helpers import GitDaemon, git_daemon, platform_server

DIGEST = "sha256:" + "ab" * 32
T0 = dt.datetime(2025, 3, 1, 12, 0, tzinfo=dt.UTC)


def _commit(repo: Path, name: str, at: dt.datetime) -> str:
    """A commit of a new file ``name``, with ``at`` as its author and committer time."""
    (repo / name).write_text(f"{name}\n", encoding="utf-8")
    stamp = at.isoformat()
    env = {**os.environ, "GIT_AUTHOR_DATE": stamp, "GIT_COMMITTER_DATE": stamp}
    subprocess.run(["git", "add", name], cwd=repo, check=True, env=env)
    subprocess.run(["git", "commit", "--quiet", "-m", f"add {name}"], cwd=repo, check=True, env=env)
    return git("rev-parse", "HEAD", cwd=repo)


@pytest.fixture
def repo(pinned_env: Path) -> Path:
    root = pinned_env / "service"
    root.mkdir()
    git("init", "--quiet", "--initial-branch=main", str(root))
    return root


def _start(repo: Path, previous: str | None) -> dt.datetime:
    commit, committed_at = source_commit(repo)
    return change_start(repo, commit, committed_at, previous)


def test_the_change_starts_at_the_oldest_commit_since_the_previous_deployment(repo: Path) -> None:
    deployed = _commit(repo, "a", T0)
    _commit(repo, "b", T0 + dt.timedelta(hours=2))
    _commit(repo, "c", T0 + dt.timedelta(hours=5))
    assert _start(repo, deployed) == T0 + dt.timedelta(hours=2)
    # Merged work counts too (not first-parent only): a branch begun before the others.
    git("checkout", "--quiet", "-b", "topic", deployed, cwd=repo)
    _commit(repo, "d", T0 + dt.timedelta(hours=1))
    git("checkout", "--quiet", "main", cwd=repo)
    env = {**os.environ, "GIT_COMMITTER_DATE": (T0 + dt.timedelta(hours=6)).isoformat()}
    subprocess.run(
        ["git", "merge", "--quiet", "--no-ff", "-m", "merge topic", "topic"],
        cwd=repo, check=True, env=env,
    )  # fmt: skip
    assert _start(repo, deployed) == T0 + dt.timedelta(hours=1)


def test_without_a_usable_previous_commit_the_change_starts_at_the_deployed_commit(
    repo: Path,
) -> None:
    first = _commit(repo, "a", T0)
    head = _commit(repo, "b", T0 + dt.timedelta(hours=3))
    own = T0 + dt.timedelta(hours=3)
    assert _start(repo, None) == own  # never deployed there
    assert _start(repo, head) == own  # the same commit again: nothing new
    assert _start(repo, "f" * 40) == own  # a commit this repository does not hold
    # Records are input: what is not a commit id never reaches git as an argument.
    for bad in ("--all", "HEAD~1", first[:6], "../x", f"{first}\n"):
        assert _start(repo, bad) == own
    # History rewritten: the previous commit is no ancestor of the deployed one.
    git("checkout", "--quiet", "--orphan", "rewritten", cwd=repo)
    rewritten_head = _commit(repo, "c", T0 + dt.timedelta(hours=4))
    assert git("rev-parse", "HEAD", cwd=repo) == rewritten_head
    assert _start(repo, head) == T0 + dt.timedelta(hours=4)


def test_a_committer_clock_ahead_never_dates_the_change_after_the_deployed_commit(
    repo: Path,
) -> None:
    deployed = _commit(repo, "a", T0)
    _commit(repo, "b", T0 + dt.timedelta(days=2))  # a clock set ahead
    _commit(repo, "c", T0 + dt.timedelta(days=1))
    assert _start(repo, deployed) == T0 + dt.timedelta(days=1)


def test_a_commit_dated_long_before_the_deployed_one_is_clamped_to_90_days(repo: Path) -> None:
    deployed = _commit(repo, "a", T0)
    _commit(repo, "b", dt.datetime(1970, 1, 2, tzinfo=dt.UTC))  # a committer clock set back
    _commit(repo, "c", T0 + dt.timedelta(hours=1))
    assert _start(repo, deployed) == T0 + dt.timedelta(hours=1) - dt.timedelta(days=90)


@pytest.fixture
def githost(pinned_env: Path) -> Iterator[GitDaemon]:
    with git_daemon(pinned_env / "githost") as daemon:
        yield daemon


@pytest.mark.slow
def test_paved_deploy_sends_when_the_change_began_to_the_platform(
    pinned_env: Path, githost: GitDaemon
) -> None:
    githost.create("environments")
    githost.create("payments")
    settings = pinned_env / "organisation.toml"
    settings.write_text(
        f'[githost]\nremote = "git://127.0.0.1:{githost.port}/{{name}}.git"\n'
        f'[deploy]\nrepository = "{githost.url("environments")}"\n',
        encoding="utf-8",
    )
    with platform_server(pinned_env / "platform.db", settings) as platform:
        token = platform.token("ana", "team-a")
        assert run_paved("login", platform.url, "--token", token).returncode == 0
        made = run_paved("new", "service", "payments", "--owner", "team-a")
        assert made.returncode == 0, made.stderr
        service = pinned_env / "payments"
        image = f"registry.example.com/payments@{DIGEST}"

        def deploy(env: str) -> None:
            done = run_paved("deploy", "--env", env, "--image", image, cwd=service)
            assert done.returncode == 0, done.stderr

        deploy("dev")
        now = dt.datetime.now(dt.UTC).replace(microsecond=0)
        _commit(service, "one.txt", now - dt.timedelta(hours=3))
        _commit(service, "two.txt", now - dt.timedelta(hours=1))
        deploy("dev")
        deploy("staging")  # never deployed there: the deployed commit's own time

    with sqlite3.connect(platform.database) as db:
        rows = db.execute(
            "SELECT environment, source_time, change_started_at FROM deployments ORDER BY id"
        ).fetchall()

    def at(text: str) -> dt.datetime:
        return dt.datetime.fromisoformat(text).replace(tzinfo=dt.UTC)

    assert [row[0] for row in rows] == ["dev", "dev", "staging"]
    first, second, third = rows
    assert at(first[2]) == at(first[1])  # the first deploy: the commit's own time
    assert at(second[2]) == now - dt.timedelta(hours=3)  # the oldest commit since the first
    assert at(second[1]) == now - dt.timedelta(hours=1)
    assert at(third[2]) == at(third[1]) == now - dt.timedelta(hours=1)
