"""The git adapter's own helpers: one bare-repository creator, one file lister."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from paved.gitcmd import Git, create_bare_repository, list_files


def test_a_bare_repository_is_made_once_and_whole(tmp_path: Path) -> None:
    target = tmp_path / "deep" / "svc.git"
    assert create_bare_repository(target, branch="trunk") is True
    assert Git(target)("rev-parse", "--is-bare-repository") == "true"
    assert Git(target)("symbolic-ref", "HEAD") == "refs/heads/trunk"
    assert create_bare_repository(target) is False  # there already: kept as it is
    assert Git(target)("symbolic-ref", "HEAD") == "refs/heads/trunk"
    assert [p.name for p in target.parent.iterdir()] == ["svc.git"]  # no staging folder left


def test_the_files_listed_are_those_git_would_commit(tmp_path: Path) -> None:
    work = tmp_path / "work"
    subprocess.run(["git", "init", "-q", str(work)], check=True)
    (work / ".gitignore").write_text("ignored.txt\n")
    (work / "ignored.txt").write_text("x\n")
    (work / "a file.txt").write_text("x\n")
    assert sorted(list_files(work, os.environ) or []) == [".gitignore", "a file.txt"]


def test_no_listing_outside_a_repository_or_without_git(tmp_path: Path) -> None:
    assert list_files(tmp_path, {"PATH": str(tmp_path)}) is None  # no git on this PATH
    assert list_files(tmp_path / "missing", os.environ) is None
