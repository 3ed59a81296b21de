"""Deploy and roll back: plan, gate, render, apply, record — every attempt recorded."""

from __future__ import annotations

import dataclasses
import datetime as dt
import difflib
import re
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Literal

from paved.catalog import Catalog
from paved.config import Settings
from paved.deploy._environments import Environment, get_environment, resolve_environments
from paved.deploy._gate import GateResult, gate
from paved.deploy._gitops import (
    Change,
    EnvironmentRepository,
    catalog_key,
    restore_revision,
    service_path,
    write_manifests,
)
from paved.deploy._image import ImageRef, parse_image
from paved.deploy._journal import Claim, commits_of, settle_open
from paved.deploy._kubernetes import apply_kubernetes
from paved.deploy._render import check_overlay, find_kubectl, render
from paved.deploy._source import ServiceSource, read_service, source_commit
from paved.errors import AuthError, GuardrailBlocked, InputError, PavedError
from paved.gitcmd import Git
from paved.githost import same_repository
from paved.models import Deployment, Outcome, Service
from paved.names import check_name
from paved.service.layout import ROAD_ANSWERS
from paved.text import check_text, escaped

__all__ = [
    "DeployDeps",
    "DeployRefused",
    "DeployRequest",
    "DeployResult",
    "RollbackRequest",
    "deploy",
    "rollback",
    "settle",
]

Action = Literal["deploy", "rollback"]
_COMMIT = re.compile(r"[0-9a-f]{7,64}")


@dataclasses.dataclass(frozen=True)
class DeployRequest:
    """What the person asked for, as typed."""

    path: Path
    environment: str
    image: str | None = None
    dry_run: bool = False
    #: ``--break-glass --reason TEXT``: the reason, or None.
    break_glass: str | None = None


@dataclasses.dataclass(frozen=True)
class RollbackRequest:
    path: Path
    environment: str
    to: int | None = None
    dry_run: bool = False


@dataclasses.dataclass(frozen=True)
class DeployDeps:
    """The outside world a deploy works with; tests pass their own."""

    settings: Settings
    data_dir: Path
    catalog: Callable[[], Catalog]
    clock: Callable[[], dt.datetime]
    #: The process environment for the git and kubectl subprocesses (PATH, HOME, GIT_*).
    env: Mapping[str, str]
    progress: Callable[[str], None] = lambda _message: None
    #: Called between commit and push (attempt number): tests make another deploy win here.
    before_push: Callable[[int], None] | None = None
    #: Milliseconds per phase of the last run (gate, render, apply), for the benchmark.
    timings: dict[str, float] = dataclasses.field(default_factory=dict)


@dataclasses.dataclass(frozen=True)
class DeployResult:
    action: Action
    #: deployed | unchanged | planned | refused | rolled back
    status: str
    service: str
    environment: str
    target: str
    image: str
    deployment: Deployment | None
    findings: tuple[dict[str, Any], ...] = ()
    refusals: tuple[str, ...] = ()
    repository: str | None = None
    path: str | None = None
    diff: str | None = None

    def to_json(self) -> dict[str, Any]:
        """The documented shape (docs/schemas/deploy.schema.json)."""
        return {
            "schema": "paved/deploy/v1",
            "action": self.action,
            "status": self.status,
            "service": self.service,
            "environment": self.environment,
            "target": self.target,
            "image": self.image,
            "repository": self.repository,
            "path": self.path,
            "revision": self.deployment.revision if self.deployment else None,
            "deployment": self.deployment.to_json() if self.deployment else None,
            "findings": list(self.findings),
            "refusals": list(self.refusals),
            "diff": self.diff,
        }


class DeployRefused(GuardrailBlocked):
    """The gate refused the deploy (exit 3); carries the result with the findings."""

    def __init__(self, message: str, result: DeployResult, *, hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.result = result


# -- the record of one attempt ------------------------------------------------------------


class _Attempt:
    """The journal entry of one attempt: opened before its effect, closed after it.

    An attempt that ends before any effect (the gate refused, the overlay did not build) is
    recorded whole, once; one cancelled (Ctrl-C) before it is opened changed nothing and
    leaves no record. One that reaches its effect is opened as ``started`` first (with a
    platform, this is where the platform authorises it: nothing is pushed or applied after
    a refusal) and closed with the outcome; the environment commit carries its id. Whatever
    ends it after it was opened, the outcome is what the environment repository shows
    (docs/deploy.md, "Records are a journal"); a process killed outright leaves the entry
    open for the next reader to settle (:mod:`paved.deploy._journal`).
    """

    def __init__(
        self, deps: DeployDeps, destination: Environment, *, record: bool, **fields: Any
    ) -> None:
        self.deps = deps
        self.destination = destination
        self.enabled = record
        self.started = deps.clock()
        self.fields: dict[str, Any] = {"target": "gitops", "image": "", **fields}
        self.opened: Deployment | None = None
        self.recorded: Deployment | None = None
        #: The effect happened (pushed or applied): an interrupt after it is no failure.
        self.applied = False
        #: A push was tried: the change may have landed, whatever the error says.
        self.pushing = False
        self.claim: Claim | None = None
        #: The catalog's name in the environment commit (``Paved-Catalog``).
        self.catalog_key = catalog_key(deps.catalog().location)

    def set(self, **fields: Any) -> None:
        self.fields.update(fields)

    def start(self) -> int | None:
        """Open the entry; returns its id. The platform may refuse (AuthError)."""
        if not self.enabled:
            return None
        catalog = self.deps.catalog()
        self.claim = Claim(
            self.deps.data_dir, catalog.location, self.fields["service"], self.destination.name
        )
        self.claim.take(self.started, self.deps.progress)
        self.started = self.deps.clock()  # after any wait: the attempt runs from here
        self.opened = catalog.start_deployment(
            Deployment(**self.fields, started_at=self.started, finished_at=None, outcome="started")
        )
        assert self.opened.id is not None
        self.claim.opened(self.started, self.opened.id)
        return self.opened.id

    def record(self, outcome: Outcome, message: str) -> Deployment | None:
        if not self.enabled or self.recorded is not None:
            return self.recorded
        message = escaped(message)
        if self.opened is not None and self.opened.id is not None:
            self.recorded = self.deps.catalog().finish_deployment(
                self.opened.id,
                outcome=outcome,
                finished_at=self.deps.clock(),
                message=message,
                revision=self.fields.get("revision"),
                manifests=self.fields.get("manifests"),
            )
            if self.claim is not None:
                self.claim.closed()
            return self.recorded
        deployment = Deployment(
            **self.fields,
            started_at=self.started,
            finished_at=self.deps.clock(),
            outcome=outcome,
            message=message,
        )
        self.recorded = self.deps.catalog().record_deployment(deployment)
        return self.recorded

    @contextmanager
    def recording(self) -> Iterator[None]:
        """Record a failure (or a refusal) of whatever runs inside, then let it through."""
        try:
            yield
        except AuthError:
            if self.opened is not None:  # refused after opening: close it
                self._record_quietly("failed", "refused by the platform")
            raise  # refused before opening: nothing happened, and the platform audited it
        except GuardrailBlocked as exc:
            self._record_quietly("refused", str(exc))
            raise
        except (PavedError, KeyboardInterrupt) as exc:
            reason = "interrupted" if isinstance(exc, KeyboardInterrupt) else str(exc)
            if self.opened is not None:
                self._settle(reason)
            elif isinstance(exc, PavedError):
                self._record_quietly("failed", reason)
            raise
        finally:
            if self.claim is not None:
                self.claim.release()

    def _settle(self, reason: str) -> None:
        """Close an opened entry after a failure with what the environment really holds."""
        if self.applied:
            self._record_quietly("succeeded", f"{reason} after the change was made")
            return
        if self.destination.target != "gitops" or not self.pushing:
            self._record_quietly("failed", reason)
            return
        assert self.opened is not None
        assert self.opened.id is not None
        try:
            found = (
                commits_of(
                    self.destination, self.fields["service"], self.deps.env, self.catalog_key
                )
                or {}
            ).get(self.opened.id, [])
        except (PavedError, KeyboardInterrupt) as exc:
            self.deps.progress(
                f"warning: deployment {self.opened.id} stays open ({escaped(str(exc))}); "
                "paved settles it the next time it reads the records"
            )
            return
        if len(found) != 1 or found[0].image != self.fields["image"]:
            self._record_quietly("failed", reason)
        else:
            self.set(revision=found[0].revision)
            self._record_quietly("succeeded", f"{reason}, but the change had landed")

    def before_push(self, attempt: int) -> None:
        self.pushing = True
        if self.deps.before_push is not None:
            self.deps.before_push(attempt)

    def _record_quietly(self, outcome: Outcome, message: str) -> None:
        try:
            self.record(outcome, message)
        except PavedError as exc:  # the original error matters more; say this one too
            self.deps.progress(f"warning: the attempt could not be recorded: {exc}")


@contextmanager
def _timed(deps: DeployDeps, phase: str) -> Iterator[None]:
    start = time.perf_counter()
    try:
        yield
    finally:
        deps.timings[phase] = (time.perf_counter() - start) * 1000


def _diff(before: str, after: str, label: str) -> str:
    return "".join(
        difflib.unified_diff(
            before.splitlines(keepends=True),
            after.splitlines(keepends=True),
            f"a/{label}",
            f"b/{label}",
        )
    )


def _repository_of(root: Path, env: Mapping[str, str]) -> str:
    """Where this service repository is pushed (its ``origin``), else the folder itself."""
    origin = Git(root, env)("remote", "get-url", "origin", check=False)
    return origin.strip() or root.resolve().as_uri()


def _identity(source: ServiceSource, deps: DeployDeps) -> Service | None:
    """The catalog's entry of the service, checked against this repository and this user.

    A service's identity comes from the catalog, not from its files: the answers file may
    name any service, so a registered name must be registered with *this* repository (exit
    2 otherwise), and its owner must be one of the user's teams (exit 4 otherwise). An
    unregistered service is let through here; the gate keeps it out of protected
    environments.
    """
    catalog = deps.catalog()
    registered = catalog.get(source.name)
    if registered is None:
        return None
    here = _repository_of(source.root, deps.env)
    if not same_repository(registered.repository, here):
        raise InputError(
            f"{source.root / ROAD_ANSWERS}: service_name '{source.name}' is registered with "
            f"repository {registered.repository}, not with this one ({here})",
            hint="deploy a service from its own repository; a copy needs a name of its own "
            "(paved new service)",
        )
    caller = catalog.caller()
    if caller is not None and not caller.owns(registered.owner):
        raise AuthError(
            f"service '{source.name}' belongs to team {registered.owner}; "
            f"{caller.user} is not a member",
            hint="ask a member of the team to deploy it, or the platform team for access",
        )
    if caller is None and registered.owner != source.owner:
        raise AuthError(
            f"{source.root / ROAD_ANSWERS}: owner '{source.owner}' is not the owner the "
            f"catalog records for {source.name} ({registered.owner})",
            hint=f"restore 'owner: {registered.owner}' in the answers file",
        )
    return registered


def _prepare(
    deps: DeployDeps, path: Path, name: str, *, settle: bool
) -> tuple[Environment, ServiceSource, Service | None]:
    """The environment, the service and its catalog entry, every one checked; writes nothing.

    Everything here is input checking: a failure is the person's to fix, and no attempt
    is recorded for it.
    """
    check_name(name, what="environment")
    environment = get_environment(resolve_environments(deps.settings, deps.data_dir), name)
    source = read_service(path)
    if environment.target == "gitops" and environment.embedded and deps.catalog().shared:
        raise InputError(
            f"environment {environment.name} has no environment repository the organisation "
            "can see (the embedded one is on this machine)",
            hint="the platform team sets deploy.repository in the platform settings; "
            "then run paved login again",
        )
    registered = _identity(source, deps)
    if not settle:  # a dry run writes nothing, not even a settled record
        return environment, source, registered
    settle_open(
        deps.catalog(),
        {environment.name: environment},
        data_dir=deps.data_dir,
        env=deps.env,
        now=deps.clock(),
        progress=deps.progress,
        service=source.name,
        environment=environment.name,
    )
    return environment, source, registered


def settle(deps: DeployDeps, *, service: str | None = None, environment: str | None = None) -> int:
    """Settle the open records (of one service, one environment) against the environments.

    What every reader of the records runs first (``paved deployments list``; deploy and
    rollback do it for their own service and environment); returns how many it closed.
    """
    return settle_open(
        deps.catalog(),
        resolve_environments(deps.settings, deps.data_dir),
        data_dir=deps.data_dir,
        env=deps.env,
        now=deps.clock(),
        progress=deps.progress,
        service=service,
        environment=environment,
    )


# -- deploy -------------------------------------------------------------------------------


def deploy(request: DeployRequest, deps: DeployDeps) -> DeployResult:
    """Gate, render and apply one service to one environment, and record the attempt.

    First everything the person gave and everything read from the repository is checked,
    and the service's identity is taken from the catalog: a failure there is exit 2 or 4
    and records nothing. Then the attempt runs and is recorded whatever happens. With
    ``dry_run`` the same checks run and the diff is returned; nothing is written anywhere.
    """
    environment, source, registered = _prepare(
        deps, request.path, request.environment, settle=not request.dry_run
    )
    if request.break_glass is not None:
        if not request.break_glass.strip():
            raise InputError("--break-glass needs --reason TEXT saying why")
        check_text(request.break_glass, what="--reason", limit=500)
    kubectl = find_kubectl(deps.env)
    commit, committed_at = source_commit(source.root)
    if (source.overlay(environment.name) / "kustomization.yaml").is_file():
        check_overlay(source, environment.name)  # a missing overlay is render's to say
    image = _image(request.image, source, environment, deps)
    attempt = _Attempt(
        deps,
        environment,
        record=not request.dry_run,
        service=source.name,
        environment=environment.name,
        target=environment.target,
        image=str(image),
        source_commit=commit,
        source_time=committed_at,
        actor=escaped(Git(source.root, deps.env).identity()),
    )
    with attempt.recording():
        return _deploy(request, deps, attempt, environment, source, registered, kubectl, image)


def _deploy(
    request: DeployRequest,
    deps: DeployDeps,
    attempt: _Attempt,
    environment: Environment,
    source: ServiceSource,
    registered: Service | None,
    kubectl: str,
    image: ImageRef,
) -> DeployResult:
    from paved.guardrails import check  # loads the rules

    deps.progress(f"gate: guardrails over {source.root} for {environment.name}…")
    with _timed(deps, "gate"):
        report = check(source.root, today=deps.clock().date())
        verdict = gate(
            report,
            environment,
            service=source.name,
            registered=registered is not None,
            road_version=source.road_version,
            min_road_version=deps.settings.deploy_min_road_version,
            image=image,
            break_glass=request.break_glass,
        )
    attempt.set(findings=verdict.findings, break_glass=verdict.break_glass)
    result = DeployResult(
        action="deploy",
        status="planned",
        service=source.name,
        environment=environment.name,
        target=environment.target,
        image=str(image),
        deployment=None,
        findings=verdict.findings,
        refusals=verdict.refusals,
        repository=environment.repository if environment.target == "gitops" else None,
        path=service_path(environment.name, source.name)
        if environment.target == "gitops"
        else None,
    )
    _check_gate(verdict, result, environment, deps)

    deps.progress(f"render: k8s/overlays/{environment.name} with image {image}…")
    with _timed(deps, "render"):
        manifests = render(source, environment.name, image, kubectl=kubectl, env=deps.env)

    if request.dry_run:
        deployed = _deployed(environment, source.name, deps)
        label = result.path or f"{environment.context}/{source.name}"
        return dataclasses.replace(
            result, diff=_diff(deployed, manifests, f"{label}/manifests.yaml")
        )

    if environment.target == "kubernetes":
        attempt.set(manifests=manifests)
        attempt.start()
        with _timed(deps, "apply"):
            apply_kubernetes(
                kubectl, environment, manifests, source.name, env=deps.env, progress=deps.progress
            )
        attempt.applied = True
        status, revision = "deployed", None
    else:
        deployment_id = attempt.start()
        repo = EnvironmentRepository(
            environment.repository, embedded=environment.embedded, env=_git_env(deps)
        )
        deps.progress(f"push: {result.path} to {environment.repository}…")
        message = _message(
            f"Deploy {source.name} {image.version} to {environment.name}",
            attempt.fields,
            verdict.break_glass,
            deployment_id,
            attempt.catalog_key,
        )
        with _timed(deps, "push"):
            revision, changed = repo.publish(
                environment.name,
                source.name,
                write_manifests(environment.name, source.name, manifests),
                message,
                progress=deps.progress,
                before_push=attempt.before_push,
            )
        attempt.applied = True
        status = "deployed" if changed else "unchanged"
    attempt.set(revision=revision)
    done = f"{source.name} {image} {status} to {environment.name}"
    recorded = attempt.record("succeeded", done)
    return dataclasses.replace(result, status=status, deployment=recorded)


def _image(
    text: str | None, source: ServiceSource, environment: Environment, deps: DeployDeps
) -> ImageRef:
    if text is not None:
        return parse_image(text)
    for earlier in reversed(deps.catalog().deployments(service=source.name)):
        if earlier.environment == environment.name and earlier.outcome == "succeeded":
            return parse_image(earlier.image)
    raise InputError(
        f"no image to deploy: {source.name} was never deployed to {environment.name}",
        hint="pass --image REGISTRY/NAME@sha256:DIGEST (the image CI built)",
    )


def _check_gate(
    verdict: GateResult, result: DeployResult, environment: Environment, deps: DeployDeps
) -> None:
    if verdict.passed:
        for f in verdict.findings:
            if f["status"] == "open" and verdict.break_glass is None:
                where = f"{f['file']}:{f['line']}" if f["line"] else f["file"]
                deps.progress(f"gate: {f['severity']} {f['rule']} {where} {f['message']}")
        if verdict.break_glass is not None:
            deps.progress(
                f"gate: refused, but let through with --break-glass ({verdict.break_glass}); "
                "this is recorded"
            )
            for line in verdict.refusals:
                deps.progress(f"  {line}")
        return
    refused = dataclasses.replace(result, status="refused")
    count = len(verdict.refusals)
    hint = (
        "fix each finding (docs/guardrails.md) or waive it in .paved/waivers.yaml"
        if environment.protected
        else "fix each finding (docs/guardrails.md), waive it in .paved/waivers.yaml, or "
        "--break-glass --reason TEXT"
    )
    raise DeployRefused(
        f"deploy of {result.service} to {environment.name} refused by the gate "
        f"({count} reason{'s' if count != 1 else ''}: {verdict.refusals[0]}"
        + (", ..." if count > 1 else "")
        + ")",
        refused,
        hint=hint,
    )


def _deployed(environment: Environment, service: str, deps: DeployDeps) -> str:
    if environment.target == "kubernetes":
        for earlier in reversed(deps.catalog().deployments(service=service)):
            if earlier.environment == environment.name and earlier.outcome == "succeeded":
                return earlier.manifests or ""
        return ""
    repo = EnvironmentRepository(
        environment.repository, embedded=environment.embedded, env=_git_env(deps)
    )
    return repo.deployed(environment.name, service)


def _git_env(deps: DeployDeps) -> dict[str, str]:
    return dict(deps.env)


def _message(
    subject: str,
    fields: Mapping[str, Any],
    break_glass: str | None,
    deployment_id: int | None,
    catalog: str,
    extra: tuple[tuple[str, str], ...] = (),
) -> str:
    """The environment commit's message: a subject and ``Paved-*`` trailers.

    Every value was checked before (names, the image, the commit) or is escaped here (the
    actor's git identity, the break-glass reason), so none can add a line or a trailer.
    """
    trailers = [
        ("Paved-Service", fields["service"]),
        ("Paved-Environment", fields["environment"]),
        ("Paved-Image", fields["image"]),
        ("Paved-Source-Commit", fields["source_commit"] or "unknown"),
        ("Paved-Actor", escaped(fields["actor"])),
        *extra,
    ]
    if deployment_id is not None:
        trailers += [("Paved-Catalog", catalog), ("Paved-Deployment", str(deployment_id))]
    if break_glass is not None:
        trailers.append(("Paved-Break-Glass", escaped(" ".join(break_glass.split()))))
    return subject + "\n\n" + "\n".join(f"{key}: {value}" for key, value in trailers) + "\n"


# -- rollback -----------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class _Target:
    """What a rollback puts back, and the deployment it recovers from."""

    #: The deployment whose manifests come back (``None``: a commit no deploy made).
    restored: int | None
    image: str
    source_commit: str | None
    source_time: dt.datetime | None
    recovers: int | None
    #: gitops: the environment commit to restore; kubernetes: the manifests to apply.
    revision: str | None = None
    manifests: str | None = None


def _live_stack(history: list[Deployment]) -> list[Deployment]:
    """The succeeded deployments whose manifests are, in order, what the environment ran."""
    by_id = {d.id: d for d in history}
    stack: list[Deployment] = []
    for d in history:
        if d.outcome != "succeeded":
            continue
        if d.restored is None:
            # A redeploy of the same image from the same commit changed nothing: it is not a
            # new entry to roll back from (or rollback would "restore" what already runs).
            if stack and (stack[-1].image, stack[-1].source_commit) == (d.image, d.source_commit):
                continue
            stack.append(d)
            continue
        ids = [s.id for s in stack]
        if d.restored in ids:
            del stack[ids.index(d.restored) + 1 :]
        elif d.restored in by_id:
            stack.append(by_id[d.restored])
    return stack


def _nothing_to_restore(service: str, environment: Environment) -> InputError:
    return InputError(
        f"{service} has no successful deployment in {environment.name} to roll back to",
        hint=f"see paved deployments list --service {service} --env {environment.name}",
    )


def _no_earlier(service: str, environment: Environment, live: int | None) -> InputError:
    first = f"deployment {live} is the first" if live is not None else "it holds one version"
    return InputError(
        f"{service} has no earlier successful deployment in {environment.name} to roll "
        f"back to ({first})",
        hint="deploy the image you want with paved deploy --image",
    )


def _not_a_target(to: int, service: str, environment: Environment) -> InputError:
    return InputError(
        f"deployment {to} is not a successful deployment of {service} in {environment.name}",
        hint=f"see paved deployments list --service {service} --env {environment.name}",
    )


def _choose(
    history: list[Deployment], to: int | None, environment: Environment, service: str
) -> _Target:
    """The kubernetes target's choice: from the records, the only history it has."""
    stack = _live_stack(history)
    ran = [d for d in history if d.outcome in ("succeeded", "failed")]
    if not stack:
        raise _nothing_to_restore(service, environment)
    latest = ran[-1]
    applied_and_failed = (
        latest.outcome == "failed"
        and latest.target == "kubernetes"
        and latest.manifests is not None
        and latest.id is not None
        and stack[-1].id is not None
        and latest.id > stack[-1].id
    )
    live = latest if applied_and_failed else stack[-1]
    if to is not None:
        chosen = next((d for d in history if d.id == to), None)
        if chosen is None or chosen.outcome != "succeeded":
            raise _not_a_target(to, service, environment)
        if chosen.id == live.id:
            raise InputError(f"deployment {to} is what {environment.name} runs already")
    elif applied_and_failed:
        chosen = stack[-1]
    elif len(stack) < 2:
        raise _no_earlier(service, environment, live.id)
    else:
        chosen = stack[-2]
    return _Target(
        restored=chosen.id,
        image=chosen.image,
        source_commit=chosen.source_commit,
        source_time=chosen.source_time,
        recovers=live.id,
        manifests=chosen.manifests or "",
    )


def _change_stack(changes: list[Change]) -> list[Change]:
    """The commits whose manifests are, in order, what the environment ran: a deploy adds
    one, a rollback goes back to the one it restored, a removal clears them."""
    deploys = {
        (c.catalog, c.deployment): c
        for c in changes
        if c.deployment is not None and c.restored is None
    }
    stack: list[Change] = []
    for change in changes:
        if not change.present:
            stack.clear()
            continue
        if change.restored is not None:
            restored = (change.catalog, change.restored)
            ids = [(s.catalog, s.deployment) for s in stack]
            if restored in ids:
                del stack[ids.index(restored) + 1 :]
                continue
            change = deploys.get(restored, change)
        stack.append(change)
    return stack


def _choose_change(
    changes: list[Change],
    to: int | None,
    environment: Environment,
    service: str,
    history: list[Deployment],
    catalog: str,
) -> _Target:
    """The gitops target's choice: from the environment repository's own history, never
    from the records alone (a record may be missing or open; the commits are what ran)."""
    stack = _change_stack(changes)
    if not stack:
        raise _nothing_to_restore(service, environment)
    live = stack[-1]
    ours = {c.revision for c in changes if c.catalog == catalog}  # ids are this catalog's
    if to is not None:
        found = [
            c
            for c in changes
            if c.deployment == to and c.restored is None and c.present and c.revision in ours
        ]
        if not found:
            raise _not_a_target(to, service, environment)
        if len(found) > 1:
            raise InputError(
                f"the environment repository holds {len(found)} commits of deployment {to}",
                hint="see git log --grep 'Paved-Deployment' in the environment repository",
            )
        chosen = found[0]
        if chosen.revision == live.revision:
            raise InputError(f"deployment {to} is what {environment.name} runs already")
    elif len(stack) < 2:
        raise _no_earlier(service, environment, live.deployment)
    else:
        chosen = stack[-2]
    record = next(
        (d for d in history if chosen.revision in ours and d.id == chosen.deployment), None
    )
    image = chosen.image or (record.image if record is not None else None)
    if image is None:
        raise InputError(
            f"environment commit {chosen.revision[:12]} does not say which image it deployed",
            hint="choose another deployment with --to, or deploy the image with paved deploy",
        )
    return _Target(
        restored=chosen.deployment if chosen.revision in ours else None,
        image=image,
        source_commit=chosen.source_commit or (record.source_commit if record else None),
        source_time=record.source_time if record is not None else None,
        recovers=live.deployment if live.revision in ours else None,
        revision=chosen.revision,
    )


def rollback(request: RollbackRequest, deps: DeployDeps) -> DeployResult:
    """Restore the manifests of an earlier successful deployment, byte for byte, recorded.

    Checked like a deploy before anything runs; having nothing to roll back to is the
    person's error (exit 2), not a failed deployment.
    """
    environment, source, _registered = _prepare(
        deps, request.path, request.environment, settle=not request.dry_run
    )
    history = deps.catalog().deployments(service=source.name, environment=environment.name)
    if environment.target == "gitops":
        repository = EnvironmentRepository(
            environment.repository, embedded=environment.embedded, env=_git_env(deps)
        )
        changes = repository.history(environment.name, source.name)
        key = catalog_key(deps.catalog().location)
        target = _choose_change(changes, request.to, environment, source.name, history, key)
    else:
        target = _choose(history, request.to, environment, source.name)
    # The catalog's rows and the commits' trailers are input too: checked again here.
    restored_image = str(parse_image(target.image))
    if target.source_commit is not None and not _COMMIT.fullmatch(target.source_commit):
        raise InputError(f"deployment {target.restored} records a malformed source commit")
    attempt = _Attempt(
        deps,
        environment,
        record=not request.dry_run,
        service=source.name,
        environment=environment.name,
        target=environment.target,
        image=restored_image,
        source_commit=target.source_commit,
        source_time=target.source_time,
        actor=escaped(Git(source.root, deps.env).identity()),
        rollback_of=target.recovers,
        restored=target.restored,
    )
    with attempt.recording():
        return _rollback(request, deps, attempt, environment, source, history, target)


def _rollback(
    request: RollbackRequest,
    deps: DeployDeps,
    attempt: _Attempt,
    environment: Environment,
    source: ServiceSource,
    history: list[Deployment],
    target: _Target,
) -> DeployResult:
    folder = service_path(environment.name, source.name)
    what = (
        f"deployment {target.restored}"
        if target.restored is not None
        else f"environment commit {(target.revision or '')[:12]}"
    )
    result = DeployResult(
        action="rollback",
        status="planned",
        service=source.name,
        environment=environment.name,
        target=environment.target,
        image=target.image,
        deployment=None,
        repository=environment.repository if environment.target == "gitops" else None,
        path=folder if environment.target == "gitops" else None,
    )
    recovering = f", recovering from deployment {target.recovers}" if target.recovers else ""
    deps.progress(
        f"rollback: {source.name} in {environment.name} to {what} ({target.image}){recovering}…"
    )
    if environment.target == "kubernetes":
        manifests = target.manifests or ""
        if request.dry_run:
            current = next((d.manifests for d in reversed(history) if d.id == target.recovers), "")
            return dataclasses.replace(
                result, diff=_diff(current or "", manifests, f"{source.name}/manifests.yaml")
            )
        kubectl = find_kubectl(deps.env)
        attempt.set(manifests=manifests)
        attempt.start()
        apply_kubernetes(
            kubectl, environment, manifests, source.name, env=deps.env, progress=deps.progress
        )
        attempt.applied = True
        recorded = attempt.record("succeeded", f"rolled back to {what}")
        return dataclasses.replace(result, status="rolled back", deployment=recorded)

    assert target.revision is not None
    repo = EnvironmentRepository(
        environment.repository, embedded=environment.embedded, env=_git_env(deps)
    )
    if request.dry_run:
        with repo.checkout() as git:
            now = repo.read(git, environment.name, source.name)
            then = repo.read(git, environment.name, source.name, target.revision)
        return dataclasses.replace(
            result, diff=_diff(now + "\n" if now else "", then + "\n", f"{folder}/manifests.yaml")
        )
    deployment_id = attempt.start()
    trailers = [("Paved-Restored-Revision", target.revision)]
    if target.restored is not None:
        trailers.insert(0, ("Paved-Restored-Deployment", str(target.restored)))
    if target.recovers is not None:
        trailers.insert(0, ("Paved-Rollback-Of", str(target.recovers)))
    message = _message(
        f"Roll back {source.name} in {environment.name} to {what}",
        attempt.fields,
        None,
        deployment_id,
        attempt.catalog_key,
        tuple(trailers),
    )
    revision, changed = repo.publish(
        environment.name,
        source.name,
        restore_revision(target.revision, folder),
        message,
        progress=deps.progress,
        before_push=attempt.before_push,
    )
    attempt.applied = True
    attempt.set(revision=revision)
    recorded = attempt.record(
        "succeeded",
        f"{source.name} in {environment.name} rolled back to {what}"
        + ("" if changed else " (the manifests were already those)"),
    )
    return dataclasses.replace(result, status="rolled back", deployment=recorded)
