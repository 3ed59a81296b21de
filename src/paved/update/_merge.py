"""The three-way merge of an update, on git's own machinery.

Three trees are built in the service's repository without touching its work tree, index or
HEAD: the *base* (HEAD with every layer file as the old version renders it), *yours* (HEAD) and
*theirs* (the base with the new version's files). git's merge (``merge-tree``, the ``ort``
strategy that ``git merge`` uses) merges them: local edits and template changes combine line
by line, a file moved by the scaffold carries its local edits along, a file the template
removed but that was edited here is a modify/delete conflict, never a silent delete.

Applying the result writes the merged tree to the work tree and index and, for each conflict,
git's own unmerged index entries (stage 1 base, 2 yours, 3 theirs), so that ``git status``,
``git checkout --ours/--theirs``, ``git mergetool`` and editors see a real conflict.
"""

from __future__ import annotations

import dataclasses
import os
import re
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

from paved.errors import InputError
from paved.gitcmd import Git, GitError
from paved.guardrails import conflict_markers

__all__ = [
    "Merge",
    "MergeInput",
    "apply_merge",
    "changed_paths",
    "conflict_lines",
    "merge",
    "tree_files",
    "unified_diff",
]

#: Fixed identity and dates for the commits that only carry the merge's trees: the same
#: inputs give the same commits, and the same conflict text, on every machine.
_FIXED = {
    "GIT_AUTHOR_NAME": "paved",
    "GIT_AUTHOR_EMAIL": "paved@localhost",
    "GIT_AUTHOR_DATE": "@0 +0000",
    "GIT_COMMITTER_NAME": "paved",
    "GIT_COMMITTER_EMAIL": "paved@localhost",
    "GIT_COMMITTER_DATE": "@0 +0000",
}
_ZERO = "0" * 40


@dataclasses.dataclass(frozen=True)
class MergeInput:
    """What to merge: the rendered folders of each layer, and the moves the scaffold declared."""

    #: (old render, new render) folders, one pair per layer being updated.
    renders: Sequence[tuple[Path, Path]]
    #: Declared moves, old path -> new path, already composed across versions.
    moves: Mapping[str, str]
    #: Labels for the conflict markers: yours, the base, theirs.
    labels: tuple[str, str, str]


@dataclasses.dataclass(frozen=True)
class Merge:
    """The merge, computed; nothing in the work tree changed yet."""

    head: str
    base_tree: str
    yours_tree: str
    theirs_tree: str
    #: The merged tree, conflicted files holding their markers.
    result_tree: str
    #: path -> [(mode, blob, stage)] for each conflicted path.
    conflicts: Mapping[str, tuple[tuple[str, str, int], ...]]
    #: The moves applied to your side: old path -> new path.
    moves: Mapping[str, str]
    #: Every path a layer renders, old or new.
    layer_paths: frozenset[str]


def tree_files(git: Git, tree: str) -> dict[str, tuple[str, str]]:
    """``{path: (mode, blob)}`` of every file in ``tree``."""
    out = git("ls-tree", "-r", "-z", "--full-tree", tree)
    files = {}
    for entry in out.split("\0"):
        if not entry:
            continue
        meta, _, path = entry.partition("\t")
        mode, _kind, blob = meta.split(" ")
        files[path] = (mode, blob)
    return files


def _rendered(folder: Path) -> list[tuple[str, str]]:
    """(relative path, mode) of every file of a render, sorted."""
    found = []
    for dirpath, dirnames, filenames in os.walk(folder):
        dirnames.sort()
        for name in sorted(filenames):
            path = Path(dirpath, name)
            rel = path.relative_to(folder).as_posix()
            if path.is_symlink() or not path.is_file():
                # a link would commit whatever it points at on this machine
                raise InputError(f"the scaffold rendered {rel} as a link or a special file")
            mode = "100755" if os.access(path, os.X_OK) else "100644"
            found.append((rel, mode))
    return found


def _hash(git: Git, folder: Path) -> dict[str, tuple[str, str]]:
    """Store the files of ``folder`` as blobs: ``{path: (mode, blob)}``."""
    files = _rendered(folder)
    if not files:
        return {}
    git_dir = git("rev-parse", "--absolute-git-dir")
    blobs = Git(folder, {**git.env, "GIT_DIR": git_dir})(
        "hash-object", "-w", "--no-filters", "--stdin-paths",
        stdin="".join(f"{rel}\n" for rel, _ in files),
    ).split()  # fmt: skip
    return {rel: (mode, blob) for (rel, mode), blob in zip(files, blobs, strict=True)}


def _tree(git: Git, index: Path, start: str, changes: Mapping[str, tuple[str, str] | None]) -> str:
    """``start`` with ``changes`` made (a path -> (mode, blob), or None to remove it)."""
    env = {**git.env, "GIT_INDEX_FILE": str(index)}
    indexed = Git(git.cwd, env)
    indexed("read-tree", start)
    if changes:
        lines = "".join(
            f"0 {_ZERO}\t{path}\n" if entry is None else f"{entry[0]} {entry[1]}\t{path}\n"
            for path, entry in sorted(changes.items())
        )
        indexed("update-index", "--index-info", stdin=lines)
    return indexed("write-tree")


def _commit(git: Git, tree: str, parent: str | None, message: str) -> str:
    fixed = Git(git.cwd, {**git.env, **_FIXED})
    return fixed("commit-tree", tree, *(["-p", parent] if parent else []), "-m", message)


def _moved(path: str, moves: Mapping[str, str]) -> str:
    return moves.get(path, path)


def merge(git: Git, head: str, spec: MergeInput, scratch: Path) -> Merge:
    """Merge the layers' new versions into ``head``; write nothing but git objects.

    ``git`` runs in the service's repository (with a private object folder for a dry run);
    ``scratch`` is an empty folder for temporary index files.
    """
    old: dict[str, tuple[str, str]] = {}
    new: dict[str, tuple[str, str]] = {}
    for before, after in spec.renders:
        old.update(_hash(git, before))
        new.update(_hash(git, after))
    yours = tree_files(git, head)
    moves = {
        source: target
        for source, target in spec.moves.items()
        if source in old and source != target
    }
    # the base: HEAD with each layer file as the old version renders it, moves already made
    base_changes: dict[str, tuple[str, str] | None] = {}
    for path, entry in old.items():
        if path in moves:
            base_changes[path] = None
            base_changes[moves[path]] = entry
        elif path not in base_changes:
            base_changes[path] = entry
    base_tree = _tree(git, scratch / "base", f"{head}^{{tree}}", base_changes)
    # yours: HEAD, with the declared moves made (your edits move along)
    your_changes: dict[str, tuple[str, str] | None] = {}
    for source, target in moves.items():
        if source in yours and target not in yours:
            your_changes[source] = None
            your_changes[target] = yours[source]
    yours_tree = _tree(git, scratch / "yours", f"{head}^{{tree}}", your_changes)
    # theirs: the base, with the new version's files and without those it no longer has
    theirs_changes: dict[str, tuple[str, str] | None] = {
        _moved(path, moves): None for path in old if _moved(path, moves) not in new
    }
    theirs_changes.update(new)
    theirs_tree = _tree(git, scratch / "theirs", base_tree, theirs_changes)

    base = _commit(git, base_tree, None, "base")
    ours = _commit(git, yours_tree, base, "yours")
    theirs = _commit(git, theirs_tree, base, "theirs")
    status, out = git.status(
        "-c", "merge.conflictStyle=diff3", "merge-tree", "--write-tree", "-z", ours, theirs
    )
    if status not in (0, 1):
        raise GitError(f"git merge-tree failed (exit {status})")
    result, conflicts = _parse_merge_tree(out.decode("utf-8", errors="surrogateescape"))
    result = _relabel(git, scratch / "result", result, conflicts, (ours, base, theirs), spec.labels)
    paths = frozenset(old) | frozenset(new) | frozenset(moves.values())
    return Merge(head, base_tree, yours_tree, theirs_tree, result, conflicts, moves, paths)


def _parse_merge_tree(out: str) -> tuple[str, dict[str, tuple[tuple[str, str, int], ...]]]:
    """The tree and the conflicted entries of ``git merge-tree --write-tree -z`` output."""
    fields = out.split("\0")
    tree = fields[0].strip()
    if not re.fullmatch(r"[0-9a-f]{40,64}", tree):
        raise GitError("git merge-tree gave no tree")
    conflicts: dict[str, list[tuple[str, str, int]]] = {}
    for entry in fields[1:]:
        if not entry:
            break  # an empty field ends the conflicted-file section
        meta, _, path = entry.partition("\t")
        mode, blob, stage = meta.split(" ")
        conflicts.setdefault(path, []).append((mode, blob, int(stage)))
    return tree, {path: tuple(stages) for path, stages in conflicts.items()}


def _blob(git: Git, blob: str) -> bytes:
    status, data = git.status("cat-file", "blob", blob)
    if status != 0:
        raise GitError(f"git cat-file failed for {blob}")
    return data


def _label(line: str, marker: str, commit: str, label: str) -> str | None:
    """``line`` with the commit git named after ``marker`` replaced by ``label``, or None
    when the line is not that marker. git may add ``:PATH`` for a renamed file; it is kept."""
    if not line.startswith(marker):
        return None
    name, colon, rest = line[len(marker) :].partition(":")
    if len(name) < 4 or not commit.startswith(name):
        return None
    return f"{marker}{label}{colon}{rest}"


def _relabel(
    git: Git,
    index: Path,
    tree: str,
    conflicts: Mapping[str, Sequence[tuple[str, str, int]]],
    commits: tuple[str, str, str],
    labels: tuple[str, str, str],
) -> str:
    """The merged tree with the markers naming yours, the base and theirs in words, not by
    the (machine-made) commit ids git wrote there."""
    if not conflicts:
        return tree
    markers = ("<<<<<<< ", "||||||| ", ">>>>>>> ")
    files = tree_files(git, tree)
    changes: dict[str, tuple[str, str] | None] = {}
    for path in conflicts:
        if path not in files:
            continue
        mode, blob = files[path]
        try:
            text = _blob(git, blob).decode("utf-8")
        except UnicodeDecodeError:
            continue  # a binary file: git leaves no markers in it
        lines = []
        for line in text.split("\n"):
            for marker, commit, label in zip(markers, commits, labels, strict=True):
                relabelled = _label(line, marker, commit, label)
                if relabelled is not None:
                    line = relabelled
                    break
            lines.append(line)
        _, new_blob = git.status(
            "hash-object", "-w", "--no-filters", "--stdin", stdin="\n".join(lines).encode()
        )
        changes[path] = (mode, new_blob.decode().strip())
    return _tree(git, index, tree, changes)


def conflict_lines(git: Git, tree: str, path: str) -> tuple[int, ...]:
    """The lines of the conflict markers in ``path`` of ``tree`` (none in a binary file)."""
    entry = tree_files(git, tree).get(path)
    if entry is None:
        return ()
    try:
        return tuple(conflict_markers(_blob(git, entry[1]).decode("utf-8")))
    except UnicodeDecodeError:
        return ()


def apply_merge(git: Git, merged: Merge) -> None:
    """Write the merged tree into the work tree and index, conflicts as unmerged entries.

    The work tree must be clean (the caller checked): ``read-tree -m -u`` moves it from HEAD
    to the result the way a checkout does, and refuses to overwrite anything else.
    """
    git("update-index", "-q", "--refresh", check=False)  # stale file times are not changes
    git("read-tree", "-m", "-u", merged.head, merged.result_tree)
    if not merged.conflicts:
        return
    lines = []
    for path, stages in sorted(merged.conflicts.items()):
        lines.append(f"0 {_ZERO}\t{path}\n")
        lines.extend(f"{mode} {blob} {stage}\t{path}\n" for mode, blob, stage in stages)
    git("update-index", "--index-info", stdin="".join(lines))


def changed_paths(git: Git, one: str, other: str) -> list[str]:
    """The paths that differ between two trees."""
    out = git("diff-tree", "-r", "-z", "--no-renames", "--name-only", one, other)
    return [path for path in out.split("\0") if path]


def unified_diff(git: Git, one: str, other: str, paths: Iterable[str] = ()) -> str:
    """A unified diff between two trees (what the update changes), as git prints it."""
    return git("diff", "--no-color", "--no-ext-diff", one, other, "--", *paths)
