"""A scaffold folder as git sees it: its files, their digest, and its git tree.

The template store and the shipped releases (:mod:`paved.scaffold.releases`) both build a
scaffold's tree here, so that a version released from a folder and the same folder stored on
a machine are one tree.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from collections.abc import Mapping
from pathlib import Path

from paved.gitcmd import Git

__all__ = ["SKIP_DIRS", "folder_digest", "scaffold_files", "write_tree"]

#: Folders under a scaffold that are never part of it (tool caches, a stray repository).
SKIP_DIRS = frozenset({"__pycache__", ".git", ".mypy_cache", ".pytest_cache", ".ruff_cache"})


def scaffold_files(folder: Path) -> list[Path]:
    """Every file under ``folder`` outside :data:`SKIP_DIRS`, in a stable order."""
    files: list[Path] = []
    for dirpath, dirnames, filenames in os.walk(folder):
        dirnames[:] = sorted(d for d in dirnames if d not in SKIP_DIRS)
        files.extend(Path(dirpath, name) for name in sorted(filenames))
    return files


def _executable(path: Path) -> bool:
    return os.access(path, os.X_OK)


def folder_digest(folder: Path, files: list[Path]) -> str:
    """A sha256 of the paths, executable bits and bytes of ``files``: cheaper than a tree."""
    sha = hashlib.sha256()
    for path in files:
        sha.update(path.relative_to(folder).as_posix().encode())
        sha.update(b"\0x" if _executable(path) else b"\0-")
        sha.update(path.read_bytes())
        sha.update(b"\0")
    return sha.hexdigest()


def write_tree(
    folder: Path, files: list[Path], git_dir: Path, env: Mapping[str, str] | None = None
) -> str:
    """Write ``files`` (under ``folder``) as one tree into the repository ``git_dir``; return
    the tree's sha.

    Each file is a blob of its bytes as they are (no end-of-line or other filters), mode
    100755 when it is executable, else 100644. ``env`` adds to the environment git runs in.
    """
    with tempfile.TemporaryDirectory(prefix="paved-index-") as tmp:
        git = Git(
            folder,
            {**(env or {}), "GIT_DIR": str(git_dir), "GIT_INDEX_FILE": str(Path(tmp, "index"))},
        )
        rel = [p.relative_to(folder).as_posix() for p in files]
        shas = git(
            "hash-object", "-w", "--no-filters", "--stdin-paths", stdin="\n".join(rel) + "\n"
        ).split()
        entries = "".join(
            f"{'100755' if _executable(p) else '100644'} {sha}\t{r}\n"
            for p, sha, r in zip(files, shas, rel, strict=True)
        )
        git("update-index", "--add", "--index-info", stdin=entries)
        return git("write-tree")
