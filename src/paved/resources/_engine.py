"""Adding and removing a data resource: check everything, then one road-answers change.

Everything is checked before anything is written: the service is on the road, its answers
are the road's, the name follows the rule and fits every identifier made from it, it is free
(or the same resource is there already: nothing to do), and, to remove one from a protected
environment, ``--break-glass`` with a reason. Then :func:`paved.update.run_update` renders
the road layer again with the new ``data_resources`` answer and commits the merge, or stops
at conflicts (exit 6) for ``paved update --continue``. A run killed before its commit is
finished by the same command run again.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from paved.catalog import resource_catalog
from paved.errors import ConflictError, InputError, PavedError
from paved.gitcmd import Git
from paved.models import CatalogEntry, DataResource
from paved.names import name_problem
from paved.scaffold.registry import Layer
from paved.service.layout import ROAD_ANSWERS, read_answers
from paved.text import escaped
from paved.update import (
    AnswerChange,
    FileChange,
    UpdateDeps,
    UpdateRequest,
    UpdateResult,
    check_clean,
    continue_update,
    pending_update,
    run_update,
    service_root,
    state_path,
)

__all__ = [
    "TRAILER",
    "ResourceRequest",
    "ResourceResult",
    "add_resource",
    "list_resources",
    "remove_resource",
    "resource_rows",
]

#: The commit trailer that names what an add or a remove did: ``add database orders``.
TRAILER = "Paved-Resource"


@dataclasses.dataclass(frozen=True)
class ResourceRequest:
    path: Path
    resource: DataResource
    #: Commit on this new branch (from HEAD), not on the current one.
    branch: str | None = None
    dry_run: bool = False
    diff: bool = False
    #: Environments a removal needs ``break_glass`` in (the settings' protected ones).
    protected: frozenset[str] = frozenset({"prod"})
    #: The reason given with ``--break-glass``, or ``None``.
    break_glass: str | None = None


@dataclasses.dataclass(frozen=True)
class ResourceResult:
    #: ``added``, ``removed``, ``unchanged``, ``planned``, ``conflicts`` or ``resumed``.
    status: str
    action: str
    root: Path
    service: str
    resource: DataResource
    branch: str | None = None
    commit: str | None = None
    files: tuple[FileChange, ...] = ()
    catalog: str = "skipped"
    diff: str | None = None
    environments: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "schema": "paved/resource/v1",
            "status": self.status,
            "action": self.action,
            "service": self.service,
            "path": str(self.root),
            "resource": self.resource.to_answer(),
            "entity": f"resource:{self.resource.entity_name(self.service)}",
            "environments": list(self.environments),
            "branch": self.branch,
            "commit": self.commit,
            "catalog": self.catalog,
            "files": [change.to_json() for change in self.files],
        }
        if self.diff is not None:
            data["diff"] = self.diff
        return data


@dataclasses.dataclass(frozen=True)
class _Service:
    root: Path
    git: Git
    name: str
    environments: tuple[str, ...]
    account: str
    entry: CatalogEntry
    #: The environments the answers name and those HEAD has an overlay for: what a removal
    #: deletes from (the answers are input, so one taken out there still counts).
    deployed: tuple[str, ...] = ()


def _service(path: Path, deps: UpdateDeps) -> _Service:
    try:
        root = service_root(path)
    except InputError:
        raise InputError(
            f"{path} has no road layer ({ROAD_ANSWERS} is missing in it and above it)",
            hint="run it inside a service made by paved new service, or give --path DIR",
        ) from None
    read_answers(root, ROAD_ANSWERS)  # the file's own checks: a link, unreadable, not a mapping
    git = Git(root, deps.env)
    road = _committed_answers(root, git)
    name = road.get("service_name")
    if not isinstance(name, str) or name_problem(name) is not None:
        raise InputError(f"{ROAD_ANSWERS}: service_name is not a service name")
    environments = road.get("environments")
    if not isinstance(environments, list) or not all(
        isinstance(env, str) and name_problem(env) is None for env in environments
    ):
        raise InputError(f"{ROAD_ANSWERS}: environments is not a list of environment names")
    account = road.get("aws_account_id", "")
    if not isinstance(account, str) or not (account.isascii() and account.isdigit()):
        raise InputError(f"{ROAD_ANSWERS}: aws_account_id is not 12 digits")
    try:
        entry = CatalogEntry.from_answers(road)
    except ValueError as exc:
        raise InputError(
            f"{ROAD_ANSWERS} is not a catalog entry: {escaped(str(exc))}",
            hint="fix the answer, or restore the file from git",
        ) from None
    overlays = git("ls-tree", "--name-only", "HEAD:k8s/overlays", check=False).splitlines()
    deployed = tuple(dict.fromkeys([*environments, *(o for o in overlays if not name_problem(o))]))
    return _Service(root, git, name, tuple(environments), account, entry, deployed)


def _committed_answers(root: Path, git: Git) -> dict[str, Any]:
    """The road answers as HEAD has them: what a run decides from (a run killed midway
    leaves the work tree's copy changed; the resume check looks at that)."""
    text = git("show", f"HEAD:{ROAD_ANSWERS}", check=False)
    try:
        loaded = yaml.safe_load(text) if text else None
    except yaml.YAMLError:
        loaded = None
    if not isinstance(loaded, dict):
        raise InputError(
            f"{root / ROAD_ANSWERS} is not committed as a mapping of answers",
            hint="commit the service first (paved new service does)",
        )
    return loaded


def _check_branch(git: Git, branch: str) -> bool:
    """Whether ``branch`` exists; :class:`InputError` when it is not a branch name."""
    checked = git("check-ref-format", "--branch", branch, check=False)
    if not checked or branch.startswith("-") or checked != branch:
        raise InputError(f"--branch {escaped(branch)} is not a branch name git accepts")
    return bool(git("rev-parse", "--verify", "--quiet", f"refs/heads/{branch}", check=False))


def _subject(found: _Service, action: str, resource: DataResource) -> str:
    if action == "add":
        return f"Add the {resource.kind} {resource.name} to {found.name}"
    return f"Remove the {resource.kind} {resource.name} from {found.name}"


def _trailers(request: ResourceRequest, action: str) -> tuple[tuple[str, str], ...]:
    resource = request.resource
    trailers: tuple[tuple[str, str], ...] = (
        (TRAILER, f"{action} {resource.kind} {resource.name}"),
    )
    if request.break_glass is not None:
        trailers += (("Paved-Break-Glass", escaped(request.break_glass)),)
    return trailers


def _resumable(found: _Service, request: ResourceRequest, action: str, deps: UpdateDeps) -> bool:
    """Whether a run of this very add or remove was killed before its commit: the state file
    (input, like every file here) is for this service, at HEAD, without conflicts, and its
    message is exactly the one this run would write."""
    state = pending_update(found.root, deps.env)
    if state is None or state.conflicts or state.service != found.name:
        return False
    if state.head != found.git.head():
        return False
    subject, _, tail = state.message.partition("\n\n")
    lines = tail.rstrip("\n").split("\n")
    if subject != _subject(found, action, request.resource) or len(lines) < 4:
        return False
    road = lines[:4]
    versions = [line.partition(": ")[2] for line in road[2:]]
    if road[0] != "Paved-Layer: road" or not road[1].startswith("Paved-Scaffold: "):
        return False
    if not (road[2].startswith("Paved-From: ") and road[3].startswith("Paved-To: ")):
        return False
    if versions[0] != versions[1]:
        return False
    if lines[4:] != [f"{key}: {value}" for key, value in _trailers(request, action)]:
        return False
    if not found.git("status", "--porcelain", "--untracked-files=no"):
        # killed after the state file was written, before the merge reached the work tree:
        # nothing to finish; this run starts again
        state_path(found.git).unlink()
        return False
    return True


def _resume(found: _Service, request: ResourceRequest, action: str, deps: UpdateDeps) -> Any:
    resource = request.resource
    deps.progress(
        f"finishing the interrupted paved {action} of the {resource.kind} {resource.name}"
    )
    return continue_update(found.root, deps)


def _on_branch(found: _Service, request: ResourceRequest) -> None:
    """Start ``request.branch`` at HEAD and switch to it (the tree is clean: checked)."""
    assert request.branch is not None
    found.git("switch", "--quiet", "--create", request.branch)


def _run(
    found: _Service, request: ResourceRequest, action: str, after: list[DataResource],
    deps: UpdateDeps,
) -> ResourceResult:  # fmt: skip
    resource = request.resource
    subject, trailers = _subject(found, action, resource), _trailers(request, action)
    change = AnswerChange({"data_resources": [x.to_answer() for x in after]}, subject, trailers)
    update = UpdateRequest(
        found.root, (Layer.ROAD,), None, request.dry_run, request.diff,
        record=request.branch is None, change=change,
    )  # fmt: skip
    if request.branch is not None and not request.dry_run:
        if _check_branch(found.git, request.branch):
            raise ConflictError(
                f"the branch {escaped(request.branch)} exists already and does not have the "
                f"{action} of the {resource.kind} {resource.name}",
                hint="choose another --branch, or delete that branch",
            )
        check_clean(found.root, found.git)
        _on_branch(found, request)
    result: UpdateResult = run_update(update, deps)
    status = {"updated": "added" if action == "add" else "removed"}.get(
        result.status, result.status
    )
    return ResourceResult(
        status, action, found.root, found.name, resource, request.branch, result.commit,
        result.files, result.catalog, result.diff, found.environments,
    )  # fmt: skip


def _unchanged(found: _Service, request: ResourceRequest, action: str) -> ResourceResult:
    return ResourceResult(
        "unchanged", action, found.root, found.name, request.resource, request.branch,
        environments=found.environments,
    )  # fmt: skip


def _branch_has(found: _Service, request: ResourceRequest, action: str) -> bool:
    """Whether ``request.branch`` exists and its tip commit did this add or remove."""
    if request.branch is None or not _check_branch(found.git, request.branch):
        return False
    body = found.git("log", "-1", "--format=%B", f"refs/heads/{request.branch}", "--")
    resource = request.resource
    return f"{TRAILER}: {action} {resource.kind} {resource.name}" in body.splitlines()


class _Journal:
    """The platform's request for the resource (when the catalog is the platform's and has
    the service): opened, or found open from a run of the same request that did not
    finish, before the service changes; closed after. The platform decides first: another
    team's service, or a name in another open request, stops the add before it renders."""

    def __init__(self, found: _Service, request: ResourceRequest, deps: UpdateDeps) -> None:
        self.catalog = resource_catalog(deps.catalog())
        if self.catalog is not None and self.catalog.get(found.name) is None:
            self.catalog = None  # not registered: nothing to record, as paved update does
        self.found, self.request = found, request
        self.id: int | None = None

    def _mine(self) -> int | None:
        assert self.catalog is not None
        caller = self.catalog.caller()
        me = caller.user if caller is not None else ""
        for old in self.catalog.resources(self.found.name).requests:
            if old.open and old.resource.name == self.request.resource.name:
                same = old.resource == self.request.resource and old.branch == self.request.branch
                return old.id if same and old.requested_by == me else None
        return None

    def _made(self) -> str | None:
        """The commit, on the request's branch (or HEAD), that made this add, or ``None``."""
        resource = self.request.resource
        where = f"refs/heads/{self.request.branch}" if self.request.branch else "HEAD"
        found = self.found.git(
            "log", "-1", "--format=%H", "--fixed-strings",
            f"--grep={TRAILER}: add {resource.kind} {resource.name}", where, "--", check=False,
        )  # fmt: skip
        return found or None

    def open(self) -> None:
        if self.catalog is None:
            return
        if self.request.dry_run:
            self.catalog.request_resource(
                self.found.name, self.request.resource, branch=self.request.branch, dry_run=True
            )
            return
        self.id = self._mine()
        if self.id is None:
            self.id = self.catalog.request_resource(
                self.found.name, self.request.resource, branch=self.request.branch
            )

    def close(self, result: ResourceResult | None, failure: str = "") -> None:
        """Close the request: committed with ``result``'s commit, or failed."""
        if self.catalog is None or self.request.dry_run:
            return
        if self.id is None and result is not None and result.status in ("unchanged", "resumed"):
            self.id = self._mine()  # a run killed after its commit left it open
        if self.id is None or (result is not None and result.status == "conflicts"):
            return  # at conflicts it stays open: the same add, run again, finds it
        if result is None:
            self.catalog.close_resource_request(
                self.found.name, self.id, "failed", detail=escaped(failure)[:500]
            )
            return
        commit = result.commit or self._made()
        if commit is None:
            return  # nothing on the record made it: it stays open for the next run
        self.catalog.close_resource_request(
            self.found.name, self.id, "committed", commit=commit, branch=self.request.branch
        )


def add_resource(request: ResourceRequest, deps: UpdateDeps) -> ResourceResult:
    """Add ``request.resource`` to the service at ``request.path`` (or say what it would do)."""
    found = _service(request.path, deps)
    journal = _Journal(found, request, deps)
    result = _add(found, request, journal, deps)
    journal.close(result)
    return result


def _add(
    found: _Service, request: ResourceRequest, journal: _Journal, deps: UpdateDeps
) -> ResourceResult:
    resource = request.resource
    if _resumable(found, request, "add", deps):
        journal.open()  # the platform decides before this run commits, too
        return _from_update(found, request, "add", _resume(found, request, "add", deps))
    check_clean(found.root, found.git)
    if _branch_has(found, request, "add"):
        return _unchanged(found, request, "add")
    existing = found.entry.data_resource(resource.name)
    if existing == resource:
        return _unchanged(found, request, "add")
    if existing is not None:
        raise ConflictError(
            f"{found.name} has a {existing.kind} named {resource.name} already"
            + (" with other options" if existing.kind == resource.kind else ""),
            hint=f"choose another name, or paved remove {existing.kind} {resource.name} first",
        )
    if (problem := resource.fit_problem(found.name, found.environments, found.account)) is not None:
        raise InputError(f"the {resource.kind} name {resource.name} {problem}")
    after = [*found.entry.data_resources, resource]
    try:  # the entry's rules across resources: one name each, one IAM statement id each
        dataclasses.replace(found.entry, data_resources=tuple(after))
    except ValueError as exc:
        raise ConflictError(str(exc), hint="choose another name") from None
    journal.open()
    try:
        return _run(found, request, "add", after, deps)
    except PavedError as exc:
        journal.close(None, str(exc))
        raise


def remove_resource(request: ResourceRequest, deps: UpdateDeps) -> ResourceResult:
    """Remove the data resource ``request.resource`` names (its kind and name) from the
    service. The final snapshot setting stays on in the road's templates: the database's
    Terraform is removed, and deleting it keeps its final snapshot."""
    found = _service(request.path, deps)
    wanted = request.resource
    if _branch_has(found, request, "remove"):
        return _unchanged(found, request, "remove")
    existing = found.entry.data_resource(wanted.name)
    if existing is None:
        log = found.git(
            "log", "-1", "--format=%H", "--fixed-strings",
            f"--grep={TRAILER}: remove {wanted.kind} {wanted.name}", check=False,
        )  # fmt: skip
        if log:
            return _unchanged(found, request, "remove")
        raise InputError(
            f"{found.name} has no {wanted.kind} named {wanted.name}",
            hint="paved resources list shows the service's resources",
        )
    if existing.kind != wanted.kind:
        raise InputError(f"{wanted.name} in {found.name} is a {existing.kind}, not a {wanted.kind}")
    protected = sorted(set(found.deployed) & request.protected)
    if protected and request.break_glass is None:
        raise InputError(
            f"removing the {existing.kind} {wanted.name} deletes it in {', '.join(protected)}, "
            "a protected environment",
            hint="if it must go, add --break-glass --reason TEXT (recorded in the commit); its "
            "final snapshot is kept",
        )
    request = dataclasses.replace(request, resource=existing)
    if _resumable(found, request, "remove", deps):
        return _from_update(found, request, "remove", _resume(found, request, "remove", deps))
    check_clean(found.root, found.git)
    after = [x for x in found.entry.data_resources if x.name != wanted.name]
    return _run(found, request, "remove", after, deps)


def _from_update(
    found: _Service, request: ResourceRequest, action: str, result: UpdateResult
) -> ResourceResult:
    return ResourceResult(
        "resumed", action, found.root, found.name, request.resource, request.branch,
        result.commit, result.files, result.catalog, None, found.environments,
    )  # fmt: skip


def list_resources(path: Path, deps: UpdateDeps) -> tuple[str, CatalogEntry]:
    """The service at ``path``: its name and the catalog entry its road answers hold."""
    found = _service(path, deps)
    return found.name, found.entry


def resource_rows(
    service: str, files: CatalogEntry | None, catalog: CatalogEntry | None
) -> list[Mapping[str, Any]]:
    """One row per data resource, from the service's files and from the catalog, saying
    where each is (``files``, ``catalog`` or ``both``): a resource only in the files is not
    recorded yet; one only in the catalog was removed here, or is on another branch."""
    rows: dict[str, dict[str, Any]] = {}
    for where, entry in (("files", files), ("catalog", catalog)):
        for resource in entry.data_resources if entry is not None else ():
            row = rows.setdefault(
                resource.name,
                {**resource.to_answer(), "entity": f"resource:{resource.entity_name(service)}",
                 "in": []},
            )  # fmt: skip
            row["in"].append(where)
    return [{**row, "in": "both" if len(row["in"]) == 2 else row["in"][0]} for row in rows.values()]
