"""``paved new service``: where it may write (``--dir``, ``--remote``, paved's own home)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from paved.errors import ExitCode
from tests.cli.test_new_bad_input import assert_nothing_written, one_line_error


@pytest.fixture
def before(pinned_env: Path) -> set[str]:
    return {p.relative_to(pinned_env).as_posix() for p in pinned_env.rglob("*")}


def data_dir(pinned_env: Path) -> Path:
    return pinned_env / "paved-home" / "data"


def unwritable(folder: Path) -> None:
    """Make ``folder`` unusable for writing, in a way that really fails, even as root.

    chmod 0o555 stops anyone but root; root writes anyway, so then the folder becomes a
    regular file, and making anything under it fails with NotADirectoryError.
    """
    folder.mkdir(parents=True, exist_ok=True)
    if os.geteuid() != 0:
        folder.chmod(0o555)
    else:
        folder.rmdir()
        folder.write_text("not a folder\n")
    try:  # the test is honest: writing there fails
        (folder / "probe").mkdir(parents=True)
    except OSError:
        return
    pytest.fail(f"{folder} is still writable")


@pytest.mark.slow
def test_a_dir_that_is_a_link_to_an_empty_folder_takes_the_service(paved, pinned_env: Path) -> None:
    (pinned_env / "real").mkdir()
    (pinned_env / "link").symlink_to("real")
    done = paved(
        "new", "service", "payments", "--owner", "team-a", "--dir", "link",
        "--no-push", "--no-register",
    )  # fmt: skip
    assert done.exit_code == 0, done.stderr
    assert (pinned_env / "real" / ".copier-answers.road.yml").is_file()
    assert (pinned_env / "link").is_symlink()
    again = paved(
        "new", "service", "payments", "--owner", "team-a", "--dir", "link",
        "--no-push", "--no-register",
    )  # fmt: skip
    assert again.exit_code == 0, again.stderr
    assert "already exists and is complete" in again.stderr


@pytest.mark.parametrize(
    "where",
    ["paved-home/data/repos/payments.git", "paved-home/data", "paved-home/data/x/y", "link/z"],
)
@pytest.mark.parametrize("dry_run", [[], ["--dry-run"]], ids=["run", "dry-run"])
def test_a_dir_inside_paved_s_data_folder_is_refused(
    paved, pinned_env: Path, where: str, dry_run: list[str]
) -> None:
    data_dir(pinned_env).mkdir(parents=True)
    (pinned_env / "link").symlink_to(data_dir(pinned_env) / "repos")  # resolved, then refused
    before = {p.relative_to(pinned_env).as_posix() for p in pinned_env.rglob("*")}
    done = paved("new", "service", "payments", "--owner", "team-a", "--dir", where, *dry_run)
    assert done.exit_code == ExitCode.USAGE, done.stderr
    line = one_line_error(done.stderr)
    assert "is inside paved's data folder" in line
    assert str(data_dir(pinned_env)) in line
    assert done.stdout == ""
    assert_nothing_written(pinned_env, before)


@pytest.mark.parametrize("remote", ["", "   "], ids=["empty", "blank"])
@pytest.mark.parametrize("extra", [[], ["--no-push"], ["--dry-run"]], ids=str)
def test_an_empty_remote_is_a_usage_error(
    paved, pinned_env: Path, before: set[str], remote: str, extra: list[str]
) -> None:
    done = paved("new", "service", "payments", "--owner", "team-a", "--remote", remote, *extra)
    assert done.exit_code == ExitCode.USAGE, done.stderr
    assert "--remote" in one_line_error(done.stderr)
    assert_nothing_written(pinned_env, before)


def test_a_githost_remote_without_name_stops_before_anything(paved, pinned_env: Path) -> None:
    config = pinned_env / "paved-home" / "config" / "config.toml"
    config.parent.mkdir(parents=True)
    config.write_text("[githost]\nremote = 'git@git.example.com:team/{nam}.git'\n")
    for args in (["services", "list"], ["new", "service", "payments", "--owner", "team-a"]):
        done = paved(*args)
        assert done.exit_code == ExitCode.USAGE
        line = one_line_error(done.stderr)
        assert line.startswith(f"error: setting 'githost.remote' in {config}: ")
        assert "{nam}" in line


def test_an_unwritable_data_folder_is_one_line(paved, pinned_env: Path) -> None:
    (pinned_env / "paved-home" / "config").mkdir(parents=True)
    unwritable(data_dir(pinned_env))
    done = paved("new", "service", "payments", "--owner", "team-a")
    assert done.exit_code == ExitCode.FAILURE, done.stderr
    line = one_line_error(done.stderr.splitlines()[-1])
    assert str(data_dir(pinned_env)) in line
    assert not (pinned_env / "payments").exists()


def test_a_service_made_from_another_folder_is_named_with_what_to_do(
    paved, pinned_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = pinned_env / "first"
    first.mkdir()
    monkeypatch.chdir(first)
    assert paved("new", "service", "payments", "--owner", "team-a").exit_code == 0
    elsewhere = pinned_env / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    repository = (data_dir(pinned_env) / "repos" / "payments.git").as_uri()
    what_to_do = (
        "see it with 'paved services show payments'; to carry on with it, run the command "
        "again with --dir set to its folder (no longer there? get it back with git clone "
        f"{repository}); otherwise choose another name"
    )

    done = paved("new", "service", "payments", "--owner", "team-a")
    assert done.exit_code == ExitCode.CONFLICT
    assert one_line_error(done.stderr) == (
        f"error: service 'payments' already exists: it is registered in the catalog "
        f"{data_dir(pinned_env) / 'catalog.db'} (owner team-a, repository {repository}), and "
        f"its folder is not {elsewhere / 'payments'}; {what_to_do}"
    )
    unregistered = paved("new", "service", "payments", "--owner", "team-a", "--no-register")
    assert unregistered.exit_code == ExitCode.CONFLICT
    assert one_line_error(unregistered.stderr) == (
        f"error: repository {repository} of service 'payments' already exists and is not "
        f"empty: a service called payments was created before, in another folder than "
        f"{elsewhere / 'payments'}; {what_to_do}"
    )
    assert list(elsewhere.iterdir()) == []  # nothing written

    resumed = paved("new", "service", "payments", "--owner", "team-a", "--dir", "../first/payments")
    assert resumed.exit_code == 0, resumed.stderr  # what the message says to do works
    assert "already exists and is complete; nothing to do" in resumed.stderr
