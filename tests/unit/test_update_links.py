"""A scaffold's render is input too: a link in it would commit whatever it points at."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from paved.errors import InputError
from paved.gitcmd import Git
from paved.update._merge import MergeInput, merge


def _repo(root: Path) -> str:
    root.mkdir()
    subprocess.run(["git", "init", "--quiet"], cwd=root, check=True)
    (root / "README.md").write_text("hello\n", encoding="utf-8")
    subprocess.run(["git", "add", "--all"], cwd=root, check=True)
    subprocess.run(["git", "commit", "--quiet", "-m", "first"], cwd=root, check=True)
    return subprocess.run(
        ["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True, check=True
    ).stdout.strip()


def test_a_link_in_a_render_is_refused_before_anything_is_stored(tmp_path: Path) -> None:
    head = _repo(tmp_path / "service")
    secret = tmp_path / "secret.txt"
    secret.write_text("a key of this machine\n", encoding="utf-8")
    old, new = tmp_path / "old", tmp_path / "new"
    for folder in (old, new):
        folder.mkdir()
        (folder / "README.md").write_text("hello\n", encoding="utf-8")
    (new / "leak.txt").symlink_to(secret)
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    spec = MergeInput([(old, new)], {}, ("yours", "old", "new"))
    with pytest.raises(InputError, match=r"leak\.txt as a link"):
        merge(Git(tmp_path / "service"), head, spec, scratch)
    everything = subprocess.run(
        ["git", "cat-file", "--batch-all-objects", "--batch"],
        cwd=tmp_path / "service", capture_output=True, check=True,
    ).stdout  # fmt: skip
    assert b"a key of this machine" not in everything
