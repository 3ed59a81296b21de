"""The released versions of the bundled scaffolds, shipped with paved.

Every version of a scaffold ever released ships in the package, so that ``copier update`` can
find the version a service was made from on any machine (docs/decisions/0007-shipped-releases.md).
Beside the scaffold folders, ``releases/`` holds:

- ``NAME.bundle``: a git bundle with one tag per released version of the scaffold ``NAME``
  (the tag is the version, ``0.1.0``), each a commit whose tree is the scaffold folder as the
  template store builds it. Commits are made with a fixed author, committer and date, their
  parent the scaffold's previous release, so the same release made twice is the same commit.
- ``index.toml``: every release ever made, in release order, append only::

      [[release]]
      scaffold = "paved-road"
      version = "0.1.0"
      tree = "<the git tree sha of the folder>"

:func:`add_release` makes a release (``nox -s release -- NAME``); :func:`problems` is the
release check the tests run. Run ``python -m paved.scaffold.releases add NAME`` or ``check``.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import re
import sys
import tempfile
import tomllib
from collections.abc import Iterable, Sequence
from pathlib import Path

from paved.errors import InputError, PavedError
from paved.gitcmd import Git, create_bare_repository
from paved.names import name_problem
from paved.scaffold._tree import scaffold_files, write_tree
from paved.scaffold.registry import Scaffold, ScaffoldRegistry, bundled_root
from paved.versions import Version

__all__ = [
    "RELEASES_DIR",
    "Release",
    "add_release",
    "bundle_path",
    "fetch_releases",
    "main",
    "problems",
    "released",
    "tree_of",
]

RELEASES_DIR = "releases"
_INDEX = "index.toml"
_TREE = re.compile(r"[0-9a-f]{40}")
_RELEASE_STEP = "nox -s release -- {name}"
#: git's environment for making a release: a fixed identity and date, and none of the
#: machine's or the person's git configuration, so that a release is the same commit anywhere.
_RELEASE_ENV = {
    "GIT_AUTHOR_NAME": "paved",
    "GIT_AUTHOR_EMAIL": "paved@localhost",
    "GIT_AUTHOR_DATE": "1735689600 +0000",  # 2025-01-01T00:00:00Z
    "GIT_COMMITTER_NAME": "paved",
    "GIT_COMMITTER_EMAIL": "paved@localhost",
    "GIT_COMMITTER_DATE": "1735689600 +0000",
    "GIT_CONFIG_NOSYSTEM": "1",
    "GIT_CONFIG_GLOBAL": os.devnull,
    "GIT_CONFIG_COUNT": "0",
}
_INDEX_HEADER = """\
# Every scaffold version ever released, in release order. Append only: a release is never
# changed or removed (the release check, python -m paved.scaffold.releases check, and
# tests/integration/test_shipped_releases.py hold it to that).
# Add one with `nox -s release -- NAME` (docs/scaffolds.md, "Releasing a scaffold version").
"""


@dataclasses.dataclass(frozen=True)
class Release:
    """One released version of a scaffold: the git tree its tag holds."""

    scaffold: str
    version: str
    #: The git tree sha (40 hex digits) of the scaffold folder at this version.
    tree: str


def bundle_path(root: Path, name: str) -> Path:
    """The git bundle holding the releases of scaffold ``name`` under the scaffolds ``root``."""
    return root / RELEASES_DIR / f"{name}.bundle"


def _index_path(root: Path) -> Path:
    return root / RELEASES_DIR / _INDEX


def _version_problem(text: str) -> str | None:
    """What keeps ``text`` from being a released version (and a git tag), or ``None``."""
    if text != text.strip() or Version.parse(text) is None:
        return "is not a version (MAJOR.MINOR.PATCH, for example 0.1.0)"
    if "+" in text:
        return "has a +LOCAL part (the template store's mark for unreleased content)"
    if ".." in text or text.endswith((".", ".lock")):
        return "is not a valid git tag name"
    return None


def _check_release(raw: object, shown: str) -> Release:
    if not isinstance(raw, dict) or set(raw) != {"scaffold", "version", "tree"}:
        raise InputError(f"{shown} needs exactly the keys scaffold, version and tree")
    scaffold, version, tree = raw["scaffold"], raw["version"], raw["tree"]
    if not all(isinstance(value, str) for value in (scaffold, version, tree)):
        raise InputError(f"{shown}: scaffold, version and tree must be strings")
    problem = name_problem(scaffold)
    if problem is not None:
        raise InputError(f"{shown}: scaffold name {scaffold!r} {problem}")
    problem = _version_problem(version)
    if problem is not None:
        raise InputError(f"{shown}: version {version!r} {problem}")
    if _TREE.fullmatch(tree) is None:
        raise InputError(f"{shown}: tree {tree!r} is not a git tree sha (40 hex digits)")
    return Release(scaffold, version, tree)


def released(root: Path) -> list[Release]:
    """Every release ``root/releases/index.toml`` lists, in release order; none without one.

    Raises :class:`InputError` when the index cannot be read or holds anything but releases:
    names by the naming rule, versions a git tag can be, trees of 40 hex digits, no version
    listed twice.
    """
    path = _index_path(root)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return []
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise InputError(f"release index {path} cannot be read ({exc})") from exc
    entries = data.pop("release", [])
    if data or not isinstance(entries, list):
        raise InputError(f"release index {path} must hold only [[release]] tables")
    found: list[Release] = []
    for at, raw in enumerate(entries, start=1):
        release = _check_release(raw, f"release index {path}, release {at}")
        for earlier in found:
            if earlier.scaffold == release.scaffold and Version.parse(
                earlier.version
            ) == Version.parse(release.version):
                raise InputError(
                    f"release index {path} lists {release.scaffold} {release.version} twice"
                )
        found.append(release)
    return found


def tree_of(folder: Path) -> str:
    """The git tree sha of a scaffold folder, as the template store and a release build it."""
    with tempfile.TemporaryDirectory(prefix="paved-tree-") as tmp:
        repo = Path(tmp, "tree.git")
        create_bare_repository(repo)
        return write_tree(folder, scaffold_files(folder), repo, _RELEASE_ENV)


def _bundle_heads(bundle: Path) -> dict[str, str]:
    """``{version: commit}`` of the tags in ``bundle``; a :class:`PavedError` for anything
    else in it."""
    try:
        out = Git(env=_RELEASE_ENV)("bundle", "list-heads", str(bundle))
    except PavedError as exc:
        raise PavedError(f"release bundle {bundle} cannot be read ({exc.message})") from exc
    heads: dict[str, str] = {}
    for line in out.splitlines():
        sha, _, ref = line.partition(" ")
        version = ref.removeprefix("refs/tags/")
        problem = "is not a tag" if version == ref else _version_problem(version)
        if problem is None and _TREE.fullmatch(sha) is None:
            problem = "is not a commit sha"
        if problem is not None:
            raise PavedError(
                f"release bundle {bundle} holds {ref!r}, which {problem}",
                hint="a release bundle holds only version tags: make it again from the index",
            )
        heads[version] = sha
    return heads


def _unbundle(bundle: Path, repo: Path) -> dict[str, tuple[str, str]]:
    """Fetch every tag of ``bundle`` into the empty repository ``repo``; return
    ``{version: (commit, tree)}``."""
    heads = _bundle_heads(bundle)
    if not heads:
        return {}
    git = Git(repo, {**_RELEASE_ENV, "GIT_DIR": str(repo)})
    try:
        git("fetch", "--quiet", "--no-tags", str(bundle),
            *(f"refs/tags/{tag}:refs/tags/{tag}" for tag in heads))  # fmt: skip
    except PavedError as exc:
        raise PavedError(f"release bundle {bundle} cannot be read ({exc.message})") from exc
    found: dict[str, tuple[str, str]] = {}
    for tag, commit in heads.items():
        kind = git("cat-file", "-t", commit)
        if kind != "commit":
            raise PavedError(f"release bundle {bundle}: tag {tag} is a {kind}, not a commit")
        found[tag] = (commit, git("rev-parse", f"{commit}^{{tree}}"))
    return found


def fetch_releases(root: Path, name: str, repo: Path) -> list[str]:
    """Copy the shipped releases of scaffold ``name`` into the bare repository ``repo``;
    return the tags added, oldest first.

    A tag ``repo`` holds already is kept as it is, whatever its tree: a tag is never moved.
    Nothing happens when ``root`` ships no releases of ``name``.
    """
    bundle = bundle_path(root.absolute(), name)
    if not bundle.is_file():
        return []
    heads = _bundle_heads(bundle)
    git = Git(repo, {"GIT_DIR": str(repo)})
    have = set(git("for-each-ref", "--format=%(refname:strip=2)", "refs/tags").splitlines())
    missing = sorted((tag for tag in heads if tag not in have), key=_version_key)
    if missing:
        git("fetch", "--quiet", "--no-tags", str(bundle),
            *(f"refs/tags/{tag}:refs/tags/{tag}" for tag in missing))  # fmt: skip
    return missing


def _version_key(text: str) -> tuple[Version, str]:
    version = Version.parse(text)
    assert version is not None, text  # checked as input before
    return version, text


def _scaffold(root: Path, name: str) -> Scaffold:
    scaffold = ScaffoldRegistry(root).get(name)
    yml = scaffold.path / "scaffold.yml"
    problem = name_problem(scaffold.name)
    if problem is not None:
        raise InputError(f"{yml}: name {scaffold.name!r} {problem}")
    problem = _version_problem(scaffold.version)
    if problem is not None:
        raise InputError(f"{yml}: version {scaffold.version!r} {problem}")
    return scaffold


def _append(root: Path, release: Release) -> None:
    path = _index_path(root)
    text = path.read_text(encoding="utf-8") if path.is_file() else _INDEX_HEADER
    if not text.endswith("\n"):
        text += "\n"
    text += (
        f'\n[[release]]\nscaffold = "{release.scaffold}"\nversion = "{release.version}"\n'
        f'tree = "{release.tree}"\n'
    )
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)


def add_release(root: Path, name: str) -> Release:
    """Release the current version of scaffold ``name`` under ``root``: add it to its bundle
    and to the index.

    Nothing changes when that version is released already with the same tree. Raises
    :class:`InputError` when it is released with another tree (the folder changed without a
    version bump), and when the bundle and the index disagree.
    """
    root = root.absolute()
    scaffold = _scaffold(root, name)
    version = scaffold.version
    mine = [r for r in released(root) if r.scaffold == scaffold.name]
    bundle = bundle_path(root, scaffold.name)
    with tempfile.TemporaryDirectory(prefix="paved-release-") as tmp:
        repo = Path(tmp, "release.git")
        create_bare_repository(repo)
        tree = write_tree(scaffold.path, scaffold_files(scaffold.path), repo, _RELEASE_ENV)
        release = Release(scaffold.name, version, tree)
        for earlier in mine:
            if Version.parse(earlier.version) != Version.parse(version):
                continue
            if earlier == release:
                return earlier
            other = (
                f"is released already with other content (released tree {earlier.tree[:12]}, "
                f"the folder's {tree[:12]})"
                if earlier.version == version
                else f"is the released {earlier.version} spelt another way"
            )
            raise InputError(
                f"{scaffold.name} {version} {other}",
                hint=f"bump the version in {scaffold.path / 'scaffold.yml'}, then run "
                f"`{_RELEASE_STEP.format(name=scaffold.name)}` again",
            )
        tags = _unbundle(bundle, repo) if bundle.is_file() else {}
        trees = {tag: held for tag, (_, held) in tags.items()}
        listed = {r.version: r.tree for r in mine}
        # with this release in it already: made by an earlier run that stopped before the index
        if trees not in (listed, {**listed, version: tree}):
            raise InputError(
                f"release bundle {bundle} does not hold the releases of {scaffold.name} that "
                f"{_index_path(root)} lists",
                hint="run `python -m paved.scaffold.releases check` to see the difference",
            )
        if version not in tags:
            _make(repo, bundle, release, parent=tags[mine[-1].version][0] if mine else None)
    _append(root, release)
    return release


def _make(repo: Path, bundle: Path, release: Release, *, parent: str | None) -> None:
    """Commit ``release`` in ``repo``, on top of ``parent``, and write every tag of ``repo``
    to ``bundle``."""
    git = Git(repo, {**_RELEASE_ENV, "GIT_DIR": str(repo)})
    commit = git(
        "commit-tree", "--no-gpg-sign", release.tree, *(["-p", parent] if parent else []),
        "-m", f"{release.scaffold} {release.version}",
    )  # fmt: skip
    git("update-ref", f"refs/tags/{release.version}", commit, "")
    tags = git("for-each-ref", "--format=%(refname:strip=2)", "refs/tags").splitlines()
    bundle.parent.mkdir(parents=True, exist_ok=True)
    tmp = bundle.with_name(f".{bundle.name}.tmp")
    try:
        git("bundle", "create", "--quiet", str(tmp),
            *(f"refs/tags/{tag}" for tag in sorted(tags, key=_version_key)))  # fmt: skip
        tmp.replace(bundle)
    finally:
        tmp.unlink(missing_ok=True)


def _step(scaffold: Scaffold) -> str:
    folder = f"{scaffold.path.parent.name}/{RELEASES_DIR}/"
    return f"run `{_RELEASE_STEP.format(name=scaffold.name)}` and commit {folder}"


def _bundle_problems(root: Path, name: str, listed: Sequence[Release], repo: Path) -> Iterable[str]:
    bundle = bundle_path(root, name)
    if not bundle.is_file():
        yield f"release bundle {bundle} is missing ({name} has {len(listed)} release(s) listed)"
        return
    try:
        tags = _unbundle(bundle, repo)
    except PavedError as exc:
        yield str(exc)
        return
    for release in listed:
        if release.version not in tags:
            yield f"release bundle {bundle} lacks {name} {release.version}"
        elif tags[release.version][1] != release.tree:
            yield (
                f"release bundle {bundle}: {name} {release.version} holds tree "
                f"{tags[release.version][1]}, the index {release.tree}"
            )
    versions = {release.version for release in listed}
    for tag in sorted(tags, key=_version_key):
        if tag not in versions:
            yield f"release bundle {bundle} holds {name} {tag}, which {_index_path(root)} lacks"


def _folder_problem(scaffold: Scaffold, index: Sequence[Release]) -> str | None:
    yml = scaffold.path / "scaffold.yml"
    problem = _version_problem(scaffold.version)
    if problem is not None:
        return f"{yml}: version {scaffold.version!r} {problem}"
    tree = tree_of(scaffold.path)
    mine = [r for r in index if r.scaffold == scaffold.name]
    same = next((r for r in mine if r.version == scaffold.version), None)
    if same is None:
        return f"{scaffold.name} {scaffold.version} is not released: {_step(scaffold)}"
    if same.tree != tree:
        return (
            f"{scaffold.name} changed since its release {scaffold.version} (tree {tree[:12]}, "
            f"released {same.tree[:12]}): bump the version in {yml}, then {_step(scaffold)}"
        )
    return None


def problems(root: Path) -> list[str]:
    """The release check of the scaffolds under ``root``; no problems is an empty list.

    Every release the index lists is in its bundle with the same tree, every tag of a bundle
    is in the index, and each scaffold folder's current version is released with exactly the
    folder's tree.
    """
    root = root.absolute()
    try:
        index = released(root)
        scaffolds = ScaffoldRegistry(root).all()
    except PavedError as exc:
        return [str(exc)]
    found: list[str] = []
    names = {r.scaffold for r in index}
    for bundle in sorted((root / RELEASES_DIR).glob("*.bundle")):
        name = bundle.name.removesuffix(".bundle")
        if name_problem(name) is None:
            names.add(name)
        else:
            found.append(f"release bundle {bundle}: {name!r} is not a scaffold name")
    with tempfile.TemporaryDirectory(prefix="paved-check-") as tmp:
        for name in sorted(names):
            repo = Path(tmp, f"{name}.git")
            create_bare_repository(repo)
            found.extend(
                _bundle_problems(root, name, [r for r in index if r.scaffold == name], repo)
            )
    for scaffold in scaffolds:
        problem = _folder_problem(scaffold, index)
        if problem is not None:
            found.append(problem)
    return found


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m paved.scaffold.releases add NAME | check``, each with ``--root FOLDER``."""
    parser = argparse.ArgumentParser(
        prog="python -m paved.scaffold.releases",
        description="Release the bundled scaffolds' versions, and check the releases.",
    )
    where = argparse.ArgumentParser(add_help=False)
    where.add_argument(
        "--root", type=Path, default=None, help="the scaffolds folder (default: the bundled one)"
    )
    commands = parser.add_subparsers(dest="command", required=True)
    add = commands.add_parser("add", parents=[where], help="release a scaffold's current version")
    add.add_argument("name", help="the scaffold's name, as in its scaffold.yml")
    commands.add_parser(
        "check", parents=[where], help="check the releases against the bundles and the folders"
    )
    args = parser.parse_args(argv)
    root: Path = args.root or bundled_root()
    try:
        if args.command == "add":
            before = released(root)
            release = add_release(root, args.name)
            done = "released already" if release in before else "released"
            print(f"{release.scaffold} {release.version} {done} (tree {release.tree})")
            return 0
        found = problems(root)
    except PavedError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return int(exc.exit_code)
    for problem in found:
        print(f"problem: {problem}", file=sys.stderr)
    if found:
        return 1
    count = len(released(root))
    print(f"ok: {count} release(s) under {root / RELEASES_DIR}, every scaffold released")
    return 0


if __name__ == "__main__":
    sys.exit(main())
