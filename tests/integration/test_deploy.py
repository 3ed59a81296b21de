"""paved deploy and rollback end to end: real services, real kustomize, a real environment repo."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest

from paved.deploy import (
    DeployRequest,
    RollbackRequest,
    deploy,
    execute,
    plan_deploy,
    plan_rollback,
)
from paved.errors import ConflictError, ExitCode
from tests.deploy_helpers import (
    DEPLOY_SCHEMA,
    DIGEST_2,
    break_guardrail,
    deploy_deps,
    env_repo,
    image,
    make_service,
    records,
    rendered,
    repo_state,
    show,
)
from tests.helpers import git, snapshot

pytestmark = pytest.mark.slow


def test_a_deploy_lands_exactly_as_kubectl_kustomize_renders_it(paved, pinned_env: Path) -> None:
    service = make_service(paved, pinned_env, "orders")
    ref = image("orders")
    done = paved("deploy", "--path", "orders", "--image", ref, "--json")
    assert done.exit_code == 0, done.stderr
    result = json.loads(done.stdout)
    jsonschema.validate(result, DEPLOY_SCHEMA)
    assert result["status"] == "deployed"
    assert result["path"] == "envs/dev/orders"

    repo = env_repo(pinned_env)
    assert show(repo, "main", "envs/dev/orders/manifests.yaml") == rendered(service, "dev", ref)
    kustomization = show(repo, "main", "envs/dev/orders/kustomization.yaml").decode()
    assert "resources:\n  - manifests.yaml\n" in kustomization
    files = git("--git-dir", str(repo), "ls-tree", "-r", "--name-only", "main").splitlines()
    assert files == [
        "envs/dev/kustomization.yaml",
        "envs/dev/orders/kustomization.yaml",
        "envs/dev/orders/manifests.yaml",
    ]
    index = show(repo, "main", "envs/dev/kustomization.yaml").decode()
    assert index.endswith("resources:\n  - orders\n")
    assert result["revision"] == git("--git-dir", str(repo), "rev-parse", "main")

    message = git("--git-dir", str(repo), "log", "-1", "--format=%B", "main")
    source = git("rev-parse", "HEAD", cwd=service)
    assert message.splitlines()[0] == "Deploy orders sha256:111111111111 to dev"
    for trailer in (
        "Paved-Service: orders",
        "Paved-Environment: dev",
        f"Paved-Image: {ref}",
        f"Paved-Source-Commit: {source}",
        "Paved-Actor: Test Engineer <engineer@example.com>",
    ):
        assert trailer in message

    (record,) = records(paved)
    assert record["outcome"] == "succeeded"
    assert record["service"] == "orders"
    assert record["image"] == ref
    assert record["source_commit"] == source
    assert record["actor"] == "Test Engineer <engineer@example.com>"
    assert record["revision"] == result["revision"]
    assert record == result["deployment"]

    # The same deploy again changes nothing in the repository, and is recorded.
    again = paved("deploy", "--path", "orders", "--image", ref, "--json")
    assert json.loads(again.stdout)["status"] == "unchanged"
    assert git("--git-dir", str(repo), "rev-list", "--count", "main") == "1"
    assert len(records(paved)) == 2


def test_a_guardrail_error_blocks_changes_nothing_and_is_recorded(paved, pinned_env: Path) -> None:
    service = make_service(paved, pinned_env, "orders")
    break_guardrail(service)
    before = repo_state(env_repo(pinned_env))
    done = paved("deploy", "--path", "orders", "--image", image("orders"), "--json")
    assert done.exit_code == 3
    result = json.loads(done.stdout)
    jsonschema.validate(result, DEPLOY_SCHEMA)
    assert result["status"] == "refused"
    assert any(f["rule"] == "PAVED-K8S-002" for f in result["findings"])
    assert done.stderr.splitlines()[-1].startswith("error: deploy of orders to dev refused")
    assert repo_state(env_repo(pinned_env)) == before

    (record,) = records(paved)
    assert record["outcome"] == "refused"
    assert record["revision"] is None
    assert "PAVED-K8S-002" in record["message"]
    assert {"rule": "PAVED-K8S-002", "severity": "error", "status": "open"}.items() <= next(
        f for f in record["findings"] if f["rule"] == "PAVED-K8S-002"
    ).items()


def test_break_glass_passes_the_gate_outside_prod_only(paved, pinned_env: Path) -> None:
    service = make_service(paved, pinned_env, "orders")
    break_guardrail(service)
    ref = image("orders")
    glass = ["--break-glass", "--reason", "INC-42: hotfix while the fix is reviewed"]
    done = paved("deploy", "--path", "orders", "--image", ref, *glass)
    assert done.exit_code == 0, done.stderr
    assert "let through with --break-glass" in done.stderr
    repo = env_repo(pinned_env)
    assert b"privileged: true" in show(repo, "main", "envs/dev/orders/manifests.yaml")
    assert "Paved-Break-Glass: INC-42" in git("--git-dir", str(repo), "log", "-1", "--format=%B")

    head = git("--git-dir", str(repo), "rev-parse", "main")
    prod = paved("deploy", "--path", "orders", "--env", "prod", "--image", ref, "--yes", *glass)
    assert prod.exit_code == 3
    assert "break-glass is not allowed in prod" in prod.stderr
    assert git("--git-dir", str(repo), "rev-parse", "main") == head

    latest, first = records(paved)
    assert first["outcome"] == "succeeded"
    assert first["break_glass"] == "INC-42: hotfix while the fix is reviewed"
    assert latest["outcome"] == "refused"
    assert latest["environment"] == "prod"
    assert latest["break_glass"] is None


def test_prod_refuses_an_unregistered_service_and_a_tag(paved, pinned_env: Path) -> None:
    make_service(paved, pinned_env, "orders", "--no-register")
    done = paved(
        "deploy", "--path", "orders", "--env", "prod", "--yes", "--json",
        "--image", "registry.example.com/team/orders:1.0.0",
    )  # fmt: skip
    assert done.exit_code == 3
    rules = {f["rule"] for f in json.loads(done.stdout)["findings"]}
    assert {"PAVED-DEPLOY-001", "PAVED-DEPLOY-003"} <= rules
    (record,) = records(paved)
    assert (record["service"], record["outcome"]) == ("orders", "refused")
    # Outside prod the same findings are warnings: the deploy goes, and says so.
    dev = paved("deploy", "--path", "orders", "--image", "registry.example.com/team/orders:1.0.0")
    assert dev.exit_code == 0, dev.stderr
    assert "gate: warning PAVED-DEPLOY-001" in dev.stderr


def test_a_refusal_offers_waivers_for_the_guardrails_findings_only(paved, pinned_env: Path) -> None:
    service = make_service(paved, pinned_env, "orders")
    break_guardrail(service)
    tag = "registry.example.com/team/orders:1.0.0"
    done = paved("deploy", "--path", "orders", "--env", "prod", "--yes", "--image", tag)
    assert done.exit_code == 3
    assert f"refused: PAVED-DEPLOY-003 error --image {tag} is not pinned by digest" in done.stderr
    assert "--image image" not in done.stderr
    hint = done.stderr.splitlines()[-1].split("; ", 1)[1]
    assert hint == (
        "fix each guardrail finding (paved guardrails explain RULE-ID) or waive it in "
        ".paved/waivers.yaml; "
        "and PAVED-DEPLOY-003: deploy the digest CI built: --image NAME@sha256:... "
        "(no waiver lifts the gate's own findings: paved docs deploy#the-gate)"
    )


def test_prod_refuses_a_road_layer_older_than_the_minimum(
    paved, pinned_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    make_service(paved, pinned_env, "orders")
    monkeypatch.setenv("PAVED_DEPLOY_MIN_ROAD_VERSION", "99.0.0")  # newer than any road
    done = paved("deploy", "--path", "orders", "--env", "prod", "--yes", "--image", image("orders"))
    assert done.exit_code == 3
    assert "PAVED-DEPLOY-002" in done.stderr
    assert (
        "PAVED-DEPLOY-002: run paved update in the service, commit and push the update, then "
        "deploy again (no waiver lifts the gate's own findings: paved docs deploy#the-gate)"
    ) in " ".join(done.stderr.split())
    assert "waive" not in done.stderr.replace("no waiver lifts", "")
    assert records(paved)[0]["outcome"] == "refused"


def test_dry_run_shows_the_diff_and_writes_nothing(paved, pinned_env: Path) -> None:
    service = make_service(paved, pinned_env, "orders")
    assert paved("deploy", "--path", "orders", "--image", image("orders")).exit_code == 0
    before = snapshot(pinned_env)
    head = git("--git-dir", str(env_repo(pinned_env)), "rev-parse", "main")
    ref = image("orders", DIGEST_2)
    done = paved("deploy", "--path", "orders", "--image", ref, "--dry-run")
    assert done.exit_code == 0, done.stderr
    assert done.stdout.startswith("--- a/envs/dev/orders/manifests.yaml\n")
    assert f"-        image: {image('orders')}\n" in done.stdout
    assert f"+        image: {ref}\n" in done.stdout
    assert "nothing was written and nothing was recorded" in done.stderr
    assert snapshot(pinned_env) == before
    assert git("--git-dir", str(env_repo(pinned_env)), "rev-parse", "main") == head
    assert len(records(paved)) == 1
    assert service.exists()


def test_a_first_dry_run_creates_no_environment_repository(paved, pinned_env: Path) -> None:
    make_service(paved, pinned_env, "orders")
    before = snapshot(pinned_env)
    done = paved("deploy", "--path", "orders", "--image", image("orders"), "--dry-run", "--json")
    assert done.exit_code == 0, done.stderr
    data = json.loads(done.stdout)
    jsonschema.validate(data, DEPLOY_SCHEMA)
    assert data["status"] == "planned"
    assert data["diff"].startswith("--- a/envs/dev/orders/manifests.yaml")
    assert snapshot(pinned_env) == before
    assert not env_repo(pinned_env).exists()


def test_rollback_restores_the_previous_manifests_byte_for_byte(paved, pinned_env: Path) -> None:
    make_service(paved, pinned_env, "orders")
    repo = env_repo(pinned_env)
    path = "envs/dev/orders/manifests.yaml"
    assert paved("deploy", "--path", "orders", "--image", image("orders")).exit_code == 0
    good = git("--git-dir", str(repo), "rev-parse", "main")
    bad = image("orders", DIGEST_2)
    assert paved("deploy", "--path", "orders", "--image", bad).exit_code == 0
    assert show(repo, "main", path) != show(repo, good, path)

    planned = paved("rollback", "--path", "orders", "--dry-run")
    assert planned.exit_code == 0
    assert f"+        image: {image('orders')}\n" in planned.stdout
    assert git("--git-dir", str(repo), "rev-list", "--count", "main") == "2"

    done = paved("rollback", "--path", "orders", "--json")
    assert done.exit_code == 0, done.stderr
    result = json.loads(done.stdout)
    jsonschema.validate(result, DEPLOY_SCHEMA)
    assert show(repo, "main", path) == show(repo, good, path)
    assert git("--git-dir", str(repo), "diff", good, "main", "--", "envs") == ""
    assert git("--git-dir", str(repo), "rev-list", "--count", "main") == "3"

    rolled, failed_one, first = records(paved)
    assert rolled["outcome"] == "succeeded"
    assert (rolled["rollback_of"], rolled["restored"]) == (failed_one["id"], first["id"])
    assert rolled["image"] == first["image"]
    assert rolled == result["deployment"]

    # Rolling back again goes further back, never forward to the deployment rolled back.
    before = records(paved)
    again = paved("rollback", "--path", "orders")
    assert again.exit_code == 2
    assert "no earlier successful deployment" in again.stderr
    assert records(paved) == before  # nothing to roll back to is no failed deployment

    # --to a named deployment: forward again, on purpose.
    forward = paved("rollback", "--path", "orders", "--to", str(failed_one["id"]))
    assert forward.exit_code == 0, forward.stderr
    assert show(repo, "main", path) == show(repo, failed_one["revision"], path)


def test_a_push_beaten_by_another_deploy_is_applied_again_on_the_new_head(
    paved, pinned_env: Path
) -> None:
    make_service(paved, pinned_env, "orders")
    make_service(paved, pinned_env, "billing")
    said: list[str] = []

    def other_deploy_wins(attempt: int) -> None:
        if attempt == 1:
            other = deploy(
                DeployRequest(pinned_env / "billing", "dev", image("billing")),
                deploy_deps(pinned_env),
            )
            assert other.status == "deployed"

    result = deploy(
        DeployRequest(pinned_env / "orders", "dev", image("orders")),
        deploy_deps(pinned_env, before_push=other_deploy_wins, progress=said.append),
    )
    assert result.status == "deployed"
    assert any("another deploy pushed first" in line for line in said)
    repo = env_repo(pinned_env)
    subjects = git("--git-dir", str(repo), "log", "--format=%s", "main").splitlines()
    assert subjects == [
        "Deploy orders sha256:111111111111 to dev",
        "Deploy billing sha256:111111111111 to dev",
    ]
    index = show(repo, "main", "envs/dev/kustomization.yaml").decode()
    assert index.endswith("resources:\n  - billing\n  - orders\n")
    files = git("--git-dir", str(repo), "ls-tree", "-r", "--name-only", "main").splitlines()
    assert [f for f in files if f.endswith("manifests.yaml")] == [
        "envs/dev/billing/manifests.yaml",
        "envs/dev/orders/manifests.yaml",
    ]


def test_two_deploys_racing_on_one_environment_repository_both_land(
    paved, pinned_env: Path
) -> None:
    names = ["orders", "billing", "search"]
    for name in names:
        make_service(paved, pinned_env, name)
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "paved", "deploy", "--path", name, "--image", image(name)],
            cwd=pinned_env,
            env=dict(os.environ),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for name in names
    ]
    for proc in procs:
        _out, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
    repo = env_repo(pinned_env)
    assert git("--git-dir", str(repo), "rev-list", "--count", "main") == str(len(names))
    for name in names:
        assert show(repo, "main", f"envs/dev/{name}/manifests.yaml") == rendered(
            pinned_env / name, "dev", image(name)
        )
    index = show(repo, "main", "envs/dev/kustomization.yaml").decode()
    assert index.endswith("resources:\n" + "".join(f"  - {n}\n" for n in sorted(names)))
    # What a Flux Kustomization with path ./envs/dev builds: every service, as rendered.
    clone = pinned_env / "clone"
    git("clone", "--quiet", str(repo), str(clone))
    built = subprocess.run(
        ["kubectl", "kustomize", str(clone / "envs" / "dev")],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "KUBECONFIG": os.devnull},
    ).stdout
    assert sorted(re.findall(r"^kind: Deployment\n(?:.*\n)*?  name: (\S+)", built, re.M)) == sorted(
        names
    )
    assert sorted(r["service"] for r in records(paved)) == sorted(names)
    assert {r["outcome"] for r in records(paved)} == {"succeeded"}


def test_what_changed_since_the_plan_stops_the_attempt_before_anything_happens(
    paved, pinned_env: Path
) -> None:
    """A plan is confirmed by a person, who may take a minute: a deploy that landed or a commit
    made meanwhile means the plan is not what would run, so execute refuses (exit 6) before
    recording, rendering or pushing anything."""
    service = make_service(paved, pinned_env, "orders")
    repo = env_repo(pinned_env)
    deps = deploy_deps(pinned_env)
    assert paved("deploy", "--path", "orders", "--image", image("orders")).exit_code == 0

    # deploy without --image: the last successful image, chosen by the plan
    stale = plan_deploy(DeployRequest(service, "dev", None), deps)
    assert str(stale.image) == image("orders")
    newer = image("orders", DIGEST_2)
    assert paved("deploy", "--path", "orders", "--image", newer).exit_code == 0
    head, before = git("--git-dir", str(repo), "rev-parse", "main"), records(paved)
    with pytest.raises(
        ConflictError,
        match=r"changed since the deploy was planned: it would now use image .*sha256:2{64}",
    ) as refused:
        execute(stale, deps)
    assert refused.value.exit_code == ExitCode.CONFLICT
    assert (git("--git-dir", str(repo), "rev-parse", "main"), records(paved)) == (head, before)

    # a rollback planned before that deploy would restore the wrong deployment now
    planned_rollback = plan_rollback(RollbackRequest(service, "dev"), deps)
    assert paved("deploy", "--path", "orders", "--image", image("orders")).exit_code == 0
    head, before = git("--git-dir", str(repo), "rev-parse", "main"), records(paved)
    with pytest.raises(ConflictError, match="changed since the rollback was planned"):
        execute(planned_rollback, deps)
    assert (git("--git-dir", str(repo), "rev-parse", "main"), records(paved)) == (head, before)

    # a commit in the service during the confirmation: not the commit the plan checked
    planned = plan_deploy(DeployRequest(service, "dev", image("orders")), deps)
    (service / "NOTES.md").write_text("a change made while the prompt waited\n")
    git("add", "NOTES.md", cwd=service)
    git("commit", "-q", "-m", "notes", cwd=service)
    with pytest.raises(ConflictError, match=r"the service is at commit [0-9a-f]{12}, not"):
        execute(planned, deps)
    assert (git("--git-dir", str(repo), "rev-parse", "main"), records(paved)) == (head, before)
