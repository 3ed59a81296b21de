"""Failures, kills, races and real remotes: ``paved new service`` never half-makes anything."""

from __future__ import annotations

import http.server
import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from paved.catalog.sqlite import SqliteCatalog
from paved.cli.runtime import Runtime
from paved.errors import ExitCode
from tests.helpers import SCAFFOLDS, free_port, git, run_paved, snapshot, tree_files
from tests.platform_helpers import git_daemon as serve_git

pytestmark = pytest.mark.slow


def data_dir(pinned_env: Path) -> Path:
    return pinned_env / "paved-home" / "data"


def catalog_names(pinned_env: Path) -> list[str]:
    db = data_dir(pinned_env) / "catalog.db"
    if not db.exists():
        return []
    with sqlite3.connect(db) as conn:
        return [row[0] for row in conn.execute("SELECT name FROM services ORDER BY name")]


def bare_repos(pinned_env: Path) -> list[str]:
    repos = data_dir(pinned_env) / "repos"
    return sorted(p.name for p in repos.iterdir()) if repos.exists() else []


def assert_complete(pinned_env: Path, name: str, folder: Path | None = None) -> None:
    """The service is whole: rendered, committed, pushed once, registered once."""
    folder = folder or pinned_env / name
    assert catalog_names(pinned_env).count(name) == 1
    assert bare_repos(pinned_env).count(f"{name}.git") == 1
    clone = pinned_env / f"clone-{name}-{time.monotonic_ns()}"
    git("clone", "--quiet", str(data_dir(pinned_env) / "repos" / f"{name}.git"), str(clone))
    assert tree_files(clone) == tree_files(folder)
    assert git("rev-list", "--count", "HEAD", cwd=clone) == "1"
    assert git("status", "--porcelain", cwd=folder) == ""
    assert not list(folder.parent.glob(f".paved-new-{name}.*")), "a temporary folder was left"
    shutil.rmtree(clone)


def steps(stdout: str) -> list[str]:
    return [s["status"] for s in json.loads(stdout)["steps"]]


# -- a failure at each step, then the same command again -------------------------------


def test_failure_while_rendering_leaves_nothing(paved, pinned_env: Path) -> None:
    scaffolds = pinned_env / "scaffolds"
    shutil.copytree(SCAFFOLDS, scaffolds)
    broken = scaffolds / "paved-road" / "template" / "SECURITY.md.jinja"
    good = broken.read_text()
    broken.write_text("{{ service_name ")  # not valid Jinja: the road layer cannot render
    runtime = Runtime.from_process()
    runtime.scaffolds_root = scaffolds
    before = snapshot(pinned_env)

    failed = paved("new", "service", "payments", "--owner", "team-a", runtime=runtime)
    assert failed.exit_code == ExitCode.FAILURE
    assert "step 'render' failed" in failed.stderr
    assert "Traceback" not in failed.stderr
    written = snapshot(pinned_env) - before
    assert not any(p.startswith(("payments", ".paved-new")) for p in written), written
    assert bare_repos(pinned_env) == []
    assert catalog_names(pinned_env) == []

    broken.write_text(good)
    runtime = Runtime.from_process()
    runtime.scaffolds_root = scaffolds
    again = paved("new", "service", "payments", "--owner", "team-a", "--json", runtime=runtime)
    assert again.exit_code == 0, again.stderr
    assert json.loads(again.stdout)["status"] == "created"
    assert_complete(pinned_env, "payments")


def test_failure_while_committing_is_resumed(
    paved, pinned_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    shim = pinned_env / "shim"
    shim.mkdir()
    real_git = shutil.which("git")
    (shim / "git").write_text(
        '#!/bin/sh\nfor a in "$@"; do\n'
        '  [ "$a" = commit ] && { echo "fatal: disk quota exceeded" >&2; exit 128; }\n'
        f'done\nexec {real_git} "$@"\n'
    )
    (shim / "git").chmod(0o755)
    path = os.environ["PATH"]
    monkeypatch.setenv("PATH", f"{shim}{os.pathsep}{path}")

    failed = paved("new", "service", "payments", "--owner", "team-a")
    assert failed.exit_code == ExitCode.FAILURE
    assert "step 'commit' failed: git commit failed: disk quota exceeded" in failed.stderr
    assert (pinned_env / "payments" / "catalog-info.yaml").is_file()  # the render is kept
    assert catalog_names(pinned_env) == []

    monkeypatch.setenv("PATH", path)
    again = paved("new", "service", "payments", "--owner", "team-a", "--json")
    assert again.exit_code == 0, again.stderr
    assert steps(again.stdout) == ["already done", "done", "done", "done"]
    assert json.loads(again.stdout)["status"] == "resumed"
    assert_complete(pinned_env, "payments")


def test_failure_while_pushing_is_resumed(paved, pinned_env: Path) -> None:
    repos = data_dir(pinned_env) / "repos"
    repos.mkdir(parents=True)
    bare = repos / "payments.git"
    git("init", "--quiet", "--bare", str(bare))
    hook = bare / "hooks" / "pre-receive"
    hook.write_text("#!/bin/sh\necho 'the git host is down for maintenance' >&2\nexit 1\n")
    hook.chmod(0o755)

    failed = paved("new", "service", "payments", "--owner", "team-a")
    assert failed.exit_code == ExitCode.REMOTE
    assert "step 'push' failed: git repository" in failed.stderr
    assert "rejected the push (the git host is down for maintenance)" in failed.stderr
    assert "run the same command again" in failed.stderr
    assert git("rev-list", "--count", "HEAD", cwd=pinned_env / "payments") == "1"
    assert catalog_names(pinned_env) == []

    hook.unlink()
    again = paved("new", "service", "payments", "--owner", "team-a", "--json")
    assert again.exit_code == 0, again.stderr
    assert steps(again.stdout) == ["already done", "already done", "done", "done"]
    assert_complete(pinned_env, "payments")


def test_failure_while_registering_is_resumed(paved, pinned_env: Path) -> None:
    db_path = data_dir(pinned_env) / "catalog.db"
    SqliteCatalog(db_path).list()  # nothing yet
    db_path.parent.mkdir(parents=True, exist_ok=True)
    SqliteCatalog(db_path)._connect()  # create the file and its schema
    holder = sqlite3.connect(db_path, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")  # another process writing: the catalog is locked
    runtime = Runtime.from_process()
    runtime.catalog_factory = lambda rt: SqliteCatalog(rt.paths.catalog_db, timeout=0.2)
    try:
        failed = paved("new", "service", "payments", "--owner", "team-a", runtime=runtime)
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert failed.exit_code == ExitCode.REMOTE
    assert "step 'register' failed: catalog" in failed.stderr
    assert "is unavailable (database is locked)" in failed.stderr
    assert catalog_names(pinned_env) == []
    assert bare_repos(pinned_env) == ["payments.git"]

    again = paved("new", "service", "payments", "--owner", "team-a", "--json")
    assert again.exit_code == 0, again.stderr
    assert steps(again.stdout) == ["already done", "already done", "already done", "done"]
    assert_complete(pinned_env, "payments")


# -- killed at any moment ----------------------------------------------------------------


@pytest.mark.parametrize(
    "trigger",
    [
        "render…",
        "rendering road layer",
        "commit…",
        "push…",
        "register…",
        "after 0.05 s",
        "after 0.6 s",
    ],
)
def test_killed_at_any_moment_then_run_again(pinned_env: Path, trigger: str) -> None:
    command = [sys.executable, "-m", "paved", "new", "service", "payments", "--owner", "team-a"]
    process = subprocess.Popen(
        command, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True
    )
    assert process.stderr is not None
    if trigger.startswith("after"):
        time.sleep(float(trigger.split()[1]))
    else:
        for line in process.stderr:
            if trigger in line:
                break
    process.send_signal(signal.SIGKILL)
    process.communicate(timeout=120)  # reaps it and closes its stderr pipe

    again = run_paved("new", "service", "payments", "--owner", "team-a", "--json")
    assert again.returncode == 0, again.stderr
    assert_complete(pinned_env, "payments")


# -- two at once ---------------------------------------------------------------------------


def start(*args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "paved", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_two_runs_at_once_with_different_names_both_land(pinned_env: Path) -> None:
    first = start("new", "service", "alpha", "--owner", "team-a")
    second = start("new", "service", "beta", "--owner", "team-b")
    for process in (first, second):
        _, err = process.communicate(timeout=120)
        assert process.returncode == 0, err
    assert catalog_names(pinned_env) == ["alpha", "beta"]
    assert_complete(pinned_env, "alpha")
    assert_complete(pinned_env, "beta")


def test_two_runs_at_once_with_the_same_name_exactly_one_lands(pinned_env: Path) -> None:
    first = start("new", "service", "payments", "--owner", "team-a", "--dir", "one")
    second = start("new", "service", "payments", "--owner", "team-b", "--dir", "two")
    results = {}
    for folder, process in (("one", first), ("two", second)):
        _, err = process.communicate(timeout=120)
        results[folder] = (process.returncode, err)
    codes = sorted(code for code, _ in results.values())
    assert codes == [0, ExitCode.CONFLICT], results
    winner = next(f for f, (code, _) in results.items() if code == 0)
    loser = "two" if winner == "one" else "one"
    assert "already" in results[loser][1]
    assert not (pinned_env / loser).exists(), "the losing run wrote its folder"
    assert catalog_names(pinned_env) == ["payments"]
    assert_complete(pinned_env, "payments", pinned_env / winner)


# -- real remotes --------------------------------------------------------------------------


@pytest.fixture
def git_daemon(pinned_env: Path) -> Iterator[tuple[str, Path]]:
    """A real git server on loopback that accepts pushes."""
    with serve_git(pinned_env / "served") as daemon:
        yield f"git://127.0.0.1:{daemon.port}", daemon.root


def test_push_to_a_git_server_over_the_network(
    paved, pinned_env: Path, git_daemon: tuple[str, Path]
) -> None:
    url, base = git_daemon
    git("init", "--quiet", "--bare", str(base / "payments.git"))
    remote = f"{url}/payments.git"
    result = paved("new", "service", "payments", "--owner", "team-a", "--remote", remote, "--json")
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["repository"] == remote

    clone = pinned_env / "clone"
    git("clone", "--quiet", remote, str(clone))
    assert tree_files(clone) == tree_files(pinned_env / "payments")
    assert SqliteCatalog(data_dir(pinned_env) / "catalog.db").get("payments").repository == remote  # type: ignore[union-attr]
    assert bare_repos(pinned_env) == []  # the embedded host was not used

    again = paved("new", "service", "payments", "--owner", "team-a", "--remote", remote, "--json")
    assert again.exit_code == 0
    assert json.loads(again.stdout)["status"] == "unchanged"


def test_a_remote_that_is_not_empty_is_a_conflict(
    paved, pinned_env: Path, git_daemon: tuple[str, Path]
) -> None:
    url, base = git_daemon
    seed = pinned_env / "seed"
    git("init", "--quiet", str(seed))
    (seed / "README").write_text("someone else's\n")
    git("add", ".", cwd=seed)
    git("commit", "--quiet", "-m", "theirs", cwd=seed)
    git("clone", "--quiet", "--bare", str(seed), str(base / "taken.git"))
    before = snapshot(pinned_env)
    result = paved("new", "service", "taken", "--owner", "team-a", "--remote", f"{url}/taken.git")
    assert result.exit_code == ExitCode.CONFLICT
    assert "already exists and is not empty" in result.stderr
    assert snapshot(pinned_env) == before


def test_an_unreachable_remote_fails_before_writing(paved, pinned_env: Path) -> None:
    before = snapshot(pinned_env)
    result = paved(
        "new",
        "service",
        "payments",
        "--owner",
        "team-a",
        "--remote",
        f"git://127.0.0.1:{free_port()}/x.git",
    )
    assert result.exit_code == ExitCode.REMOTE
    assert "cannot be reached" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert snapshot(pinned_env) == before


def test_a_git_host_from_the_settings(
    paved, pinned_env: Path, git_daemon: tuple[str, Path]
) -> None:
    url, base = git_daemon
    config = pinned_env / "paved-home" / "config" / "config.toml"
    config.parent.mkdir(parents=True)
    config.write_text(f'[githost]\nremote = "{url}/{{name}}.git"\n')
    git("init", "--quiet", "--bare", str(base / "ledger.git"))
    result = paved("new", "service", "ledger", "--owner", "team-a", "--json")
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["repository"] == f"{url}/ledger.git"
    assert git("rev-parse", "HEAD", cwd=base / "ledger.git") == git(
        "rev-parse", "HEAD", cwd=pinned_env / "ledger"
    )


@pytest.fixture
def http_remote_needing_a_password() -> Iterator[str]:
    """A git-over-HTTP host on loopback that refuses anyone without credentials."""

    class Refuse(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(401)
            self.send_header("WWW-Authenticate", 'Basic realm="git"')
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Refuse)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/team/payments.git"
    finally:
        server.shutdown()
        server.server_close()


def test_a_remote_refusing_credentials_is_exit_4_before_writing(
    paved, pinned_env: Path, http_remote_needing_a_password: str
) -> None:
    before = snapshot(pinned_env)
    result = paved(
        "new",
        "service",
        "payments",
        "--owner",
        "team-a",
        "--remote",
        http_remote_needing_a_password,
    )
    assert result.exit_code == ExitCode.AUTH, result.stderr
    assert f"git repository {http_remote_needing_a_password} refused access" in result.stderr
    assert "check your git credentials" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert snapshot(pinned_env) == before
