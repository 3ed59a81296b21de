"""Rolling a release across the fleet: the services from the catalog, in waves, in parallel.

The parent process chooses the services and the versions, keeps the roll-out's journal and
decides when the next wave starts; each service runs in a worker process of its own
(:func:`paved.fleet._work.run_job`), forked after copier is imported, so that one service's
failure, or a worker that dies, never stops the others.
"""

from __future__ import annotations

import concurrent.futures
import dataclasses
import datetime as dt
import json
import math
import multiprocessing
import os
import shutil
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

from paved.catalog import Catalog, RolloutCatalog, rollout_catalog
from paved.errors import AuthError, InputError, PavedError
from paved.fleet._model import FINAL, FleetRequest, Outcome, Status, wave_ends
from paved.fleet._work import Job, run_job
from paved.githost.change_requests import ChangeRequests
from paved.locks import file_lock
from paved.models import LayerRef, Service
from paved.names import name_problem
from paved.scaffold.registry import ScaffoldRegistry
from paved.text import escaped
from paved.update import UpdateDeps
from paved.versions import Version

__all__ = [
    "FleetRun",
    "Journal",
    "adoption",
    "fleet_plan",
    "fleet_status",
    "fleet_update",
    "record_merged",
    "refresh",
    "request_for",
    "rollouts",
]

#: Transports a repository URL from the catalog may use (no ext::, no fd::).
_PROTOCOLS = "file:git:http:https:ssh"


@dataclasses.dataclass(frozen=True)
class FleetRun:
    rollout: str
    outcomes: tuple[Outcome, ...]
    #: Why the roll-out stopped before its last wave, or None.
    stopped: str | None = None


class Journal:
    """The roll-out's journal: one JSON line per finished service, appended and synced, so
    that a roll-out killed at any moment knows, when run again, what it already did."""

    def __init__(self, folder: Path, rollout: str) -> None:
        self.path = folder / f"{rollout}.jsonl"

    def read(self) -> dict[str, Outcome]:
        found: dict[str, Outcome] = {}
        try:
            lines = self.path.read_text(encoding="utf-8").splitlines()
        except FileNotFoundError:
            return found
        for number, line in enumerate(lines, start=1):
            if not line.strip():
                continue
            try:
                outcome = Outcome.from_json(json.loads(line))
            except ValueError:
                if number == len(lines):
                    continue  # the last line, cut short by a kill: that service runs again
                raise InputError(
                    f"{self.path}:{number} is not a roll-out record",
                    hint="remove the file to start the roll-out afresh (remotes are checked "
                    "again: nothing is pushed twice)",
                ) from None
            found[outcome.service] = outcome
        return found

    def times(self) -> list[tuple[dt.datetime, Outcome]]:
        """Every record with the time it was written, oldest first (for time to patch)."""
        found = []
        try:
            lines = self.path.read_text(encoding="utf-8").splitlines()
        except FileNotFoundError:
            return []
        for line in lines:
            try:
                data = json.loads(line)
                found.append((dt.datetime.fromisoformat(data["at"]), Outcome.from_json(data)))
            except (ValueError, KeyError, TypeError):
                continue  # read() reports a damaged journal; times are only a summary
        return found

    def write(self, outcome: Outcome, at: dt.datetime) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        record = {"at": at.isoformat(), **outcome.to_json()}
        with self.path.open("a", encoding="utf-8") as handle:
            handle.write(json.dumps(record, ensure_ascii=False) + "\n")
            handle.flush()
            os.fsync(handle.fileno())


def _layer_of(service: Service, layer: str) -> tuple[str, str] | None:
    for ref in service.layers:
        if ref.layer == layer:
            return ref.scaffold, ref.version
    return None


def _targets(
    services: Sequence[Service], request: FleetRequest, registry: ScaffoldRegistry
) -> dict[str, str]:
    """The version each scaffold goes to: ``--to``, or the newest this paved has."""
    targets: dict[str, str] = {}
    for service in services:
        found = _layer_of(service, request.layer)
        if found is None or found[0] in targets:
            continue
        scaffold = found[0]
        if request.to is not None:
            if Version.parse(request.to) is None:
                raise InputError(f"--to {escaped(request.to)!r} is not a version")
            targets[scaffold] = request.to
            continue
        try:
            targets[scaffold] = registry.get(scaffold).version
        except InputError:
            continue  # a scaffold this paved does not know: those services fail, named
    return targets


def _jobs(
    services: Sequence[Service], request: FleetRequest, targets: dict[str, str], work: Path,
    *, plan_only: bool,
) -> list[Job]:  # fmt: skip
    jobs = []
    for service in services:
        scaffold, current = _layer_of(service, request.layer) or ("", "")
        if name_problem(service.name) is not None:  # never a path from a name the rule refuses
            raise InputError(
                f"the catalog holds a service named {escaped(service.name)!r}, which breaks "
                "the naming rule",
                hint="archive or rename it in the catalog, then run the roll-out again",
            )
        jobs.append(
            Job(
                service=service.name,
                owner=service.owner,
                repository=service.repository,
                scaffold=scaffold,
                current=current,
                target=targets.get(scaffold, ""),
                layer=request.layer,
                mode=request.mode,
                work=work / service.name,
                plan_only=plan_only,
            )
        )
    return jobs


#: What the forked workers use (set in the parent just before the pool forks them).
_WORKER_DEPS: UpdateDeps | None = None


def _work(job: Job) -> Outcome:
    assert _WORKER_DEPS is not None
    # copier's cache is one per worker process: two processes rendering one template in one
    # cache break each other's git worktrees
    deps = dataclasses.replace(
        _WORKER_DEPS, cache_dir=job.work.parent / ".cache" / str(os.getpid())
    )
    if not job.target:
        detail = f"no version to go to for scaffold '{job.scaffold}'"
        return job.outcome(Status.FAILED, detail=detail)
    return run_job(job, deps)


def _pool(jobs: Iterable[Job], deps: UpdateDeps, parallel: int) -> Iterable[tuple[Job, Outcome]]:
    """Run ``jobs`` in ``parallel`` worker processes; yield each as it finishes."""
    global _WORKER_DEPS  # read by the forked workers
    import copier  # noqa: F401 - imported once, before the workers fork

    _WORKER_DEPS = dataclasses.replace(
        deps,
        env={**deps.env, "GIT_ALLOW_PROTOCOL": _PROTOCOLS},
        progress=lambda _m: None,
        parallel_renders=False,  # the workers are the parallelism
    )
    context = multiprocessing.get_context("fork")
    jobs = list(jobs)
    try:
        with concurrent.futures.ProcessPoolExecutor(
            max_workers=parallel, mp_context=context
        ) as pool:
            futures = {pool.submit(_work, job): job for job in jobs}
            for future in concurrent.futures.as_completed(futures):
                job = futures[future]
                try:
                    yield job, future.result()
                except concurrent.futures.process.BrokenProcessPool:
                    yield job, job.outcome(Status.FAILED, detail="its worker process died")
    finally:
        for folder in {job.work.parent / ".cache" for job in jobs}:
            shutil.rmtree(folder, ignore_errors=True)


def _services(catalog: Catalog, request: FleetRequest) -> list[Service]:
    services = catalog.list(owner=request.owner, template=request.template)
    return [s for s in services if _layer_of(s, request.layer) is not None]


def fleet_plan(
    request: FleetRequest,
    catalog: Catalog,
    registry: ScaffoldRegistry,
    deps: UpdateDeps,
    work: Path,
    progress: Callable[[Outcome, int, int], None] = lambda _o, _i, _n: None,
) -> FleetRun:
    """Each service's current and target version and what an update would do (a dry run in
    a clone of it); nothing is pushed, committed or recorded."""
    services = _services(catalog, request)
    targets = _targets(services, request, registry)
    rollout = request.rollout_id(targets)
    jobs = _jobs(services, request, targets, work / f"plan-{rollout}", plan_only=True)
    outcomes = []
    for index, (_job, outcome) in enumerate(_pool(jobs, deps, request.parallel), start=1):
        outcomes.append(outcome)
        progress(outcome, index, len(jobs))
    return FleetRun(rollout, tuple(sorted(outcomes, key=lambda o: o.service)))


def fleet_update(
    request: FleetRequest,
    catalog: Catalog,
    registry: ScaffoldRegistry,
    deps: UpdateDeps,
    fleet_dir: Path,
    progress: Callable[[Outcome, int, int], None] = lambda _o, _i, _n: None,
    after: Callable[[Outcome], Outcome] = lambda outcome: outcome,
) -> FleetRun:
    """Roll the release out: wave after wave, each service in a clean clone, the journal
    written as each finishes. The same command run again carries on the same roll-out."""
    services = _services(catalog, request)
    _check_allowed(catalog, services)
    targets = _targets(services, request, registry)
    rollout = request.rollout_id(targets)
    platform = rollout_catalog(catalog)
    if platform is not None and targets:  # the platform records it, and decides first
        scaffold, version = sorted(targets.items())[0]
        platform.start_rollout(
            rollout, layer=request.layer, scaffold=scaffold, version=version,
            mode=request.mode.value,
        )  # fmt: skip
    journal = Journal(fleet_dir / "rollouts", rollout)
    with file_lock(fleet_dir / "rollouts" / f"{rollout}.lock"):
        done = journal.read()
        jobs = _jobs(services, request, targets, fleet_dir / "work" / rollout, plan_only=False)
        kept = {name: o for name, o in done.items() if o.status in FINAL}
        todo = [job for job in jobs if job.service not in kept]
        outcomes = dict(kept)
        stopped = None
        started = 0
        for end in wave_ends(request.waves, len(todo)):
            wave = todo[started:end]
            started = end
            for _job, outcome in _pool(wave, deps, request.parallel):
                outcome = after(outcome)
                journal.write(outcome, deps.clock())
                if platform is not None:
                    _record_on_platform(platform, rollout, outcome, deps.progress)
                outcomes[outcome.service] = outcome
                progress(outcome, len(outcomes), len(jobs))
            failures = sum(
                1 for o in outcomes.values() if o.status in (Status.FAILED, Status.REFUSED)
            )
            if (
                request.max_failures is not None
                and failures > request.max_failures
                and end < len(todo)
            ):
                stopped = (
                    f"stopped after {end} of {len(todo)} service(s): {failures} failure(s), "
                    f"more than --max-failures {request.max_failures}"
                )
                break
        for job in todo[started:]:
            outcomes.setdefault(job.service, job.outcome(Status.PENDING, detail="not started"))
        if platform is not None and stopped is None:
            platform.finish_rollout(rollout)
    return FleetRun(rollout, tuple(sorted(outcomes.values(), key=lambda o: o.service)), stopped)


def _check_allowed(catalog: Catalog, services: Sequence[Service]) -> None:
    """A member rolls out only their teams' services, an admin any: refused before anything."""
    caller = catalog.caller()
    if caller is None:  # a catalog without users (the local one): this machine's own
        return
    others = sorted(s.name for s in services if not caller.owns(s.owner))
    if others:
        shown = ", ".join(others[:5]) + (f" and {len(others) - 5} more" if len(others) > 5 else "")
        raise AuthError(
            f"{len(others)} service(s) belong to teams {caller.user} is not in: {shown}",
            hint="add --owner TEAM for one of your teams, or ask an admin to roll it out",
        )


def _record_on_platform(
    platform: RolloutCatalog, rollout: str, outcome: Outcome, warn: Callable[[str], None]
) -> None:
    """The platform's record of one service's result. A failure to record it never undoes
    what was pushed: the journal has it, and the warning says so."""
    try:
        platform.record_rollout_service(
            rollout, outcome.service, status=outcome.status.value,
            detail=outcome.detail or ", ".join(outcome.conflicts), branch=outcome.branch,
        )  # fmt: skip
    except PavedError as exc:
        warn(f"warning: {outcome.service}: the platform did not record its result ({exc})")


def rollouts(fleet_dir: Path) -> list[str]:
    """The roll-outs this machine ran, the newest last."""
    folder = fleet_dir / "rollouts"
    if not folder.is_dir():
        return []
    files = sorted(folder.glob("*.jsonl"), key=lambda p: p.stat().st_mtime)
    return [path.stem for path in files]


def record_merged(catalog: Catalog, outcome: Outcome, layer: str) -> str:
    """Record in the catalog the layer version a service's default branch now holds."""
    service = catalog.get(outcome.service)
    if service is None:
        return "not registered"
    layers = tuple(
        LayerRef(ref.layer, ref.scaffold, outcome.target) if ref.layer == layer else ref
        for ref in service.layers
    )
    if layers == service.layers:
        return "unchanged"
    catalog.record_layers(outcome.service, layers)
    return "recorded"


def request_for(requests: ChangeRequests, outcome: Outcome, repository: str, layer: str) -> Outcome:
    """Open (or find) the pull or merge request of a pushed branch; the outcome with it.

    A ready update becomes ``pr-open``; a conflicted one stays conflicted, its request named.
    """
    if outcome.branch is None or outcome.status not in (Status.READY, Status.CONFLICTED):
        return outcome
    counts = ", ".join(f"{k} {v}" for k, v in sorted(outcome.counts.items()) if k != "unchanged")
    title = f"Update the {layer} layer to {outcome.scaffold} {outcome.target}"
    body = (
        f"{outcome.scaffold} {outcome.current} -> {outcome.target}, by paved fleet update "
        f"(branch {outcome.branch}).\n\nFiles: {counts or 'none'}.\n"
    )
    if outcome.conflicts:
        body += (
            "\nThe update could not be merged without a person: resolve the conflict markers "
            "in\n\n" + "".join(f"- `{escaped(path)}`\n" for path in outcome.conflicts)
        )
    else:
        body += "\nThe guardrails passed on the updated service.\n"
    made = requests.open(repository, outcome.branch, outcome.base or "main", title, body)
    status = Status.PR_OPEN if outcome.status is Status.READY else outcome.status
    return dataclasses.replace(outcome, status=status, request=made.url)


def _default_branch_version(repository: str, layer: str, env: dict[str, str], work: Path) -> str:
    from paved.gitcmd import Git
    from paved.service.layout import APP_ANSWERS, ROAD_ANSWERS, read_answers

    shutil.rmtree(work, ignore_errors=True)
    Git(env=env).clone(repository, work, "--depth", "1", "--single-branch")
    answers = read_answers(work, ROAD_ANSWERS if layer == "road" else APP_ANSWERS)
    shutil.rmtree(work, ignore_errors=True)
    return str(answers.get("_commit", ""))


def refresh(
    run: FleetRun,
    catalog: Catalog,
    deps: UpdateDeps,
    fleet_dir: Path,
    layer: str,
) -> FleetRun:
    """Look at each pushed service's default branch: one that holds the update is merged
    (journaled, and its new version recorded in the catalog)."""
    journal = Journal(fleet_dir / "rollouts", run.rollout)
    waiting = [
        o for o in run.outcomes if o.status in (Status.READY, Status.PR_OPEN, Status.CONFLICTED)
    ]
    repositories = {s.name: s.repository for s in catalog.list()}
    env = {**deps.env, "GIT_ALLOW_PROTOCOL": _PROTOCOLS}

    def look(outcome: Outcome) -> Outcome:
        repository = repositories.get(outcome.service)
        if repository is None:
            return outcome
        work = fleet_dir / "status" / run.rollout / outcome.service
        try:
            have = Version.parse(_default_branch_version(repository, layer, env, work))
        except (PavedError, OSError):
            return outcome  # unreachable now: keep what is known
        want = Version.parse(outcome.target)
        if have is None or want is None or have < want:
            return outcome
        return dataclasses.replace(
            outcome, status=Status.MERGED, detail="the default branch holds it"
        )

    updated = {o.service: o for o in run.outcomes}
    with concurrent.futures.ThreadPoolExecutor(max_workers=4) as pool:
        for outcome in pool.map(look, waiting):
            if outcome.status is Status.MERGED:
                journal.write(outcome, deps.clock())
                record_merged(catalog, outcome, layer)
            updated[outcome.service] = outcome
    return FleetRun(run.rollout, tuple(sorted(updated.values(), key=lambda o: o.service)))


def adoption(fleet_dir: Path, rollout: str) -> dict[str, object]:
    """Time to patch, as this machine saw it: from the roll-out's first record to each
    service's merge, median and 90th percentile, in seconds."""
    times = Journal(fleet_dir / "rollouts", rollout).times()
    if not times:
        return {"services": 0, "merged": 0, "median_seconds": None, "p90_seconds": None}
    start = times[0][0]
    merged: dict[str, float] = {}
    for at, outcome in times:
        if outcome.status is Status.MERGED and outcome.service not in merged:
            merged[outcome.service] = (at - start).total_seconds()
    services = {outcome.service for _, outcome in times}
    values = sorted(merged.values())

    def quantile(q: float) -> float | None:
        if not values:
            return None
        return values[min(len(values) - 1, max(0, math.ceil(q * len(values)) - 1))]

    return {
        "services": len(services),
        "merged": len(values),
        "median_seconds": quantile(0.5),
        "p90_seconds": quantile(0.9),
    }


def fleet_status(fleet_dir: Path, rollout: str | None) -> FleetRun:
    """A roll-out's services as its journal records them (the newest roll-out by default)."""
    known = rollouts(fleet_dir)
    if rollout is None:
        if not known:
            raise InputError("no roll-out has run on this machine", hint="paved fleet update")
        rollout = known[-1]
    if rollout not in known:
        raise InputError(
            f"no roll-out '{escaped(rollout)}' on this machine",
            hint="known: " + (", ".join(known[-5:]) or "none"),
        )
    found = Journal(fleet_dir / "rollouts", rollout).read()
    return FleetRun(rollout, tuple(sorted(found.values(), key=lambda o: o.service)))
