"""The doctor's checks as plain functions, over inputs built by hand."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest
import yaml

from paved.catalog.sqlite import SqliteCatalog
from paved.config import Paths, Settings
from paved.doctor import (
    CHECKS,
    Check,
    Inputs,
    Outcome,
    Result,
    Skip,
    diagnose,
    exit_status,
    find_service,
    run_check,
    run_checks,
)
from paved.doctor import _environment as env
from paved.doctor import _service as svc
from paved.errors import AuthError, InputError, PavedError, RemoteError
from paved.gitcmd import GitError, GitIdentityMissing
from paved.guardrails import Finding, Report, Waiver
from paved.models import Service
from paved.scaffold.registry import ScaffoldRegistry
from paved.scaffold.store import TemplateStore
from paved.versions import Version
from tests.helpers import SCAFFOLDS

NOW = dt.datetime(2030, 1, 2, 3, 4, 5, tzinfo=dt.UTC)


class FakeGit:
    """Answers git commands from a table: ``{args: output}``; an exception is raised."""

    def __init__(self, answers: Mapping[tuple[str, ...], Any], ident: str | None = None) -> None:
        self.answers = answers
        self.ident = ident

    def __call__(self, *args: str, check: bool = True, stdin: str | None = None) -> str:
        answer = self.answers.get(args, "")
        if isinstance(answer, Exception):
            if check:
                raise answer
            return ""
        return str(answer)

    def identity(self) -> str:
        if self.ident is None:
            raise GitIdentityMissing("git has no identity")
        return self.ident

    def head(self) -> str | None:
        return str(self.answers.get(("head",), "")) or None


def make_inputs(tmp_path: Path, **overrides: Any) -> Inputs:
    root = tmp_path / "paved-home"
    paths = Paths(root / "config", root / "data", root / "cache")
    git = overrides.pop("git", FakeGit({("--version",): "git version 2.43.0"}, "A <a@b.c>"))

    def nothing(*_args: Any) -> Any:
        raise AssertionError("not expected to be called")

    values: dict[str, Any] = {
        "paths": paths,
        "env": {},
        "home": tmp_path / "home",
        "settings": Settings,
        "catalog": nothing,
        "registry": lambda: ScaffoldRegistry(SCAFFOLDS),
        "store": nothing,
        "clock": lambda: NOW,
        "which": lambda name: f"/usr/bin/{name}",
        "python_version": (3, 12, 1),
        "render": nothing,
        "guardrails": nothing,
        "git_factory": lambda _cwd, _env: git,
    }
    values.update(overrides)
    return Inputs(**values)


# -- the runner --------------------------------------------------------------------------


def _check(run: Any, group: str = "environment") -> Check:
    return Check("env.test", group, run)  # type: ignore[arg-type]


def test_a_check_that_raises_becomes_a_failed_result_naming_it(tmp_path: Path) -> None:
    def broken(_inputs: Inputs) -> Outcome:
        raise KeyError("boom")

    result = run_check(_check(broken), make_inputs(tmp_path))
    assert result == Result(
        "env.test",
        "environment",
        "fail",
        "check env.test could not run (KeyError: 'boom')",
        "report this to the platform team with the output of 'paved doctor --json'",
    )


def test_a_paved_error_becomes_a_failed_result_with_its_hint(tmp_path: Path) -> None:
    def remote(_inputs: Inputs) -> Outcome:
        raise RemoteError("catalog x is unavailable", hint="try again")

    result = run_check(_check(remote), make_inputs(tmp_path))
    assert (result.status, result.message, result.fix) == (
        "fail",
        "catalog x is unavailable",
        "try again",
    )


def test_a_skip_carries_its_reason(tmp_path: Path) -> None:
    def skipped(_inputs: Inputs) -> Outcome:
        raise Skip("no reason to run")

    assert run_check(_check(skipped), make_inputs(tmp_path)).message == "no reason to run"


def test_service_checks_skip_outside_a_service(tmp_path: Path) -> None:
    result = run_check(_check(lambda _i: Outcome("ok", "x"), "service"), make_inputs(tmp_path))
    assert (result.status, result.message) == (
        "skip",
        "not inside a service repository (use --path)",
    )


def test_every_check_runs_whatever_the_others_do(tmp_path: Path) -> None:
    def boom(_inputs: Inputs) -> Outcome:
        raise RuntimeError("first")

    checks = [
        Check("env.a", "environment", boom),
        Check("env.b", "environment", lambda _i: Outcome("warn", "b"), slow=True),
        Check("env.c", "environment", lambda _i: Outcome("ok", "c"), main_thread=True),
    ]
    results = run_checks(make_inputs(tmp_path), checks)
    assert [(r.id, r.status) for r in results] == [
        ("env.a", "fail"),
        ("env.b", "warn"),
        ("env.c", "ok"),
    ]


@pytest.mark.parametrize(
    ("statuses", "code"),
    [
        ([], 0),
        (["ok", "skip"], 0),
        (["ok", "warn", "skip"], 2),
        (["warn", "fail"], 1),
        (["fail"], 1),
    ],
)
def test_exit_status(statuses: list[str], code: int) -> None:
    results = [Result("env.x", "environment", s, "m") for s in statuses]  # type: ignore[arg-type]
    assert exit_status(results) == code


def test_check_ids_are_unique_and_grouped() -> None:
    ids = [c.id for c in CHECKS]
    assert len(ids) == len(set(ids))
    assert all(c.id.startswith("env." if c.group == "environment" else "service.") for c in CHECKS)


def test_fix_runs_the_fixers_then_checks_again(tmp_path: Path) -> None:
    state = {"fixed": False}

    def look(_inputs: Inputs) -> Outcome:
        return Outcome("ok", "fine") if state["fixed"] else Outcome("warn", "missing")

    def repair(_inputs: Inputs) -> list[str]:
        state["fixed"] = True
        return ["made it"]

    report = diagnose(
        make_inputs(tmp_path), fix=True, checks=[Check("env.x", "environment", look, repair)]
    )
    assert [f.to_json() for f in report.fixed] == [{"check": "env.x", "change": "made it"}]
    assert report.results[0].status == "ok"
    assert report.exit_code == 0


# -- environment -------------------------------------------------------------------------


def test_python_version() -> None:
    assert env.check_python((3, 11, 0)).status == "ok"
    old = env.check_python((3, 10, 9))
    assert (old.status, old.message, old.fix) == (
        "fail",
        "Python 3.10.9 is older than 3.11",
        "install Python 3.11 or newer",
    )


def test_git_missing_fails_with_a_fix(tmp_path: Path) -> None:
    inputs = make_inputs(tmp_path, which=lambda _name: None)
    outcome = env.check_git(inputs)
    assert outcome.status == "fail"
    assert "install git" in str(outcome.fix)
    with pytest.raises(Skip, match=r"see env\.git"):
        env.check_git_identity(inputs)


def test_git_found_and_too_old(tmp_path: Path) -> None:
    assert env.check_git(make_inputs(tmp_path)).message == "git 2.43.0 (/usr/bin/git)"
    old = make_inputs(tmp_path, git=FakeGit({("--version",): "git version 2.20.1"}))
    assert env.check_git(old).status == "fail"


def test_git_identity(tmp_path: Path) -> None:
    assert env.check_git_identity(make_inputs(tmp_path)).message == "git commits as A <a@b.c>"
    missing = env.check_git_identity(make_inputs(tmp_path, git=FakeGit({})))
    assert missing.status == "fail"
    assert "git config --global user.email" in str(missing.fix)


def test_bad_settings_fail_the_config_check_and_skip_the_checks_that_need_them(
    tmp_path: Path,
) -> None:
    def bad() -> Settings:
        raise InputError("configuration file x is not valid TOML (y)", hint="fix or remove it")

    inputs = make_inputs(tmp_path, settings=bad)
    assert env.check_config(inputs) == Outcome(
        "fail", "configuration file x is not valid TOML (y)", fix="fix or remove it"
    )
    for check in (env.check_catalog, env.check_githost):
        with pytest.raises(Skip, match=r"see env\.config"):
            check(inputs)


def test_data_dir_missing_then_fixed(tmp_path: Path) -> None:
    inputs = make_inputs(tmp_path)
    assert env.check_data_dir(inputs).status == "warn"
    assert env.fix_data_dir(inputs) == [f"created data directory {inputs.paths.data_dir}"]
    assert env.check_data_dir(inputs).status == "ok"
    assert env.fix_data_dir(inputs) == []


class _PlatformCatalog:
    """A platform catalog as doctor sees it: a location and a list call."""

    def __init__(self, error: PavedError | None = None) -> None:
        self.location = "https://platform.example"
        self.error = error

    def list(self) -> list[Any]:
        if self.error is not None:
            raise self.error
        return []


def test_catalog_states(tmp_path: Path) -> None:
    local = make_inputs(tmp_path)
    local = make_inputs(tmp_path, catalog=lambda: SqliteCatalog(local.paths.catalog_db))
    assert "no catalog yet" in env.check_catalog(local).message
    assert not local.paths.catalog_db.exists(), "the check created the catalog"

    up = env.check_catalog(make_inputs(tmp_path, catalog=_PlatformCatalog))
    assert (up.status, up.message) == (
        "ok",
        "platform catalog https://platform.example (0 services)",
    )
    refused = AuthError("platform https://platform.example refused the token (401)")
    down = env.check_catalog(make_inputs(tmp_path, catalog=lambda: _PlatformCatalog(refused)))
    assert (down.status, down.message) == ("fail", refused.message)
    assert "paved login" in str(down.fix)


@pytest.mark.parametrize(
    ("remote", "env_vars", "keys", "answers", "status"),
    [
        ("", {}, [], {}, "ok"),
        ("git@host:team/{name}.git", {"SSH_AUTH_SOCK": "/tmp/a"}, [], {}, "ok"),
        ("ssh://git@host/{name}.git", {}, ["id_ed25519"], {}, "ok"),
        ("ssh://git@host/{name}.git", {}, ["id_ed25519.pub"], {}, "warn"),
        (
            "https://host/{name}.git",
            {},
            [],
            {("config", "--get", "credential.helper"): "store"},
            "ok",
        ),
        ("https://host/{name}.git", {}, [], {}, "warn"),
        ("file:///srv/git/{name}.git", {}, [], {}, "ok"),
    ],
)
def test_githost_credentials(
    tmp_path: Path,
    remote: str,
    env_vars: dict[str, str],
    keys: list[str],
    answers: dict[tuple[str, ...], str],
    status: str,
) -> None:
    home = tmp_path / "home"
    (home / ".ssh").mkdir(parents=True)
    for key in keys:
        (home / ".ssh" / key).write_text("k")
    inputs = make_inputs(
        tmp_path,
        env=env_vars,
        settings=lambda: Settings(githost_remote=remote),
        git=FakeGit(answers),
    )
    assert env.check_githost(inputs).status == status


def test_kubectl_is_ok_when_present_and_warns_when_missing(tmp_path: Path) -> None:
    found = env.check_kubectl(make_inputs(tmp_path))
    assert (found.status, found.message) == (
        "ok",
        "kubectl is at /usr/bin/kubectl (for 'kubectl kustomize')",
    )
    missing = env.check_kubectl(make_inputs(tmp_path, which=lambda _n: None))
    assert missing.status == "warn"
    assert missing.message.startswith("kubectl is not on PATH")
    assert missing.fix is not None


def test_kubectl_missing_fails_when_an_environment_deploys_with_it(tmp_path: Path) -> None:
    settings = Settings(
        environments={"dev": {"target": "kubernetes", "context": "c", "namespace": "n"}}
    )
    inputs = make_inputs(tmp_path, which=lambda _n: None, settings=lambda: settings)
    result = env.check_kubectl(inputs)
    assert result.status == "fail"
    assert result.message == "kubectl is not on PATH, and dev deploy with it"
    assert env.check_kubectl(make_inputs(tmp_path, settings=lambda: settings)).status == "ok"


def test_template_store_broken_repository_fails(tmp_path: Path) -> None:
    store = TemplateStore(tmp_path / "templates")
    store.repository("paved-road").mkdir(parents=True)
    inputs = make_inputs(
        tmp_path,
        store=lambda: store,
        git=FakeGit(
            {("rev-parse", "--git-dir"): GitError("git rev-parse failed: not a git repository")}
        ),
    )
    outcome = env.check_template_store(inputs)
    assert outcome.status == "fail"
    assert any(
        "paved-road" in line and "not a valid git repository" in line for line in outcome.details
    )


# -- service -----------------------------------------------------------------------------


def test_find_service_walks_up(tmp_path: Path) -> None:
    (tmp_path / "svc" / "src" / "deep").mkdir(parents=True)
    (tmp_path / "svc" / ".copier-answers.road.yml").write_text("service_name: svc\n")
    assert find_service(tmp_path / "svc" / "src" / "deep") == tmp_path / "svc"
    assert find_service(tmp_path) is None


GOOD_ENTRY = {
    "apiVersion": "backstage.io/v1alpha1",
    "kind": "Component",
    "metadata": {"name": "pay"},
    "spec": {"owner": "group:default/team-a", "type": "service", "lifecycle": "experimental"},
}


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        ({}, None),
        ({"apiVersion": "v1"}, "apiVersion is 'v1', not 'backstage.io/v1alpha1'"),
        ({"kind": "API"}, "kind is 'API', not 'Component'"),
        ({"metadata": {"name": "other"}}, "metadata.name is 'other', not the service name 'pay'"),
        (
            {"metadata": {"name": "-bad-"}},
            "metadata.name '-bad-' is not a valid Backstage entity name",
        ),
        ({"spec": {"type": "service", "lifecycle": "x"}}, "spec.owner is missing"),
    ],
)
def test_catalog_info_problems(change: dict[str, Any], problem: str | None) -> None:
    problems = svc._catalog_info_problems({**GOOD_ENTRY, **change}, "pay")
    assert problems == ([] if problem is None else [problem])


BLOCK = "<<<<<<< HEAD\nmine\n=======\ntheirs\n>>>>>>> 0.2.0\n"


def test_conflicts_are_one_line_per_file_from_the_guardrail(tmp_path: Path) -> None:
    root = _service(tmp_path, {})
    (root / "README.md").write_text("# svc\n" + BLOCK + "text\n" + BLOCK)
    (root / "k8s").mkdir()
    (root / "k8s" / "deployment.yaml.rej").write_text("@@ -1 +1 @@\n")
    (root / "notes.md").write_text("Title\n=======\n")
    outcome = svc.check_conflicts(make_inputs(tmp_path, service=root))
    assert outcome == Outcome(
        "fail",
        f"2 file(s) with unresolved conflicts in {root}",
        fix="resolve each conflict and delete the .rej files, then commit",
        details=("README.md:2: conflict markers", "k8s/deployment.yaml.rej: rejected changes"),
    )
    (root / "README.md").write_text("# svc\n")
    (root / "k8s" / "deployment.yaml.rej").unlink()
    assert svc.check_conflicts(make_inputs(tmp_path, service=root)).status == "ok"


def test_the_guardrails_check_leaves_conflicts_to_the_conflicts_check(tmp_path: Path) -> None:
    findings = (
        Finding("PAVED-REPO-004", "error", "unresolved", "README.md", 2, "resolve", "d"),
        Finding("PAVED-CI-005", "warning", "no permissions", "ci.yml", 1, "set", "d"),
    )
    report = Report("/svc", NOW.date(), findings, (), ("PAVED-REPO-004", "PAVED-CI-005"))
    root = _service(tmp_path, {})
    outcome = svc.check_guardrails(
        make_inputs(tmp_path, service=root, guardrails=lambda _root, _today: report)
    )
    assert outcome.status == "warn"
    assert outcome.message == (
        "2 guardrails: 0 error(s), 1 warning(s), 0 waived (PAVED-REPO-004: see service.conflicts)"
    )
    assert outcome.details == ("PAVED-CI-005 ci.yml:1 no permissions (warning)",)


def test_version_order() -> None:
    one, two, ten = (Version.parse(text) for text in ("0.1.0", "0.2.0", "0.10.0"))
    assert one
    assert two
    assert ten
    assert one < two < ten
    assert Version.parse("0.1.0+abcdef12") == Version.parse("0.1.0")


def _service(tmp_path: Path, road: dict[str, Any]) -> Path:
    root = tmp_path / "svc"
    root.mkdir()
    (root / ".copier-answers.road.yml").write_text(yaml.safe_dump(road))
    return root


ROAD_SRC = "https://scaffolds.paved.invalid/paved-road.git"
UPDATE_FIX = (
    "run paved update (paved update --dry-run shows what it changes first), or decline the "
    "version for now with paved update --decline VERSION --reason TEXT --until DATE "
    "(paved docs update#declining-a-version)"
)


def test_version_drift_names_the_newest(tmp_path: Path) -> None:
    road = {"_commit": "0.0.1", "_src_path": ROAD_SRC}
    inputs = make_inputs(tmp_path, service=_service(tmp_path, road))
    outcome = svc.check_version_drift(inputs)
    bundled = ScaffoldRegistry(SCAFFOLDS).get("paved-road").version
    assert outcome == Outcome(
        "warn",
        "1 layer(s) behind the newest scaffold version",
        fix=UPDATE_FIX,
        details=(f"road layer paved-road 0.0.1: {bundled} is the newest",),
    )


def _declined_service(tmp_path: Path, *declines: dict[str, Any]) -> Path:
    root = _service(tmp_path, {"_commit": "0.0.1", "_src_path": ROAD_SRC})
    (root / ".paved").mkdir()
    (root / ".paved" / "declines.yaml").write_text(yaml.safe_dump({"declines": list(declines)}))
    return root


def _decline(version: str, until: dt.date, scaffold: str = "paved-road") -> dict[str, Any]:
    return {"scaffold": scaffold, "version": version, "reason": "new ingress", "until": str(until)}


def _at(day: dt.date) -> Any:
    return lambda: dt.datetime.combine(day, dt.time(12), tzinfo=dt.UTC)


def test_a_layer_behind_only_by_an_active_decline_is_ok_with_the_decline_as_detail(
    tmp_path: Path,
) -> None:
    bundled = ScaffoldRegistry(SCAFFOLDS).get("paved-road").version
    until = NOW.date() + dt.timedelta(days=30)
    root = _declined_service(tmp_path, _decline(bundled, until))
    for today in (NOW.date(), until):  # the until day included
        outcome = svc.check_version_drift(make_inputs(tmp_path, service=root, clock=_at(today)))
        assert outcome == Outcome(
            "ok",
            f"road layer paved-road 0.0.1: {bundled} declined until {until}",
            details=(f"paved-road {bundled} declined until {until}: new ingress",),
        )


def test_a_decline_of_a_newer_version_covers_the_older_ones_too(tmp_path: Path) -> None:
    root = _declined_service(tmp_path, _decline("9.0.0", NOW.date()))
    outcome = svc.check_version_drift(make_inputs(tmp_path, service=root))
    assert outcome.status == "ok"
    assert outcome.details == (f"paved-road 9.0.0 declined until {NOW.date()}: new ingress",)


def test_an_expired_decline_counts_as_behind_again_and_says_so(tmp_path: Path) -> None:
    bundled = ScaffoldRegistry(SCAFFOLDS).get("paved-road").version
    until = NOW.date() - dt.timedelta(days=1)
    root = _declined_service(tmp_path, _decline(bundled, until))
    outcome = svc.check_version_drift(make_inputs(tmp_path, service=root))
    assert outcome == Outcome(
        "warn",
        "1 layer(s) behind the newest scaffold version",
        fix=UPDATE_FIX,
        details=(
            f"road layer paved-road 0.0.1: {bundled} is the newest "
            f"(the decline of {bundled} ran until {until} and has expired)",
        ),
    )


def test_a_decline_of_an_older_version_leaves_the_layer_behind_and_is_shown(
    tmp_path: Path,
) -> None:
    bundled = ScaffoldRegistry(SCAFFOLDS).get("paved-road").version
    until = NOW.date() + dt.timedelta(days=30)
    root = _declined_service(
        tmp_path,
        _decline("0.0.2", until),  # older than the newest: the layer is still behind
        _decline("9.0.0", until, scaffold="service-python"),  # another scaffold's
    )
    outcome = svc.check_version_drift(make_inputs(tmp_path, service=root))
    assert outcome.status == "warn"
    assert outcome.details == (
        f"road layer paved-road 0.0.1: {bundled} is the newest",
        f"paved-road 0.0.2 declined until {until}: new ingress",
        f"service-python 9.0.0 declined until {until}: new ingress",
    )


def test_active_declines_are_details_of_a_layer_that_is_the_newest(tmp_path: Path) -> None:
    bundled = ScaffoldRegistry(SCAFFOLDS).get("paved-road").version
    root = _service(tmp_path, {"_commit": bundled, "_src_path": ROAD_SRC})
    (root / ".paved").mkdir()
    (root / ".paved" / "declines.yaml").write_text(
        yaml.safe_dump([_decline("9.0.0", NOW.date()), _decline("9.1.0", dt.date(2029, 1, 1))])
    )
    outcome = svc.check_version_drift(make_inputs(tmp_path, service=root))
    assert outcome == Outcome(
        "ok",
        f"road layer paved-road {bundled}: the newest",
        details=(f"paved-road 9.0.0 declined until {NOW.date()}: new ingress",),  # expired: not
    )


@pytest.mark.parametrize(
    ("text", "message", "fix"),
    [
        (
            "declines:\n  - {scaffold: paved-road, version: soon, reason: r, until: 2030-01-01}\n",
            "decline 1: version 'soon' is not a version",
            "each decline needs scaffold, version, reason and until (YYYY-MM-DD); "
            "see paved docs update#declining-a-version",
        ),
        (
            "declines: [unclosed\n",
            "is not valid YAML",
            "each decline needs scaffold, version, reason and until (YYYY-MM-DD); "
            "see paved docs update#declining-a-version",
        ),
        (
            b"\xff not text",
            "cannot be read (UnicodeDecodeError)",
            "fix or remove .paved/declines.yaml (paved docs update#declining-a-version)",
        ),
    ],
)
def test_a_broken_declines_file_fails_the_check_with_its_one_line_error(
    tmp_path: Path, text: str | bytes, message: str, fix: str
) -> None:
    root = _service(tmp_path, {"_commit": "0.0.1", "_src_path": ROAD_SRC})
    (root / ".paved").mkdir()
    path = root / ".paved" / "declines.yaml"
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text)
    check = next(c for c in CHECKS if c.id == "service.version-drift")
    result = run_check(check, make_inputs(tmp_path, service=root))
    sep = ": " if message.startswith("decline") else " "
    assert (result.status, result.message, result.fix) == ("fail", f"{path}{sep}{message}", fix)
    assert result.details == ()


def test_registered_fails_when_missing_or_owned_by_another_team(tmp_path: Path) -> None:
    root = _service(tmp_path, {"service_name": "pay", "owner": "team-a"})

    class Catalog:
        location = "memory"

        def __init__(self, entry: Service | None) -> None:
            self.entry = entry

        def get(self, name: str) -> Service | None:
            return self.entry

    missing = make_inputs(tmp_path, service=root, catalog=lambda: Catalog(None))
    assert svc.check_registered(missing).fix == "paved doctor --fix registers it"
    other = Service("pay", "team-b", "", "file:///x", (), NOW)
    outcome = svc.check_registered(
        make_inputs(tmp_path, service=root, catalog=lambda: Catalog(other))
    )
    assert (
        outcome.message
        == "service 'pay' is registered with owner 'team-b', but its answers say 'team-a'"
    )


def test_registered_asks_the_platform_catalog_too(tmp_path: Path) -> None:
    """With a platform catalog configured the check asks it (it used to skip); a catalog that
    does not answer is env.catalog's failure, so this check skips and says where to look."""
    root = _service(tmp_path, {"service_name": "pay", "owner": "team-a"})
    settings = lambda: Settings(catalog_url="https://platform.example")  # noqa: E731

    class Catalog:
        location = "https://platform.example"

        def __init__(self, entry: Service | None) -> None:
            self.entry = entry

        def get(self, name: str) -> Service | None:
            if self.entry is None:
                raise RemoteError("platform catalog https://platform.example cannot be reached")
            return self.entry

    mine = Service("pay", "team-a", "", "file:///x", (), NOW)
    outcome = svc.check_registered(
        make_inputs(tmp_path, service=root, settings=settings, catalog=lambda: Catalog(mine))
    )
    assert outcome.status == "ok"
    with pytest.raises(Skip, match=r"the catalog does not answer \(see env.catalog\)"):
        svc.check_registered(
            make_inputs(tmp_path, service=root, settings=settings, catalog=lambda: Catalog(None))
        )


def test_guardrails_details_one_line_per_finding(tmp_path: Path) -> None:
    waiver = Waiver("PAVED-K8S-001", "k8s/**", "legacy", "team-a", dt.date(2031, 1, 1))
    findings = (
        Finding("PAVED-IAM-001", "error", "no policy", "iam/policy.json", None, "add", "d"),
        Finding("PAVED-K8S-001", "error", "root", "k8s/d.yaml", 3, "f", "d", "waived", waiver),
        Finding("PAVED-CI-002", "warning", "unpinned", "ci.yml", 7, "pin", "d"),
    )
    report = Report("/svc", NOW.date(), findings, (waiver,), ("PAVED-IAM-001",))
    root = _service(tmp_path, {})
    outcome = svc.check_guardrails(
        make_inputs(tmp_path, service=root, guardrails=lambda _root, _today: report)
    )
    assert outcome.status == "fail"
    assert outcome.details == (
        "PAVED-IAM-001 iam/policy.json no policy",
        "PAVED-K8S-001 k8s/d.yaml:3 root (waived until 2031-01-01 by team-a: legacy)",
        "PAVED-CI-002 ci.yml:7 unpinned (warning)",
    )
    only_warnings = dataclasses.replace(report, findings=findings[2:])
    assert (
        svc.check_guardrails(
            make_inputs(tmp_path, service=root, guardrails=lambda _r, _t: only_warnings)
        ).status
        == "warn"
    )
