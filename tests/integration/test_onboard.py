"""``paved onboard`` end to end: real git (bare remotes), real copier, the real deploy.

The pinned git identity is ``Test Engineer <engineer@example.com>``, so the first service is
``engineer-first``; the embedded git host's bare repositories are under the data folder.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from paved.errors import ExitCode
from tests.deploy_helpers import REAL_KUBECTL
from tests.helpers import REPO_ROOT, git

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(REAL_KUBECTL is None, reason="the deploy renders with kubectl kustomize"),
]

SCHEMA = json.loads((REPO_ROOT / "docs" / "schemas" / "onboard.schema.json").read_text())
NAME = "engineer-first"
Paved = Callable[..., Any]


def state_of(root: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(
        (root / "paved-home" / "data" / "onboarding.json").read_text()
    )
    return data


def statuses(root: Path) -> dict[str, str]:
    return {step: record["status"] for step, record in state_of(root)["steps"].items()}


def deployments(paved: Paved) -> list[tuple[str, str, str]]:
    done = paved("deployments", "list", "--json")
    assert done.exit_code == 0, done.stderr
    return [
        (d["service"], d["environment"], d["outcome"])
        for d in json.loads(done.stdout)["deployments"]
    ]


def bare_remote(root: Path, hook: str | None = None) -> Path:
    """The embedded git host's repository for the first service, made ahead with a hook."""
    bare = root / "paved-home" / "data" / "repos" / f"{NAME}.git"
    bare.parent.mkdir(parents=True, exist_ok=True)
    git("init", "--quiet", "--bare", "--initial-branch=main", str(bare))
    if hook is not None:
        path = bare / "hooks" / "pre-receive"
        path.write_text(f"#!/bin/sh\n{hook}\n")
        path.chmod(0o755)
    return bare


def test_the_checklist_runs_once_then_says_it_is_done(pinned_env: Path, paved: Paved) -> None:
    done = paved("onboard", "--owner", "team-a")
    assert done.exit_code == 0, done.stderr
    rows = [line.split("\t") for line in done.stdout.splitlines()]
    assert [row[:2] for row in rows] == [
        ["finished", "doctor"],
        ["finished", "service"],
        ["finished", "first-deploy"],
        ["skipped", "production-deploy"],
    ]
    assert (
        rows[1][2]
        == f"{NAME} created in {pinned_env / NAME} (file://{pinned_env}/paved-home/data/repos/{NAME}.git)"
    )
    assert rows[2][2].startswith(f"{NAME} deployed to dev (deployment 1): ")
    assert (
        rows[3][2]
        == "no platform: its settings decide whether onboarding guides a production deploy"
    )
    # each step said what it does and why before it ran
    assert "service: creates your first service engineer-first from the paved road" in done.stderr
    assert "  why: a service of your own to learn the road on" in done.stderr
    assert "first-deploy: deploys engineer-first to dev, behind the guardrails" in done.stderr
    # the service is real: committed, pushed, registered, deployed
    assert (
        git("log", "-1", "--format=%s", cwd=pinned_env / NAME) == f"Create {NAME} on the paved road"
    )
    assert git(
        "--git-dir", str(pinned_env / "paved-home/data/repos" / f"{NAME}.git"), "rev-parse", "main"
    )
    assert deployments(paved) == [(NAME, "dev", "succeeded")]
    state = state_of(pinned_env)
    assert state["service"] == {"name": NAME, "owner": "team-a", "path": str(pinned_env / NAME)}
    for record in state["steps"].values():
        assert record["started_at"] <= record["finished_at"]

    again = paved("onboard", "--json")  # the owner and the name are the recorded ones
    assert again.exit_code == 0, again.stderr
    result = json.loads(again.stdout)
    jsonschema.validate(result, SCHEMA)
    assert result["status"] == "finished"
    assert [s["status"] for s in result["steps"]] == ["finished", "finished", "finished", "skipped"]
    assert result["steps"][0]["started_at"] == state["steps"]["doctor"]["started_at"]
    assert "doctor: done before" in again.stderr
    assert deployments(paved) == [(NAME, "dev", "succeeded")]  # nothing deployed twice


def test_a_refused_push_fails_the_service_step_and_the_next_run_resumes_it(
    pinned_env: Path, paved: Paved
) -> None:
    bare = bare_remote(pinned_env, "echo 'pushes are paused for maintenance' >&2; exit 1")
    failed = paved("onboard", "--owner", "team-a")
    assert failed.exit_code == ExitCode.REMOTE
    assert failed.stderr.splitlines()[-1].startswith("error: step 'push' failed: git repository")
    assert [line.split("\t")[:2] for line in failed.stdout.splitlines()] == [
        ["finished", "doctor"],
        ["failed", "service"],
        ["not run", "first-deploy"],
        ["not run", "production-deploy"],
    ]
    assert statuses(pinned_env) == {"doctor": "finished", "service": "failed"}
    assert "pushes are paused for maintenance" in state_of(pinned_env)["steps"]["service"]["detail"]

    still = paved("onboard", "--json")  # the hook still refuses: the same step fails again
    assert still.exit_code == ExitCode.REMOTE
    result = json.loads(still.stdout)
    jsonschema.validate(result, SCHEMA)
    assert result["status"] == "failed"
    assert [s["status"] for s in result["steps"]] == ["finished", "failed", "not run", "not run"]
    assert still.stderr.splitlines()[-1].startswith("error: step 'push' failed: git repository")

    (bare / "hooks" / "pre-receive").unlink()
    done = paved("onboard")
    assert done.exit_code == 0, done.stderr
    assert f"{NAME} resumed in" in done.stdout
    assert statuses(pinned_env) == {
        "doctor": "finished", "service": "finished", "first-deploy": "finished",
        "production-deploy": "skipped",
    }  # fmt: skip
    assert deployments(paved) == [(NAME, "dev", "succeeded")]


def test_a_run_killed_in_the_middle_of_a_step_is_finished_by_the_next(pinned_env: Path) -> None:
    marker = pinned_env / "push-started"
    bare = bare_remote(pinned_env, f"touch {marker}; sleep 600")
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT / "src")}
    process = subprocess.Popen(
        [sys.executable, "-m", "paved", "onboard", "--owner", "team-a"],
        cwd=pinned_env, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        start_new_session=True,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 300
        while not marker.exists():  # the push is under way: the service step is half done
            assert process.poll() is None, "paved onboard ended before its push"
            assert time.monotonic() < deadline, "the push never started"
            time.sleep(0.1)
    finally:
        os.killpg(process.pid, signal.SIGKILL)  # paved, git and the hook: a closed laptop
        process.wait(timeout=120)
    assert statuses(pinned_env) == {"doctor": "finished", "service": "started"}

    (bare / "hooks" / "pre-receive").unlink()
    again = subprocess.run(
        [sys.executable, "-m", "paved", "onboard", "--json"],
        cwd=pinned_env, env=env, capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip
    assert again.returncode == 0, again.stderr
    result = json.loads(again.stdout)
    jsonschema.validate(result, SCHEMA)
    assert [s["status"] for s in result["steps"]] == ["finished", "finished", "finished", "skipped"]
    assert result["steps"][1]["detail"].startswith(f"{NAME} resumed in {pinned_env / NAME}")
    assert git("--git-dir", str(bare), "rev-parse", "main") == git(
        "rev-parse", "HEAD", cwd=pinned_env / NAME
    )


def test_a_dry_run_writes_nothing(pinned_env: Path, paved: Paved) -> None:
    planned = paved("onboard", "--owner", "team-a", "--dry-run", "--json")
    assert planned.exit_code == 0, planned.stderr
    result = json.loads(planned.stdout)
    jsonschema.validate(result, SCHEMA)
    assert result["status"] == "planned"
    assert result["service"] == {"name": NAME, "owner": "team-a", "path": str(pinned_env / NAME)}
    assert result["environment"] == "dev"
    assert [s["status"] for s in result["steps"]] == ["planned", "planned", "planned", "skipped"]
    assert not (pinned_env / "paved-home" / "data" / "onboarding.json").exists()
    assert not (pinned_env / NAME).exists()


def test_a_taken_name_gets_a_number(pinned_env: Path, paved: Paved) -> None:
    made = paved("new", "service", NAME, "--owner", "team-b", "--dir", "other/x", "--no-push")
    assert made.exit_code == 0, made.stderr
    planned = paved("onboard", "--owner", "team-a", "--dry-run", "--json")
    assert planned.exit_code == 0, planned.stderr
    assert json.loads(planned.stdout)["service"]["name"] == f"{NAME}-2"


@pytest.mark.parametrize(
    ("name", "email"),
    [("../..", "../@example.com"), ("李雷", "李雷@example.com"), ("", "")],
)
def test_an_identity_with_nothing_safe_in_it_stops_before_any_step(
    pinned_env: Path, paved: Paved, name: str, email: str
) -> None:
    config = pinned_env / "home" / ".gitconfig"
    config.write_text(f"[user]\n\tname = {name}\n\temail = {email}\n", encoding="utf-8")
    refused = paved("onboard", "--owner", "team-a")
    assert refused.exit_code == ExitCode.USAGE
    assert refused.stdout == ""
    assert refused.stderr.splitlines()[-1] == (
        "error: no service name can be made from your git identity (user.email and user.name "
        "have no letters a-z); pass --name NAME (for example --name jane-first)"
    )
    assert not (pinned_env / "paved-home" / "data" / "onboarding.json").exists()


def test_bad_choices_are_refused_in_one_line(pinned_env: Path, paved: Paved) -> None:
    protected = paved("onboard", "--owner", "team-a", "--environment", "prod", "--dry-run")
    assert protected.exit_code == ExitCode.USAGE
    assert protected.stderr.splitlines()[-1].startswith(
        "error: prod is a protected environment: the first deploy goes to one that is not"
    )
    hostile = paved("onboard", "--owner", "team-a", "--name", "../etc", "--dry-run")
    assert hostile.exit_code == ExitCode.USAGE
    assert hostile.stderr.splitlines()[-1].startswith("error: service name '../etc' ")
    no_owner = paved("onboard", "--dry-run")
    assert no_owner.exit_code == ExitCode.USAGE
    assert (
        no_owner.stderr.splitlines()[-1] == "error: the owning team is missing; pass --owner TEAM"
    )


def test_a_bad_state_file_stops_the_run_until_restart(pinned_env: Path, paved: Paved) -> None:
    state = pinned_env / "paved-home" / "data" / "onboarding.json"
    state.parent.mkdir(parents=True)
    state.write_text('{"version": 1, "steps": {"doctor": {"status": "done"}}}')
    refused = paved("onboard", "--owner", "team-a")
    assert refused.exit_code == ExitCode.USAGE
    assert refused.stdout == ""
    assert refused.stderr.splitlines()[-1].startswith(f"error: the onboarding state {state} ")
    assert "paved onboard --restart" in refused.stderr
    assert state.read_text() == '{"version": 1, "steps": {"doctor": {"status": "done"}}}'
    planned = paved("onboard", "--owner", "team-a", "--restart", "--dry-run")
    assert planned.exit_code == 0, planned.stderr
    assert state.exists()  # a dry run removes nothing either


def test_the_environment_and_the_folder_can_be_chosen(pinned_env: Path, paved: Paved) -> None:
    planned = paved(
        "onboard", "--owner", "team-a", "--environment", "staging", "--path", "src/mine",
        "--name", "my-first", "--dry-run", "--json",
    )  # fmt: skip
    assert planned.exit_code == 0, planned.stderr
    result = json.loads(planned.stdout)
    assert result["environment"] == "staging"
    assert result["service"] == {
        "name": "my-first", "owner": "team-a", "path": str(pinned_env / "src" / "mine"),
    }  # fmt: skip
    assert result["steps"][2]["what"] == "deploys my-first to staging, behind the guardrails"
    unknown = paved("onboard", "--owner", "team-a", "--environment", "qa", "--dry-run")
    assert unknown.exit_code == ExitCode.USAGE
    assert unknown.stderr.splitlines()[-1] == (
        "error: unknown environment 'qa'; known environments: dev, staging, prod"
    )
