"""The releases paved ships: every version ever released is there, unchanged, and each bundled
scaffold's current version is one of them (docs/decisions/0007-shipped-releases.md)."""

from __future__ import annotations

import subprocess
import tomllib
from pathlib import Path

import pytest

from paved.scaffold.registry import bundled_root
from paved.scaffold.releases import problems, released
from tests.helpers import REPO_ROOT, git

INDEX = "scaffolds/releases/index.toml"


def test_the_shipped_releases_pass_the_release_check() -> None:
    assert bundled_root() == REPO_ROOT / "scaffolds"
    assert problems(bundled_root()) == []


def _repository_root() -> Path | None:
    """The top of the git work tree holding this checkout, or ``None`` when there is none."""
    done = subprocess.run(
        ["git", "-C", str(REPO_ROOT), "rev-parse", "--show-toplevel"],
        capture_output=True,
        text=True,
        check=False,
    )
    return Path(done.stdout.strip()).resolve() if done.returncode == 0 else None


def test_no_release_ever_made_is_gone_or_changed() -> None:
    """Every release that any earlier commit of the index lists is still listed, with the same
    tree: the index is append only, and the release check holds the bundles to it.

    This needs the repository's history, which CI has (a full clone of main). A checkout
    without it fails here rather than passing unseen: a shallow clone, or one in which git
    finds no commit of the committed index. The one case skipped is a folder that is no git
    work tree of this repository at all (an unpacked sdist, which ships the tests): it has no
    history to keep and no way to get one, and pytest's summary (-ra) names the skip.
    """
    if _repository_root() != REPO_ROOT.resolve():
        pytest.skip(f"{REPO_ROOT} is not a git checkout of paved: no history of {INDEX}")
    shallow = git("rev-parse", "--is-shallow-repository", cwd=REPO_ROOT)
    assert shallow == "false", (
        "this clone is shallow, so the history of the releases cannot be checked: "
        "fetch the whole history (git fetch --unshallow; in CI, fetch-depth: 0)"
    )
    assert git("ls-files", "--", INDEX, cwd=REPO_ROOT) == INDEX, f"{INDEX} is not committed"
    commits = git("log", "--full-history", "--format=%H", "--", INDEX, cwd=REPO_ROOT).split()
    assert commits, f"git log finds no commit of {INDEX}: the history is missing"

    now = {(r.scaffold, r.version): r.tree for r in released(REPO_ROOT / "scaffolds")}
    lost = set()
    for commit in commits:
        shown = subprocess.run(
            ["git", "-C", str(REPO_ROOT), "show", f"{commit}:{INDEX}"],
            capture_output=True,
            text=True,
            check=False,
        )
        if shown.returncode != 0:
            continue  # the commit that removed the index (its parent is checked)
        for entry in tomllib.loads(shown.stdout).get("release", []):
            key = (entry["scaffold"], entry["version"])
            if now.get(key) != entry["tree"]:
                state = "is gone" if key not in now else f"has tree {now[key]}"
                lost.add(
                    f"{key[0]} {key[1]} (tree {entry['tree']}, listed in {commit[:12]}) {state}"
                )
    assert sorted(lost) == []
