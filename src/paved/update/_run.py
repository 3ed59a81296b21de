"""Running an update: render both versions, merge, then commit, or stop at the conflicts.

``run_update`` renders the old and the new version of each layer with the recorded answers
(copier, from the template store), merges them into HEAD (:mod:`paved.update._merge`) and
classifies every file. A dry run does all of it in a private object folder and changes
nothing in the service. A real run writes the merge into the work tree and index; without a
conflict it commits at once, with one it stops, exit 6, and keeps what ``--continue`` needs
in ``.git/paved-update.json``. Nothing is committed while a conflict remains.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import shutil
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path

from paved.errors import ConflictError, InputError, PavedError
from paved.gitcmd import Git
from paved.guardrails import conflict_markers
from paved.locks import file_lock
from paved.models import CatalogEntry, LayerRef
from paved.scaffold.store import TemplateSource
from paved.service.declines import DECLINES_FILE, Decline, read_declines, with_decline
from paved.service.layout import ROAD_ANSWERS, read_answers
from paved.text import escaped
from paved.update._merge import (
    Merge,
    MergeInput,
    apply_merge,
    changed_paths,
    conflict_lines,
    merge,
    tree_files,
    unified_diff,
)
from paved.update._model import (
    Change,
    FileChange,
    LayerPlan,
    UpdateDeps,
    UpdatePlan,
    UpdateRequest,
    UpdateResult,
)
from paved.update._plan import (
    UpdateState,
    check_clean,
    definition,
    git_of,
    plan_update,
    read_state,
    service_root,
    state_path,
    versions,
)
from paved.versions import Version

__all__ = ["abort_update", "continue_update", "decline_update", "run_update"]

_TRAILERS = ("Paved-Layer", "Paved-Scaffold", "Paved-From", "Paved-To")


@contextlib.contextmanager
def _scratch() -> Iterator[Path]:
    folder = Path(tempfile.mkdtemp(prefix="paved-update-"))
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _moves(deps: UpdateDeps, plan: LayerPlan) -> dict[str, str]:
    """The moves the scaffold declared after ``plan.current`` up to ``plan.target``, composed:
    a file moved twice goes straight to where it ends."""
    have, want = Version.parse(plan.current), Version.parse(plan.target)
    assert have is not None
    assert want is not None
    declared = definition(deps, plan.scaffold, plan.target).moves
    steps = sorted(
        (m for m in declared if have < (Version.parse(m.version) or have) <= want),
        key=lambda m: Version.parse(m.version) or have,
    )
    moves: dict[str, str] = {}
    for step in steps:
        for source, target in list(moves.items()):
            if target == step.source:
                moves[source] = step.target
        moves.setdefault(step.source, step.target)
    return moves


def _render(plan: UpdatePlan, deps: UpdateDeps, scratch: Path) -> list[tuple[Path, Path]]:
    from paved.scaffold.engine import render_all  # imports copier

    jobs = []
    folders = []
    for layer in plan.moving:
        url_env = deps.store.env_for(layer.source_url)
        pair = []
        for side, version in (("old", layer.current), ("new", layer.target)):
            scaffold = definition(deps, layer.scaffold, version)
            given = (
                {**layer.answers, **layer.platform, **layer.changes}
                if side == "new"
                else layer.answers
            )
            answers = {
                key: value for key, value in given.items() if scaffold.question(key) is not None
            }
            folder = scratch / f"{layer.layer.value}-{side}-{version}"
            source = TemplateSource(layer.scaffold.name, layer.source_url, version, url_env)
            jobs.append((source, answers, folder))
            pair.append(folder)
        folders.append((pair[0], pair[1]))
        deps.progress(
            f"rendering {layer.layer.value} layer {layer.scaffold.name} "
            f"{layer.current} and {layer.target}"
        )
    render_all(jobs, cache_dir=deps.cache_dir / "copier", fork=deps.parallel_renders)
    return folders


def _labels(plan: UpdatePlan) -> tuple[str, str, str]:
    moving = plan.moving
    return (
        "yours",
        ", ".join(f"{layer.scaffold.name} {layer.current}" for layer in moving),
        ", ".join(f"{layer.scaffold.name} {layer.target}" for layer in moving),
    )


def _classify(
    git: Git, merged: Merge, plan: UpdatePlan, layer_of: dict[str, str]
) -> tuple[FileChange, ...]:
    base = tree_files(git, merged.base_tree)
    yours = tree_files(git, merged.yours_tree)
    theirs = tree_files(git, merged.theirs_tree)
    head = tree_files(git, merged.head)
    moved_to = {target: source for source, target in merged.moves.items()}
    changes = []
    for path in sorted(merged.layer_paths - set(merged.moves)):
        layer = layer_of.get(path, layer_of.get(moved_to.get(path, ""), ""))
        b, o, t = base.get(path), yours.get(path), theirs.get(path)
        moved_from = moved_to.get(path)
        if path in merged.conflicts:
            if b is not None and t is None:
                kind = "removed by the template, edited here"
            elif b is not None and o is None:
                kind = "changed by the template, deleted here"
            elif b is None:
                kind = "added by the template and here, differently"
            else:
                kind = "changed on both sides"
            lines = conflict_lines(git, merged.result_tree, path)
            changes.append(FileChange(path, layer, Change.CONFLICT, moved_from, kind, lines))
            continue
        if moved_from is not None and moved_from in head:
            changes.append(FileChange(path, layer, Change.MOVED, moved_from))
        elif b is None:
            changes.append(FileChange(path, layer, Change.ADDED))
        elif t is None:
            change = Change.DELETED_LOCALLY if o is None else Change.REMOVED
            changes.append(FileChange(path, layer, change))
        elif o is None:
            change = Change.DELETED_LOCALLY if b == t else Change.MERGED
            changes.append(FileChange(path, layer, change))
        elif b == t:
            changes.append(FileChange(path, layer, Change.UNCHANGED))
        elif o == b:
            changes.append(FileChange(path, layer, Change.TEMPLATE_UPDATED))
        else:
            changes.append(FileChange(path, layer, Change.MERGED))
    return tuple(changes)


def _layer_of(plan: UpdatePlan, folders: Sequence[tuple[Path, Path]]) -> dict[str, str]:
    found = {}
    for layer, (before, after) in zip(plan.moving, folders, strict=True):
        for folder in (before, after):
            for dirpath, _, filenames in os.walk(folder):
                for name in filenames:
                    rel = Path(dirpath, name).relative_to(folder).as_posix()
                    found[rel] = layer.layer.value
    return found


def _message(plan: UpdatePlan) -> str:
    moving = plan.moving
    change = plan.request.change
    if change is not None:
        trailers = "\n".join(
            f"{key}: {value}"
            for key, value in (
                *zip(_TRAILERS, ("road", moving[0].scaffold.name, moving[0].current,
                                 moving[0].target), strict=True),
                *change.trailers,
            )
        )  # fmt: skip
        return f"{change.subject}\n\n{trailers}\n"
    names = " and ".join(f"{layer.layer.value}" for layer in moving)
    subject = f"Update the {names} layer{'s' if len(moving) > 1 else ''} on the paved road"
    body = "\n".join(f"{layer.scaffold.name} {layer.current} -> {layer.target}" for layer in moving)
    trailers = "\n".join(
        f"{key}: {value}"
        for layer in moving
        for key, value in zip(
            _TRAILERS,
            (layer.layer.value, layer.scaffold.name, layer.current, layer.target),
            strict=True,
        )
    )
    return f"{subject}\n\n{body}\n\n{trailers}\n"


def _commit(git: Git, message: str) -> str:
    git("commit", "--quiet", "--no-verify", "-F", "-", stdin=message)
    head = git.head()
    assert head is not None
    return head


def _changed_entry(plan: UpdatePlan) -> CatalogEntry | None:
    """The catalog entry after an answers change (``paved add``), or ``None``."""
    change = plan.request.change
    if change is None:
        return None
    try:
        return CatalogEntry.from_answers(
            {**read_answers(plan.root, ROAD_ANSWERS), **change.answers}
        )
    except ValueError as exc:
        raise InputError(f"the changed road answers are not a catalog entry: {exc}") from None


def _record(
    service: str,
    layers: tuple[LayerRef, ...],
    deps: UpdateDeps,
    *,
    dry_run: bool,
    root: Path | None = None,
    entry: CatalogEntry | None = None,
) -> str:
    """Tell the catalog the layers' new versions (and the catalog entry: ``entry``, or the
    one the road answers file of the service at ``root`` now holds); what happened, in a
    word or two."""
    catalog = deps.catalog()
    existing = catalog.get(service)
    if existing is None:
        return "not registered"
    if entry is None and root is not None:
        entry = _catalog_entry(root)
    if set(existing.layers) == set(layers) and entry in (None, existing.catalog):
        return "unchanged"
    catalog.record_layers(service, layers, dry_run=dry_run, catalog=entry)
    return "planned" if dry_run else "recorded"


def _catalog_entry(root: Path) -> CatalogEntry:
    """The catalog entry in the road answers file of the service at ``root`` (input: a
    value the road's rules refuse is an :class:`InputError` naming the file)."""
    try:
        return CatalogEntry.from_answers(read_answers(root, ROAD_ANSWERS))
    except ValueError as exc:
        raise InputError(f"{root / ROAD_ANSWERS} is not a catalog entry: {exc}") from None


def run_update(request: UpdateRequest, deps: UpdateDeps) -> UpdateResult:
    """Plan and run an update (or, with ``request.dry_run``, only say what it would do).

    A real run holds a lock in the service's git folder, so a second ``paved update`` of the
    same repository waits, then finds the first one's result (or its conflicts)."""
    if request.dry_run:
        return _run(request, deps)
    root = service_root(request.path)
    with file_lock(state_path(git_of(root, deps.env)).with_suffix(".lock")):
        return _run(request, deps)


def _run(request: UpdateRequest, deps: UpdateDeps) -> UpdateResult:
    plan = plan_update(request, deps)
    layers = tuple(layer.to_json() for layer in plan.layers)
    recording = request.record and not request.dry_run
    if not plan.moving:
        catalog = _record_after(plan, deps) if recording else "skipped"
        return UpdateResult("up-to-date", plan.root, plan.service, layers, catalog=catalog)
    if request.record:  # the platform decides before anything happens: may this user record?
        _record(plan.service, plan.recorded, deps, dry_run=True, entry=_changed_entry(plan))
    git = git_of(plan.root, deps.env)
    with _scratch() as scratch:
        if request.dry_run:  # every object the merge writes goes to a private folder
            objects = scratch / "objects"
            objects.mkdir()
            repo_objects = Path(git("rev-parse", "--git-path", "objects"))
            if not repo_objects.is_absolute():
                repo_objects = plan.root / repo_objects
            git = Git(
                plan.root,
                {
                    **git.env,
                    "GIT_OBJECT_DIRECTORY": str(objects),
                    "GIT_ALTERNATE_OBJECT_DIRECTORIES": str(repo_objects.resolve()),
                },
            )
        folders = _render(plan, deps, scratch)
        deps.progress("merging")
        (scratch / "index").mkdir()
        merged = merge(
            git,
            plan.head,
            MergeInput(folders, _all_moves(deps, plan), _labels(plan)),
            scratch / "index",
        )
        files = _classify(git, merged, plan, _layer_of(plan, folders))
        diff = unified_diff(git, merged.head, merged.result_tree) if request.diff else None
        if request.dry_run:
            return UpdateResult(
                "planned", plan.root, plan.service, layers, files, catalog="planned", diff=diff
            )
        message = _message(plan)
        touched = changed_paths(git, merged.head, merged.result_tree)
        layer_json = tuple(layer.to_json() for layer in plan.moving)
        state = UpdateState(
            plan.head, plan.service, message, tuple(touched), tuple(sorted(merged.conflicts)),
            layer_json, plan.recorded,
        )  # fmt: skip
        # Written before the work tree changes and kept until the commit, conflicts or not:
        # a run killed at any moment in between leaves what --continue (or the same
        # command, run again) needs to finish.
        _write_state(git, state)
        deps.progress("writing the merge into the work tree")
        apply_merge(git, merged)
    if merged.conflicts:
        return UpdateResult("conflicts", plan.root, plan.service, layers, files, diff=diff)
    commit = _commit(git, message)
    state_path(git).unlink()
    catalog = _record_after(plan, deps) if recording else "skipped"
    return UpdateResult("updated", plan.root, plan.service, layers, files, commit, catalog, diff)


def _all_moves(deps: UpdateDeps, plan: UpdatePlan) -> dict[str, str]:
    moves: dict[str, str] = {}
    for layer in plan.moving:
        moves.update(_moves(deps, layer))
    return moves


def _record_after(plan: UpdatePlan, deps: UpdateDeps) -> str:
    """Record the versions once committed; a catalog that fails now does not undo the commit
    (paved update, run again, records them)."""
    try:
        return _record(plan.service, plan.recorded, deps, dry_run=False, root=plan.root)
    except PavedError as exc:
        return f"failed: {exc}"


def _write_state(git: Git, state: UpdateState) -> None:
    path = state_path(git)
    partial = path.with_suffix(".tmp")
    partial.write_text(json.dumps(state.to_json(), indent=2) + "\n", encoding="utf-8")
    partial.replace(path)


def _in_progress(path: Path) -> tuple[Path, Git, Path, UpdateState]:
    root = service_root(path)
    git = git_of(root, {})
    state_file = state_path(git)
    if not state_file.exists():
        raise InputError(
            f"no update of {root} is in progress",
            hint="paved update starts one; --continue and --abort finish one that stopped "
            "at a conflict",
        )
    state = read_state(state_file)
    if git.head() != state.head:
        raise ConflictError(
            f"HEAD of {root} moved since the update started at {state.head}",
            hint=f"git reset --hard {state.head} to start over, or finish the merge with "
            f"git and delete {state_file}",
        )
    return root, git, state_file, state


def continue_update(path: Path, deps: UpdateDeps) -> UpdateResult:
    """Commit an update whose conflicts are resolved; refuse while any remains."""
    root = service_root(path)
    done = _committed_already(root)
    if done is not None:
        return done
    root, git, state_file, state = _in_progress(path)
    unmerged = sorted({line.split("\t", 1)[1] for line in git("ls-files", "-u").splitlines()})
    if unmerged:
        raise ConflictError(
            f"{len(unmerged)} file(s) still unmerged: {', '.join(map(escaped, unmerged[:10]))}",
            hint="resolve each, git add it, then paved update --continue again",
        )
    marked = []
    inside = root.resolve()
    for rel in state.paths:
        file = root / rel
        if not file.resolve().is_relative_to(inside):
            continue  # behind a link out of the service: git add refuses it below
        if file.is_file() and not file.is_symlink():
            try:
                lines = conflict_markers(file.read_text(encoding="utf-8"))
            except UnicodeDecodeError:
                continue
            if lines:
                marked.append(f"{rel}:{lines[0]}")
    if marked:
        raise ConflictError(
            f"conflict markers remain in {', '.join(map(escaped, marked[:10]))}",
            hint="edit the files to the text you want, then paved update --continue again",
        )
    present = [rel for rel in state.paths if (root / rel).exists() or (root / rel).is_symlink()]
    gone = [rel for rel in state.paths if rel not in present]
    literal = Git(root, {**git.env, "GIT_LITERAL_PATHSPECS": "1"})  # a path, never a pattern
    if present:
        literal("add", "--all", "--", *present)
    if gone:  # removed by the update, or by you while resolving
        literal("rm", "--cached", "--quiet", "--ignore-unmatch", "--", *gone)
    if not git("diff", "--cached", "--name-only"):
        state_file.unlink()  # killed before the merge reached the work tree: nothing to commit
        raise InputError(
            f"the interrupted update of {root} had not changed any file yet",
            hint="run the same command again",
        )
    service = read_answers(root, ROAD_ANSWERS).get("service_name")
    if service != state.service:  # the state file is input: it names this service, or none
        raise InputError(
            f"{state_file} is for another service ({escaped(str(state.service))})",
            hint=f"delete {state_file}, then git status shows what to keep",
        )
    commit = _commit(git, state.message)
    state_file.unlink()
    try:
        catalog = _record(service, state.recorded, deps, dry_run=False, root=root)
    except PavedError as exc:
        catalog = f"failed: {exc}"
    return UpdateResult(
        "continued", root, state.service, state.layers, commit=commit, catalog=catalog
    )


def _committed_already(root: Path) -> UpdateResult | None:
    """The result of an update killed between its commit and the removal of its state file
    (HEAD is its commit, on the commit it started from), the file now removed; else ``None``."""
    git = git_of(root, {})
    state_file = state_path(git)
    if not state_file.exists():
        return None
    state = read_state(state_file)
    head = git.head()
    if head is None or head == state.head:
        return None
    parent = git("rev-parse", "--verify", "--quiet", f"{head}^", check=False)
    if parent != state.head or git("log", "-1", "--format=%B", head) != state.message.strip():
        return None
    state_file.unlink()
    return UpdateResult("continued", root, state.service, state.layers, commit=head)


def abort_update(path: Path) -> UpdateResult:
    """Put HEAD, the index and the work tree back exactly as they were before the update."""
    root, git, state_file, state = _in_progress(path)
    git("reset", "--hard", "--quiet", state.head)
    state_file.unlink()
    left = git("ls-files", "-z", "--others", "--exclude-standard").split("\0")
    return UpdateResult("aborted", root, state.service, left=tuple(sorted(p for p in left if p)))


def decline_update(
    path: Path,
    deps: UpdateDeps,
    *,
    version: str,
    reason: str,
    until: dt.date,
    layer: LayerPlan | None = None,
    dry_run: bool = False,
) -> UpdateResult:
    """Record in the service that it declines ``version`` of its road (or ``layer``'s)
    scaffold until ``until``, and commit it."""
    root = service_root(path)
    git = git_of(root, deps.env)
    if not dry_run:
        check_clean(root, git)
    plan = layer or plan_update(UpdateRequest(path=root, dry_run=True), deps).layers[0]
    if until < deps.clock().date():
        raise InputError(f"--until {until.isoformat()} is in the past")
    known, _ = versions(deps, plan.scaffold)
    if version not in known:
        raise InputError(
            f"--decline {escaped(version)}: {plan.scaffold.name} has no such version",
            hint=f"versions: {', '.join(known)}",
        )
    decline = Decline(plan.scaffold.name, version, reason, until)
    text = with_decline(read_declines(root), decline)
    service = str(plan.answers.get("service_name", root.name))
    if dry_run:
        return UpdateResult("planned", root, service, decline=decline.to_json())
    file = root / DECLINES_FILE
    file.parent.mkdir(exist_ok=True)
    file.write_text(text, encoding="utf-8")
    git("add", "--", DECLINES_FILE)
    commit = _commit(
        git,
        f"Decline {plan.scaffold.name} {version} until {until.isoformat()}\n\n{reason}\n\n"
        f"Paved-Declined: {plan.scaffold.name} {version}\n",
    )
    return UpdateResult("declined", root, service, commit=commit, decline=decline.to_json())
