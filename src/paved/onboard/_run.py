"""The checklist: doctor, a first service, a first deploy and, when asked, a production deploy.

Each step is an existing engine called as it is (``paved.doctor.diagnose``,
``paved.service.new``, ``paved.deploy``), so its rules are theirs. Each one is resumable on
its own; the state file only says which step to start from. A step is recorded ``started``
before it runs, ``finished`` or ``failed`` after, so a run killed mid-step runs that step
again, and the step picks up what the killed run made.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, Protocol, cast, runtime_checkable

from paved.catalog import OnboardingStatus, OnboardingStep
from paved.deploy import (
    DeployDeps,
    DeployRequest,
    Environment,
    execute,
    plan_deploy,
    resolve_environments,
)
from paved.doctor import Inputs, diagnose
from paved.errors import ConflictError, ExitCode, InputError, PavedError
from paved.names import check_name
from paved.onboard._names import derive_name, numbered
from paved.onboard._state import (
    DETAIL_LIMIT,
    STEPS,
    ServiceChoice,
    State,
    StepRecord,
    read_state,
    write_state,
)
from paved.service.new import NewServiceDeps, NewServiceRequest, create_service, plan_new_service
from paved.text import escaped

__all__ = [
    "SCHEMA",
    "STEP_TEXT",
    "Identity",
    "OnboardDeps",
    "OnboardRequest",
    "OnboardResult",
    "OnboardStepFailed",
    "OnboardingEvents",
    "StepView",
    "manifest_image",
    "onboard",
    "production_allowed",
]

SCHEMA = "paved/onboard/v1"

#: What each step does and why, as the person reads it before it runs.
STEP_TEXT: dict[str, tuple[str, str]] = {
    "doctor": (
        "checks this machine (git, the settings, the data folder, the catalog, the template "
        "store) and applies the safe fixes",
        "every later step needs them; doctor says how to fix what it cannot fix itself",
    ),
    "service": (
        "creates your first service {service} from the paved road: render, commit, push, register",
        "a service of your own to learn the road on, and the one the next steps deploy",
    ),
    "first-deploy": (
        "deploys {service} to {environment}, behind the guardrails",
        "to go down the whole road once: the gate, the manifests in the environment "
        "repository, the record in the catalog",
    ),
    "production-deploy": (
        "a guided first deploy of {service} to {production}, a protected environment",
        "your organisation asks new hires to ship to production once, through the full gate "
        "and never with break-glass",
    ),
}


@runtime_checkable
class OnboardingEvents(Protocol):
    """Where a step's start and end are sent: the platform's catalog
    (:class:`paved.catalog.ProductCatalog`)."""

    def onboarding_event(
        self, step: OnboardingStep, status: OnboardingStatus, detail: str = ""
    ) -> object: ...


@dataclasses.dataclass(frozen=True)
class Identity:
    """The git identity the person commits with (``user.email``, ``user.name``)."""

    email: str
    name: str


@dataclasses.dataclass(frozen=True)
class OnboardRequest:
    """What the person asked for, as typed."""

    name: str | None = None
    path: Path | None = None
    owner: str | None = None
    environment: str | None = None
    image: str | None = None
    skip_production: bool = False
    restart: bool = False
    dry_run: bool = False
    yes: bool = False


@dataclasses.dataclass(frozen=True)
class OnboardDeps:
    """The outside world the checklist works with; each engine gets its own deps."""

    state_file: Path
    clock: Callable[[], dt.datetime]
    doctor: Inputs
    new_service: NewServiceDeps
    deploy: DeployDeps
    identity: Callable[[], Identity]
    #: The owning team when --owner is not given (asked, or the person's only team).
    owner: Callable[[], str]
    #: The platform's settings (GET /v1/settings), or None without a platform.
    platform_settings: Callable[[], Mapping[str, Any]] | None = None
    events: OnboardingEvents | None = None
    #: Asks before the production deploy (question, details); False: declined.
    confirm: Callable[[str, list[tuple[str, str]]], bool] = lambda _q, _d: False
    #: Says what a step does and why (a person reads it on stderr).
    announce: Callable[[str], None] = lambda _message: None
    warn: Callable[[str], None] = lambda _message: None


class OnboardStepFailed(PavedError):
    """A step could not finish; its own error, or doctor's failing checks (exit 1)."""

    exit_code = ExitCode.FAILURE


@dataclasses.dataclass(frozen=True)
class StepView:
    name: str
    #: finished | failed | started | skipped | planned | not run
    status: str
    what: str
    why: str
    record: StepRecord | None

    def to_json(self) -> dict[str, Any]:
        record = self.record
        return {
            "step": self.name,
            "status": self.status,
            "what": self.what,
            "why": self.why,
            "started_at": record.to_json()["started_at"] if record else None,
            "finished_at": record.to_json()["finished_at"] if record else None,
            "detail": record.detail if record else "",
        }


@dataclasses.dataclass(frozen=True)
class OnboardResult:
    #: finished | failed | planned
    status: str
    dry_run: bool
    state_file: Path
    service: ServiceChoice | None
    environment: str | None
    production: str | None
    steps: tuple[StepView, ...]
    error: PavedError | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "schema": SCHEMA,
            "status": self.status,
            "dry_run": self.dry_run,
            "state_file": str(self.state_file),
            "service": self.service.to_json() if self.service else None,
            "environment": self.environment,
            "production_environment": self.production,
            "steps": [step.to_json() for step in self.steps],
        }


def _one_line(text: str) -> str:
    line = escaped(" ".join(text.split()))
    return line if len(line) <= DETAIL_LIMIT else line[: DETAIL_LIMIT - 1] + "\u2026"


class _Run:
    """One run of the checklist: the state as it goes, and what each step needs."""

    def __init__(self, request: OnboardRequest, deps: OnboardDeps, state: State) -> None:
        self.request = request
        self.deps = deps
        self.state = state
        self.environments: dict[str, Environment] | None = None

    # -- the record ----------------------------------------------------------------------

    def _save(self, state: State) -> None:
        self.state = state
        if not self.request.dry_run:
            write_state(self.deps.state_file, state)

    def _send(self, step: str, status: str, detail: str = "") -> None:
        events = self.deps.events
        if events is None or self.request.dry_run:
            return
        try:
            events.onboarding_event(
                cast("OnboardingStep", step), cast("OnboardingStatus", status), detail
            )
        except (PavedError, OSError) as exc:
            self.deps.warn(
                f"warning: the platform did not record onboarding step {step} {status} "
                f"({escaped(str(exc))}); carrying on"
            )

    def step(self, name: str, body: Callable[[], str]) -> None:
        started = self.deps.clock()
        self._save(self.state.with_step(name, StepRecord("started", started)))
        self._send(name, "started")
        try:
            detail = _one_line(body())
        except PavedError as exc:
            detail = _one_line(str(exc))
            self._save(self.state.with_step(name, StepRecord("failed", started, None, detail)))
            self._send(name, "failed", detail)
            raise
        finished = self.deps.clock()
        self._save(self.state.with_step(name, StepRecord("finished", started, finished, detail)))
        self._send(name, "finished", detail)

    def skip(self, name: str, why: str) -> None:
        now = self.deps.clock()
        self._save(self.state.with_step(name, StepRecord("skipped", now, now, _one_line(why))))
        self._send(name, "skipped", _one_line(why))

    # -- the choices ---------------------------------------------------------------------

    def service_choice(self) -> ServiceChoice:
        """The first service: the one chosen before, else --name or one from git."""
        chosen = self.state.service
        request = self.request
        if chosen is not None:
            if request.name is not None and request.name != chosen.name:
                raise InputError(
                    f"this onboarding already made the service {chosen.name}, "
                    f"not {escaped(request.name)}",
                    hint="leave --name out to carry on, or start again with --restart",
                )
            return chosen
        if request.name is not None:
            name = check_name(request.name, what="service")
        else:
            name = self._free(self._derived())
        owner = check_name(request.owner or self.deps.owner(), what="owner team")
        where = request.path if request.path is not None else Path(name)
        path = (self.deps.new_service.cwd / where).absolute()
        return ServiceChoice(name, owner, path)

    def _derived(self) -> str:
        identity = self.deps.identity()
        derived = derive_name(identity.email, identity.name)
        if derived is None:
            raise InputError(
                "no service name can be made from your git identity (user.email and user.name "
                "have no letters a-z)",
                hint="pass --name NAME (for example --name jane-first)",
            )
        return derived

    def _free(self, derived: str) -> str:
        """``derived``, or ``derived-2``...``-9`` when the catalog has a service of that name."""
        catalog = self.deps.new_service.catalog()
        for candidate in (derived, *(numbered(derived, n) for n in range(2, 10))):
            if catalog.get(candidate) is None:
                return candidate
        raise ConflictError(
            f"the service names {derived} and {derived}-2 to -9 (made from your git identity) "
            "are taken in the catalog",
            hint="pass --name NAME with a name of your own",
        )

    def _environment_map(self) -> dict[str, Environment]:
        if self.environments is None:
            settings = self.deps.deploy.settings
            self.environments = resolve_environments(settings, self.deps.deploy.data_dir)
        return self.environments

    def first_environment(self) -> str:
        environments = self._environment_map()
        if self.request.environment is not None:
            name = check_name(self.request.environment, what="environment")
            if name not in environments:
                raise InputError(
                    f"unknown environment '{name}'",
                    hint="known environments: " + ", ".join(environments),
                )
            if environments[name].protected:
                raise InputError(
                    f"{name} is a protected environment: the first deploy goes to one that is not",
                    hint="leave --environment out, or name an environment that is not protected",
                )
            return name
        for name, environment in environments.items():
            if not environment.protected:
                return name
        raise InputError(
            "every environment in the settings is protected: there is none for a first deploy",
            hint="pass --environment ENV after the platform team defines one that is not protected",
        )

    def production_environment(self) -> str | None:
        environments = self._environment_map()
        if "prod" in environments:
            return "prod"
        return next((n for n, e in environments.items() if e.protected), None)

    def production_skipped(self) -> str | None:
        """Why the production step does not run, or None when it does."""
        if self.request.skip_production:
            return "--skip-production"
        if self.deps.platform_settings is None:
            return "no platform: its settings decide whether onboarding guides a production deploy"
        if not production_allowed(self.deps.platform_settings()):
            return "the platform's settings do not ask for it (onboarding.production_deploy)"
        if self.production_environment() is None:
            return "no protected environment in the settings"
        return None

    # -- the steps -----------------------------------------------------------------------

    def doctor(self) -> str:
        report = diagnose(self.deps.doctor, fix=True, progress=self.deps.new_service.progress)
        for change in report.fixed:
            self.deps.announce(f"  fixed {change.check}: {change.change}")
        counts = report.counts()
        summary = ", ".join(f"{counts[s]} {s}" for s in ("ok", "warn", "fail", "skip"))
        failing = [r for r in report.results if r.status == "fail"]
        for result in failing:
            self.deps.announce(f"  FAIL {result.id}: {result.message}")
            if result.fix:
                self.deps.announce(f"    fix: {result.fix}")
        if failing:
            raise OnboardStepFailed(
                f"doctor: {len(failing)} check(s) fail ({', '.join(r.id for r in failing)})",
                hint="fix them as doctor says, then run paved onboard again",
            )
        fixed = f"; {len(report.fixed)} fixed" if report.fixed else ""
        return f"{report.status} ({summary}{fixed})"

    def service(self, choice: ServiceChoice) -> str:
        if self.state.service is None:
            self._save(dataclasses.replace(self.state, service=choice))
        plan = plan_new_service(self._new_request(choice), self.deps.new_service)
        result = create_service(plan, self.deps.new_service)
        return f"{choice.name} {result.status} in {choice.path} ({plan.repository})"

    def _new_request(self, choice: ServiceChoice) -> NewServiceRequest:
        settings = self.deps.deploy.settings
        return NewServiceRequest(
            name=choice.name,
            owner=choice.owner,
            template=settings.default_template,
            road_template=settings.road_template,
            destination=choice.path,
        )

    def deploy(self, choice: ServiceChoice, environment: str, image: str) -> str:
        deps = self.deps.deploy
        plan = plan_deploy(DeployRequest(choice.path, environment, image=image), deps)
        result = execute(plan, deps)
        record = result.deployment
        number = f" (deployment {record.id})" if record and record.id is not None else ""
        return f"{choice.name} {result.status} to {environment}{number}: {result.image}"

    def image_for(self, choice: ServiceChoice, environment: str | None) -> str:
        """--image; else the image last deployed to ``environment``; else the one the
        service's manifests name (the road's placeholder until CI builds one)."""
        if self.request.image is not None:
            return self.request.image
        if environment is not None:
            for record in reversed(self.deps.deploy.catalog().deployments(service=choice.name)):
                if record.environment == environment and record.outcome == "succeeded":
                    return record.image
        return manifest_image(choice.path)


_IMAGE_LINE = re.compile(r"^\s*(?:-\s*)?image:\s*(\S+)\s*$", re.MULTILINE)


def manifest_image(root: Path) -> str:
    """The one image ``k8s/base/deployment.yaml`` names (checked by the deploy when used)."""
    deployment = root / "k8s" / "base" / "deployment.yaml"
    try:
        text = deployment.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        text = ""
    images: set[str] = set(_IMAGE_LINE.findall(text))
    if len(images) != 1:
        raise InputError(
            f"no image to deploy: {escaped(str(deployment))} does not name exactly one image",
            hint="pass --image REGISTRY/NAME@sha256:DIGEST (the image CI built)",
        )
    return str(images.pop())


def production_allowed(settings: Mapping[str, Any]) -> bool:
    """``onboarding.production_deploy`` in the platform's settings: only ``true`` is yes."""
    onboarding = settings.get("onboarding")
    return isinstance(onboarding, Mapping) and onboarding.get("production_deploy") is True


def _fill(text: str, **values: str | None) -> str:
    return text.format(**{k: v or "?" for k, v in values.items()})


def onboard(request: OnboardRequest, deps: OnboardDeps) -> OnboardResult:
    """Run the checklist from where it stopped (from the start with ``restart``).

    A failing step is recorded and its error kept in the result; the steps after it do not
    run. With ``dry_run`` nothing is written or sent: the result says what each step would do.
    """
    state = State() if request.restart else read_state(deps.state_file)
    if request.restart and not request.dry_run:
        deps.state_file.unlink(missing_ok=True)
    run = _Run(request, deps, state)
    choice = run.service_choice() if not _finished(state, "service") else state.service
    if choice is None:  # a state with the service step finished also names the service
        raise InputError(
            f"the onboarding state {deps.state_file} has no service",
            hint="run paved onboard --restart",
        )
    environment = run.first_environment()
    production = run.production_environment()
    names = {"service": choice.name, "environment": environment, "production": production}
    error: PavedError | None = None
    planned: dict[str, str] = {}
    try:
        for name in STEPS:
            what, why = (_fill(text, **names) for text in STEP_TEXT[name])
            if _finished(run.state, name):
                deps.announce(f"{name}: done before ({run.state.steps[name].detail})")
                continue
            skipped = run.production_skipped() if name == "production-deploy" else None
            if request.dry_run:
                planned[name] = "skipped" if skipped else "planned"
                if name == "service":
                    plan_new_service(run._new_request(choice), deps.new_service)
                continue
            if skipped is not None:
                deps.announce(f"{name}: skipped ({skipped})")
                run.skip(name, skipped)
                continue
            deps.announce(f"{name}: {what}")
            deps.announce(f"  why: {why}")
            body = _body(run, name, choice, environment, production)
            run.step(name, body)
    except PavedError as exc:
        if request.dry_run:
            raise
        error = exc
    views = tuple(_view(name, run.state, planned, names) for name in STEPS)
    status = "planned" if request.dry_run else "failed" if error else "finished"
    return OnboardResult(
        status, request.dry_run, deps.state_file, choice, environment, production, views, error
    )


def _finished(state: State, name: str) -> bool:
    record = state.steps.get(name)
    return record is not None and record.status == "finished"


def _body(
    run: _Run, name: str, choice: ServiceChoice, environment: str, production: str | None
) -> Callable[[], str]:
    if name == "doctor":
        return run.doctor
    if name == "service":
        return lambda: run.service(choice)
    if name == "first-deploy":
        return lambda: run.deploy(choice, environment, run.image_for(choice, None))
    assert production is not None
    image = run.image_for(choice, environment)
    details = [
        ("service", choice.name),
        ("environment", f"{production} (protected)"),
        ("image", image),
        ("gate", "every guardrail, warnings included; a registered service; no break-glass"),
    ]
    for key, value in details:
        run.deps.announce(f"  {key}: {value}")
    if not run.request.yes and not run.deps.confirm(
        f"Deploy {choice.name} to {production}?", details
    ):
        raise InputError(
            f"not deployed: {choice.name} in {production} was not confirmed; nothing was changed",
            hint="run paved onboard again when you are ready, or --skip-production",
        )
    return lambda: run.deploy(choice, production, image)


def _view(
    name: str, state: State, planned: Mapping[str, str], names: Mapping[str, str | None]
) -> StepView:
    what, why = (_fill(text, **names) for text in STEP_TEXT[name])
    record = state.steps.get(name)
    status = planned.get(name) or (record.status if record else "not run")
    return StepView(name, status, what, why, record if name not in planned else None)
