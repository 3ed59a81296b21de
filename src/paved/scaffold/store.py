"""The template store: scaffold name and version -> a git source copier can copy and update.

The scaffolds shipped inside paved are kept as tagged git repositories under the data
directory, one bare repository per scaffold and one tag per version, so that ``copier
update`` finds the version a service was made from on any machine and offline.

Services record a stable, machine-independent URL as their template source
(``https://scaffolds.paved.invalid/NAME.git``); for each copier call paved maps that URL to
this machine's store with git's own URL rewriting (``url.<path>.insteadOf``) passed through
the environment. See docs/decisions/0002-template-store.md.
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
import tempfile
from collections.abc import Mapping
from pathlib import Path

from paved.gitcmd import Git, create_bare_repository
from paved.locks import file_lock
from paved.scaffold.registry import Scaffold

__all__ = ["STABLE_URL_PREFIX", "TemplateSource", "TemplateStore"]

STABLE_URL_PREFIX = "https://scaffolds.paved.invalid/"
_SKIP_DIRS = {"__pycache__", ".git", ".mypy_cache", ".pytest_cache", ".ruff_cache"}
_STORE_IDENTITY = {
    "GIT_AUTHOR_NAME": "paved",
    "GIT_AUTHOR_EMAIL": "paved@localhost",
    "GIT_COMMITTER_NAME": "paved",
    "GIT_COMMITTER_EMAIL": "paved@localhost",
}


@dataclasses.dataclass(frozen=True)
class TemplateSource:
    """Where copier reads one scaffold version from."""

    scaffold: str
    url: str
    ref: str | None
    #: Environment for the git processes copier runs (URL rewriting to the local store).
    git_env: Mapping[str, str]


def _scaffold_files(root: Path) -> list[Path]:
    files: list[Path] = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if d not in _SKIP_DIRS)
        files.extend(Path(dirpath, name) for name in sorted(filenames))
    return files


def _digest(root: Path, files: list[Path]) -> str:
    sha = hashlib.sha256()
    for path in files:
        sha.update(path.relative_to(root).as_posix().encode())
        sha.update(b"\0x" if os.access(path, os.X_OK) else b"\0-")
        sha.update(path.read_bytes())
        sha.update(b"\0")
    return sha.hexdigest()


class TemplateStore:
    """Tagged git repositories of the bundled scaffolds, under ``root``."""

    def __init__(self, root: Path, env: Mapping[str, str] | None = None) -> None:
        self.root = root
        #: The environment copier's git processes inherit (for GIT_CONFIG_* already set).
        self.env = dict(env or {})

    def repository(self, name: str) -> Path:
        return self.root / f"{name}.git"

    @staticmethod
    def stable_url(name: str) -> str:
        return f"{STABLE_URL_PREFIX}{name}.git"

    def rewrite_env(self, env: Mapping[str, str]) -> dict[str, str]:
        """git config, as environment variables, that maps stable URLs to this store.

        Appended after any ``GIT_CONFIG_*`` entries already in ``env``, never replacing them.
        """
        try:
            count = int(env.get("GIT_CONFIG_COUNT", "0"))
        except ValueError:
            count = 0
        return {
            "GIT_CONFIG_COUNT": str(count + 1),
            f"GIT_CONFIG_KEY_{count}": f"url.{self.root.as_posix()}/.insteadOf",
            f"GIT_CONFIG_VALUE_{count}": STABLE_URL_PREFIX,
        }

    def source(self, scaffold: Scaffold) -> TemplateSource:
        """The git source of ``scaffold``, storing its bundled version first if needed."""
        tag = self.ensure(scaffold)
        return TemplateSource(
            scaffold.name, self.stable_url(scaffold.name), tag, self.rewrite_env(self.env)
        )

    def ensure(self, scaffold: Scaffold) -> str:
        """Make sure the store holds the bundled content of ``scaffold``; return its tag.

        The tag is the scaffold's version. Should the bundled files differ from what that
        tag already holds (a scaffold edited without a version bump), they are stored under
        ``VERSION+TREE`` instead, so that no service is ever rendered from stale files.
        """
        repo = self.repository(scaffold.name)
        files = _scaffold_files(scaffold.path)
        digest = _digest(scaffold.path, files)
        known = repo / "paved-digests" / digest
        if known.is_file():
            return known.read_text(encoding="utf-8").strip()
        with file_lock(self.root / ".lock"):
            if known.is_file():
                return known.read_text(encoding="utf-8").strip()
            if not repo.is_dir():
                create_bare_repository(repo)
            tag = self._store(scaffold, repo, files)
            known.parent.mkdir(exist_ok=True)
            tmp = known.with_suffix(".tmp")
            tmp.write_text(tag + "\n", encoding="utf-8")
            tmp.replace(known)
            return tag

    @staticmethod
    def _store(scaffold: Scaffold, repo: Path, files: list[Path]) -> str:
        with tempfile.TemporaryDirectory(prefix="paved-index-") as tmp:
            git = Git(
                scaffold.path,
                {
                    "GIT_DIR": str(repo),
                    "GIT_INDEX_FILE": str(Path(tmp, "index")),
                    **_STORE_IDENTITY,
                },
            )
            rel = [p.relative_to(scaffold.path).as_posix() for p in files]
            shas = git("hash-object", "-w", "--stdin-paths", stdin="\n".join(rel) + "\n").split()
            entries = "".join(
                f"{'100755' if os.access(p, os.X_OK) else '100644'} {sha}\t{r}\n"
                for p, sha, r in zip(files, shas, rel, strict=True)
            )
            git("update-index", "--add", "--index-info", stdin=entries)
            tree = git("write-tree")
            version = scaffold.version
            tagged_tree = git(
                "rev-parse", "--verify", "--quiet", f"refs/tags/{version}^{{tree}}", check=False
            )
            if tagged_tree == tree:
                return version
            tag = version if not tagged_tree else f"{version}+{tree[:8]}"
            if git("rev-parse", "--verify", "--quiet", f"refs/tags/{tag}", check=False):
                return tag
            parent = git("rev-parse", "--verify", "--quiet", "refs/heads/main", check=False)
            commit = git(
                "commit-tree",
                tree,
                *(["-p", parent] if parent else []),
                "-m",
                f"{scaffold.name} {tag}",
            )
            git("update-ref", "refs/heads/main", commit)
            git("tag", tag, commit)
            return tag
