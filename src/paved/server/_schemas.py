"""The API's request and response bodies. Requests refuse unknown fields and bound every size."""

from __future__ import annotations

import datetime as dt
import math
from typing import Annotated, Any, Literal, Self

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    ValidationInfo,
    model_serializer,
    model_validator,
)

from paved.catalog import layers_problem
from paved.models import (
    RESOURCE_KINDS,
    RESOURCE_NAME_MAX,
    ROLLOUT_ID_SCHEMA_PATTERN,
    CatalogEntry,
    DataResource,
    LayerRef,
    RolloutMode,
    RolloutStatus,
)
from paved.names import MAX_LENGTH, MIN_LENGTH, NAME_SCHEMA_PATTERN, name_problem
from paved.repository_url import clone_problem
from paved.text import text_problem
from paved.versions import VERSION_SCHEMA_PATTERN

__all__ = [
    "AdoptionOut",
    "AuditEventOut",
    "AuditPage",
    "CatalogEntryIn",
    "DataResourceIn",
    "DeliveryOut",
    "DeliveryServiceMetrics",
    "DeploymentFinishIn",
    "DeploymentIn",
    "DeploymentOut",
    "DeploymentPage",
    "ErrorBody",
    "GateReportIn",
    "GateReportOut",
    "IncidentIn",
    "IncidentList",
    "IncidentOut",
    "LayerIn",
    "LayersIn",
    "MetricsOut",
    "OnboardingEventIn",
    "OnboardingEventOut",
    "OnboardingOut",
    "PatchingOut",
    "PlatformSettingsOut",
    "ResourceRequestCloseIn",
    "ResourceRequestIn",
    "ResourceRequestOut",
    "RolloutDetailOut",
    "RolloutIn",
    "RolloutOut",
    "RolloutPage",
    "RolloutServiceIn",
    "RolloutServiceOut",
    "ScaffoldOut",
    "ServiceIn",
    "ServiceOut",
    "ServicePage",
    "ServiceResourcesOut",
    "TeamIn",
    "TeamList",
    "TeamOut",
    "VersionAdoptionOut",
    "WeekMetrics",
    "WhoamiOut",
]

NAME_REGEX = NAME_SCHEMA_PATTERN
ROLLOUT_ID_REGEX = ROLLOUT_ID_SCHEMA_PATTERN
MAX_ID = 2**31 - 1


def _name(value: str) -> str:
    problem = name_problem(value)
    if problem is not None:
        raise ValueError(f"name {problem}")
    return value


def _storable(value: str) -> str | None:
    """Why neither SQLite nor PostgreSQL can keep ``value``, or ``None``."""
    if "\x00" in value:
        return "must not contain NUL characters"
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return "must be valid Unicode (no lone surrogates)"
    return None


def _text(value: str) -> str:
    if (problem := _storable(value)) is not None:
        raise ValueError(problem)
    return value


def _line(value: str, info: ValidationInfo) -> str:
    """Free text is one line of visible text (``paved.text``: no control characters, no
    bidirectional overrides or isolates, no line separators), as on the command line."""
    if (problem := text_problem(value)) is not None:
        raise ValueError(f"{info.field_name or 'text'} {problem}")
    return value


def _repository(value: str) -> str:
    if (problem := clone_problem(value)) is not None:
        raise ValueError(problem)
    return value


def _json_storable(value: Any, depth: int = 0) -> None:
    if depth > 20:
        raise ValueError("nested more than 20 levels deep")
    if isinstance(value, str):
        _text(value)
    elif isinstance(value, float) and not math.isfinite(value):
        raise ValueError("numbers must be finite")
    elif isinstance(value, dict):
        for key, item in value.items():
            _text(key)
            _json_storable(item, depth + 1)
    elif isinstance(value, list):
        for item in value:
            _json_storable(item, depth + 1)


def _findings(value: list[dict[str, Any]]) -> list[dict[str, Any]]:
    _json_storable(value)
    return value


def _utc(value: dt.datetime) -> dt.datetime:
    try:
        return value.astimezone(dt.UTC)
    except OverflowError as exc:
        raise ValueError("datetime out of range") from exc


Name = Annotated[
    str,
    Field(min_length=MIN_LENGTH, max_length=MAX_LENGTH, pattern=NAME_REGEX),
    AfterValidator(_name),
]
Token = Annotated[str, Field(min_length=1, max_length=100, pattern=VERSION_SCHEMA_PATTERN)]


def _bounded(max_length: int, min_length: int = 0) -> Any:
    return Field(min_length=min_length, max_length=max_length)


Text200 = Annotated[str, _bounded(200), AfterValidator(_line)]
Text500 = Annotated[str, _bounded(500), AfterValidator(_line)]
Text2000 = Annotated[str, _bounded(2000), AfterValidator(_line)]
Repository = Annotated[str, _bounded(500, 1), AfterValidator(_line), AfterValidator(_repository)]
#: Rendered YAML: many lines, so only what no database can keep is refused.
Manifests = Annotated[str, _bounded(500_000), AfterValidator(_text)]
Revision = Annotated[str, Field(pattern=r"^[0-9a-f]{7,64}$")]


Stamp = Annotated[AwareDatetime, AfterValidator(_utc)]
RowId = Annotated[int, Field(ge=1, le=MAX_ID)]


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ErrorBody(BaseModel):
    """Every 4xx and 5xx answer: a stable code and one line for people."""

    error: str
    message: str
    detail: list[dict[str, Any]] | None = None


class LayerIn(_In):
    layer: Name
    scaffold: Token
    version: Token


def _layers(value: list[LayerIn]) -> list[LayerIn]:
    refs = [LayerRef(x.layer, x.scaffold, x.version) for x in value]
    if (problem := layers_problem(refs)) is not None:
        raise ValueError(problem)
    return value


ResourceChoice = Literal["s3-read", "sqs-send", "dynamodb-rw", "secret-read"]
assert set(ResourceChoice.__args__) == set(RESOURCE_KINDS)  # type: ignore[attr-defined]


#: How many data resources one service may have (far more than any service needs).
MAX_DATA_RESOURCES = 50


class DataResourceIn(_In):
    """One entry of the road's ``data_resources`` answer: a database (``engine``, ``size``),
    a bucket (no options) or a queue (``dead_letter``). An option of another kind is refused;
    one not given takes its default. Answered with every option of its kind, none other."""

    kind: Literal["database", "bucket", "queue"]
    name: Annotated[str, Field(min_length=2, max_length=RESOURCE_NAME_MAX, pattern=NAME_REGEX)]
    engine: Literal["postgres", "mysql"] | None = None
    size: Literal["small", "medium", "large"] | None = None
    dead_letter: StrictBool | None = None

    @model_validator(mode="after")
    def _road_rules(self) -> Self:
        self.resource()  # DataResource checks the road's rules (data_resource_problem)
        return self

    model_config = ConfigDict(extra="forbid", frozen=True, json_schema_mode_override="validation")

    @model_serializer(mode="plain")
    def _answer(self) -> dict[str, Any]:
        # The answer as the road keeps it: every option of the kind, no other key.
        return self.resource().to_answer()

    def resource(self) -> DataResource:
        """The entry as :class:`paved.models.DataResource` (a :class:`ValueError` if it breaks
        the road's rules)."""
        given = {key: getattr(self, key) for key in ("engine", "size", "dead_letter")}
        return DataResource.from_answer(
            {"kind": self.kind, "name": self.name}
            | {key: value for key, value in given.items() if value is not None}
        )

    @classmethod
    def of(cls, resource: DataResource) -> DataResourceIn:
        return cls(**resource.to_answer())


class CatalogEntryIn(_In):
    """The service's catalog entry: its road layer's ``lifecycle``, ``system``,
    ``api_definition``, ``resources`` and ``data_resources`` answers, checked by the road's
    own rules (each data resource's name once)."""

    lifecycle: Literal["experimental", "production", "deprecated"] = "production"
    system: Annotated[str, Field(max_length=63)] = ""
    api_definition: Annotated[str, Field(max_length=200)] = ""
    resources: Annotated[list[ResourceChoice], Field(max_length=len(RESOURCE_KINDS))] = Field(
        default_factory=list
    )
    #: What ``paved add`` made, in the order added (an older client sends none).
    data_resources: Annotated[list[DataResourceIn], Field(max_length=MAX_DATA_RESOURCES)] = Field(
        default_factory=list
    )

    @model_validator(mode="after")
    def _road_rules(self) -> Self:
        self.entry()  # CatalogEntry checks the road's rules (catalog_entry_problem)
        return self

    def entry(self) -> CatalogEntry:
        """The entry as :class:`paved.models.CatalogEntry` (a :class:`ValueError` if it
        breaks the road's rules)."""
        return CatalogEntry(
            self.lifecycle,
            self.system,
            self.api_definition,
            tuple(self.resources),
            tuple(x.resource() for x in self.data_resources),
        )

    @classmethod
    def of(cls, entry: CatalogEntry) -> CatalogEntryIn:
        return cls(**entry.to_json())


class LayersIn(_In):
    """The layers a service has now (``paved update`` committed them): they replace the
    stored ones. Each layer once, at a version paved can compare (such as ``1.4.0``).
    With ``catalog``, the service's catalog entry is replaced too; without it (an older
    client), the stored entry is kept, and a ``catalog`` without ``data_resources`` (a
    client from before them) keeps the stored data resources."""

    layers: Annotated[list[LayerIn], Field(min_length=1, max_length=10), AfterValidator(_layers)]
    catalog: CatalogEntryIn | None = None


class ServiceIn(_In):
    """A registration. Without ``catalog`` (an older client) the service gets the default
    entry: ``production``, no System, no API, no Resources."""

    name: Name
    owner: Name
    description: Text500 = ""
    repository: Repository
    layers: list[LayerIn] = Field(default_factory=list, max_length=10)
    catalog: CatalogEntryIn = Field(default_factory=lambda: CatalogEntryIn())


class ServiceOut(BaseModel):
    #: Frozen: the store shares one answer between requests (built once per stored row).
    model_config = ConfigDict(frozen=True)

    name: str
    owner: str
    description: str
    repository: str
    layers: list[LayerIn]
    catalog: CatalogEntryIn = Field(default_factory=lambda: CatalogEntryIn())
    created_at: dt.datetime
    archived_at: dt.datetime | None


class ServicePage(BaseModel):
    services: list[ServiceOut]
    #: Pass as ``cursor`` to get the next page; ``null`` on the last page.
    next_cursor: str | None


class DeploymentIn(_In):
    """One deploy attempt: sent whole once it is over, or opened as ``started`` before its
    effect and closed with ``POST /v1/deployments/{id}/finish``."""

    service: Name
    environment: Name
    target: Literal["gitops", "kubernetes"]
    image: Text500 = ""
    source_commit: Revision | None = None
    source_time: Stamp | None = None
    #: Ignored: the platform records the token's user (accepted so older clients work).
    actor: Text200 | None = None
    started_at: Stamp
    #: Required, except for a ``started`` record (which has none until it is finished).
    finished_at: Stamp | None = None
    outcome: Literal["started", "succeeded", "failed", "refused"]
    message: Text2000 = ""
    findings: Annotated[list[dict[str, Any]], Field(max_length=500), AfterValidator(_findings)] = (
        Field(default_factory=list)
    )
    break_glass: Text500 | None = None
    rollback_of: RowId | None = None
    restored: RowId | None = None
    revision: Revision | None = None
    manifests: Manifests | None = None
    #: When the change began: the committer time of the oldest commit since the previous
    #: deployment of the service to the environment (``source_time`` when there is none).
    #: Not after ``source_time`` nor ``started_at``. Lead time starts here.
    change_started_at: Stamp | None = None

    @model_validator(mode="after")
    def _times(self) -> Self:
        began = self.change_started_at
        if began is not None:
            for field in ("source_time", "started_at"):
                later: dt.datetime | None = getattr(self, field)
                if later is not None and began > later:
                    raise ValueError(
                        f"change_started_at {began.isoformat()} is after "
                        f"{field} {later.isoformat()}: a change begins before it is deployed"
                    )
        if self.outcome == "started":
            if self.finished_at is not None:
                raise ValueError(
                    "a started record has no finished_at: "
                    "send it with POST /v1/deployments/{id}/finish"
                )
        elif self.finished_at is None:
            raise ValueError("finished_at is required unless the outcome is 'started'")
        elif self.finished_at < self.started_at:
            raise ValueError(
                f"finished_at {self.finished_at.isoformat()} is before "
                f"started_at {self.started_at.isoformat()}"
            )
        return self


class DeploymentFinishIn(_In):
    """What happened to a ``started`` attempt."""

    outcome: Literal["succeeded", "failed"]
    finished_at: Stamp
    message: Text2000 = ""
    #: Kept from the started record when omitted or null.
    revision: Revision | None = None
    #: Kept from the started record when omitted or null.
    manifests: Manifests | None = None


class DeploymentOut(BaseModel):
    id: int
    service: str
    environment: str
    target: str
    image: str
    source_commit: str | None
    source_time: dt.datetime | None
    actor: str
    started_at: dt.datetime
    #: ``null`` while the attempt is ``started``.
    finished_at: dt.datetime | None
    outcome: str
    message: str
    findings: list[dict[str, Any]]
    break_glass: str | None
    rollback_of: int | None
    restored: int | None
    revision: str | None
    manifests: str | None
    recorded_by: str
    change_started_at: dt.datetime | None = None
    #: Who finished it: the sender of a whole record, the caller of ``/finish`` for a
    #: started one (``null`` while started, and for records from before migration 0008).
    finished_by: str | None = None
    #: When the finished record reached the platform, by its clock (``null`` likewise).
    recorded_at: dt.datetime | None = None


class DeploymentPage(BaseModel):
    deployments: list[DeploymentOut]
    next_cursor: str | None


class TeamIn(_In):
    """A team for the platform to know: its name, and optionally how people call it."""

    name: Name
    display_name: Text200 = ""
    description: Text500 = ""


class TeamOut(BaseModel):
    """A team the platform knows: created by an admin, or named by a token (``created_by``
    is then ``token``, or ``migration`` for the teams a database named before teams were
    kept)."""

    name: str
    display_name: str
    description: str
    created_by: str
    created_at: dt.datetime


class TeamList(BaseModel):
    teams: list[TeamOut]


class WhoamiOut(BaseModel):
    """Who the platform knows the token's holder as."""

    user: str
    teams: list[str]
    admin: bool


class AuditEventOut(BaseModel):
    id: int
    at: dt.datetime
    actor: str
    action: str
    target: str
    address: str
    outcome: str
    detail: str


class AuditPage(BaseModel):
    events: list[AuditEventOut]
    next_cursor: str | None


class ScaffoldOut(BaseModel):
    name: str
    layer: str
    #: The versions the platform offers, oldest first.
    versions: list[str]
    #: The oldest version the platform accepts; older services must run ``paved update``.
    minimum: str


class PlatformSettingsOut(BaseModel):
    """Organisation settings in the shape of config.toml (``paved login`` keeps them)."""

    settings: dict[str, Any]


class ServiceMetrics(BaseModel):
    service: str
    owner: str
    deployments: int
    #: Successful deployments per day over the window.
    deployment_frequency: float
    #: Median seconds from a change's commit to its successful deployment.
    lead_time_seconds: float | None
    #: Share of changes that failed or were rolled back.
    change_failure_rate: float | None
    #: Median seconds from a failed change to the next successful deployment.
    time_to_restore_seconds: float | None


class MetricsOut(BaseModel):
    environment: str
    team: str | None
    window_start: dt.datetime
    window_end: dt.datetime
    total: ServiceMetrics
    services: list[ServiceMetrics]


# -- roll-outs and time to patch ------------------------------------------------------------

#: A git branch name (``paved/update-road-1.2.0``): letters, digits and ``. _ / + -``, not
#: starting with punctuation (never an option), no spaces.
Branch = Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._/+-]{0,199}$")]


class RolloutIn(_In):
    """A roll-out of one layer's release (scaffold and version) across services.

    ``branch``: each service gets a branch with the update to merge; ``direct``: the update
    is committed to each service's default branch."""

    layer: Name
    scaffold: Token
    version: Token
    mode: RolloutMode

    @model_validator(mode="after")
    def _release(self) -> Self:
        if (
            problem := layers_problem([LayerRef(self.layer, self.scaffold, self.version)])
        ) is not None:
            raise ValueError(problem)
        return self


class RolloutServiceIn(_In):
    """What became of one service in a roll-out; replaces what was recorded before."""

    status: RolloutStatus
    detail: Text500 = ""
    #: The branch the update waits on (``branch`` mode), if there is one.
    branch: Branch | None = None


class RolloutServiceOut(BaseModel):
    rollout: str
    service: str
    status: RolloutStatus
    detail: str
    branch: str | None
    updated_at: dt.datetime


class RolloutOut(BaseModel):
    id: str
    layer: str
    scaffold: str
    version: str
    mode: RolloutMode
    #: The user of the token that started it.
    started_by: str
    started_at: dt.datetime
    #: ``null`` until ``POST /v1/rollouts/{id}/finish``.
    finished_at: dt.datetime | None
    #: How many services are at each status (every status, zeros included).
    counts: dict[str, int]


class RolloutDetailOut(RolloutOut):
    #: Each service's last recorded result, by name.
    services: list[RolloutServiceOut]


class RolloutPage(BaseModel):
    rollouts: list[RolloutOut]
    next_cursor: str | None


class VersionAdoptionOut(BaseModel):
    scaffold: str
    version: str
    #: The first time a service was recorded at this version, or a roll-out of it started.
    released_at: dt.datetime | None
    #: Registered services (not archived) whose layer is at this version now.
    services: int
    #: Their share of the registered services whose layer comes from this scaffold.
    share: float | None
    #: Services that moved to this version from an older one of the same scaffold.
    moved: int
    #: Median and 90th percentile (nearest rank) of their (recorded - released_at), seconds.
    time_to_patch_median_seconds: float | None
    time_to_patch_p90_seconds: float | None


class PatchingOut(BaseModel):
    layer: str
    #: Each scaffold's versions of the layer, by scaffold, oldest version first.
    versions: list[VersionAdoptionOut]


# -- data resources and the requests for them ------------------------------------------------

#: The states of a resource request: open (``started``, ``requested``), then closed.
ResourceRequestState = Literal["started", "requested", "committed", "failed"]


class ResourceOptionsIn(_In):
    """A data resource's options: ``engine`` and ``size`` of a database, ``dead_letter`` of a
    queue (a bucket has none). One not given takes its default."""

    engine: Literal["postgres", "mysql"] | None = None
    size: Literal["small", "medium", "large"] | None = None
    dead_letter: StrictBool | None = None


class ResourceRequestIn(_In):
    """A request for a data resource of a service: its kind, name and options, checked by the
    road's rules (an option of another kind is refused), and the branch the change goes on.
    With ``apply`` the platform makes the change itself, on that branch (by default
    ``paved/add-KIND-NAME``) of the service's repository; without it the caller does."""

    kind: Literal["database", "bucket", "queue"]
    name: Annotated[str, Field(min_length=2, max_length=RESOURCE_NAME_MAX, pattern=NAME_REGEX)]
    options: ResourceOptionsIn = Field(default_factory=lambda: ResourceOptionsIn())
    branch: Branch | None = None
    apply: StrictBool = False

    @model_validator(mode="after")
    def _road_rules(self) -> Self:
        self.resource()  # DataResource checks the road's rules (data_resource_problem)
        return self

    def resource(self) -> DataResource:
        """The resource asked for (a :class:`ValueError` if it breaks the road's rules)."""
        given = self.options.model_dump(exclude_none=True)
        return DataResource.from_answer({"kind": self.kind, "name": self.name, **given})


class ResourceRequestCloseIn(_In):
    """How a request ended: ``committed`` (the change is in the service's repository, and
    the resource joins its catalog entry) or ``failed``."""

    state: Literal["committed", "failed"]
    commit: Revision | None = None
    branch: Branch | None = None
    detail: Text500 = ""


class ResourceRequestOut(BaseModel):
    #: ``null`` in the answer to a dry run (nothing was stored).
    id: int | None
    service: str
    kind: str
    name: str
    #: Every option of the kind, as the road's ``data_resources`` answer has them.
    options: dict[str, Any]
    state: ResourceRequestState
    branch: str | None
    commit: str | None
    #: The user of the token that asked.
    requested_by: str
    created_at: dt.datetime
    updated_at: dt.datetime
    detail: str


class ServiceResourcesOut(BaseModel):
    """A service's data resources (its catalog entry, in the order added) and a page of the
    requests for them, newest first."""

    service: str
    data_resources: list[DataResourceIn]
    requests: list[ResourceRequestOut]
    next_cursor: str | None


# -- incidents, gate reports and onboarding events ---------------------------------------------

Severity = Literal["sev1", "sev2", "sev3", "sev4"]
Title = Annotated[str, _bounded(200, 1), AfterValidator(_line)]


class IncidentIn(_In):
    """An incident of a service in an environment, optionally naming the deployment (of the
    same service to the same environment) that caused it. The platform's clock opens it."""

    service: Name
    environment: Name
    title: Title
    severity: Severity = "sev2"
    deployment_id: RowId | None = None


class IncidentOut(BaseModel):
    #: ``null`` in the answer to a dry run (nothing was stored).
    id: int | None
    service: str
    environment: str
    title: str
    severity: str
    deployment_id: int | None
    opened_at: dt.datetime
    #: The user of the token that opened it.
    opened_by: str
    #: ``null`` while the incident is open.
    resolved_at: dt.datetime | None
    resolved_by: str | None


class IncidentList(BaseModel):
    #: Newest first.
    incidents: list[IncidentOut]


#: The id of a guardrail rule, such as ``PAVED-K8S-001``: what ``paved.guardrails`` takes
#: (a plugin's first part may hold digits, ``K8S-NET-001``), without its number rule.
RULE_ID_REGEX = r"^[A-Z][A-Z0-9]*(-[A-Z0-9]+)+$"
RuleId = Annotated[str, Field(min_length=3, max_length=100, pattern=RULE_ID_REGEX)]


def _rule_ids(value: list[str]) -> list[str]:
    return sorted(set(value))


class GateReportIn(_In):
    """What ``paved guardrails check`` found at a commit of a service: whether it passed, the
    ids of the rules that failed (kept sorted, each once) and how many findings there were."""

    commit: Revision | None = None
    passed: StrictBool
    rule_ids: Annotated[list[RuleId], Field(max_length=500), AfterValidator(_rule_ids)] = Field(
        default_factory=list
    )
    findings: Annotated[int, Field(ge=0, le=1_000_000)] = 0


class GateReportOut(BaseModel):
    #: ``null`` in the answer to a dry run (nothing was stored).
    id: int | None
    service: str
    commit: str | None
    passed: bool
    rule_ids: list[str]
    findings: int
    reported_at: dt.datetime
    #: The user of the token that reported it.
    reported_by: str


OnboardingStep = Literal["doctor", "service", "first-deploy", "production-deploy"]
OnboardingStatus = Literal["started", "finished", "failed", "skipped"]


class OnboardingEventIn(_In):
    """A step of ``paved onboard`` started, finished, failed or skipped by the token's user."""

    step: OnboardingStep
    status: OnboardingStatus
    detail: Text500 = ""


class OnboardingEventOut(BaseModel):
    id: int
    #: The token's user (never taken from the body).
    user: str
    step: str
    status: str
    at: dt.datetime
    detail: str


# -- the metrics of the platform as a product (docs/metrics.md) --------------------------------


class DeliveryServiceMetrics(ServiceMetrics):
    #: Incidents opened in the window.
    incidents: int
    #: Deployments whose outcome was ``failed``.
    failed_deployments: int
    #: Successful deployments that rolled another one back.
    rollbacks: int


class WeekMetrics(BaseModel):
    #: Monday 00:00 UTC.
    week_start: dt.datetime
    deployments: int
    #: Successful deployments per day of the week that lies in the window.
    deployment_frequency: float
    lead_time_seconds: float | None
    change_failure_rate: float | None
    time_to_restore_seconds: float | None
    incidents: int


class DeliveryOut(BaseModel):
    environment: str
    team: str | None
    window_start: dt.datetime
    window_end: dt.datetime
    total: DeliveryServiceMetrics
    services: list[DeliveryServiceMetrics]
    #: Each week that overlaps the window, oldest first.
    weeks: list[WeekMetrics]


class _OnboardingTimes(BaseModel):
    finished: int
    #: ``null`` when fewer than three people finished (``suppressed``): no one is identified.
    median_seconds: float | None
    p90_seconds: float | None
    suppressed: bool


class CohortOnboarding(_OnboardingTimes):
    #: The month the people started in, ``YYYY-MM``.
    cohort: str
    started: int


class TeamOnboarding(_OnboardingTimes):
    team: str
    started: int


class StepOnboarding(_OnboardingTimes):
    step: str
    #: The starts of the step in the window.
    runs: int


class OnboardingOut(BaseModel):
    window_start: dt.datetime
    window_end: dt.datetime
    team: str | None
    cohorts: list[CohortOnboarding]
    teams: list[TeamOnboarding]
    steps: list[StepOnboarding]


class ServiceShare(BaseModel):
    services: int
    share: float | None


class FailingRule(BaseModel):
    rule_id: str
    #: Services whose latest gate report fails this rule.
    services: int


class GateAdoption(BaseModel):
    #: Services (not archived) with a gate report.
    reported: int
    #: Those whose latest report passed.
    passed: int
    share_passing: float | None
    failing_rules: list[FailingRule]


class TeamAdoption(BaseModel):
    team: str
    #: Its services that are not archived.
    services: int
    #: Whether one of its services deployed successfully in the window.
    deployed_in_window: bool


class AdoptionOut(BaseModel):
    layer: str
    #: Each scaffold's newest version.
    newest: dict[str, str]
    versions: list[VersionAdoptionOut]
    on_newest: ServiceShare
    gate: GateAdoption
    teams: list[TeamAdoption]
    teams_deployed: int
