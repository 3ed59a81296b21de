"""Bad input to ``paved new service``: one line, exit 2 (or 6), and nothing written anywhere."""

from __future__ import annotations

import contextlib
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from paved.errors import ExitCode

BAD_NAMES = [
    "Payments", "pay ments", "1payments", "-payments", "payments-", "pay--ments",
    "a" * 41, "p", "pay/ments", "..", "../escape", "pay;ls", "pay$(id)", "p\u0430yments", "",
]  # fmt: skip


def assert_nothing_written(root: Path, before: set[str]) -> None:
    after = {p.relative_to(root).as_posix() for p in root.rglob("*")}
    created = sorted(after - before)
    assert created == [], f"written: {created}"


@pytest.fixture
def before(pinned_env: Path) -> set[str]:
    return {p.relative_to(pinned_env).as_posix() for p in pinned_env.rglob("*")}


def one_line_error(stderr: str) -> str:
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert len(lines) == 1, stderr
    assert lines[0].startswith("error: ")
    assert "Traceback" not in stderr
    return lines[0]


@pytest.mark.parametrize("name", BAD_NAMES, ids=repr)
def test_bad_service_names(paved, pinned_env: Path, before: set[str], name: str) -> None:
    result = paved("new", "service", "--owner", "team-a", "--", name)
    assert result.exit_code == ExitCode.USAGE
    assert "service name" in one_line_error(result.stderr)
    assert result.stdout == ""
    assert_nothing_written(pinned_env, before)


@pytest.mark.parametrize(
    "owner", ["Team-A", "team a", "9team", "team-", "t", "équipe", ""], ids=repr
)
def test_bad_owner_names(paved, pinned_env: Path, before: set[str], owner: str) -> None:
    result = paved("new", "service", "payments", "--owner", owner)
    assert result.exit_code == ExitCode.USAGE
    assert "owner team name" in one_line_error(result.stderr)
    assert_nothing_written(pinned_env, before)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--template", "service-cobol"], "unknown app-layer template 'service-cobol'"),
        (["--template", "paved-road"], "unknown app-layer template 'paved-road'"),
        (["--set", "colour=blue"], "ask no question 'colour'"),
        (["--set", "port=eighty"], "is not a valid int"),
        (["--set", "port=80"], "must be between 1024 and 65535"),
        (["--set", "exposure=everyone"], "is not one of the choices"),
        (["--set", "ci_provider=jenkins"], "is not one of the choices"),
        (["--set", "novalue"], "is not KEY=VALUE"),
        (["--set", "=x"], "is not KEY=VALUE"),
        (
            ["--set", "service_name=other"],
            "--set service_name is not allowed; use the NAME argument",
        ),
        (["--set", "owner=other"], "use --owner"),
        (["--description", "two\nlines"], "one line"),
    ],
)
def test_bad_options(
    paved, pinned_env: Path, before: set[str], args: list[str], message: str
) -> None:
    result = paved("new", "service", "payments", "--owner", "team-a", *args)
    assert result.exit_code == ExitCode.USAGE, result.stderr
    assert message in one_line_error(result.stderr)
    assert_nothing_written(pinned_env, before)


def test_missing_owner_names_the_flag_without_a_terminal(
    paved, pinned_env: Path, before: set[str]
) -> None:
    result = paved("new", "service", "payments")
    assert result.exit_code == ExitCode.USAGE
    assert "pass --owner TEAM" in one_line_error(result.stderr)
    assert_nothing_written(pinned_env, before)


def test_destination_that_is_a_file(paved, pinned_env: Path) -> None:
    (pinned_env / "taken").write_text("mine\n")
    before = {p.name for p in pinned_env.rglob("*")}
    result = paved("new", "service", "payments", "--owner", "team-a", "--dir", "taken")
    assert result.exit_code == ExitCode.USAGE
    assert "is a file, not a folder" in one_line_error(result.stderr)
    assert (pinned_env / "taken").read_text() == "mine\n"
    assert {p.name for p in pinned_env.rglob("*")} == before


def test_destination_under_a_file(paved, pinned_env: Path, before: set[str]) -> None:
    (pinned_env / "afile").write_text("x")
    result = paved("new", "service", "payments", "--owner", "team-a", "--dir", "afile/sub")
    assert result.exit_code == ExitCode.USAGE
    assert "afile is a file" in one_line_error(result.stderr)


def test_destination_that_is_a_non_empty_folder(paved, pinned_env: Path) -> None:
    folder = pinned_env / "work"
    folder.mkdir()
    (folder / "notes.txt").write_text("keep me\n")
    result = paved("new", "service", "payments", "--owner", "team-a", "--dir", "work")
    assert result.exit_code == ExitCode.USAGE
    assert "is not empty" in one_line_error(result.stderr)
    assert [p.name for p in folder.iterdir()] == ["notes.txt"]
    assert (folder / "notes.txt").read_text() == "keep me\n"


@contextlib.contextmanager
def unwritable(folder: Path) -> Iterator[None]:
    """A folder nobody may write into, root included (immutable), or read-only for others."""
    folder.mkdir()
    if os.geteuid() == 0:
        done = subprocess.run(["chattr", "+i", str(folder)], capture_output=True, check=False)
        if done.returncode != 0:
            pytest.skip("cannot make a folder unwritable for root here (chattr failed)")
        try:
            yield
        finally:
            subprocess.run(["chattr", "-i", str(folder)], check=True)
    else:
        folder.chmod(0o555)
        try:
            yield
        finally:
            folder.chmod(0o755)


def test_unwritable_destination(paved, pinned_env: Path) -> None:
    locked = pinned_env / "locked"
    with unwritable(locked):
        result = paved(
            "new", "service", "payments", "--owner", "team-a", "--dir", "locked/payments"
        )
        assert result.exit_code == ExitCode.USAGE
        assert "cannot be written" in one_line_error(result.stderr)
        assert list(locked.iterdir()) == []
    assert not (pinned_env / "paved-home" / "data" / "repos").exists()


def test_missing_git_identity_names_the_git_config_commands(
    paved, pinned_env: Path, before: set[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    empty_home = pinned_env / "empty-home"
    empty_home.mkdir()
    before.add("empty-home")
    monkeypatch.setenv("HOME", str(empty_home))
    result = paved("new", "service", "payments", "--owner", "team-a")
    assert result.exit_code == ExitCode.USAGE
    line = one_line_error(result.stderr)
    assert "git config --global user.name" in line
    assert "git config --global user.email" in line
    assert_nothing_written(pinned_env, before)
