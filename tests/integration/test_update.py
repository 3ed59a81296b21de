"""``paved update`` on real services: real copier renders of real road releases (0.1.0, a
security fix in 0.2.0, a moved file in 0.3.0), real git merges, the real index.

A service is made at 0.1.0 once per module and given local edits of every kind; each test
works on its own copy of it and of paved's data folder (template store and catalog).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import sqlite3
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import jsonschema
import pytest
from typer.testing import CliRunner

from paved.catalog.sqlite import SqliteCatalog
from paved.cli.app import app
from paved.scaffold.registry import ScaffoldRegistry, bundled_root
from paved.service.declines import read_declines
from paved.update._plan import STATE_FILE
from tests.conftest import Invocation, pin_environment
from tests.update_helpers import (
    LIMITS,
    MOVED_PDB,
    NEW_CHECKOUT,
    NEW_CIDR,
    OLD_CHECKOUT,
    PDB,
    build_releases,
    git,
    runtime_at,
    snapshot,
    store_releases,
)

pytestmark = pytest.mark.slow

CI = ".github/workflows/ci.yml"
NETPOL = "k8s/base/networkpolicy.yaml"
LOCAL_CIDR = "cidr: 10.20.0.0/16"
CI_COMMENT = "        # checked out without credentials, on purpose"
SECURITY_NOTE = "Escalate to #sec-payments when nobody answers."
SCHEMA = json.loads(
    (Path(__file__).parents[2] / "docs/schemas/update.schema.json").read_text(encoding="utf-8")
)


def _newest_app() -> str:
    """The app layer these tests' services are made with: the one this paved bundles."""
    return ScaffoldRegistry(bundled_root()).get("service-python").version


def _run(root: Path, *args: str, cwd: Path | None = None) -> Invocation:
    runtime = runtime_at(root)
    if cwd is not None:
        runtime.cwd = cwd
    result = CliRunner().invoke(app, list(args), obj=runtime)
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    return Invocation(result.exit_code, result.stdout, result.stderr)


def _edit(path: Path, old: str, new: str, count: int = -1) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, count), encoding="utf-8")


def _local_edits(service: Path) -> None:
    """One local edit of every kind, committed."""
    _edit(service / NETPOL, "cidr: 10.0.0.0/8", LOCAL_CIDR)  # the line 0.2.0 changes
    _edit(service / CI, f"{OLD_CHECKOUT}\n", f"{OLD_CHECKOUT}\n{CI_COMMENT}\n", 1)  # next to it
    _edit(service / PDB, "maxUnavailable: 1", "maxUnavailable: 2")  # 0.3.0 moves the file
    _edit(service / ".yamllint.yml", "extends: default", "extends: relaxed")  # 0.2.0 removes it
    with (service / "SECURITY.md").open("a", encoding="utf-8") as handle:
        handle.write(f"\n{SECURITY_NOTE}\n")  # far from the line 0.2.0 changes
    git(service, "rm", "--quiet", "renovate.json")  # deleted here, unchanged by the road
    (service / "docs").mkdir(exist_ok=True)  # the road's TechDocs folder
    (service / "docs/runbook.md").write_text("# Runbook\n", encoding="utf-8")  # added here
    git(service, "add", "--all")
    git(service, "commit", "--quiet", "-m", "Local edits")


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Path]]:
    tmp = tmp_path_factory.mktemp("update")
    with pytest.MonkeyPatch.context() as patch:
        pin_environment(tmp, patch)
        roots = build_releases(tmp / "releases")
        store_releases(roots)
        for name, register in (("pristine", []), ("edited", ["--no-register"])):
            made = _run(
                roots["0.1.0"], "new", "service", "payments", "--owner", "team-checkout",
                "--no-push", "--dir", name, *register,
            )  # fmt: skip
            assert made.exit_code == 0, made.stderr
        _local_edits(tmp / "edited")
        yield {"tmp": tmp, **{f"road-{v}": root for v, root in roots.items()}}


@pytest.fixture
def place(world: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """This test's copy of paved's data folder; the services are copied by ``service``."""
    home = tmp_path / "paved-home"
    shutil.copytree(world["tmp"] / "paved-home", home)
    monkeypatch.setenv("PAVED_HOME", str(home))
    return home


@pytest.fixture
def service(world: dict[str, Path], place: Path, tmp_path: Path) -> Callable[[str], Path]:
    def copy(name: str = "edited") -> Path:
        target = tmp_path / f"{name}-copy"
        shutil.copytree(world["tmp"] / name, target, symlinks=True)
        return target

    return copy


def _update(world: dict[str, Path], service: Path, *args: str) -> Invocation:
    return _run(world["road-0.3.0"], "update", str(service), *args)


def _unmerged(service: Path) -> dict[str, list[int]]:
    stages: dict[str, list[int]] = {}
    for line in git(service, "ls-files", "-u").splitlines():
        meta, path = line.split("\t", 1)
        stages.setdefault(path, []).append(int(meta.split()[2]))
    return stages


def _changes(result: Invocation) -> dict[str, dict[str, object]]:
    data = json.loads(result.stdout)
    jsonschema.validate(data, SCHEMA)
    return {entry["path"]: entry for entry in data["files"]}


def _resolve(service: Path) -> None:
    """Resolve the conflicts as a person would: theirs for the NetworkPolicy, both lines in
    the pipeline, and the local .yamllint.yml kept."""
    git(service, "checkout", "--theirs", "--", NETPOL)
    text = (service / CI).read_text(encoding="utf-8")
    blocks = re.compile(
        r"<<<<<<< yours\n(.*?)\|\|\|\|\|\|\| [^\n]*\n(.*?)=======\n(.*?)>>>>>>> [^\n]*\n", re.S
    )

    def both(found: re.Match[str]) -> str:
        ours, base, theirs = (found.group(i).splitlines(keepends=True) for i in (1, 2, 3))
        return "".join(theirs + [line for line in ours if line not in base])

    (service / CI).write_text(blocks.sub(both, text), encoding="utf-8")
    git(service, "add", "--", NETPOL, CI, ".yamllint.yml")


# -- the dry run -------------------------------------------------------------------------


def test_a_dry_run_classifies_every_file_and_changes_nothing(world, service) -> None:
    edited = service()
    before = snapshot(edited, raw_index=True)
    objects = sorted((edited / ".git/objects").rglob("*"))
    result = _update(world, edited, "--dry-run", "--diff", "--json")
    assert result.exit_code == 0, result.stderr
    assert snapshot(edited, raw_index=True) == before
    assert sorted((edited / ".git/objects").rglob("*")) == objects  # not even an object
    changes = _changes(result)
    kinds = {path: entry["change"] for path, entry in changes.items()}
    assert kinds[NETPOL] == "conflict"
    assert kinds[CI] == "conflict"
    assert changes[".yamllint.yml"]["conflict"] == "removed by the template, edited here"
    assert kinds["renovate.json"] == "deleted-locally"
    assert kinds[MOVED_PDB] == "moved"
    assert changes[MOVED_PDB]["moved_from"] == PDB
    assert PDB not in changes
    assert kinds[LIMITS] == "added"
    assert kinds["k8s/base/kustomization.yaml"] == "template-updated"
    assert kinds["SECURITY.md"] == "merged"
    assert kinds["CODEOWNERS"] == "unchanged"
    assert "docs/runbook.md" not in changes  # not a layer file
    assert changes[NETPOL]["lines"]  # the markers' lines
    data = json.loads(result.stdout)
    assert data["status"] == "planned"
    assert data["layers"] == [
        {"layer": "road", "scaffold": "paved-road", "from": "0.1.0", "to": "0.3.0"}
    ]
    assert f"+{' ' * 6}- uses: {NEW_CHECKOUT}" in data["diff"]


# -- conflicts ---------------------------------------------------------------------------


def test_conflicts_exit_6_as_real_unmerged_entries_and_nothing_is_committed(world, service) -> None:
    edited = service()
    head = git(edited, "rev-parse", "HEAD")
    result = _update(world, edited)
    assert result.exit_code == 6, result.stderr
    assert git(edited, "rev-parse", "HEAD") == head  # nothing committed
    stages = _unmerged(edited)
    assert stages[NETPOL] == [1, 2, 3]  # base, yours, theirs
    assert stages[CI] == [1, 2, 3]
    assert stages[".yamllint.yml"] == [1, 2]  # removed by the template: no theirs
    assert f"conflict\t{NETPOL}" in result.stdout
    netpol = (edited / NETPOL).read_text(encoding="utf-8")
    assert "<<<<<<< yours\n" in netpol
    assert "||||||| paved-road 0.1.0\n" in netpol
    assert ">>>>>>> paved-road 0.3.0\n" in netpol
    assert LOCAL_CIDR in netpol
    assert NEW_CIDR in netpol
    # git itself sees the conflict: the theirs and ours sides are there to take
    assert NEW_CIDR in git(edited, "show", f":3:{NETPOL}")
    assert LOCAL_CIDR in git(edited, "show", f":2:{NETPOL}")
    # everything else merged into the work tree
    assert "maxUnavailable: 2" in (edited / MOVED_PDB).read_text(encoding="utf-8")
    assert not (edited / PDB).exists()
    assert (edited / LIMITS).is_file()
    assert not (edited / "renovate.json").exists()
    assert (edited / "docs/runbook.md").is_file()
    security = (edited / "SECURITY.md").read_text(encoding="utf-8")
    assert SECURITY_NOTE in security
    assert "within one working day" in security
    assert CI_COMMENT in (edited / CI).read_text(encoding="utf-8")
    assert (edited / ".git" / STATE_FILE).is_file()


def test_continue_refuses_unmerged_files_and_markers_then_commits_with_trailers(
    world, service
) -> None:
    edited = service()
    assert _update(world, edited).exit_code == 6
    refused = _update(world, edited, "--continue")
    assert refused.exit_code == 6
    assert "still unmerged" in refused.stderr
    marked = (edited / CI).read_text(encoding="utf-8")
    _resolve(edited)
    resolved = (edited / CI).read_text(encoding="utf-8")
    (edited / CI).write_text(marked, encoding="utf-8")
    git(edited, "add", "--", CI)  # staged, markers and all
    refused = _update(world, edited, "--continue")
    assert refused.exit_code == 6
    assert "conflict markers remain" in refused.stderr
    assert CI in refused.stderr
    (edited / CI).write_text(resolved, encoding="utf-8")
    git(edited, "add", "--", CI)
    done = _update(world, edited, "--continue", "--json")
    assert done.exit_code == 0, done.stderr
    data = json.loads(done.stdout)
    jsonschema.validate(data, SCHEMA)
    assert data["status"] == "continued"
    message = git(edited, "log", "-1", "--format=%B")
    trailers = git(edited, "log", "-1", "--format=%(trailers:only,unfold)")
    assert "Paved-Layer: road" in trailers
    assert "Paved-Scaffold: paved-road" in trailers
    assert "Paved-From: 0.1.0" in trailers
    assert "Paved-To: 0.3.0" in trailers
    assert message.startswith("Update the road layer")
    assert git(edited, "status", "--porcelain") == ""
    assert "_commit: 0.3.0" in (edited / ".copier-answers.road.yml").read_text(encoding="utf-8")
    assert not (edited / ".git" / STATE_FILE).exists()
    ci = (edited / CI).read_text(encoding="utf-8")
    assert CI_COMMENT in ci
    assert OLD_CHECKOUT not in ci


def test_abort_restores_head_index_and_work_tree_byte_for_byte(world, service) -> None:
    edited = service()
    before = snapshot(edited)
    assert _update(world, edited).exit_code == 6
    assert snapshot(edited) != before
    aborted = _update(world, edited, "--abort")
    assert aborted.exit_code == 0, aborted.stderr
    assert snapshot(edited) == before
    assert not (edited / ".git" / STATE_FILE).exists()
    assert _update(world, edited, "--abort").exit_code == 2  # nothing left to abort


def test_a_conflict_resolved_at_0_2_0_is_not_asked_again_at_0_3_0(world, service) -> None:
    edited = service()
    first = _update(world, edited, "--to", "0.2.0")
    assert first.exit_code == 6, first.stderr
    assert set(_unmerged(edited)) == {NETPOL, CI, ".yamllint.yml"}
    _resolve(edited)
    assert _update(world, edited, "--continue").exit_code == 0
    second = _update(world, edited, "--json")
    assert second.exit_code == 0, second.stderr
    changes = _changes(second)
    assert not [path for path, entry in changes.items() if entry["change"] == "conflict"]
    assert changes[CI]["change"] == "unchanged"
    assert changes[MOVED_PDB]["change"] == "moved"
    assert CI_COMMENT in (edited / CI).read_text(encoding="utf-8")
    assert git(edited, "status", "--porcelain") == ""
    assert "Paved-From: 0.2.0" in git(edited, "log", "-1", "--format=%B")


def test_the_same_update_in_two_clones_gives_the_same_bytes(world, service, tmp_path) -> None:
    edited = service()
    clones = []
    for name in ("one", "two"):
        clone = tmp_path / name
        git(tmp_path, "clone", "--quiet", str(edited), str(clone))
        assert _update(world, clone).exit_code == 6
        clones.append(clone)
    one, two = (
        {k: v for k, v in snapshot(c).items() if k not in {":index", ":HEAD"}} for c in clones
    )
    assert one == two
    assert git(clones[0], "ls-files", "-s") == git(clones[1], "ls-files", "-s")


# -- a clean update, and what it refuses --------------------------------------------------


def test_an_update_without_local_edits_commits_and_records_the_catalog(
    world, service, place
) -> None:
    pristine = service("pristine")
    result = _update(world, pristine, "--json")
    assert result.exit_code == 0, result.stderr
    data = json.loads(result.stdout)
    jsonschema.validate(data, SCHEMA)
    assert data["status"] == "updated"
    assert data["conflicts"] == []
    assert data["commit"] == git(pristine, "rev-parse", "HEAD").strip()
    assert data["catalog"] == "recorded"
    assert git(pristine, "status", "--porcelain") == ""
    assert NEW_CHECKOUT in (pristine / CI).read_text(encoding="utf-8")
    catalog = SqliteCatalog(place / "data/catalog.db")
    try:
        stored = catalog.get("payments")
    finally:
        catalog.close()
    assert stored is not None
    assert {(ref.layer, ref.version) for ref in stored.layers} == {
        ("app", _newest_app()),
        ("road", "0.3.0"),
    }
    again = _update(world, pristine, "--json")
    assert again.exit_code == 0
    assert json.loads(again.stdout)["status"] == "up-to-date"


def test_a_dirty_work_tree_is_refused_with_its_files(world, service) -> None:
    edited = service()
    (edited / "README.md").write_text("changed\n", encoding="utf-8")
    (edited / "notes.txt").write_text("mine\n", encoding="utf-8")
    before = snapshot(edited)
    result = _update(world, edited)
    assert result.exit_code == 2
    assert "README.md" in result.stderr
    assert "notes.txt" in result.stderr
    assert snapshot(edited) == before


@pytest.mark.parametrize(
    ("key", "value", "words"),
    [
        ("_src_path", "ext::sh -c touch% /tmp/paved-pwned", "_src_path"),
        ("_src_path", "https://scaffolds.paved.invalid/../../evil.git", "_src_path"),
        ("_commit", "0.1.0; rm -rf ~", "_commit"),
        ("aws_region", "eu-west-1\\nrun: evil", "aws_region"),
        ("surprise", "1", "surprise"),
    ],
)
def test_answers_from_the_repository_are_checked_before_anything_runs(
    world, service, key, value, words
) -> None:
    edited = service()
    answers = edited / ".copier-answers.road.yml"
    lines = [
        line
        for line in answers.read_text(encoding="utf-8").splitlines()
        if not line.startswith(f"{key}:")
    ]
    lines.append(f'{key}: "{value}"')
    answers.write_text("\n".join(lines) + "\n", encoding="utf-8")
    git(edited, "commit", "--quiet", "-am", "Tamper with the answers")
    before = snapshot(edited)
    result = _update(world, edited)
    assert result.exit_code == 2, result.stderr
    assert words in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert snapshot(edited) == before
    assert not Path("/tmp/paved-pwned").exists()


def test_a_bad_catalog_entry_is_refused_before_an_update_of_the_app_layer(world, service) -> None:
    """The road layer does not move, so no road rule reads its answers file; the catalog
    entry recorded after the commit is that file's, so it is checked first."""
    pristine = service("pristine")
    _edit(pristine / ".copier-answers.road.yml", "system: ''", "system: -bad")
    git(pristine, "commit", "--quiet", "-am", "Tamper with the catalog answers")
    before = snapshot(pristine)
    result = _update(world, pristine, "--layer", "app")
    assert result.exit_code == 2, (result.stdout, result.stderr)
    assert ".copier-answers.road.yml is not a catalog entry: system must be" in result.stderr
    assert snapshot(pristine) == before


def test_an_update_runs_from_any_folder_of_the_service(world, service) -> None:
    pristine = service("pristine")
    result = _run(world["road-0.3.0"], "update", "--dry-run", cwd=pristine / "k8s/base")
    assert result.exit_code == 0, result.stderr
    assert "paved-road 0.1.0 -> 0.3.0" in result.stderr


def test_outside_a_service_it_says_so(world, place, tmp_path) -> None:
    result = _run(world["road-0.3.0"], "update", str(tmp_path))
    assert result.exit_code == 2
    assert "not inside a paved service" in result.stderr


# -- declining ---------------------------------------------------------------------------


def test_a_decline_is_recorded_in_the_service_and_committed(world, service) -> None:
    pristine = service("pristine")
    args = ("--decline", "0.3.0", "--reason", "waits for the freeze", "--until", "2099-01-31")
    planned = _update(world, pristine, *args, "--dry-run")
    assert planned.exit_code == 0, planned.stderr
    assert not (pristine / ".paved/declines.yaml").exists()
    done = _update(world, pristine, *args, "--json")
    assert done.exit_code == 0, done.stderr
    (decline,) = read_declines(pristine)
    assert (decline.scaffold, decline.version, decline.reason) == (
        "paved-road", "0.3.0", "waits for the freeze"
    )  # fmt: skip
    assert git(pristine, "status", "--porcelain") == ""
    assert "Paved-Declined: paved-road 0.3.0" in git(pristine, "log", "-1", "--format=%B")
    past = _update(world, pristine, "--decline", "0.3.0", "--reason", "x", "--until", "2001-01-01")
    assert past.exit_code == 2
    unknown = _update(
        world, pristine, "--decline", "9.9.9", "--reason", "x", "--until", "2099-01-01"
    )
    assert unknown.exit_code == 2
    assert "no such version" in unknown.stderr


# -- the shipped releases, and plain copier ----------------------------------------------

RECIPE = re.compile(r"<!-- recipe: plain-copier-update [^\n]*-->\n```sh\n(.*?)```", re.S)


def _released(tmp: Path, version: str) -> Path:
    """A scaffolds folder as an older paved bundled it: each scaffold at ``version``, taken
    from the releases this paved ships."""
    root = tmp / f"paved-{version}"
    for name in ("paved-road", "service-python"):
        bundle = bundled_root() / "releases" / f"{name}.bundle"
        git(tmp, "clone", "--quiet", "--branch", version, str(bundle), str(root / name))
        shutil.rmtree(root / name / ".git")
    return root


def _machine(tmp: Path, name: str, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp / name
    monkeypatch.setenv("PAVED_HOME", str(home))
    return home


def test_a_service_made_by_an_older_paved_updates_with_this_one_on_another_machine(
    tmp_path, monkeypatch
) -> None:
    old = _released(tmp_path, "0.1.0")
    _machine(tmp_path, "laptop", monkeypatch)
    made = _run(old, "new", "service", "payments", "--owner", "team-checkout", "--no-push")
    assert made.exit_code == 0, made.stderr
    service = tmp_path / "payments"
    assert "copier update -a" in (service / "README.md").read_text(encoding="utf-8")
    _machine(tmp_path, "workstation", monkeypatch)  # another machine: an empty store
    newest = ScaffoldRegistry(bundled_root()).get("paved-road").version
    assert newest != "0.1.0"
    result = _run(bundled_root(), "update", str(service), "--json")
    assert result.exit_code == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["layers"][0]["from"] == "0.1.0"
    assert data["layers"][0]["to"] == newest
    assert data["catalog"] == "not registered"  # this machine's catalog never saw it
    readme = (service / "README.md").read_text(encoding="utf-8")
    assert "`paved update`" in readme
    assert f"_commit: {newest}" in (service / ".copier-answers.road.yml").read_text("utf-8")


def test_the_plain_copier_recipe_in_the_docs_works_as_written(tmp_path, monkeypatch) -> None:
    docs = (Path(__file__).parents[2] / "docs/scaffolds.md").read_text(encoding="utf-8")
    (recipe,) = RECIPE.findall(docs)
    old = _released(tmp_path, "0.1.0")
    home = _machine(tmp_path, "laptop", monkeypatch)
    made = _run(old, "new", "service", "payments", "--owner", "team-checkout", "--no-push")
    assert made.exit_code == 0, made.stderr
    service = tmp_path / "payments"
    bin_dir = Path(sys.executable).parent  # paved and copier, as installed beside pytest
    env = {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}"}
    done = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", recipe],
        cwd=service, env=env, capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    newest = ScaffoldRegistry(bundled_root()).get("paved-road").version
    answers = (service / ".copier-answers.road.yml").read_text(encoding="utf-8")
    assert f"_commit: {newest}" in answers
    assert "`paved update`" in (service / "README.md").read_text(encoding="utf-8")
    assert (home / "data/templates/paved-road.git").is_dir()
    assert " M README.md" in done.stdout  # git status in the recipe shows the change


def test_a_tampered_update_state_is_refused_as_input(world, service) -> None:
    edited = service()
    assert _update(world, edited).exit_code == 6
    state_file = edited / ".git" / STATE_FILE
    state = json.loads(state_file.read_text(encoding="utf-8"))
    state["paths"].append(":(glob)**")
    state_file.write_text(json.dumps(state), encoding="utf-8")
    _resolve(edited)
    head = git(edited, "rev-parse", "HEAD")
    result = _update(world, edited, "--continue")
    assert result.exit_code == 2
    assert "is not a path in the service" in result.stderr
    assert git(edited, "rev-parse", "HEAD") == head


def test_both_layers_update_in_one_commit_and_to_refuses_going_back(world, service) -> None:
    pristine = service("pristine")
    result = _update(world, pristine, "--layer", "all", "--json")
    assert result.exit_code == 0, result.stderr
    data = json.loads(result.stdout)
    assert [layer["layer"] for layer in data["layers"]] == ["road", "app"]
    assert data["status"] == "updated"  # the road moved; the app layer was already newest
    back = _update(world, pristine, "--to", "0.2.0")
    assert back.exit_code == 2
    assert "older than" in back.stderr
    both = _update(world, pristine, "--layer", "all", "--to", "0.3.0")
    assert both.exit_code == 2
    assert "--to needs one layer" in both.stderr


# -- the platform decides first -----------------------------------------------------------


def test_the_platform_refuses_another_team_before_anything_changes_and_records_the_owner(
    world, place, tmp_path
) -> None:
    pytest.importorskip("fastapi", reason="the platform server needs the 'server' extra")
    from tests.platform_helpers import git_daemon, platform_server

    with (
        git_daemon(tmp_path / "githost") as githost,
        platform_server(tmp_path / "platform.db") as platform,
    ):
        githost.create("billing")
        ours, theirs = platform.token("ana", "team-a"), platform.token("bo", "team-b")
        assert _run(world["road-0.1.0"], "login", platform.url, "--token", ours).exit_code == 0
        made = _run(
            world["road-0.1.0"], "new", "service", "billing", "--owner", "team-a",
            "--remote", githost.url("billing"),
        )  # fmt: skip
        assert made.exit_code == 0, made.stderr
        service = tmp_path / "billing"
        before = snapshot(service)

        assert _run(world["road-0.1.0"], "login", platform.url, "--token", theirs).exit_code == 0
        refused = _update(world, service)
        assert refused.exit_code == 4, refused.stderr
        assert snapshot(service) == before  # refused before the render: nothing changed

        assert _run(world["road-0.1.0"], "login", platform.url, "--token", ours).exit_code == 0
        done = _update(world, service, "--json")
        assert done.exit_code == 0, done.stderr
        assert json.loads(done.stdout)["catalog"] == "recorded"
        with sqlite3.connect(platform.database) as db:
            layers = db.execute(
                "SELECT layer, version FROM service_layers WHERE service = 'billing'"
            ).fetchall()
            audited = db.execute(
                "SELECT actor, outcome FROM audit_events WHERE action = 'service.layers'"
            ).fetchall()
        assert sorted(layers) == [("app", _newest_app()), ("road", "0.3.0")]
        assert ("ana", "recorded") in audited


def test_doctor_points_at_continue_while_an_update_waits(world, service) -> None:
    edited = service()
    assert _update(world, edited).exit_code == 6
    doctor = _run(world["road-0.3.0"], "doctor", "--path", str(edited), "--json")
    checks = {check["id"]: check for check in json.loads(doctor.stdout)["checks"]}
    conflicts = checks["service.conflicts"]
    assert conflicts["status"] == "fail"
    assert "paved update --continue" in conflicts["fix"]
    assert conflicts["details"][0].startswith("a paved update is waiting")
    assert any(NETPOL in detail for detail in conflicts["details"])


def test_a_decline_never_writes_through_a_linked_folder(world, service, tmp_path) -> None:
    pristine = service("pristine")
    outside = tmp_path / "outside"
    outside.mkdir()
    (pristine / ".paved").symlink_to(outside)
    git(pristine, "add", ".paved")
    git(pristine, "commit", "--quiet", "-m", "A link out of the service")
    result = _update(
        world, pristine, "--decline", "0.3.0", "--reason", "x", "--until", "2099-01-01"
    )
    assert result.exit_code == 2
    assert "symbolic link" in result.stderr
    assert list(outside.iterdir()) == []
