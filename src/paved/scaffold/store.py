"""The template store: scaffold name and version -> a git source copier can copy and update.

The scaffolds shipped inside paved are kept as tagged git repositories under the data
directory, one bare repository per scaffold and one tag per version: every released version
(shipped as git bundles, :mod:`paved.scaffold.releases`) and the bundled folder's. So ``copier
update`` finds the version a service was made from on any machine and offline.

Services record a stable, machine-independent URL as their template source
(``https://scaffolds.paved.invalid/NAME.git``); for each copier call paved maps that URL to
this machine's store with git's own URL rewriting (``url.<path>.insteadOf``) passed through
the environment. See docs/decisions/0002-template-store.md and 0007-shipped-releases.md.

A scaffold the settings point at an organisation's own git repository (``[scaffolds.NAME]
url``) is kept as a mirror of that repository's tags, ``templates/org/KEY.git``, fetched at
most once per command run with the person's own git credentials. Its services record the
organisation's URL, which the copier calls map to the mirror the same way; so the versions
fetched once render offline too.
"""

from __future__ import annotations

import dataclasses
import hashlib
import shutil
import tempfile
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path

import yaml

from paved.errors import AuthError, InputError, RemoteError
from paved.gitcmd import Git, create_bare_repository
from paved.locks import file_lock
from paved.scaffold._tree import folder_digest, scaffold_files, write_tree
from paved.scaffold.registry import Scaffold, load_scaffold
from paved.scaffold.releases import bundle_path, fetch_releases
from paved.versions import Version

__all__ = ["ORGANISATION_DIR", "STABLE_URL_PREFIX", "TemplateSource", "TemplateStore"]

STABLE_URL_PREFIX = "https://scaffolds.paved.invalid/"
_STORE_IDENTITY = {
    "GIT_AUTHOR_NAME": "paved",
    "GIT_AUTHOR_EMAIL": "paved@localhost",
    "GIT_COMMITTER_NAME": "paved",
    "GIT_COMMITTER_EMAIL": "paved@localhost",
}
#: The folder of the organisations' mirrors, under the store.
ORGANISATION_DIR = "org"
#: The protocols a mirror is fetched with (git refuses any other, ext:: and fd:: among them).
_FETCH_PROTOCOLS = "https:ssh:git:file"


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


def _config_env(env: Mapping[str, str], entries: Iterable[tuple[str, str]]) -> dict[str, str]:
    """git config entries as ``GIT_CONFIG_*`` variables, after those ``env`` has already."""
    try:
        count = int(env.get("GIT_CONFIG_COUNT", "0"))
    except ValueError:
        count = 0
    found: dict[str, str] = {}
    for key, value in entries:
        found[f"GIT_CONFIG_KEY_{count}"] = key
        found[f"GIT_CONFIG_VALUE_{count}"] = value
        count += 1
    return {"GIT_CONFIG_COUNT": str(count), **found}


def _by_version(tags: Iterable[str]) -> list[str]:
    """The tags that are versions, oldest first."""
    found = [(version, tag) for tag in tags if (version := Version.parse(tag)) is not None]
    return [tag for _, tag in sorted(found)]


def _is_release(tag: str) -> bool:
    version = Version.parse(tag)
    return version is not None and not version.pre


class TemplateStore:
    """Tagged git repositories of the bundled scaffolds, and mirrors of an organisation's
    scaffold repositories, under ``root``."""

    def __init__(
        self,
        root: Path,
        env: Mapping[str, str] | None = None,
        warn: Callable[[str], None] = lambda _message: None,
    ) -> None:
        self.root = root
        #: The environment copier's git processes inherit (for GIT_CONFIG_* already set).
        self.env = dict(env or {})
        #: Says that paved goes on without something, such as a fetch that failed.
        self.warn = warn
        #: The organisations' URLs fetched by this store object (once per command run), and
        #: for those whose fetch failed, why.
        self._fetched: dict[str, AuthError | RemoteError | None] = {}
        self._warned: set[str] = set()

    def repository(self, name: str) -> Path:
        return self.root / f"{name}.git"

    @staticmethod
    def stable_url(name: str) -> str:
        return f"{STABLE_URL_PREFIX}{name}.git"

    def rewrite_env(self, env: Mapping[str, str]) -> dict[str, str]:
        """git config, as environment variables, that maps stable URLs to this store.

        Appended after any ``GIT_CONFIG_*`` entries already in ``env``, never replacing them.
        """
        return _config_env(env, [(f"url.{self.root.as_posix()}/.insteadOf", STABLE_URL_PREFIX)])

    def env_for(self, url: str) -> dict[str, str]:
        """git config, as environment variables, under which copier reads the source ``url``
        from this store: a stable URL from the bundled scaffolds' repositories, an
        organisation's URL from its mirror (:meth:`mirror`).

        copier adds ``.git`` to an https URL without one, so that spelling maps to the mirror
        too (git takes the longest match).
        """
        if url.startswith(STABLE_URL_PREFIX):
            return self.rewrite_env(self.env)
        key = f"url.{self.mirror(url).as_posix()}.insteadOf"
        entries = [(key, url)]
        if url.startswith("https://") and not url.endswith(".git"):
            entries.append((key, f"{url}.git"))
        return _config_env(self.env, entries)

    def source(self, scaffold: Scaffold) -> TemplateSource:
        """The git source of ``scaffold`` at its bundled version (an organisation's scaffold:
        at its version), storing the shipped releases and the bundled version first if
        needed (other versions: :meth:`versions`)."""
        tag = self.ensure(scaffold)
        url = scaffold.url or self.stable_url(scaffold.name)
        return TemplateSource(scaffold.name, url, tag, self.env_for(url))

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
        ``scaffold``; return the tag of the bundled content. For an organisation's scaffold,
        make sure its mirror holds its version, and return that.

        The releases shipped beside the scaffold (``releases/NAME.bundle``, see
        :mod:`paved.scaffold.releases`) come first, each under its version, except where the
        store holds that tag already. The bundled content's tag is then the scaffold's
        version. Should the bundled files differ from what that tag holds (a scaffold edited
        without a version bump), they are stored under ``VERSION+TREE`` instead, so that no
        service is ever rendered from stale files.
        """
        if scaffold.url is not None:
            self.organisation_versions(scaffold.url, wanted=(scaffold.version,))
            return scaffold.version
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

    # -- an organisation's scaffolds ---------------------------------------------------

    def mirror(self, url: str) -> Path:
        """The bare repository that mirrors the tags of the organisation's repository ``url``."""
        key = hashlib.sha256(url.encode("utf-8")).hexdigest()[:16]
        return self.root / ORGANISATION_DIR / f"{key}.git"

    def _fetch(self, url: str) -> None:
        """Fetch the tags of ``url`` into its mirror, once per store object; remember a
        failure, for the callers to decide whether the tags fetched before will do."""
        if url in self._fetched:
            return
        repo = self.mirror(url)
        failure: AuthError | RemoteError | None = None
        with file_lock(repo.with_suffix(".lock")):
            create_bare_repository(repo)
            git = Git(repo, {"GIT_DIR": str(repo), "GIT_ALLOW_PROTOCOL": _FETCH_PROTOCOLS})
            try:
                git.fetch(url, "--prune", "--", url, "+refs/tags/*:refs/tags/*")
            except (AuthError, RemoteError) as exc:
                failure = exc
        self._fetched[url] = failure

    def organisation_versions(self, url: str, *, wanted: Iterable[str] = ()) -> list[str]:
        """The versions of the organisation's scaffold at ``url`` (its tags that are versions),
        oldest first, fetched first (once per store object).

        When the fetch fails, the versions fetched before will do if they include every one
        ``wanted`` (a warning says so); otherwise the fetch's :class:`RemoteError` (or
        :class:`AuthError`) is raised, naming ``url``.
        """
        self._fetch(url)
        repo = self.mirror(url)
        tags = _by_version(
            Git(repo, {"GIT_DIR": str(repo)})(
                "for-each-ref", "--format=%(refname:strip=2)", "refs/tags"
            ).splitlines()
        )
        failure = self._fetched[url]
        if failure is not None:
            lacking = [tag for tag in wanted if tag not in tags]
            if not tags or lacking:
                said = (
                    f"the copy fetched before lacks {', '.join(lacking)}"
                    if tags
                    else "no earlier fetch left a copy on this machine"
                )
                raise type(failure)(f"{failure.message}, and {said}", hint=failure.hint)
            if url not in self._warned:
                self._warned.add(url)
                self.warn(f"{failure.message}; going on with the versions fetched before")
        if not tags:
            raise InputError(
                f"git repository {url} has no version tags",
                hint="tag each release of the scaffold with its version (git tag 1.0.0), "
                "push the tags, then run the command again",
            )
        return tags

    def organisation_scaffold(self, name: str, url: str, version: str | None = None) -> Scaffold:
        """The scaffold ``name`` as the organisation's repository ``url`` defines it at
        ``version``; without one, at its newest release (its newest version when it has no
        release but pre-releases).

        The repository is input: its scaffold.yml must name ``name`` and give the tag's
        version, its copier.yml must render ``template/`` and write the answers file paved
        reads for the layer.
        """
        tags = self.organisation_versions(url, wanted=(version,) if version else ())
        if version is None:
            releases = [tag for tag in tags if _is_release(tag)]
            version = (releases or tags)[-1]
        if version not in tags:
            raise InputError(
                f"git repository {url} has no tag {version}",
                hint=f"versions: {', '.join(tags)}",
            )
        folder = self._checkout(url, version)
        where = f"git repository {url} at {version}"
        try:
            found = load_scaffold(folder)
            conf = yaml.safe_load((folder / "copier.yml").read_text(encoding="utf-8"))
        except InputError as exc:  # say where, not which folder of the store
            said = exc.message.replace(f"{folder}/", "").replace(f"at {folder} ", "")
            raise InputError(f"{where}: {said}", hint=exc.hint) from exc
        if found.name != name:
            raise InputError(
                f"{where}: scaffold.yml names the scaffold '{found.name}', not '{name}'",
                hint=f"point [scaffolds.{found.name}] url at it in the settings, or fix the name",
            )
        if Version.parse(found.version) != Version.parse(version):
            raise InputError(
                f"{where}: scaffold.yml gives the version {found.version}",
                hint="tag each release with the version its scaffold.yml gives",
            )
        for key, wanted in (("_subdirectory", "template"), ("_answers_file", found.answers_file)):
            if conf.get(key) != wanted:
                raise InputError(
                    f"{where}: copier.yml must set {key}: {wanted}",
                    hint=f"paved reads a {found.layer.value}-layer scaffold's template from "
                    f"template/ and its answers from {found.answers_file}",
                )
        return dataclasses.replace(found, version=version, url=url)

    def _checkout(self, url: str, tag: str) -> Path:
        """The files of ``tag`` of the mirror of ``url``, in a folder of their own (one per
        git tree, made whole or not at all)."""
        repo = self.mirror(url)
        git = Git(repo, {"GIT_DIR": str(repo)})
        tree = git(
            "rev-parse", "--verify", "--quiet", f"refs/tags/{tag}^{{commit}}^{{tree}}", check=False
        )
        if not tree:
            raise InputError(f"git repository {url}: tag {tag} is not a commit")
        folder = repo.with_suffix(".trees") / tree
        if folder.is_dir():
            return folder
        folder.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{tree[:12]}-", dir=folder.parent))
        try:
            files = staging / "files"
            files.mkdir()
            env = {"GIT_DIR": str(repo), "GIT_WORK_TREE": str(files),
                   "GIT_INDEX_FILE": str(staging / "index")}  # fmt: skip
            Git(files, env)("read-tree", tree)
            Git(files, env)("checkout-index", "--all")
            try:
                files.rename(folder)
            except OSError:
                if not folder.is_dir():
                    raise
        finally:
            shutil.rmtree(staging, ignore_errors=True)
        return folder
