"""An organisation's own scaffold: the settings point ``paved-road`` at a git repository that
``git daemon`` serves on loopback, with tags 1.0.0 and 1.1.0 of a road-layer scaffold (the
bundled road, renumbered).

``paved new service`` renders from it and the service records its URL; a new tag reaches the
service through ``paved update``; once fetched, the scaffold renders with the host gone; bad
URLs in the settings, and a service from a URL the settings do not give, are refused.
"""

from __future__ import annotations

import io
import shutil
import subprocess
import tarfile
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import yaml

from paved.catalog.sqlite import SqliteCatalog
from paved.models import LayerRef
from paved.scaffold.store import TemplateStore
from tests.conftest import Invocation
from tests.helpers import REPO_ROOT, git
from tests.platform_helpers import GitDaemon, git_daemon

pytestmark = pytest.mark.slow

ROAD = "paved-road"
ORG_NOTE = "Questions about this road go to #platform-road."
ROAD_ANSWERS = ".copier-answers.road.yml"
Paved = Callable[..., Invocation]


def _road_folder(into: Path) -> Path:
    """The bundled road as committed (others may be editing the work tree), else as it is."""
    done = subprocess.run(
        ["git", "-C", str(REPO_ROOT), "archive", "HEAD", f"scaffolds/{ROAD}"],
        capture_output=True,
        check=False,
    )
    if done.returncode == 0:
        with tarfile.open(fileobj=io.BytesIO(done.stdout)) as archive:
            archive.extractall(into, filter="data")
        return into / "scaffolds" / ROAD
    shutil.copytree(REPO_ROOT / "scaffolds" / ROAD, into / ROAD)
    return into / ROAD


def _release(work: Path, version: str, change: Callable[[Path], None] | None = None) -> None:
    """Commit the road in ``work`` at ``version`` (after ``change``) and tag it."""
    if change is not None:
        change(work)
    meta = work / "scaffold.yml"
    lines = meta.read_text(encoding="utf-8").splitlines()
    meta.write_text(
        "\n".join(f"version: {version}" if line.startswith("version:") else line for line in lines)
        + "\n",
        encoding="utf-8",
    )
    git("add", "--all", cwd=work)
    git("commit", "--quiet", "-m", f"{ROAD} {version}", cwd=work)
    git("tag", version, cwd=work)


def _add_note(work: Path) -> None:
    with (work / "template" / "SECURITY.md.jinja").open("a", encoding="utf-8") as handle:
        handle.write(f"\n{ORG_NOTE}\n")


def _add_runbook(work: Path) -> None:
    (work / "template" / "RUNBOOK.md.jinja").write_text(
        "# Runbook of {{ service_name }}\n", encoding="utf-8"
    )


@pytest.fixture(scope="module")
def road_repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A bare repository holding the organisation's road at 1.0.0 and 1.1.0."""
    tmp = tmp_path_factory.mktemp("org-road")
    work = tmp / "work"
    shutil.copytree(_road_folder(tmp / "source"), work)
    git("init", "--quiet", "--initial-branch=main", cwd=work)
    git("config", "user.name", "Road Team", cwd=work)
    git("config", "user.email", "road@example.com", cwd=work)
    _release(work, "1.0.0")
    _release(work, "1.1.0", _add_note)
    bare = tmp / "road.git"
    git("clone", "--quiet", "--bare", str(work), str(bare))
    return bare


@pytest.fixture
def daemon(road_repo: Path, tmp_path: Path) -> Iterator[GitDaemon]:
    """This test's own git host, serving its own copy of the road's repository."""
    root = tmp_path / "git-host"
    root.mkdir()
    shutil.copytree(road_repo, root / "road.git")
    with git_daemon(root) as served:
        yield served


def _settings(home: Path, url: str) -> None:
    config = home / "paved-home" / "config" / "config.toml"
    config.parent.mkdir(parents=True, exist_ok=True)
    config.write_text(f'[scaffolds.{ROAD}]\nurl = "{url}"\n', encoding="utf-8")


def _new(paved: Paved, name: str, *args: str) -> Invocation:
    return paved("new", "service", name, "--owner", "team-checkout", "--no-push", *args)


def _answers(service: Path) -> dict[str, object]:
    data = yaml.safe_load((service / ROAD_ANSWERS).read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


def _push_release(daemon: GitDaemon, tmp: Path, version: str) -> None:
    """The road's team releases ``version``: a new file, committed, tagged and pushed."""
    work = tmp / f"release-{version}"
    git("clone", "--quiet", daemon.url("road"), str(work))
    git("config", "user.name", "Road Team", cwd=work)
    git("config", "user.email", "road@example.com", cwd=work)
    _release(work, version, _add_runbook)
    git("push", "--quiet", "origin", "main", version, cwd=work)


def test_a_service_is_made_from_the_organisation_s_road_and_updated_to_its_new_tag(
    paved: Paved, pinned_env: Path, daemon: GitDaemon
) -> None:
    url = daemon.url("road")
    _settings(pinned_env, url)
    listed = paved("templates", "list")
    assert listed.exit_code == 0, listed.stderr
    assert f"{ROAD}\troad\t1.1.0\t" in listed.stdout

    planned = _new(paved, "payments", "--dry-run")
    assert planned.exit_code == 0, planned.stderr
    assert "file\tSECURITY.md\n" in planned.stdout  # read from the tag's files
    made = _new(paved, "payments")
    assert made.exit_code == 0, made.stderr
    service = pinned_env / "payments"
    answers = _answers(service)
    assert answers["_src_path"] == url
    assert answers["_commit"] == "1.1.0"
    assert ORG_NOTE in (service / "SECURITY.md").read_text(encoding="utf-8")
    assert not (service / "RUNBOOK.md").exists()

    _push_release(daemon, pinned_env, "1.2.0")
    before = git("rev-parse", "HEAD", cwd=service)
    updated = paved("update", str(service))
    assert updated.exit_code == 0, updated.stderr
    assert git("rev-list", "--count", f"{before}..HEAD", cwd=service) == "1"
    assert f"Paved-Scaffold: {ROAD}" in git("log", "-1", "--format=%B", cwd=service)
    answers = _answers(service)
    assert answers["_commit"] == "1.2.0"
    assert answers["_src_path"] == url
    assert (service / "RUNBOOK.md").read_text(encoding="utf-8") == "# Runbook of payments\n"
    assert ORG_NOTE in (service / "SECURITY.md").read_text(encoding="utf-8")
    assert git("status", "--porcelain", cwd=service) == ""
    catalog = SqliteCatalog(pinned_env / "paved-home" / "data" / "catalog.db")
    try:
        stored = catalog.get("payments")
    finally:
        catalog.close()
    assert stored is not None
    assert LayerRef("road", ROAD, "1.2.0") in stored.layers


def test_a_scaffold_fetched_once_renders_with_its_host_gone(
    paved: Paved, pinned_env: Path, road_repo: Path
) -> None:
    root = pinned_env / "git-host"
    root.mkdir()
    shutil.copytree(road_repo, root / "road.git")
    with git_daemon(root) as daemon:
        url = daemon.url("road")
        _settings(pinned_env, url)
        assert _new(paved, "payments", "--no-register").exit_code == 0
    # the host is gone: nothing listens on its port any more

    offline = _new(paved, "billing", "--no-register")
    assert offline.exit_code == 0, offline.stderr
    assert f"warning: git repository {url} cannot be reached (" in offline.stderr
    assert "going on with the versions fetched before" in offline.stderr
    assert _answers(pinned_env / "billing")["_commit"] == "1.1.0"
    updated = paved("update", str(pinned_env / "payments"))
    assert updated.exit_code == 0, updated.stderr  # 1.1.0 is still the newest it knows
    ahead = paved("update", str(pinned_env / "payments"), "--to", "1.2.0")
    assert ahead.exit_code == 5
    warning, error = ahead.stderr.splitlines()
    assert warning.startswith(f"warning: git repository {url} cannot be reached (")
    assert error.startswith(f"error: git repository {url} cannot be reached (")
    assert ", and the copy fetched before lacks 1.2.0;" in error

    shutil.rmtree(pinned_env / "paved-home" / "data" / "templates" / "org")
    refused = _new(paved, "orders", "--no-register")
    assert refused.exit_code == 5
    assert refused.stderr.startswith(f"error: git repository {url} cannot be reached (")
    assert "and no earlier fetch left a copy on this machine" in refused.stderr
    assert refused.stderr.count("\n") == 1
    assert not (pinned_env / "orders").exists()


def test_a_service_from_a_url_the_settings_do_not_give_is_refused_by_update(
    paved: Paved, pinned_env: Path, daemon: GitDaemon
) -> None:
    url = daemon.url("road")
    _settings(pinned_env, url)
    assert _new(paved, "payments", "--no-register").exit_code == 0
    _settings(pinned_env, daemon.url("other-road"))
    refused = paved("update", str(pinned_env / "payments"))
    assert refused.exit_code == 2
    assert refused.stderr.startswith(
        f"error: {ROAD_ANSWERS}: _src_path is {url}, which is not a road-layer scaffold this "
        "paved knows"
    )
    assert daemon.url("other-road") in refused.stderr  # the hint names the URL it knows
    assert refused.stderr.count("\n") == 1


def test_the_scaffold_yml_must_name_the_scaffold_the_settings_name(
    paved: Paved, pinned_env: Path, daemon: GitDaemon
) -> None:
    config = pinned_env / "paved-home" / "config" / "config.toml"
    config.parent.mkdir(parents=True)
    config.write_text(
        '[new]\nroad_template = "other-road"\n'
        f'[scaffolds.other-road]\nurl = "{daemon.url("road")}"\n',
        encoding="utf-8",
    )
    got = _new(paved, "payments")
    assert got.exit_code == 2
    assert got.stderr == (
        f"error: git repository {daemon.url('road')} at 1.1.0: scaffold.yml names the scaffold "
        f"'{ROAD}', not 'other-road'; point [scaffolds.{ROAD}] url at it in the settings, or "
        "fix the name\n"
    )
    assert not (pinned_env / "payments").exists()


def test_copier_reads_an_organisation_s_url_from_its_mirror(tmp_path: Path) -> None:
    store = TemplateStore(tmp_path / "templates", {"GIT_CONFIG_COUNT": "1"})
    mirror = store.mirror("https://git.example.com/road").as_posix()
    assert store.env_for("https://git.example.com/road") == {
        "GIT_CONFIG_COUNT": "3",  # after the caller's own entry
        "GIT_CONFIG_KEY_1": f"url.{mirror}.insteadOf",
        "GIT_CONFIG_VALUE_1": "https://git.example.com/road",
        "GIT_CONFIG_KEY_2": f"url.{mirror}.insteadOf",
        "GIT_CONFIG_VALUE_2": "https://git.example.com/road.git",  # as copier spells it
    }
    assert store.env_for(store.stable_url(ROAD)) == store.rewrite_env(store.env)
    assert store.mirror("git@h:road.git") != store.mirror("git@h:road2.git")


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        ("ext::sh -c touch% /tmp/pwned", "names a git remote helper"),
        ("fd::3", "names a git remote helper"),
        ("--upload-pack=touch /tmp/pwned", "starts with '-'"),
        ("http://git.example.com/road.git", "has the scheme http://"),
        ("ftp://git.example.com/road.git", "has the scheme ftp://"),
        ("road.git", "is neither a URL nor an absolute path"),
        ("~/road.git", "is neither a URL nor an absolute path"),
        ("git.example.com:road.git", "is neither a URL nor an absolute path"),
        ("https://git.example.com/road\\n.git", "control character U+000A"),
        (" https://git.example.com/road.git", "has white space around it"),
        ("https://", "names no host and path"),
        ("ssh://git@git.example.com/road", "does not end in .git"),
        ("https://git.example.com/road/", "ends in '/'"),
    ],
)
def test_a_bad_scaffold_url_is_refused_in_one_line(
    paved: Paved, pinned_env: Path, url: str, problem: str
) -> None:
    _settings(pinned_env, url)
    config = pinned_env / "paved-home" / "config" / "config.toml"
    got = paved("templates", "list")
    assert got.exit_code == 2
    assert got.stderr.startswith(f"error: setting 'scaffolds.{ROAD}.url' in {config}: ")
    assert problem in got.stderr
    assert got.stderr.count("\n") == 1
    assert got.stdout == ""


def test_a_scaffold_name_that_breaks_the_naming_rule_is_refused(
    paved: Paved, pinned_env: Path
) -> None:
    config = pinned_env / "paved-home" / "config" / "config.toml"
    config.parent.mkdir(parents=True)
    config.write_text('[scaffolds.Paved_Road]\nurl = "https://h/road.git"\n', encoding="utf-8")
    got = paved("new", "service", "payments", "--owner", "team-checkout", "--no-push")
    assert got.exit_code == 2
    assert got.stderr == (
        f"error: setting 'scaffolds.Paved_Road' in {config}: 'Paved_Road' is not a scaffold "
        "name; use lower-case words joined by '-', as in [scaffolds.paved-road]\n"
    )
