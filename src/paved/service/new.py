"""Creating a service: validate, render both layers, commit, push, register.

The work is split in two. :func:`plan_new_service` checks everything and writes nothing: the
names, the templates, every ``--set`` answer, the destination, the git identity, the name in
the catalog and the remote repository. :func:`create_service` then runs the steps, each of
which first looks at what is already there, so that the same command run again after a
failure (or a kill at any moment) carries on where it stopped, and run again after success
changes nothing.

Nothing is half-made: both layers are rendered into a temporary folder beside the
destination and moved into place with one rename; the embedded git host creates its bare
repository the same way; the catalog registers in one transaction.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum
import os
import shutil
import tempfile
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from paved.backstage import Backstage, repository_problem, shown_url
from paved.catalog import Catalog, unknown_team
from paved.errors import ConflictError, InputError, PavedError, StepFailed
from paved.gitcmd import Git
from paved.githost import GitHost, is_local_repository
from paved.locks import file_lock
from paved.models import CatalogEntry, LayerRef, Service
from paved.names import check_name
from paved.repository_url import without_credentials
from paved.scaffold.paths import planned_files
from paved.scaffold.registry import RESERVED_ANSWERS, Layer, Scaffold, ScaffoldRegistry
from paved.scaffold.store import TemplateStore
from paved.service.layout import read_answers
from paved.service.road_answers import API_DOCUMENT, platform_answers
from paved.text import check_text

__all__ = [
    "NewServiceDeps",
    "NewServicePlan",
    "NewServiceRequest",
    "NewServiceResult",
    "Step",
    "StepOutcome",
    "create_service",
    "describe",
    "dry_run",
    "plan_new_service",
]

_TEMP_PREFIX = ".paved-new-"


class Step(enum.StrEnum):
    RENDER = "render"
    COMMIT = "commit"
    PUSH = "push"
    REGISTER = "register"


@dataclasses.dataclass(frozen=True)
class NewServiceRequest:
    """What the person asked for, as typed (checked by :func:`plan_new_service`)."""

    name: str
    owner: str
    description: str = ""
    template: str = "service-python"
    road_template: str = "paved-road"
    destination: Path | None = None
    answers: Mapping[str, str] = dataclasses.field(default_factory=dict)
    remote: str | None = None
    push: bool = True
    register: bool = True


@dataclasses.dataclass(frozen=True)
class NewServiceDeps:
    """The outside world :func:`create_service` works with; tests pass their own."""

    registry: ScaffoldRegistry
    store: TemplateStore
    githost: Callable[[], GitHost]
    catalog: Callable[[], Catalog]
    cwd: Path
    cache_dir: Path
    locks_dir: Path
    clock: Callable[[], dt.datetime]
    progress: Callable[[str], None] = lambda _message: None
    #: paved's data folder: no service is made inside it (its bare repositories live there).
    data_dir: Path | None = None
    #: The settings' self-hosted git host, as (``githost.api``, the host of
    #: ``githost.api_url``): its repositories get the CI slug in the catalog entry too.
    git_host: tuple[str, str] | None = None
    #: The organisation's Backstage (``backstage.url``), where the register step registers the
    #: service's catalog-info.yaml too; ``None``: no Backstage.
    backstage: Callable[[], Backstage | None] = lambda: None


@dataclasses.dataclass(frozen=True)
class NewServicePlan:
    """Everything checked; what :func:`create_service` will do."""

    request: NewServiceRequest
    app: Scaffold
    road: Scaffold
    app_answers: Mapping[str, Any]
    road_answers: Mapping[str, Any]
    destination: Path
    repository: str
    #: The destination already holds this service (an earlier run of the same command).
    resuming: bool

    @property
    def layers(self) -> tuple[LayerRef, ...]:
        return (
            LayerRef(Layer.APP.value, self.app.name, self.app.version),
            LayerRef(Layer.ROAD.value, self.road.name, self.road.version),
        )

    def files(self) -> list[str]:
        return sorted(
            {
                *planned_files(self.app, self.app_answers),
                *planned_files(self.road, self.road_answers),
            }
        )


@dataclasses.dataclass(frozen=True)
class StepOutcome:
    step: Step
    #: ``done`` (now), ``already done`` (by an earlier run), ``skipped`` (by a flag), ``planned``.
    status: str


@dataclasses.dataclass(frozen=True)
class NewServiceResult:
    plan: NewServicePlan
    steps: tuple[StepOutcome, ...]
    layers: tuple[LayerRef, ...]
    commit: str | None
    service: Service | None
    #: With --dry-run: nothing was done, the steps say what would be.
    planned: bool = False

    @property
    def status(self) -> str:
        statuses = {outcome.status for outcome in self.steps}
        if self.planned:
            return "planned"
        if "done" not in statuses:
            return "unchanged"
        if "already done" in statuses:
            return "resumed"
        return "created"


# -- checking ----------------------------------------------------------------------------


def _split_answers(
    raw: Mapping[str, str], app: Scaffold, road: Scaffold
) -> tuple[dict[str, Any], dict[str, Any]]:
    app_answers: dict[str, Any] = {}
    road_answers: dict[str, Any] = {}
    for key, text in raw.items():
        if key in RESERVED_ANSWERS:
            raise InputError(f"--set {key} is not allowed", hint=f"use {RESERVED_ANSWERS[key]}")
        questions = [(s, s.question(key)) for s in (app, road)]
        asked = [(s, q) for s, q in questions if q is not None]
        if not asked:
            known = sorted(
                {q.name for s in (app, road) for q in s.questions} - set(RESERVED_ANSWERS)
            )
            raise InputError(
                f"--set {key}: templates {app.name} and {road.name} ask no question '{key}'",
                hint="known: " + ", ".join(known),
            )
        for scaffold, question in asked:
            value = question.coerce(text)
            (app_answers if scaffold is app else road_answers)[key] = value
    return app_answers, road_answers


def _default(scaffold: Scaffold, name: str) -> Any:
    question = scaffold.question(name)
    return question.default if question is not None else None


def _read_answers(root: Path, filename: str) -> dict[str, Any] | None:
    try:
        return read_answers(root, filename)
    except InputError:
        return None


def _first_existing(path: Path) -> Path:
    for candidate in (path, *path.parents):
        if candidate.exists():
            return candidate
    return Path("/")


def _destination(path: Path) -> Path:
    """The folder ``--dir`` (or ``./NAME``) names, through symbolic links.

    A link to a folder is followed, so the service is made in the folder it points to; a
    broken link is refused rather than followed to wherever it points.
    """
    if path.is_symlink() and not path.exists():
        raise InputError(f"destination {path} is a broken symbolic link")
    return path.resolve()


def _check_destination(
    destination: Path, name: str, owner: str, road: Scaffold, data_dir: Path | None = None
) -> bool:
    """Raise when ``destination`` cannot take the service; True when it already holds it."""
    if destination.is_symlink() and not destination.exists():
        raise InputError(f"destination {destination} is a broken symbolic link")
    if data_dir is not None and _destination(destination).is_relative_to(data_dir.resolve()):
        raise InputError(
            f"destination {destination} is inside paved's data folder {data_dir}",
            hint="choose a folder outside it with --dir: the working copy would stand in for "
            "the repository it pushes to",
        )
    if destination.exists():
        if not destination.is_dir():
            raise InputError(
                f"destination {destination} is a file, not a folder",
                hint="choose another folder with --dir",
            )
        answers = _read_answers(destination, road.answers_file)
        if answers is not None:
            if answers.get("service_name") != name:
                raise InputError(
                    f"destination {destination} holds service "
                    f"'{answers.get('service_name')}', not '{name}'",
                    hint="choose another folder with --dir",
                )
            if answers.get("owner") != owner:
                raise ConflictError(
                    f"destination {destination} holds '{name}' owned by "
                    f"'{answers.get('owner')}', not '{owner}'",
                    hint=f"run the command again with --owner {answers.get('owner')}",
                )
            return True
        try:
            entries = [entry.name for entry in os.scandir(destination)]
        except OSError as exc:
            raise InputError(f"destination {destination} cannot be read ({exc.strerror})") from exc
        if entries:
            raise InputError(
                f"destination {destination} is not empty",
                hint="choose a new or empty folder with --dir; paved never overwrites files",
            )
    ancestor = _first_existing(destination.parent if not destination.exists() else destination)
    if not ancestor.is_dir():
        raise InputError(
            f"destination {destination} cannot be created: {ancestor} is a file",
            hint="choose another folder with --dir",
        )
    if not os.access(ancestor, os.W_OK | os.X_OK):
        raise InputError(
            f"destination {destination} cannot be written ({ancestor} is not writable)",
            hint="choose a folder you can write to with --dir",
        )
    return False


def plan_new_service(request: NewServiceRequest, deps: NewServiceDeps) -> NewServicePlan:
    """Check everything about ``request`` and return the plan. Writes nothing anywhere."""
    check_name(request.name, what="service")
    check_name(request.owner, what="owner team")
    check_text(request.description, what="--description", limit=200)
    app = deps.registry.get(request.template, layer=Layer.APP)
    road = deps.registry.get(request.road_template, layer=Layer.ROAD)
    app_extra, road_extra = _split_answers(request.answers, app, road)
    common = {
        "service_name": request.name,
        "owner": request.owner,
        "description": request.description or f"The {request.name} service.",
    }
    for scaffold in (app, road):  # the scaffolds' own rules, before copier sees the answers
        scaffold.check_answers(common)
    destination = _destination(deps.cwd / (request.destination or Path(request.name)))
    Git().identity()
    resuming = False  # set by _check_free

    githost = deps.githost() if request.push else None
    repository = (
        request.remote
        if request.remote
        else githost.url_for(request.name)
        if githost
        else destination.as_uri()
    )
    platform = platform_answers(
        {q.name for q in road.questions},
        repository=repository,
        ci_provider=road_extra.get("ci_provider", _default(road, "ci_provider")),
        git_host=deps.git_host,
        api_document=(
            API_DOCUMENT if API_DOCUMENT in planned_files(app, {**common, **app_extra}) else ""
        ),
    )
    road.check_answers(platform)
    plan = NewServicePlan(
        request=request,
        app=app,
        road=road,
        app_answers={**common, **app_extra},
        road_answers={**common, **platform, **road_extra},
        destination=destination,
        repository=repository,
        resuming=resuming,
    )
    return _check_free(plan, deps)


def _check_free(plan: NewServicePlan, deps: NewServiceDeps) -> NewServicePlan:
    """Check what another paved may change at any moment: the folder, remote and catalog."""
    resuming = _check_destination(
        plan.destination, plan.request.name, plan.request.owner, plan.road, deps.data_dir
    )
    plan = dataclasses.replace(plan, resuming=resuming)
    if plan.request.register:  # the catalog (the platform) decides first
        _check_catalog_free(plan, deps)
        _check_backstage_free(plan, deps)
    else:  # the service is registered later: its owner is still one the platform knows
        _check_owner_known(plan, deps.catalog())
    _check_remote_free(plan, deps.githost() if plan.request.push else None)
    return plan


def _check_remote_free(plan: NewServicePlan, githost: GitHost | None) -> None:
    if githost is None:
        return
    name = plan.request.name
    if plan.request.remote is None and githost.exists(name) is False:
        return
    refs = Git().remote_refs(plan.repository)
    if not refs:
        return
    if plan.resuming:
        head = Git(plan.destination).head() if (plan.destination / ".git").exists() else None
        main = refs.get("refs/heads/main")
        if head and main and (main == head or Git(plan.destination).is_ancestor(main, head)):
            return
    if plan.request.remote is not None:
        raise ConflictError(
            f"repository {shown_url(plan.repository)} already exists and is not empty",
            hint="point --remote at an empty repository, or choose another service name",
        )
    raise ConflictError(
        f"repository {shown_url(plan.repository)} of service '{name}' already exists and is not "
        f"empty: a service called {name} was created before, in another folder than "
        f"{plan.destination}",
        hint=_taken_hint(name, plan.repository),
    )


def _taken_hint(name: str, repository: str | None = None) -> str:
    """What to do when the name is some earlier service's: see it, carry on with it (from its
    folder, or from a clone of its repository when the folder is gone), or not."""
    import shlex

    folder = "its folder"
    if repository:
        folder += f" (no longer there? get it back with git clone {shlex.quote(repository)})"
    return (
        f"see it with 'paved services show {name}'; to carry on with it, run the command "
        f"again with --dir set to {folder}; otherwise choose another name"
    )


def _service_of(plan: NewServicePlan, layers: tuple[LayerRef, ...], now: dt.datetime) -> Service:
    return Service(
        name=plan.request.name,
        owner=plan.request.owner,
        description=str(plan.road_answers["description"]),
        repository=without_credentials(plan.repository),  # git asks its credential helper
        layers=layers,
        created_at=now,
        catalog=_catalog_entry(plan),
    )


def _catalog_entry(plan: NewServicePlan) -> CatalogEntry:
    """The service's catalog entry: from its road answers file once rendered, else (a dry
    run) from the answers it will be rendered with, the road's defaults included."""
    answers = _read_answers(plan.destination, plan.road.answers_file)
    if answers is None:
        keys = {"lifecycle", "system", "api_definition", "resources"}
        defaults = {q.name: q.default for q in plan.road.questions if q.name in keys}
        answers = {**defaults, **plan.road_answers}
    try:
        return CatalogEntry.from_answers(answers)
    except ValueError as exc:
        raise InputError(
            f"the road answers of service '{plan.request.name}' are not a catalog entry: {exc}",
            hint=f"correct {plan.road.answers_file} in {plan.destination}",
        ) from None


def _check_owner_known(plan: NewServicePlan, catalog: Catalog) -> None:
    """A new service's owner is one of the teams the catalog knows, when it keeps any (the
    platform's teams, or the settings' ``[teams] names``), with ``--no-register`` too: the
    service is registered later, by the same rule."""
    known = catalog.teams()
    if known is not None:
        where = (
            f"of the platform {catalog.location}"
            if catalog.shared
            else "in the settings ([teams] names)"
        )
        if (problem := unknown_team(plan.request.owner, known, where)) is not None:
            raise InputError(problem)


def _check_catalog_free(plan: NewServicePlan, deps: NewServiceDeps) -> None:
    """Ask the catalog, before anything is made, whether this registration would be taken.

    The platform decides: it answers a dry run of the registration with the same checks
    as the real one (the user's team owns ``--owner``, the name is free and was never
    archived), so a refusal comes before the render, the commit and the push.
    """
    catalog = deps.catalog()
    if catalog.shared and is_local_repository(plan.repository):
        raise InputError(
            f"repository {shown_url(plan.repository)} is on this machine, where no one else in the "
            f"organisation can reach it, and the catalog {catalog.location} is the "
            "organisation's",
            hint="the platform team sets githost.remote in the platform settings (then run "
            "paved login again), or pass --remote URL",
        )
    existing = catalog.get(plan.request.name)
    if existing is None:
        _check_owner_known(plan, catalog)
    if existing is not None and not (
        plan.resuming
        and existing.owner == plan.request.owner
        and existing.repository == without_credentials(plan.repository)
    ):
        name = plan.request.name
        if existing.owner == plan.request.owner and existing.repository == without_credentials(
            plan.repository
        ):
            raise ConflictError(  # this very service, made before from another folder
                f"service '{name}' already exists: it is registered in the catalog "
                f"{catalog.location} (owner {existing.owner}, repository "
                f"{existing.repository}), and its folder is not {plan.destination}",
                hint=_taken_hint(name, existing.repository),
            )
        raise ConflictError(
            f"service '{name}' is already registered in the catalog {catalog.location} "
            f"(owner {existing.owner}, repository {existing.repository})",
            hint=f"see it with 'paved services show {name}', or choose another name",
        )
    catalog.register(_service_of(plan, plan.layers, deps.clock()), dry_run=True)


# -- doing -------------------------------------------------------------------------------


def _clean_stale_temp(parent: Path, name: str) -> None:
    if not parent.is_dir():
        return
    for leftover in parent.glob(f"{_TEMP_PREFIX}{name}.*"):
        shutil.rmtree(leftover, ignore_errors=True)


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _make_parents(path: Path) -> list[Path]:
    """Create the missing parents of ``path``; return them, deepest first, for cleanup."""
    made = []
    for parent in reversed(path.parents):
        if not parent.exists():
            parent.mkdir()
            made.append(parent)
    return list(reversed(made))


def _render(plan: NewServicePlan, deps: NewServiceDeps) -> str:
    from paved.scaffold.engine import render_layers  # imports copier

    destination = plan.destination
    if plan.resuming:
        return "already done"
    made = _make_parents(destination)
    _clean_stale_temp(destination.parent, plan.request.name)
    staging = Path(
        # "." cannot appear in a name, so one service's leftovers never match another's
        tempfile.mkdtemp(prefix=f"{_TEMP_PREFIX}{plan.request.name}.", dir=destination.parent)
    )
    try:
        staging.chmod(0o777 & ~_umask())  # mkdtemp makes it private; the service is not
        jobs = []
        for scaffold, answers in ((plan.app, plan.app_answers), (plan.road, plan.road_answers)):
            source = deps.store.source(scaffold)
            deps.progress(f"rendering {scaffold.layer.value} layer {scaffold.name} {source.ref}")
            jobs.append((source, answers))
        render_layers(jobs, staging, cache_dir=deps.cache_dir / "copier")
        staging.rename(destination)  # one rename: the folder is absent or whole
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        for parent in made:
            try:
                parent.rmdir()
            except OSError:
                break
        raise
    return "done"


def _recorded_layers(plan: NewServicePlan) -> tuple[LayerRef, ...]:
    """The layers as recorded in the service's answers files (the store's tags)."""
    refs = []
    for scaffold in (plan.app, plan.road):
        answers = _read_answers(plan.destination, scaffold.answers_file) or {}
        version = str(answers.get("_commit") or scaffold.version)
        refs.append(LayerRef(scaffold.layer.value, scaffold.name, version))
    return tuple(refs)


def _commit(plan: NewServicePlan, layers: tuple[LayerRef, ...]) -> tuple[str, str]:
    git = Git(plan.destination)
    if not (plan.destination / ".git").exists():
        git("init", "--quiet", "--initial-branch=main")
    elif (head := git.head()) is not None:
        return "already done", head
    git("add", "--all")
    described = "\n".join(f"{ref.layer} layer: {ref.scaffold} {ref.version}" for ref in layers)
    git(
        "commit",
        "--quiet",
        "--no-verify",
        "-m",
        f"Create {plan.request.name} on the paved road\n\n{described}",
    )
    head = git.head()
    assert head is not None
    return "done", head


def _push(plan: NewServicePlan, deps: NewServiceDeps, head: str) -> str:
    git = Git(plan.destination)
    created = False
    if plan.request.remote is None:
        host = deps.githost()
        created = host.exists(plan.request.name) is False
        host.create(plan.request.name)
    origin = git("remote", "get-url", "origin", check=False)
    if not origin:
        git("remote", "add", "origin", plan.repository)
        origin = plan.repository
    if not created:  # a repository made just now is empty: nothing to look at
        refs = git.remote_refs(plan.repository)
        main = refs.get("refs/heads/main")
        if main is not None:
            if main == head or git.is_ancestor(main, head):
                return "already done"
            raise ConflictError(
                f"repository {shown_url(plan.repository)} has a main branch that is not this "
                "service's",
                hint="point --remote at an empty repository",
            )
        if refs:
            raise ConflictError(f"repository {shown_url(plan.repository)} is not empty")
    target = "origin" if origin == plan.repository else plan.repository
    git.push(plan.repository, "--set-upstream", target, "main:main")
    return "done"


def _backstage_target(plan: NewServicePlan, backstage: Backstage) -> tuple[str | None, str]:
    """Where Backstage reads this service's catalog-info.yaml (:meth:`Backstage.file_url`), or
    ``None`` and the line saying why it is not registered there."""
    why = f"not registered in Backstage {shown_url(backstage.url)}: "
    if not plan.request.push:
        return None, (
            f"{why}--no-push: catalog-info.yaml is not in the repository yet; run the same "
            "command again without --no-push to push and register it"
        )
    target = backstage.file_url(plan.repository)
    if target is None:
        problem = repository_problem(plan.repository) or "cannot be read by Backstage"
        return None, f"{why}repository {shown_url(plan.repository)} {problem}"
    return target, ""


def _check_backstage_free(plan: NewServicePlan, deps: NewServiceDeps) -> None:
    """No other location in Backstage provides an entity the service's catalog-info.yaml will
    hold (its Component, API and Resources: Backstage would keep that one and only log a
    warning): a conflict, before anything is written. Nothing to check when it will not be
    registered there (``--no-push``, a repository Backstage cannot read)."""
    backstage = deps.backstage()
    if backstage is None:
        return
    target, _why = _backstage_target(plan, backstage)
    if target is not None:
        backstage.check_free(plan.request.name, target, _catalog_entry(plan))


def _register(
    plan: NewServicePlan, deps: NewServiceDeps, layers: tuple[LayerRef, ...]
) -> tuple[str, Service]:
    """Register the service in the catalog and in Backstage: Backstage's dry run and entity
    check first (a refusal leaves it registered nowhere), then the catalog, then Backstage."""
    backstage = deps.backstage()
    target, why = _backstage_target(plan, backstage) if backstage else (None, "")
    if why:
        deps.progress(why)
    new_in_backstage = False
    if backstage is not None and target is not None:
        new_in_backstage = backstage.check_location(target)
    stored, created = deps.catalog().register(_service_of(plan, layers, deps.clock()))
    if backstage is not None and target is not None and new_in_backstage:
        created = backstage.add_location(target) or created
    return ("done" if created else "already done"), stored


def create_service(plan: NewServicePlan, deps: NewServiceDeps) -> NewServiceResult:
    """Run the steps of ``plan``. Each step is skipped when an earlier run did it."""
    request = plan.request
    with file_lock(deps.locks_dir / f"service-{request.name}.lock"):
        # Another run may have finished while this one waited: check again under the lock.
        plan = _check_free(plan, deps)
        outcomes: list[StepOutcome] = []
        service: Service | None = None

        def run(step: Step, action: Callable[[], Any]) -> Any:
            deps.progress(f"{step.value}…")
            try:
                return action()
            except StepFailed:
                raise
            except PavedError as exc:
                raise StepFailed(step.value, exc) from exc

        outcomes.append(StepOutcome(Step.RENDER, run(Step.RENDER, lambda: _render(plan, deps))))
        layers = _recorded_layers(plan)
        status, head = run(Step.COMMIT, lambda: _commit(plan, layers))
        outcomes.append(StepOutcome(Step.COMMIT, status))
        if request.push:
            outcomes.append(StepOutcome(Step.PUSH, run(Step.PUSH, lambda: _push(plan, deps, head))))
        else:
            outcomes.append(StepOutcome(Step.PUSH, "skipped"))
        if request.register:
            status, service = run(Step.REGISTER, lambda: _register(plan, deps, layers))
            outcomes.append(StepOutcome(Step.REGISTER, status))
        else:
            outcomes.append(StepOutcome(Step.REGISTER, "skipped"))
    return NewServiceResult(plan, tuple(outcomes), layers, head, service)


def dry_run(plan: NewServicePlan, deps: NewServiceDeps) -> NewServiceResult:
    """What :func:`create_service` would do: each step ``planned`` or ``already done``.

    Looks at the same state the real run looks at, and writes nothing anywhere.
    """
    request = plan.request
    head = None
    if plan.resuming and (plan.destination / ".git").exists():
        head = Git(plan.destination).head()
    pushed = False
    if request.push and head is not None:
        main = Git().remote_refs(plan.repository).get("refs/heads/main")
        pushed = main is not None and (
            main == head or Git(plan.destination).is_ancestor(main, head)
        )
    service = deps.catalog().get(request.name) if request.register else None

    def state(done: bool, wanted: bool = True) -> str:
        return "skipped" if not wanted else "already done" if done else "planned"

    outcomes = (
        StepOutcome(Step.RENDER, state(plan.resuming)),
        StepOutcome(Step.COMMIT, state(head is not None)),
        StepOutcome(Step.PUSH, state(pushed, request.push)),
        StepOutcome(Step.REGISTER, state(service is not None, request.register)),
    )
    layers = _recorded_layers(plan) if plan.resuming else plan.layers
    return NewServiceResult(plan, outcomes, layers, head, service, planned=True)


def describe(result: NewServiceResult, *, files: list[str] | None = None) -> dict[str, Any]:
    """The documented JSON shape of a result (docs/schemas/new-service.schema.json)."""
    plan = result.plan
    data: dict[str, Any] = {
        "schema": "paved/new-service/v1",
        "status": result.status,
        "name": plan.request.name,
        "owner": plan.request.owner,
        "description": str(plan.road_answers["description"]),
        "path": str(plan.destination),
        "repository": without_credentials(plan.repository),
        "commit": result.commit,
        "layers": [ref.to_json() for ref in result.layers],
        "steps": [{"step": o.step.value, "status": o.status} for o in result.steps],
        "registered": result.service is not None,
    }
    if files is not None:
        data["files"] = files
    return data
