"""``paved fleet`` over a real fleet: 50 services in bare repositories, a real catalog, real
copier renders of real road releases, real git merges and pushes.

Of the 50 (at road 0.1.0 and 0.2.0), 10 carry a local edit that conflicts with 0.3.0, 2 a
broken guardrail, and one's remote rejects every push.
"""

from __future__ import annotations

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

from paved.cli.app import app
from tests.conftest import Invocation, pin_environment
from tests.fleet_helpers import (
    TEMPLATE_NAME,
    branch_commits,
    build_fleet,
    edit_in_repository,
    reject_pushes,
    renamed,
    render_service,
)
from tests.update_helpers import build_releases, git, runtime_at, store_releases

pytestmark = pytest.mark.slow

BRANCH = "paved/update-road-0.3.0"
SCHEMA = json.loads(
    (Path(__file__).parents[2] / "docs/schemas/fleet.schema.json").read_text(encoding="utf-8")
)
KUSTOMIZATION = "k8s/base/kustomization.yaml"
DEPLOYMENT = "k8s/base/deployment.yaml"
LAUNCHER = """\
import sys
from pathlib import Path

from paved.cli.app import main
from paved.cli.runtime import Runtime

runtime = Runtime.from_process()
runtime.scaffolds_root = Path(sys.argv[1])
main(sys.argv[2:], obj=runtime)
"""


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


@pytest.fixture
def place(fleet: dict[str, object], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """This test's own copy of paved's data folder and of the git host."""
    tmp = fleet["tmp"]
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
    launcher = tmp_path / "bin" / "paved-at.py"
    launcher.parent.mkdir()
    launcher.write_text(LAUNCHER, encoding="utf-8")
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
