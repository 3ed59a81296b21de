"""``paved fleet`` over a real fleet: 50 services in bare repositories, a real catalog, real
copier renders of real road releases, real git merges and pushes.

Of the 50 (at road 0.1.0 and 0.2.0), 10 carry a local edit that conflicts with 0.3.0, 2 a
broken guardrail, and one's remote rejects every push.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import jsonschema
import pytest
from typer.testing import CliRunner

from paved.catalog.sqlite import SqliteCatalog
from paved.cli.app import app
from paved.githost.change_requests import ChangeRequest
from paved.models import LayerRef, Service
from tests.conftest import Invocation, pin_environment
from tests.fleet_helpers import (
    TEMPLATE_NAME,
    add_file,
    branch_commits,
    build_fleet,
    edit_in_repository,
    reject_pushes,
    renamed,
    render_service,
)
from tests.update_helpers import (
    build_releases,
    git,
    runtime_at,
    store_releases,
    write_launcher,
)

pytestmark = pytest.mark.slow

BRANCH = "paved/update-road-0.3.0"
SCHEMA = json.loads(
    (Path(__file__).parents[2] / "docs/schemas/fleet.schema.json").read_text(encoding="utf-8")
)
KUSTOMIZATION = "k8s/base/kustomization.yaml"
DEPLOYMENT = "k8s/base/deployment.yaml"


def _run(root: Path, *args: str) -> Invocation:
    result = CliRunner().invoke(app, list(args), obj=runtime_at(root))
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    return Invocation(result.exit_code, result.stdout, result.stderr)


@pytest.fixture(scope="module")
def fleet(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, object]]:
    tmp = tmp_path_factory.mktemp("fleet")
    with pytest.MonkeyPatch.context() as patch:
        pin_environment(tmp, patch)
        roots = build_releases(tmp / "releases")
        store_releases(roots)
        githost = tmp / "githost"
        githost.mkdir()
        versions = ["0.1.0" if i % 2 else "0.2.0" for i in range(50)]
        made = build_fleet(
            roots, tmp / "made", githost, tmp / "paved-home/data/catalog.db", versions
        )
        conflicted, broken, frozen = made[:10], made[10:12], made[12]
        for name in conflicted:  # the line 0.3.0 changes, changed here too
            edit_in_repository(
                githost / f"{name}.git", tmp / "edit", KUSTOMIZATION,
                "  - poddisruptionbudget.yaml\n", "  - poddisruptionbudget.yaml # ours\n",
            )  # fmt: skip
        for name in broken:  # a guardrail broken on purpose, away from what 0.3.0 changes
            edit_in_repository(
                githost / f"{name}.git", tmp / "edit", DEPLOYMENT,
                "privileged: false", "privileged: true",
            )  # fmt: skip
        reject_pushes(githost / f"{frozen}.git")
        yield {
            "tmp": tmp,
            "roots": roots,
            "githost": githost,
            "made": made,
            "conflicted": conflicted,
            "broken": broken,
            "frozen": frozen,
        }


def _copy_world(world: dict[str, object], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """This test's own copy of paved's data folder and of the git host."""
    tmp = world["tmp"]
    assert isinstance(tmp, Path)
    home = tmp_path / "paved-home"
    shutil.copytree(tmp / "paved-home", home)
    githost = tmp_path / "githost"
    shutil.copytree(tmp / "githost", githost, symlinks=True)
    db = home / "data/catalog.db"
    import sqlite3

    with sqlite3.connect(db) as conn:  # the copied catalog points at the copied repositories
        conn.execute(
            "UPDATE services SET repository = replace(repository, ?, ?)",
            (f"file://{tmp}/githost/", f"file://{githost}/"),
        )
    monkeypatch.setenv("PAVED_HOME", str(home))
    return githost


@pytest.fixture
def place(fleet: dict[str, object], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    return _copy_world(fleet, tmp_path, monkeypatch)


def test_a_renamed_render_is_what_copier_renders(fleet, tmp_path) -> None:
    """The fleet's shortcut is honest: renaming a render gives a real render's bytes."""
    roots = fleet["roots"]
    real = render_service(roots["0.1.0"], tmp_path / "real", "svczz")
    made = render_service(roots["0.1.0"], tmp_path / "base", TEMPLATE_NAME)
    renamed(made, tmp_path / "renamed", TEMPLATE_NAME, "svczz")

    def files(root: Path) -> dict[str, bytes]:
        return {
            str(p.relative_to(root)): p.read_bytes()
            for p in root.rglob("*")
            if p.is_file() and ".git" not in p.relative_to(root).parts
        }

    assert files(tmp_path / "renamed") == files(real)


def test_plan_shows_each_service_and_what_an_update_would_do(fleet, place) -> None:
    result = _run(fleet["roots"]["0.3.0"], "fleet", "plan", "--json")
    assert result.exit_code == 0, result.stderr
    data = json.loads(result.stdout)
    jsonschema.validate(data, SCHEMA)
    rows = {row["service"]: row for row in data["services"]}
    assert len(rows) == 50
    assert {row["to"] for row in rows.values()} == {"0.3.0"}
    assert {row["from"] for row in rows.values()} == {"0.1.0", "0.2.0"}
    first = fleet["conflicted"][0]
    assert rows[first]["conflicts"] == [KUSTOMIZATION]
    clean = fleet["made"][20]
    assert rows[clean]["counts"]["moved"] == 1
    assert rows[clean]["conflicts"] == []
    for name in fleet["made"]:  # nothing pushed
        assert branch_commits(place / f"{name}.git", BRANCH) is None


def _totals(result: Invocation) -> dict[str, int]:
    data = json.loads(result.stdout)
    jsonschema.validate(data, SCHEMA)
    return data["totals"]


def test_update_then_kill_9_then_again_gives_the_same_totals_and_nothing_twice(
    fleet, place, tmp_path
) -> None:
    launcher = write_launcher(tmp_path / "bin")
    root = fleet["roots"]["0.3.0"]
    command = [sys.executable, str(launcher), str(root), "fleet", "update", "--json"]
    journal_dir = place.parent / "paved-home/data/fleet/rollouts"
    first = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=dict(os.environ),
        start_new_session=True,
    )  # fmt: skip
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline:  # kill it in the middle: after a few services
        journals = list(journal_dir.glob("*.jsonl")) if journal_dir.is_dir() else []
        if journals and len(journals[0].read_text(encoding="utf-8").splitlines()) >= 8:
            break
        if first.poll() is not None:
            break
        time.sleep(0.2)
    os.killpg(first.pid, signal.SIGKILL)  # the command and its workers, at once
    first.communicate()
    done_before = len(next(journal_dir.glob("*.jsonl")).read_text(encoding="utf-8").splitlines())
    assert 0 < done_before < 50  # really killed in the middle

    again = subprocess.run(command, capture_output=True, text=True, env=dict(os.environ))
    assert again.returncode == 6, again.stderr
    assert _totals(Invocation(again.returncode, again.stdout, again.stderr)) == {
        "conflicted": 10,
        "failed": 1,
        "ready": 37,
        "refused": 2,
    }
    data = json.loads(again.stdout)
    rows = {row["service"]: row for row in data["services"]}
    for name in fleet["conflicted"]:
        assert rows[name]["conflicts"] == [KUSTOMIZATION]
        assert branch_commits(place / f"{name}.git", BRANCH) == 1
        body = git(
            place, "--git-dir", str(place / f"{name}.git"), "log", "-1", "--format=%B", BRANCH
        )
        assert KUSTOMIZATION in body
    for name in fleet["broken"]:
        assert rows[name]["status"] == "refused"
        assert branch_commits(place / f"{name}.git", BRANCH) is None
    assert rows[fleet["frozen"]]["status"] == "failed"
    assert "pushes are frozen here" in rows[fleet["frozen"]]["detail"]
    ready = [name for name, row in rows.items() if row["status"] == "ready"]
    for name in ready:  # one branch, one commit on top of main: never a second
        assert branch_commits(place / f"{name}.git", BRANCH) == 1
        main = git(
            place, "--git-dir", str(place / f"{name}.git"), "show", "main:.copier-answers.road.yml"
        )
        assert "_commit: 0.3.0" not in main  # the default branch is untouched

    third = subprocess.run(command, capture_output=True, text=True, env=dict(os.environ))
    assert third.returncode == 6
    assert _totals(Invocation(third.returncode, third.stdout, third.stderr))["ready"] == 37
    for name in ready:
        assert branch_commits(place / f"{name}.git", BRANCH) == 1

    status = _run(root, "fleet", "status", "--json")
    assert status.exit_code == 0, status.stderr
    assert json.loads(status.stdout)["totals"]["ready"] == 37


# -- waves, direct pushes, declines, merges: a small fleet --------------------------------


@pytest.fixture(scope="module")
def small(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, object]]:
    """Six services at 0.2.0: the first rejects pushes, the second declines 0.3.0."""
    tmp = tmp_path_factory.mktemp("small")
    with pytest.MonkeyPatch.context() as patch:
        pin_environment(tmp, patch)
        roots = build_releases(tmp / "releases")
        store_releases(roots)
        githost = tmp / "githost"
        githost.mkdir()
        made = build_fleet(
            roots, tmp / "made", githost, tmp / "paved-home/data/catalog.db", ["0.2.0"] * 6
        )
        reject_pushes(githost / f"{made[0]}.git")
        add_file(
            githost / f"{made[1]}.git", tmp / "edit", ".paved/declines.yaml",
            "declines:\n  - scaffold: paved-road\n    version: 0.3.0\n"
            "    reason: waits for the freeze\n    until: 2099-01-31\n",
        )  # fmt: skip
        yield {"tmp": tmp, "roots": roots, "made": made}


@pytest.fixture
def small_place(small, tmp_path, monkeypatch) -> Path:
    return _copy_world(small, tmp_path, monkeypatch)


def test_waves_stop_when_failures_pass_the_threshold(small, small_place) -> None:
    result = _run(
        small["roots"]["0.3.0"], "fleet", "update", "--waves", "1,50%,100%",
        "--max-failures", "0", "--json",
    )  # fmt: skip
    assert result.exit_code == 5, result.stderr
    data = json.loads(result.stdout)
    assert data["totals"] == {"failed": 1, "pending": 5}
    assert "more than --max-failures 0" in data["stopped"]
    for name in small["made"][1:]:
        assert branch_commits(small_place / f"{name}.git", BRANCH) is None  # never started


def test_direct_pushes_clean_updates_to_main_and_records_them(small, small_place) -> None:
    unasked = _run(small["roots"]["0.3.0"], "fleet", "update", "--mode", "direct")
    assert unasked.exit_code == 2  # pushing to main in a script needs --yes
    assert "needs confirmation" in unasked.stderr
    result = _run(small["roots"]["0.3.0"], "fleet", "update", "--mode", "direct", "--yes", "--json")
    assert result.exit_code == 5, result.stderr  # the frozen remote
    rows = {row["service"]: row for row in json.loads(result.stdout)["services"]}
    frozen, declined, *merged = small["made"]
    assert rows[frozen]["status"] == "failed"
    assert rows[declined]["status"] == "declined"
    assert "waits for the freeze" in rows[declined]["detail"]
    for name in merged:
        assert rows[name]["status"] == "merged"
        bare = small_place / f"{name}.git"
        answers = git(small_place, "--git-dir", str(bare), "show", "main:.copier-answers.road.yml")
        assert "_commit: 0.3.0" in answers
        assert branch_commits(bare, BRANCH) is None  # no branch in direct mode
    catalog = SqliteCatalog(small_place.parent / "paved-home/data/catalog.db")
    try:
        roads = {s.name: [r.version for r in s.layers if r.layer == "road"] for s in catalog.list()}
    finally:
        catalog.close()
    assert {name: roads[name] for name in merged} == {name: ["0.3.0"] for name in merged}
    assert roads[declined] == ["0.2.0"]


def test_status_sees_a_merged_branch_records_it_and_times_it(small, small_place) -> None:
    root = small["roots"]["0.3.0"]
    assert _run(root, "fleet", "update").exit_code == 5
    name = small["made"][2]
    bare = small_place / f"{name}.git"
    git(
        small_place, "--git-dir", str(bare), "update-ref", "refs/heads/main", f"refs/heads/{BRANCH}"
    )
    status = _run(root, "fleet", "status", "--json")
    assert status.exit_code == 0, status.stderr
    data = json.loads(status.stdout)
    jsonschema.validate(data, SCHEMA)
    rows = {row["service"]: row for row in data["services"]}
    assert rows[name]["status"] == "merged"
    assert data["totals"]["ready"] == 3
    assert data["versions"] == {"paved-road 0.2.0": 5, "paved-road 0.3.0": 1}
    assert data["adoption"]["merged"] == 1
    assert data["adoption"]["median_seconds"] is not None
    journal_only = _run(root, "fleet", "status", "--no-refresh", "--json")
    assert json.loads(journal_only.stdout)["services"] == data["services"]  # journaled


class RecordingRequests:
    """Stands in for GitHub's API, which cannot run here; the adapters' real requests are
    checked against GitHub's published OpenAPI description in tests/contract/."""

    def __init__(self) -> None:
        self.opened: list[tuple[str, str, str, str, str]] = []

    def open(self, repository: str, branch: str, base: str, title: str, body: str) -> ChangeRequest:
        self.opened.append((repository, branch, base, title, body))
        return ChangeRequest(
            f"https://git.example.com/pr/{len(self.opened)}", len(self.opened), "open"
        )

    def find(self, repository: str, branch: str) -> None:
        return None

    def close(self) -> None:
        pass


def test_pushed_branches_get_a_request_once(small, small_place) -> None:
    requests = RecordingRequests()
    root = small["roots"]["0.3.0"]

    def run(*args: str) -> Invocation:
        runtime = runtime_at(root)
        runtime.change_requests_factory = lambda _runtime: requests
        result = CliRunner().invoke(app, list(args), obj=runtime)
        return Invocation(result.exit_code, result.stdout, result.stderr)

    first = run("fleet", "update", "--json")
    assert first.exit_code == 5, first.stderr  # the frozen remote
    rows = {row["service"]: row for row in json.loads(first.stdout)["services"]}
    opened = small["made"][2:]
    assert {name for name, row in rows.items() if row["status"] == "pr-open"} == set(opened)
    assert sorted(branch for _, branch, *_ in requests.opened) == [BRANCH] * len(opened)
    assert {base for _, _, base, *_ in requests.opened} == {"main"}
    assert all("paved-road 0.2.0 -> 0.3.0" in body for *_, body in requests.opened)
    assert rows[opened[0]]["request"].startswith("https://git.example.com/pr/")
    again = run("fleet", "update", "--json")
    assert again.exit_code == 5
    assert len(requests.opened) == len(opened)  # kept from the journal: none opened twice


def test_the_platform_authorises_records_and_audits_a_roll_out(
    small, tmp_path, monkeypatch
) -> None:
    pytest.importorskip("fastapi", reason="the platform server needs the 'server' extra")
    import sqlite3

    from paved.catalog.remote import RemoteCatalog
    from tests.fleet_helpers import publish
    from tests.platform_helpers import git_daemon, platform_server

    home = tmp_path / "paved-home"
    shutil.copytree(small["tmp"] / "paved-home", home)
    (home / "data/catalog.db").unlink()  # the platform is the catalog now
    monkeypatch.setenv("PAVED_HOME", str(home))
    root = small["roots"]["0.3.0"]
    base = render_service(small["roots"]["0.2.0"], tmp_path / "base", TEMPLATE_NAME)
    with (
        git_daemon(tmp_path / "githost") as githost,
        platform_server(tmp_path / "platform.db") as platform,
    ):
        admin = RemoteCatalog(platform.url, platform.token("root", admin=True))
        ana = platform.token("ana", "team-a")  # a token's teams are known teams
        platform.token("bo", "team-b")
        try:
            for name, owner in (("svcqa", "team-a"), ("svcqb", "team-a"), ("svcqc", "team-b")):
                renamed(base, tmp_path / name, TEMPLATE_NAME, name)
                publish(tmp_path / name, githost.root / f"{name}.git")
                admin.register(
                    Service(
                        name=name, owner=owner, description=f"The {name} service.",
                        repository=githost.url(name),
                        layers=(LayerRef("app", "service-python", "0.1.0"),
                                LayerRef("road", "paved-road", "0.2.0")),
                        created_at=dt.datetime(2026, 1, 1, tzinfo=dt.UTC),
                    )
                )  # fmt: skip
        finally:
            admin.close()
        assert _run(root, "login", platform.url, "--token", ana).exit_code == 0

        everyone = _run(root, "fleet", "update")
        assert everyone.exit_code == 4, everyone.stderr  # svcqc is team-b's
        assert "svcqc" in everyone.stderr
        for name in ("svcqa", "svcqb", "svcqc"):
            assert branch_commits(githost.root / f"{name}.git", BRANCH) is None

        ours = _run(root, "fleet", "update", "--owner", "team-a", "--json")
        assert ours.exit_code == 0, ours.stderr
        rollout = json.loads(ours.stdout)["rollout"]
        with sqlite3.connect(platform.database) as db:
            recorded = db.execute(
                "SELECT service, status, branch FROM rollout_services WHERE rollout_id = ?",
                (rollout,),
            ).fetchall()
            finished = db.execute(
                "SELECT finished_at FROM rollouts WHERE id = ?", (rollout,)
            ).fetchone()
            audited = db.execute(
                "SELECT actor, action, outcome FROM audit_events WHERE action LIKE 'rollout.%'"
            ).fetchall()
        assert sorted(recorded) == [("svcqa", "ready", BRANCH), ("svcqb", "ready", BRANCH)]
        assert finished is not None
        assert finished[0] is not None
        assert ("ana", "rollout.start", "created") in audited
        assert ("ana", "rollout.finish", "finished") in audited
        status = _run(root, "fleet", "status", "--json")
        assert status.exit_code == 0, status.stderr
        data = json.loads(status.stdout)
        jsonschema.validate(data, SCHEMA)
        by_version = {(f["scaffold"], f["version"]): f for f in data["patching"]}
        assert by_version[("paved-road", "0.2.0")]["services"] == 3  # none merged yet
