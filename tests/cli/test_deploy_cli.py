"""paved deploy, rollback and deployments list at the command line: bad input and faults."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import jsonschema
import pytest

from paved.errors import ExitCode
from tests.deploy_helpers import (
    DEPLOY_SCHEMA,
    DIGEST_1,
    DIGEST_2,
    env_repo,
    fake_kubectl,
    image,
    make_service,
    records,
    rendered,
    repo_state,
)
from tests.helpers import git, run_paved
from tests.terminal_helpers import terminal_runtime

pytestmark = pytest.mark.slow


@pytest.fixture
def orders(paved, pinned_env: Path) -> Path:
    return make_service(paved, pinned_env, "orders")


def _one_line_error(done, code: int) -> str:
    assert done.exit_code == code, done.stderr
    assert done.stdout == ""
    last = done.stderr.splitlines()[-1]
    assert last.startswith("error: ")
    assert "Traceback" not in done.stderr
    return str(last)


def test_an_unknown_environment_exits_2_and_records_nothing(paved, pinned_env: Path) -> None:
    # Checked before the service is read: no service needed.
    done = paved("deploy", "--path", "orders", "--env", "qa", "--image", image("orders"))
    line = _one_line_error(done, ExitCode.USAGE)
    assert line == ("error: unknown environment 'qa'; known environments: dev, staging, prod")
    assert records(paved) == []  # a typo is not a deployment
    assert repo_state(env_repo(pinned_env)) == "absent"


def test_a_folder_that_is_not_a_paved_service_exits_2(paved, pinned_env: Path) -> None:
    (pinned_env / "plain").mkdir()
    done = paved("deploy", "--path", "plain", "--image", image("plain"))
    line = _one_line_error(done, ExitCode.USAGE)
    assert "plain is not a paved service (it has no .copier-answers.road.yml)" in line
    assert records(paved) == []


@pytest.mark.parametrize(
    "ref",
    [
        "orders:1.0",  # no registry
        "registry.example.com/team/orders",  # no tag, no digest
        "registry.example.com/Team/orders:1.0",  # upper case in the path
        "registry.example.com/team/orders@sha256:abc",  # short digest
        "registry.example.com/team/orders:bad tag",
        "https://registry.example.com/team/orders:1.0",
    ],
)
def test_an_invalid_image_reference_exits_2(paved, orders: Path, ref: str) -> None:
    done = paved("deploy", "--path", "orders", "--image", ref)
    line = _one_line_error(done, ExitCode.USAGE)
    assert f"--image '{ref}'" in line
    assert records(paved) == []  # a typo is not a failed deployment


def test_no_image_and_no_earlier_deployment_names_the_flag(paved, orders: Path) -> None:
    done = paved("deploy", "--path", "orders")
    line = _one_line_error(done, ExitCode.USAGE)
    assert "pass --image" in line


def test_a_missing_kubectl_exits_1(
    paved, orders: Path, pinned_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bin_dir = pinned_env / "bin"
    bin_dir.mkdir()
    (bin_dir / "git").symlink_to(shutil.which("git") or "/usr/bin/git")
    monkeypatch.setenv("PATH", str(bin_dir))
    done = paved("deploy", "--path", "orders", "--image", image("orders"))
    line = _one_line_error(done, ExitCode.FAILURE)
    assert "kubectl is not installed or not on PATH" in line
    assert records(paved) == []  # a tool missing on this machine is no deployment
    assert repo_state(env_repo(pinned_env)) == "absent"


def test_an_unreachable_environment_repository_exits_5(
    paved, orders: Path, pinned_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PAVED_DEPLOY_REPOSITORY", str(pinned_env / "nowhere.git"))
    done = paved("deploy", "--path", "orders", "--image", image("orders"))
    line = _one_line_error(done, ExitCode.REMOTE)
    assert f"git repository {pinned_env / 'nowhere.git'} cannot be reached" in line
    (record,) = records(paved)
    assert record["outcome"] == "failed"
    assert not (pinned_env / "nowhere.git").exists()


def test_a_rejected_push_exits_5_and_leaves_the_repository_as_it_was(
    paved, orders: Path, pinned_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo = pinned_env / "guarded.git"
    git("init", "--quiet", "--bare", "--initial-branch=main", str(repo))
    hook = repo / "hooks" / "pre-receive"
    hook.write_text("#!/bin/sh\necho 'deploys are frozen until Monday' >&2\nexit 1\n")
    hook.chmod(0o755)
    monkeypatch.setenv("PAVED_DEPLOY_REPOSITORY", str(repo))
    done = paved("deploy", "--path", "orders", "--image", image("orders"))
    line = _one_line_error(done, ExitCode.REMOTE)
    assert "rejected the push (deploys are frozen until Monday)" in line
    assert repo_state(repo) == ""
    assert records(paved)[0]["outcome"] == "failed"


def test_uncommitted_changes_are_refused(paved, orders: Path) -> None:
    (orders / "k8s" / "base" / "service.yaml").write_text("# edited\n", encoding="utf-8")
    done = paved("deploy", "--path", "orders", "--image", image("orders"))
    line = _one_line_error(done, ExitCode.USAGE)
    assert "has uncommitted changes (k8s/base/service.yaml)" in line


def test_break_glass_needs_a_reason(paved) -> None:
    # Flags checked before the service is read: no service needed.
    done = paved("deploy", "--path", "orders", "--image", image("orders"), "--break-glass")
    assert "--break-glass needs --reason" in _one_line_error(done, ExitCode.USAGE)
    done = paved("deploy", "--path", "orders", "--image", image("orders"), "--reason", "x")
    assert "--reason goes with --break-glass" in _one_line_error(done, ExitCode.USAGE)
    assert records(paved) == []  # usage errors are not deployments: nothing skews the metrics


def test_prod_needs_yes_in_a_script(paved, orders: Path) -> None:
    done = paved("deploy", "--path", "orders", "--env", "prod", "--image", image("orders"))
    assert "pass --yes" in _one_line_error(done, ExitCode.USAGE)
    done = paved("rollback", "--path", "orders", "--env", "prod")
    assert "has no successful deployment in prod" in _one_line_error(done, ExitCode.USAGE)
    assert records(paved) == []  # usage errors are not deployments: nothing skews the metrics


def test_deploy_from_inside_the_service_finds_its_root(
    paved, orders: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(orders / "k8s" / "base")
    done = paved("deploy", "--image", image("orders"), "--json")
    assert done.exit_code == 0, done.stderr
    (record,) = records(paved)
    assert (record["service"], record["outcome"]) == ("orders", "succeeded")


def test_rollback_without_history_exits_2(paved, orders: Path) -> None:
    done = paved("rollback", "--path", "orders")
    assert "has no successful deployment in dev" in _one_line_error(done, ExitCode.USAGE)
    done = paved("rollback", "--path", "orders", "--to", "99")
    assert "has no successful deployment in dev" in _one_line_error(done, ExitCode.USAGE)


def test_deployments_list_in_a_pipe_and_filtered(paved, orders: Path) -> None:
    assert paved("deploy", "--path", "orders", "--image", image("orders")).exit_code == 0
    assert paved("deploy", "--path", "orders", "--env", "qa").exit_code == 2
    listed = paved("deployments", "list")
    lines = listed.stdout.splitlines()
    assert [line.split("\t")[:4] for line in lines] == [["1", "orders", "dev", "succeeded"]]
    assert [r["id"] for r in records(paved, "--env", "dev")] == [1]
    assert records(paved, "--service", "billing") == []
    empty = paved("deployments", "list", "--service", "billing")
    assert empty.stdout == ""
    assert empty.stderr == (
        f"No deployments of billing in the catalog {orders.parent}/paved-home/data/catalog.db "
        "yet. Deploy a service: paved deploy --env dev --image REF\n"
    )


def _kubernetes_settings(pinned_env: Path) -> None:
    config = pinned_env / "paved-home" / "config" / "config.toml"
    config.parent.mkdir(parents=True, exist_ok=True)
    config.write_text(
        '[environments.dev]\ntarget = "kubernetes"\ncontext = "kind-dev"\n'
        'rollout_timeout = "120s"\n',
        encoding="utf-8",
    )


def test_the_kubernetes_target_runs_apply_then_rollout_status(
    paved, orders: Path, pinned_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _kubernetes_settings(pinned_env)
    log = fake_kubectl(pinned_env / "fake")
    monkeypatch.setenv("PATH", f"{pinned_env / 'fake'}{os.pathsep}{os.environ['PATH']}")
    ref = image("orders")
    done = paved("deploy", "--path", "orders", "--image", ref, "--json")
    assert done.exit_code == 0, done.stderr
    data = json.loads(done.stdout)
    jsonschema.validate(data, DEPLOY_SCHEMA)
    assert (data["target"], data["repository"], data["revision"]) == ("kubernetes", None, None)
    assert log.read_text().splitlines() == [
        "apply --server-side --field-manager=paved --context kind-dev --namespace orders-dev -f -",
        "rollout status deployment/orders --context kind-dev --namespace orders-dev --timeout=120s",
    ]
    assert (pinned_env / "fake" / "applied.yaml").read_bytes() == rendered(orders, "dev", ref)
    assert repo_state(env_repo(pinned_env)) == "absent"

    # A second image, then a rollback re-applies the first deployment's manifests.
    second = image("orders", "sha256:" + "2" * 64)
    assert paved("deploy", "--path", "orders", "--image", second).exit_code == 0
    assert paved("rollback", "--path", "orders").exit_code == 0
    assert (pinned_env / "fake" / "applied.yaml").read_bytes() == rendered(orders, "dev", ref)
    rolled = records(paved)[0]
    assert (rolled["rollback_of"], rolled["restored"]) == (2, 1)


def test_a_rollout_that_does_not_finish_exits_5_and_is_recorded_failed(
    paved, orders: Path, pinned_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _kubernetes_settings(pinned_env)
    fake_kubectl(pinned_env / "fake", fail="rollout")
    monkeypatch.setenv("PATH", f"{pinned_env / 'fake'}{os.pathsep}{os.environ['PATH']}")
    done = paved("deploy", "--path", "orders", "--image", image("orders"))
    line = _one_line_error(done, ExitCode.REMOTE)
    assert "the rollout in context kind-dev failed (error: rollout timed out" in line
    assert records(paved)[0]["outcome"] == "failed"


def test_help_lists_the_deploy_commands() -> None:
    done = run_paved("--help")
    assert done.returncode == 0
    for command in ("deploy", "rollback", "deployments"):
        assert f"  {command} " in done.stdout


def _confirmation(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.startswith("  ") and ": " in line]


def test_prod_confirmation_shows_what_ships_and_a_decline_records_nothing(
    paved, orders: Path, pinned_env: Path
) -> None:
    before = repo_state(env_repo(pinned_env))
    head = git("rev-parse", "HEAD", cwd=orders)
    done = paved(
        "deploy", "--path", "orders", "--env", "prod", "--image", image("orders"),
        runtime=terminal_runtime(), input="maybe\nn\n",
    )  # fmt: skip
    assert done.exit_code == ExitCode.USAGE, done.stderr
    assert (
        _confirmation(done.stderr)
        == [
            "  service:       orders",
            "  environment:   prod (protected)",
            "  image:         registry.example.com/team/orders@sha256:" + "1" * 64,  # whole
            f"  source commit: {head[:12]} Create orders on the paved road",
        ]
    )
    assert "'maybe' is not an answer; answer y (yes) or n (no) (2 more tries)" in done.stderr
    assert done.stderr.splitlines()[-1].endswith(  # CliRunner: after the question, on its line
        "prod? [y/N]:not deployed: orders in prod was not confirmed; "
        "nothing was changed or recorded"
    )
    assert records(paved) == []  # a declined confirmation is not an attempt
    assert repo_state(env_repo(pinned_env)) == before

    yes = paved(
        "deploy", "--path", "orders", "--env", "prod", "--image", image("orders"),
        runtime=terminal_runtime(), input="y\n",
    )  # fmt: skip
    assert yes.exit_code == 0, yes.stderr
    assert [(r["environment"], r["outcome"]) for r in records(paved)] == [("prod", "succeeded")]


def test_prod_rollback_confirmation_names_the_deployment_it_restores(
    paved, orders: Path, pinned_env: Path
) -> None:
    for digest in (DIGEST_1, DIGEST_2):
        ref = image("orders", digest)
        done = paved("deploy", "--path", "orders", "--env", "prod", "--yes", "--image", ref)
        assert done.exit_code == 0, done.stderr
    before = repo_state(env_repo(pinned_env))
    head = git("rev-parse", "HEAD", cwd=orders)
    done = paved(
        "rollback", "--path", "orders", "--env", "prod", runtime=terminal_runtime(), input="\n"
    )
    assert done.exit_code == ExitCode.USAGE, done.stderr
    assert (
        _confirmation(done.stderr)
        == [
            "  service:       orders",
            "  environment:   prod (protected)",
            "  restores:      deployment 1 (rolling back from deployment 2)",
            "  image:         registry.example.com/team/orders@sha256:" + "1" * 64,  # whole
            f"  source commit: {head[:12]} Create orders on the paved road",
        ]
    )
    assert done.stderr.splitlines()[-1].endswith(
        "prod? [y/N]:not rolled back: orders in prod was not confirmed; "
        "nothing was changed or recorded"
    )
    assert len(records(paved)) == 2
    assert repo_state(env_repo(pinned_env)) == before


def test_prod_confirmation_shows_a_long_commit_subject_shortened_and_escaped(
    paved, orders: Path
) -> None:
    subject = "Fix\x1b[2J " + "x" * 300
    git("commit", "--allow-empty", "-q", "-m", subject, cwd=orders)
    head = git("rev-parse", "HEAD", cwd=orders)
    done = paved(
        "deploy", "--path", "orders", "--env", "prod", "--image", image("orders"),
        runtime=terminal_runtime(), input="n\n",
    )  # fmt: skip
    assert done.exit_code == ExitCode.USAGE, done.stderr
    shown = next(line for line in _confirmation(done.stderr) if "source commit" in line)
    commit = shown.split(": ", 1)[1].strip()
    assert commit.startswith(f"{head[:12]} Fix\\u001b[2J xxx")
    assert commit.endswith("x\u2026")
    assert len(commit.removeprefix(f"{head[:12]} ")) == 72
    assert "\x1b" not in done.stderr
