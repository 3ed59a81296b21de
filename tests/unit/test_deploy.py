"""The deploy package's pure parts: image references, environments, the gate, rollback choice."""

from __future__ import annotations

import dataclasses
import datetime as dt
from pathlib import Path
from typing import Any

import pytest

from paved.config import Paths, Settings, load_settings
from paved.deploy import Environment, gate, kubectl_commands, older_than, parse_image
from paved.deploy import resolve_environments as environments
from paved.deploy._choice import change_stack, choose_from_changes, choose_from_records, live_stack
from paved.deploy._gitops import Change, _changes
from paved.errors import InputError
from paved.guardrails import Finding, Report
from paved.models import Deployment

DIGEST = "sha256:" + "a" * 64
TODAY = dt.date(2026, 11, 26)


@pytest.mark.parametrize(
    ("text", "name", "tag", "digest"),
    [
        ("registry.example.com/team/app:1.2.3", "registry.example.com/team/app", "1.2.3", None),
        (f"registry.example.com/app@{DIGEST}", "registry.example.com/app", None, DIGEST),
        (f"localhost:5000/a/b_c:v1@{DIGEST}", "localhost:5000/a/b_c", "v1", DIGEST),
        ("localhost/app:dev", "localhost/app", "dev", None),
        ("123456789012.dkr.ecr.eu-west-1.amazonaws.com/svc:sha-abc", None, "sha-abc", None),
    ],
)
def test_image_references_that_parse(text: str, name: str | None, tag: str, digest: str) -> None:
    ref = parse_image(text)
    assert str(ref) == text
    assert (ref.tag, ref.digest) == (tag, digest)
    if name:
        assert ref.name == name
    assert ref.version == (tag or digest[:19])


@pytest.mark.parametrize(
    "text",
    [
        "",
        "app:1.0",
        "team/app:1.0",
        "registry.example.com/app",
        "registry.example.com/App:1",
        "registry.example.com/app:-x",
        "registry.example.com/app@sha256:" + "A" * 64,
        "registry.example.com/app@sha512:" + "a" * 64,
        "registry.example.com//app:1",
        "registry.example.com/app:1 ",
        "registry.example.com/app:1\n",
        "registry.example.com/app:" + "x" * 129,
    ],
)
def test_image_references_that_do_not(text: str) -> None:
    with pytest.raises(InputError):
        parse_image(text)


@pytest.mark.parametrize(
    ("version", "minimum", "older"),
    [
        ("0.1.0", "0.2.0", True),
        ("0.2.0", "0.2.0", False),
        ("0.10.0", "0.9.9", False),
        ("v1.0.0", "0.9.0", False),
        ("0.1.0+tree.abc", "0.1.0", False),
        ("", "0.1.0", True),
        ("0.1.0", "", False),
    ],
)
def test_road_versions_compare_as_numbers(version: str, minimum: str, older: bool) -> None:
    assert older_than(version, minimum) is older


def test_an_unreadable_minimum_road_version_is_an_error_not_a_disabled_check() -> None:
    with pytest.raises(InputError, match=r"deploy.min_road_version 'garbage' is not a version"):
        older_than("0.1.0", "garbage")


def _paths(tmp_path: Path, toml: str = "") -> Paths:
    paths = Paths(tmp_path / "config", tmp_path / "data", tmp_path / "cache")
    if toml:
        paths.config_dir.mkdir(parents=True)
        paths.config_file.write_text(toml, encoding="utf-8")
    return paths


def test_the_default_environments(tmp_path: Path) -> None:
    found = environments(Settings(), tmp_path / "data")
    assert list(found) == ["dev", "staging", "prod"]
    assert [e.protected for e in found.values()] == [False, False, True]
    assert {e.target for e in found.values()} == {"gitops"}
    assert found["dev"].repository == str(tmp_path / "data" / "environments.git")
    assert found["dev"].embedded


def test_environments_from_the_settings_merge_over_the_defaults(tmp_path: Path) -> None:
    paths = _paths(
        tmp_path,
        '[deploy]\nrepository = "ssh://git@git.example/envs.git"\n'
        '[environments.prod]\ntarget = "kubernetes"\ncontext = "prod-eu"\nnamespace = "shop"\n'
        "rollout_timeout = 600\n"
        "[environments.qa-eu]\nprotected = true\n",
    )
    settings = load_settings(paths, {})
    found = environments(settings, paths.data_dir)
    assert list(found) == ["dev", "staging", "prod", "qa-eu"]
    prod = found["prod"]
    assert (prod.target, prod.context, prod.namespace, prod.rollout_timeout) == (
        "kubernetes", "prod-eu", "shop", "600s",
    )  # fmt: skip
    assert found["qa-eu"].protected
    assert found["dev"].repository == "ssh://git@git.example/envs.git"
    assert not found["dev"].embedded


@pytest.mark.parametrize(
    ("toml", "message"),
    [
        ('[environments.dev]\ntraget = "gitops"\n', "unknown setting 'environments.dev.traget'"),
        ('[environments.Dev]\ntarget = "gitops"\n', "'Dev' is not an environment name"),
        ("[environments]\ndev = 1\n", "unknown setting 'environments.dev'"),
        ("[environments.dev]\ntarget = 1\n", "must be a string"),
    ],
)
def test_bad_environment_settings_are_one_clear_error(
    tmp_path: Path, toml: str, message: str
) -> None:
    with pytest.raises(InputError, match=message):
        load_settings(_paths(tmp_path, toml), {})


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"target": "helm"}, "has target 'helm'"),
        ({"target": "kubernetes"}, "no context"),
        ({"rollout_timeout": "soon"}, "is not a duration"),
        ({"protected": "maybe"}, "protected must be true or false"),
    ],
)
def test_bad_environment_definitions(tmp_path: Path, fields: dict[str, str], message: str) -> None:
    with pytest.raises(InputError, match=message):
        environments(Settings(environments={"dev": fields}), tmp_path)


def _env(name: str = "dev", *, protected: bool = False, **kw: Any) -> Environment:
    return Environment(name=name, target="gitops", protected=protected, repository="r", **kw)


def _report(*findings: tuple[str, str, str]) -> Report:
    return Report(
        root="/svc",
        today=TODAY,
        findings=tuple(
            Finding(rule=r, severity=s, message="m", file="f", line=1, fix="x", docs="d", status=st)  # type: ignore[arg-type]
            for r, s, st in findings
        ),
        waivers=(),
        rules=(),
    )


def _gate(report: Report, env: Environment, **kw: Any) -> Any:
    args: dict[str, Any] = {
        "service": "svc",
        "registered": True,
        "road_version": "0.1.0",
        "min_road_version": "",
        "image": parse_image(f"registry.example.com/svc@{DIGEST}"),
        "break_glass": None,
    }
    return gate(report, env, **{**args, **kw})


@pytest.mark.parametrize(
    ("findings", "protected", "passed"),
    [
        ((), False, True),
        ((("PAVED-K8S-002", "error", "open"),), False, False),
        ((("PAVED-K8S-002", "error", "waived"),), True, True),
        ((("PAVED-K8S-007", "warning", "open"),), False, True),
        ((("PAVED-K8S-007", "warning", "open"),), True, False),
        ((("PAVED-K8S-007", "warning", "waived"),), True, True),
    ],
)
def test_the_gate_over_guardrail_findings(
    findings: tuple[tuple[str, str, str], ...], protected: bool, passed: bool
) -> None:
    assert _gate(_report(*findings), _env(protected=protected)).passed is passed


def test_the_gate_rules_of_a_protected_environment() -> None:
    tag = parse_image("registry.example.com/svc:1.0")
    for env, count in ((_env(), 0), (_env("prod", protected=True), 3)):
        verdict = _gate(_report(), env, registered=False, min_road_version="0.2.0", image=tag)
        assert [f["rule"] for f in verdict.findings] == [
            "PAVED-DEPLOY-001", "PAVED-DEPLOY-002", "PAVED-DEPLOY-003",
        ]  # fmt: skip
        assert len(verdict.refusals) == count


def test_a_road_layer_older_than_the_minimum_says_to_run_paved_update_never_to_waive() -> None:
    prod = _env("prod", protected=True)
    verdict = _gate(_report(), prod, min_road_version="0.2.0")
    (finding,) = verdict.findings
    fix = "run paved update in the service, commit and push the update, then deploy again"
    assert (finding["rule"], finding["fix"], finding["waiver"]) == ("PAVED-DEPLOY-002", fix, None)
    assert (verdict.waivable, verdict.unwaivable) == (False, (("PAVED-DEPLOY-002", fix),))
    mixed = _gate(_report(("PAVED-K8S-002", "error", "open")), prod, min_road_version="0.2.0")
    assert (mixed.waivable, mixed.unwaivable) == (True, (("PAVED-DEPLOY-002", fix),))
    dev = _gate(_report(), _env(), min_road_version="0.2.0")  # a warning there: nothing refuses
    assert (dev.passed, dev.waivable, dev.unwaivable) == (True, False, ())


def test_break_glass_lets_a_refusal_through_outside_protected_environments_only() -> None:
    report = _report(("PAVED-K8S-002", "error", "open"))
    dev = _gate(report, _env(), break_glass="INC-1")
    assert dev.passed
    assert dev.break_glass == "INC-1"
    assert _gate(_report(), _env(), break_glass="INC-1").break_glass is None  # not needed
    prod = _gate(_report(), _env("prod", protected=True), break_glass="INC-1")
    assert not prod.passed
    assert prod.refusals[-1].startswith("break-glass is not allowed in prod")
    assert (prod.waivable, prod.unwaivable) == (False, ())  # nothing to fix but the flag


def test_kubectl_command_lines() -> None:
    manifests = (
        "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: svc-dev\n---\n"
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: svc\n  namespace: svc-dev\n"
    )
    env = _env(context="kind", rollout_timeout="90s")
    apply, rollout = kubectl_commands("/bin/kubectl", env, manifests, "svc")
    assert apply == [
        "/bin/kubectl", "apply", "--server-side", "--field-manager=paved",
        "--context", "kind", "--namespace", "svc-dev", "-f", "-",
    ]  # fmt: skip
    assert rollout == [
        "/bin/kubectl", "rollout", "status", "deployment/svc",
        "--context", "kind", "--namespace", "svc-dev", "--timeout=90s",
    ]  # fmt: skip


def _d(id_: int, outcome: str = "succeeded", **kw: Any) -> Deployment:
    now = dt.datetime(2026, 11, 26, tzinfo=dt.UTC)
    return Deployment(
        id=id_, service="svc", environment="dev", target=kw.pop("target", "gitops"),
        image=f"img{id_}", source_commit=None, source_time=None, actor="a",
        started_at=now, finished_at=now, outcome=outcome, revision=f"{id_:040x}", **kw,  # type: ignore[arg-type]
    )  # fmt: skip


def test_the_live_stack_follows_rollbacks() -> None:
    history = [_d(1), _d(2), _d(3, "failed"), _d(4, rollback_of=2, restored=1), _d(5)]
    assert [d.id for d in live_stack(history)] == [1, 5]
    target = choose_from_records(history, None, _env(), "svc")
    assert (target.restored, target.recovers) == (1, 5)


def test_a_redeploy_of_what_runs_is_not_a_step_to_roll_back_from() -> None:
    same_again = dataclasses.replace(_d(3), image="img2")  # the image of 2, from the same commit
    history = [_d(1), _d(2), same_again]
    assert [d.id for d in live_stack(history)] == [1, 2]
    target = choose_from_records(history, None, _env(), "svc")
    assert (target.restored, target.recovers) == (1, 2)


def test_rollback_of_a_refused_or_failed_gitops_attempt_undoes_the_live_one() -> None:
    history = [_d(1), _d(2), _d(3, "refused"), _d(4, "failed")]
    target = choose_from_records(history, None, _env(), "svc")
    assert (target.restored, target.recovers) == (1, 2)


def test_rollback_after_a_failed_kubernetes_rollout_restores_the_last_good_one() -> None:
    k8s = {"target": "kubernetes", "manifests": "x"}
    history = [_d(1, **k8s), _d(2, **k8s), _d(3, "failed", **k8s)]
    target = choose_from_records(history, None, _env(), "svc")
    assert (target.restored, target.recovers) == (2, 3)


def test_rollback_to_what_runs_already_is_refused() -> None:
    with pytest.raises(InputError, match="runs already"):
        choose_from_records([_d(1), _d(2)], 2, _env(), "svc")


def _c(rev: int, deployment: int | None, restored: int | None = None, **kw: Any) -> Change:
    return Change(
        revision=f"{rev:040x}", committed_at=dt.datetime(2026, 11, 26, tzinfo=dt.UTC),
        deployment=deployment, restored=restored, image=kw.pop("image", f"img{deployment}"),
        source_commit=None, present=kw.pop("present", True), catalog=kw.pop("catalog", "k"),
    )  # fmt: skip


def test_the_environment_history_stack_follows_rollbacks_and_removals() -> None:
    changes = [_c(1, 1), _c(2, 2), _c(3, 4, restored=1), _c(4, 5)]
    assert [c.deployment for c in change_stack(changes)] == [1, 5]
    assert [c.deployment for c in change_stack([*changes, _c(5, None, present=False)])] == []
    # A rollback to a deployment the stack no longer holds still counts as what runs.
    assert [c.deployment for c in change_stack([_c(1, 1), _c(2, 9, restored=7)])] == [1, 9]


def test_a_gitops_rollback_chooses_from_the_commits_not_the_records() -> None:
    # Deployment 2 has no record (its process was killed): the commits still know it ran.
    changes = [_c(1, 1), _c(2, 2), _c(3, 3)]
    target = choose_from_changes(changes, None, _env(), "svc", [_d(1), _d(3)], "k")
    assert (target.restored, target.recovers, target.revision) == (2, 3, f"{2:040x}")
    assert target.image == "img2"
    with pytest.raises(InputError, match="runs already"):
        choose_from_changes(changes, 3, _env(), "svc", [], "k")
    with pytest.raises(InputError, match="not a successful deployment"):
        choose_from_changes(changes, 8, _env(), "svc", [], "k")
    with pytest.raises(InputError, match="no earlier successful deployment"):
        choose_from_changes(changes[:1], None, _env(), "svc", [], "k")
    with pytest.raises(InputError, match="no successful deployment"):
        choose_from_changes([], None, _env(), "svc", [], "k")


def test_another_catalog_s_ids_are_not_this_one_s() -> None:
    # Deployment 2 of another catalog (a reset catalog.db, another laptop): not ours to name.
    changes = [_c(1, 1), _c(2, 2, catalog="other"), _c(3, 3)]
    with pytest.raises(InputError, match="not a successful deployment"):
        choose_from_changes(changes, 2, _env(), "svc", [], "k")
    target = choose_from_changes(changes, None, _env(), "svc", [], "k")
    assert (target.restored, target.recovers, target.image) == (None, 3, "img2")
    twice = [_c(1, 1), _c(2, 1), _c(3, 3)]
    with pytest.raises(InputError, match="2 commits of deployment 1"):
        choose_from_changes(twice, 1, _env(), "svc", [], "k")


def test_commit_trailers_are_read_as_input() -> None:
    def entry(rev: str, trailers: list[str]) -> str:
        return "\n" + "\x00".join([rev, "2026-11-26T10:00:00+00:00", *trailers]) + "\x00"

    revisions = ["c" * 40, "b" * 40, "a" * 40, "d" * 40]  # newest first, as git log gives
    log = (
        entry(revisions[0], ["svc", "k", "3", "", "img", "unknown"])
        + entry(revisions[1], ["other", "k", "2", "", "img", "abc1234"])  # another service's
        + entry(revisions[2], ["svc", "k", "1\x1d9", "", "img\x1b[2J", "abc1234"])  # twice; ESC
        + entry(revisions[3], ["svc", "k", "01; rm", "", "", ""])
    ).removeprefix("\n")
    parsed = _changes(revisions, log, "svc", {"d" * 40})
    assert parsed is not None
    removed, first, other, latest = parsed
    assert (latest.deployment, latest.source_commit, latest.image) == (3, None, "img")
    assert latest.catalog == "k"
    assert (other.deployment, other.image, other.catalog) == (None, None, None)
    assert (first.deployment, first.image, first.source_commit) == (None, None, "abc1234")
    assert (removed.deployment, removed.present) == (None, False)
    # A value that breaks the layout (a NUL, a field too many) is no parse: read one by one.
    assert _changes(revisions, log + "x\x00", "svc", set()) is None
    assert _changes(revisions[::-1], log, "svc", set()) is None
