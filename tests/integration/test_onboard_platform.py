"""``paved onboard`` against a real platform on loopback: each step's start and end is recorded
there, as the token's user (a platform that fails to record one: test_onboard_production)."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.deploy_helpers import REAL_KUBECTL
from tests.helpers import git, run_paved
from tests.platform_helpers import GitDaemon, Platform, git_daemon, platform_server

pytest.importorskip("fastapi", reason="the platform server needs the 'server' extra")
pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(REAL_KUBECTL is None, reason="the deploy renders with kubectl kustomize"),
]

NAME = "engineer-first"


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


def events(database: Path) -> list[tuple[str, str, str]]:
    with sqlite3.connect(database) as db:
        rows = db.execute('SELECT "user", step, status FROM onboarding_events ORDER BY id')
        return [(str(u), str(s), str(t)) for u, s, t in rows.fetchall()]


def test_each_step_is_recorded_on_the_platform_as_the_token_s_user(
    pinned_env: Path, platform: Platform, githost: GitDaemon
) -> None:
    token = platform.token("nia", "team-a")
    login = run_paved("login", platform.url, "--token", token)
    assert login.returncode == 0, login.stderr
    githost.create(NAME)

    done = run_paved("onboard", "--json", timeout=600)  # the owner: the token's only team
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["service"]["owner"] == "team-a"
    assert [s["status"] for s in result["steps"]] == ["finished", "finished", "finished", "skipped"]
    assert result["steps"][3]["detail"] == (
        "the platform's settings do not ask for it (onboarding.production_deploy)"
    )
    assert "warning" not in done.stderr
    assert token not in done.stdout + done.stderr
    assert events(platform.database) == [
        ("nia", "doctor", "started"),
        ("nia", "doctor", "finished"),
        ("nia", "service", "started"),
        ("nia", "service", "finished"),
        ("nia", "first-deploy", "started"),
        ("nia", "first-deploy", "finished"),
        ("nia", "production-deploy", "skipped"),
    ]
    with sqlite3.connect(platform.database) as db:
        shipped = db.execute("SELECT service, environment, outcome, actor FROM deployments")
        assert [row[:3] for row in shipped.fetchall()] == [(NAME, "dev", "succeeded")]
    assert git("--git-dir", str(githost.root / f"{NAME}.git"), "rev-parse", "main")

    again = run_paved(
        "onboard", timeout=600
    )  # nothing left to do: only the re-decided skip is sent
    assert again.returncode == 0, again.stderr
    assert events(platform.database)[7:] == [("nia", "production-deploy", "skipped")]
