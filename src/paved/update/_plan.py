"""Planning an update: find the service, check its state and its recorded answers, choose the
versions. Writes nothing (the template store may be filled with shipped versions)."""

from __future__ import annotations

import dataclasses
import json
import re
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from paved.errors import ConflictError, InputError, PavedError
from paved.gitcmd import Git
from paved.models import CatalogEntry, LayerRef
from paved.repository_url import browse_url
from paved.scaffold.registry import Layer, Scaffold, load_scaffold
from paved.scaffold.store import STABLE_URL_PREFIX
from paved.service.layout import APP_ANSWERS, ROAD_ANSWERS, find_service, read_answers
from paved.service.road_answers import API_DOCUMENT, has_api_document, platform_answers
from paved.text import escaped, text_problem
from paved.update._model import LayerPlan, UpdateDeps, UpdatePlan, UpdateRequest
from paved.versions import Version

__all__ = [
    "STATE_FILE",
    "UpdateState",
    "check_clean",
    "definition",
    "git_of",
    "pending_update",
    "plan_update",
    "read_state",
    "service_root",
    "state_path",
    "versions",
]

#: The file, inside the service's git folder, that holds an update waiting for --continue.
STATE_FILE = "paved-update.json"
_ANSWERS_FILES = {Layer.APP: APP_ANSWERS, Layer.ROAD: ROAD_ANSWERS}
_SHOWN = 10


def git_of(root: Path, env: Mapping[str, str]) -> Git:
    return Git(root, env)


def state_path(git: Git) -> Path:
    """Where the update in progress is kept: ``.git/paved-update.json``."""
    return Path(git("rev-parse", "--absolute-git-dir")) / STATE_FILE


def service_root(path: Path) -> Path:
    root = find_service(path.resolve())
    if root is None:
        raise InputError(
            f"{path} is not inside a paved service (no {ROAD_ANSWERS} in it or above it)",
            hint="run paved update inside a service, or give its folder: paved update PATH",
        )
    return root


def _top(root: Path, git: Git) -> str:
    top = git("rev-parse", "--show-toplevel", check=False)
    if not top:
        raise InputError(
            f"{root} is not a git repository",
            hint="an update is a merge: it needs the service's git history",
        )
    if Path(top).resolve() != root:
        raise InputError(
            f"the service at {root} is not the top of its git repository ({top})",
            hint="paved update works on a repository that holds one service",
        )
    head = git.head()
    if head is None:
        raise InputError(f"{root} has no commit yet", hint="commit the service first")
    return head


def check_clean(root: Path, git: Git) -> None:
    """Refuse a work tree with uncommitted changes or untracked files (exit 2, files named)."""
    out = git("--no-optional-locks", "status", "--porcelain=v1", "-z", "--untracked-files=all")
    entries = [entry[3:] for entry in out.split("\0") if len(entry) > 3 and entry[2] == " "]
    if entries:
        shown = ", ".join(escaped(entry) for entry in entries[:_SHOWN])
        more = f" and {len(entries) - _SHOWN} more" if len(entries) > _SHOWN else ""
        raise InputError(
            f"{root} has uncommitted changes: {shown}{more}",
            hint="commit or stash them first, so that the update is a change of its own "
            "and --abort can restore exactly what was there",
        )


def _scaffold_of(
    answers: Mapping[str, Any], filename: str, layer: Layer, deps: UpdateDeps
) -> tuple[Scaffold, str]:
    """The scaffold the answers file names as its source, known to this paved, and the URL.

    The recorded ``_src_path`` is input: it must be a scaffold's stable URL (or the URL the
    settings give it). paved renders from its own store, never from a URL a repository names.
    A stable URL names the bundled scaffold even where the settings point its name elsewhere:
    an update never moves a service to another source.
    """
    src = answers.get("_src_path")
    for name, url in sorted(deps.registry.urls.items()):
        if src == url:
            return deps.registry.get(name, layer=layer), url
    known = {s.name: s for s in deps.registry.bundled() if s.layer is layer}
    if isinstance(src, str) and src.startswith(STABLE_URL_PREFIX):
        name = src.removeprefix(STABLE_URL_PREFIX).removesuffix(".git")
        if name in known and src == f"{STABLE_URL_PREFIX}{name}.git":
            return known[name], src
    shown = escaped(str(src)) if src is not None else "nothing"
    raise InputError(
        f"{filename}: _src_path is {shown}, which is not a {layer.value}-layer scaffold this "
        "paved knows",
        hint="known: "
        + ", ".join(
            [
                *(f"{STABLE_URL_PREFIX}{name}.git" for name in sorted(known)),
                *(url for _, url in sorted(deps.registry.urls.items())),
            ]
        )
        + " (an organisation's scaffold is known by the URL [scaffolds.NAME] url gives)",
    )


def definition(deps: UpdateDeps, scaffold: Scaffold, version: str) -> Scaffold:
    """``scaffold`` as its ``version`` defines it (questions, moves), read from the store
    (an organisation's scaffold: from its mirror)."""
    if version == scaffold.version:
        return scaffold
    if scaffold.url is not None:
        found = deps.store.organisation_scaffold(scaffold.name, scaffold.url, version)
        if found.layer is not scaffold.layer:
            raise InputError(
                f"{scaffold.url} {version} is not a {scaffold.layer.value}-layer scaffold"
            )
        return found
    repo = deps.store.repository(scaffold.name)
    git = Git(repo, {"GIT_DIR": str(repo)})
    with tempfile.TemporaryDirectory(prefix="paved-scaffold-") as tmp:
        for name in ("scaffold.yml", "copier.yml"):
            text = git("show", f"refs/tags/{version}:{name}")
            Path(tmp, name).write_text(text + "\n", encoding="utf-8")
        found = load_scaffold(Path(tmp))
    if found.name != scaffold.name or found.layer is not scaffold.layer:
        raise InputError(f"{scaffold.name} {version} in the template store names another scaffold")
    return found


def versions(
    deps: UpdateDeps, scaffold: Scaffold, *, wanted: tuple[str, ...] = ()
) -> tuple[list[str], str]:
    """The versions of ``scaffold`` in the template store, oldest first, and the one this
    paved bundles (the default target). Stores the shipped versions first.

    An organisation's scaffold: the versions its repository has (fetched once per run; when
    that fails, those fetched before, if they hold every version ``wanted``), and its newest.
    """
    if scaffold.url is not None:
        return deps.store.organisation_versions(scaffold.url, wanted=wanted), scaffold.version
    bundled = deps.store.ensure(scaffold)
    return deps.store.versions(scaffold.name), bundled


def _target(
    request: UpdateRequest, scaffold: Scaffold, current: str, known: list[str], bundled: str
) -> str:
    have = Version.parse(current)
    if have is None or current not in known:
        raise InputError(
            f"{scaffold.name} {escaped(current)} (the version the service records) is not in "
            "the template store",
            hint="a version this paved does not ship: upgrade paved, or check _commit in "
            f"{scaffold.answers_file}; shipped: {', '.join(known) or 'none'}",
        )
    if request.to is None:
        return bundled if not (Version.parse(bundled) or have) < have else current
    wanted = Version.parse(request.to)
    if wanted is None or request.to not in known:
        raise InputError(
            f"--to {escaped(request.to)}: {scaffold.name} has no such version",
            hint=f"versions: {', '.join(known)}",
        )
    if wanted < have:
        raise InputError(
            f"--to {request.to} is older than the service's {scaffold.name} {current}",
            hint="paved update only goes forward; git revert the update commit to go back",
        )
    return request.to


def _checked_answers(
    answers: Mapping[str, Any], filename: str, old: Scaffold, new: Scaffold
) -> dict[str, Any]:
    """The recorded answers, each checked by the rules of both versions' questions."""
    checked: dict[str, Any] = {}
    for key, value in answers.items():
        if not isinstance(key, str):
            raise InputError(f"{filename}: the key {escaped(str(key))!r} is not text")
        if key.startswith("_"):
            continue
        asked = [q for q in (old.question(key), new.question(key)) if q is not None]
        if not asked:
            raise InputError(
                f"{filename}: '{escaped(key)}' is not a question of {old.name} {old.version} "
                f"or {new.version}",
                hint="remove it from the answers file, or restore the file from git",
            )
        for question in asked:
            question.check(value, shown=f"{filename} {key}={escaped(repr(value))}")
        checked[key] = value
    return checked


def _layer(request: UpdateRequest, root: Path, layer: Layer, deps: UpdateDeps) -> LayerPlan:
    filename = _ANSWERS_FILES[layer]
    answers = read_answers(root, filename)
    scaffold, url = _scaffold_of(answers, filename, layer, deps)
    current = answers.get("_commit")
    if not isinstance(current, str) or Version.parse(current) is None:
        raise InputError(
            f"{filename}: _commit is {escaped(str(current))}, not a version",
            hint="restore the answers file from git",
        )
    wanted = (current,) if request.to is None else (current, request.to)
    target = _target(request, scaffold, current, *versions(deps, scaffold, wanted=wanted))
    if request.change is not None:
        target = current  # new answers at the version it has
    old, new = definition(deps, scaffold, current), definition(deps, scaffold, target)
    checked = _checked_answers(answers, filename, old, new)
    if request.change is None:
        return LayerPlan(layer, filename, new, url, current, target, checked)
    for key, value in request.change.answers.items():
        question = new.question(key)
        if question is None:
            raise InputError(
                f"{scaffold.name} {current}, the road layer of this service, has no "
                f"{escaped(key)} question",
                hint="paved update brings the service to the newest road first",
            )
        question.check(value, shown=f"{key}={escaped(repr(value))}")
    changes = dict(request.change.answers)
    return LayerPlan(layer, filename, new, url, current, target, checked, changes=changes)


def _recorded(root: Path, plans: tuple[LayerPlan, ...], deps: UpdateDeps) -> tuple[LayerRef, ...]:
    """Every layer of the service as the catalog will record it after the update."""
    planned = {plan.layer: plan for plan in plans}
    refs = []
    for layer in (Layer.APP, Layer.ROAD):
        if layer in planned:
            refs.append(planned[layer].ref)
            continue
        filename = _ANSWERS_FILES[layer]
        if not (root / filename).is_file():
            continue
        answers = read_answers(root, filename)
        src, version = str(answers.get("_src_path", "")), str(answers.get("_commit", ""))
        name = src.removeprefix(STABLE_URL_PREFIX).removesuffix(".git")
        named = [n for n, url in deps.registry.urls.items() if url == src]
        if named:
            name = named[0]
        if (src.startswith(STABLE_URL_PREFIX) or named) and Version.parse(version) is not None:
            refs.append(LayerRef(layer.value, name, version))
    return tuple(refs)


def plan_update(request: UpdateRequest, deps: UpdateDeps) -> UpdatePlan:
    """Check everything about ``request``; return the plan. Writes nothing to the service."""
    root = service_root(request.path)
    git = git_of(root, deps.env)
    head = _top(root, git)
    if state_path(git).exists():
        raise ConflictError(
            f"an update of {root} is waiting for its conflicts to be resolved",
            hint="resolve them, git add the files, then paved update --continue; "
            "or paved update --abort",
        )
    check_clean(root, git)
    if request.to is not None and len(request.layers) > 1:
        raise InputError("--to needs one layer", hint="add --layer road or --layer app")
    if request.change is not None and (request.to is not None or request.layers != (Layer.ROAD,)):
        raise InputError("changing road answers needs the road layer alone, at its version")
    plans = tuple(
        _layer(request, root, layer, deps)
        for layer in request.layers
        if layer is Layer.ROAD or (root / _ANSWERS_FILES[layer]).is_file()
    )
    road = read_answers(root, ROAD_ANSWERS)
    service = road.get("service_name")
    if not isinstance(service, str):
        raise InputError(f"{ROAD_ANSWERS}: service_name is missing")
    if request.record and not any(p.layer is Layer.ROAD and p.moves for p in plans):
        _check_catalog_entry(road)
    plans = _with_platform_answers(root, git, service, plans, deps)
    if not request.dry_run and any(plan.moves for plan in plans):
        Git(root).identity()
    return UpdatePlan(request, root, service, head, plans, _recorded(root, plans, deps))


def _check_catalog_entry(road: Mapping[str, Any]) -> None:
    """Refuse a road answers file whose catalog entry breaks the road's rules before anything
    is written: the road layer does not move, so the file is the one the catalog is told
    after the commit (a moving road's answers are checked by its questions' rules)."""
    try:
        CatalogEntry.from_answers(road)
    except ValueError as exc:
        raise InputError(
            f"{ROAD_ANSWERS} is not a catalog entry: {escaped(str(exc))}",
            hint="fix the answer, or restore the file from git",
        ) from None


def _ships(deps: UpdateDeps, plan: LayerPlan, name: str) -> bool:
    """Whether ``plan``'s target version renders ``name`` at the service's root."""
    scaffold = definition(deps, plan.scaffold, plan.target)
    files = (f"template/{name}", f"template/{name}.jinja")
    if scaffold.url is not None or plan.target == plan.scaffold.version:
        return any((scaffold.path / file).is_file() for file in files)
    repo = deps.store.repository(scaffold.name)
    git = Git(repo, {"GIT_DIR": str(repo)})
    return bool(git("ls-tree", "--name-only", f"refs/tags/{plan.target}", "--", *files))


def _repository(git: Git, service: str, deps: UpdateDeps) -> str:
    """Where the service's repository lives: its ``origin`` remote when that is one Backstage
    can browse, else the repository the catalog records (both input: only
    :func:`~paved.repository_url.browse_url`'s forms give a URL)."""
    origin = git("remote", "get-url", "origin", check=False)
    if browse_url(origin):
        return origin
    try:
        registered = deps.catalog().get(service)
    except PavedError:  # no catalog to ask: the entry then has no source location
        return ""
    return registered.repository if registered is not None else ""


def _with_platform_answers(
    root: Path, git: Git, service: str, plans: tuple[LayerPlan, ...], deps: UpdateDeps
) -> tuple[LayerPlan, ...]:
    """The plans, the moving road layer given the platform's answers for its target version:
    the recorded ``repository_url`` and ``git_host`` when not empty (else the service's remote
    and the settings), and ``api_definition`` from the app layer at its target version.
    Checked by the road's rules before anything is written."""
    road = next((p for p in plans if p.layer is Layer.ROAD and p.moves), None)
    if road is None:
        return plans
    questions = {q.name for q in road.scaffold.questions}
    if not questions & {"repository_url", "git_host", "api_definition"}:
        return plans
    app = next((p for p in plans if p.layer is Layer.APP and p.moves), None)
    document = _api_document(root, road.answers.get("api_definition"), deps, app)
    repository = ""
    if "repository_url" in questions and not road.answers.get("repository_url"):
        repository = _repository(git, service, deps)
    ci = road.scaffold.question("ci_provider")
    answers = platform_answers(
        questions,
        repository=repository,
        ci_provider=road.answers.get("ci_provider", ci.default if ci else None),
        git_host=deps.git_host,
        api_document=document,
        recorded=road.answers,
    )
    road.scaffold.check_answers(answers)
    shown = ", ".join(f"{key}={escaped(repr(value))}" for key, value in sorted(answers.items()))
    deps.progress(f"the platform's answers for {road.scaffold.name} {road.target}: {shown}")
    return tuple(dataclasses.replace(p, platform=answers) if p is road else p for p in plans)


def _api_document(root: Path, recorded: Any, deps: UpdateDeps, app: LayerPlan | None) -> str:
    """The API document the road's entity points at: the recorded one while the tree still
    holds it (a service may keep its document elsewhere), else the app layer's
    :data:`API_DOCUMENT` when the tree has it or the app's target version ships it, else none.
    The recorded answer was checked by the road's rules with the others."""
    if isinstance(recorded, str) and recorded and has_api_document(root, recorded):
        return recorded
    if has_api_document(root) or (app is not None and _ships(deps, app, API_DOCUMENT)):
        return API_DOCUMENT
    return ""


@dataclasses.dataclass(frozen=True)
class UpdateState:
    """An update stopped at conflicts, waiting for ``--continue`` or ``--abort``."""

    head: str
    service: str
    message: str
    #: The files the update changed, and those of them in conflict.
    paths: tuple[str, ...]
    conflicts: tuple[str, ...]
    layers: tuple[dict[str, str], ...]
    recorded: tuple[LayerRef, ...]

    def to_json(self) -> dict[str, Any]:
        return {
            "head": self.head,
            "service": self.service,
            "message": self.message,
            "paths": list(self.paths),
            "conflicts": list(self.conflicts),
            "layers": list(self.layers),
            "recorded": [ref.to_json() for ref in self.recorded],
        }


def _paths(value: Any) -> tuple[str, ...]:
    """Paths inside the service, as git spells them: never an option, a pathspec's magic or
    a way out of the repository."""
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise ValueError("not a list of paths")
    for path in value:
        parts = path.split("/")
        if not path or path[0] in "-:/" or ".." in parts or text_problem(path) is not None:
            raise ValueError(f"{escaped(path)!r} is not a path in the service")
    return tuple(value)


def _mappings(value: Any) -> tuple[dict[str, str], ...]:
    if not isinstance(value, list) or not all(
        isinstance(item, dict) and all(isinstance(v, str) for v in item.values()) for item in value
    ):
        raise ValueError("not a list of mappings")
    return tuple(value)


def read_state(path: Path) -> UpdateState:
    """The update in progress (written by paved, in the repository: read as input)."""
    hint = "git reset --hard to the commit before the update, then delete the file"
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(data, dict):
            raise ValueError("not a mapping")
        texts = [data.get(key) for key in ("head", "service", "message")]
        if not all(isinstance(text, str) for text in texts):
            raise ValueError("not an update")
        head, service, message = (str(text) for text in texts)
        if not re.fullmatch(r"[0-9a-f]{40,64}", head):
            raise ValueError("not a commit")
        recorded = tuple(
            LayerRef(item["layer"], item["scaffold"], item["version"])
            for item in _mappings(data.get("recorded", []))
        )
        return UpdateState(
            head,
            service,
            message,
            _paths(data.get("paths")),
            _paths(data.get("conflicts")),
            _mappings(data.get("layers", [])),
            recorded,
        )
    except (OSError, ValueError, KeyError) as exc:
        raise InputError(f"{path} cannot be read ({exc})", hint=hint) from None


def pending_update(root: Path, env: Mapping[str, str]) -> UpdateState | None:
    """The update of the service at ``root`` that stopped before its commit (at conflicts,
    or interrupted), or ``None``."""
    path = state_path(git_of(root, env))
    return read_state(path) if path.exists() else None
