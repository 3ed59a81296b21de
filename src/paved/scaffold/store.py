"""The template store: scaffold name and version -> a git source copier can copy and update.

The scaffolds shipped inside paved are kept as tagged git repositories under the data
directory, one bare repository per scaffold and one tag per version: every released version
(shipped as git bundles, :mod:`paved.scaffold.releases`) and the bundled folder's. So ``copier
update`` finds the version a service was made from on any machine and offline.

Services record a stable, machine-independent URL as their template source
(``https://scaffolds.paved.invalid/NAME.git``); for each copier call paved maps that URL to
this machine's store with git's own URL rewriting (``url.<path>.insteadOf``) passed through
the environment. See docs/decisions/0002-template-store.md and 0007-shipped-releases.md.
"""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Mapping
from pathlib import Path

from paved.gitcmd import Git, create_bare_repository
from paved.locks import file_lock
from paved.scaffold._tree import folder_digest, scaffold_files, write_tree
from paved.scaffold.registry import Scaffold
from paved.scaffold.releases import bundle_path, fetch_releases
from paved.versions import Version

__all__ = ["STABLE_URL_PREFIX", "TemplateSource", "TemplateStore"]

STABLE_URL_PREFIX = "https://scaffolds.paved.invalid/"
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


def _remember(known: Path, text: str) -> None:
    """Write a marker under ``paved-digests/`` whole or not at all."""
    known.parent.mkdir(exist_ok=True)
    tmp = known.with_suffix(".tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(known)


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
        """The git source of ``scaffold`` at its bundled version, storing the shipped releases
        and the bundled version first if needed (other versions: :meth:`versions`)."""
        tag = self.ensure(scaffold)
        return TemplateSource(
            scaffold.name, self.stable_url(scaffold.name), tag, self.rewrite_env(self.env)
        )

    def versions(self, name: str) -> list[str]:
        """The versions the store holds of scaffold ``name`` (its tags that are versions,
        ``VERSION+TREE`` ones included), oldest first; none before :meth:`ensure` stored it."""
        repo = self.repository(name)
        if not repo.is_dir():
            return []
        tags = Git(repo, {"GIT_DIR": str(repo)})(
            "for-each-ref", "--format=%(refname:strip=2)", "refs/tags"
        ).splitlines()
        found = [(version, tag) for tag in tags if (version := Version.parse(tag)) is not None]
        return [tag for _, tag in sorted(found)]

    def ensure(self, scaffold: Scaffold) -> str:
        """Make sure the store holds the shipped releases and the bundled content of
        ``scaffold``; return the tag of the bundled content.

        The releases shipped beside the scaffold (``releases/NAME.bundle``, see
        :mod:`paved.scaffold.releases`) come first, each under its version, except where the
        store holds that tag already. The bundled content's tag is then the scaffold's
        version. Should the bundled files differ from what that tag holds (a scaffold edited
        without a version bump), they are stored under ``VERSION+TREE`` instead, so that no
        service is ever rendered from stale files.
        """
        self._ensure_releases(scaffold)
        repo = self.repository(scaffold.name)
        files = scaffold_files(scaffold.path)
        digest = folder_digest(scaffold.path, files)
        known = repo / "paved-digests" / digest
        if known.is_file():
            return known.read_text(encoding="utf-8").strip()
        with file_lock(self.root / ".lock"):
            if known.is_file():
                return known.read_text(encoding="utf-8").strip()
            if not repo.is_dir():
                create_bare_repository(repo)
            tag = self._store(scaffold, repo, files)
            _remember(known, tag + "\n")
            return tag

    def _ensure_releases(self, scaffold: Scaffold) -> None:
        """Fetch the tags of the scaffold's release bundle, once per bundle digest."""
        bundle = bundle_path(scaffold.path.parent, scaffold.name)
        if not bundle.is_file():
            return
        repo = self.repository(scaffold.name)
        digest = hashlib.sha256(bundle.read_bytes()).hexdigest()
        known = repo / "paved-digests" / f"releases-{digest}"
        if known.is_file():
            return
        with file_lock(self.root / ".lock"):
            if known.is_file():
                return
            if not repo.is_dir():
                create_bare_repository(repo)
            added = fetch_releases(scaffold.path.parent, scaffold.name, repo)
            _remember(known, "".join(f"{tag}\n" for tag in added))

    @staticmethod
    def _store(scaffold: Scaffold, repo: Path, files: list[Path]) -> str:
        tree = write_tree(scaffold.path, files, repo)
        git = Git(scaffold.path, {"GIT_DIR": str(repo), **_STORE_IDENTITY})
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
