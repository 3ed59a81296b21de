"""The API's request and response bodies. Requests refuse unknown fields and bound every size."""

from __future__ import annotations

import datetime as dt
import math
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, Field

from paved.names import MAX_LENGTH, MIN_LENGTH, name_problem

__all__ = [
    "AuditEventOut",
    "AuditPage",
    "DeploymentIn",
    "DeploymentOut",
    "DeploymentPage",
    "ErrorBody",
    "LayerIn",
    "MetricsOut",
    "PlatformSettingsOut",
    "ScaffoldOut",
    "ServiceIn",
    "ServiceOut",
    "ServicePage",
]

NAME_REGEX = r"^[a-z][a-z0-9]*(-[a-z0-9]+)*$"
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
Token = Annotated[
    str, Field(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9][A-Za-z0-9._+-]*$")
]


def _bounded(max_length: int, min_length: int = 0) -> Any:
    return Field(min_length=min_length, max_length=max_length)


Text200 = Annotated[str, _bounded(200, 1), AfterValidator(_text)]
Text500 = Annotated[str, _bounded(500), AfterValidator(_text)]
Text2000 = Annotated[str, _bounded(2000), AfterValidator(_text)]
Repository = Annotated[str, _bounded(500, 1), AfterValidator(_text)]
Manifests = Annotated[str, _bounded(500_000), AfterValidator(_text)]


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


class ServiceIn(_In):
    name: Name
    owner: Name
    description: Text500 = ""
    repository: Repository
    layers: list[LayerIn] = Field(default_factory=list, max_length=10)


class ServiceOut(BaseModel):
    name: str
    owner: str
    description: str
    repository: str
    layers: list[LayerIn]
    created_at: dt.datetime
    archived_at: dt.datetime | None


class ServicePage(BaseModel):
    services: list[ServiceOut]
    #: Pass as ``cursor`` to get the next page; ``null`` on the last page.
    next_cursor: str | None


class DeploymentIn(_In):
    service: Name
    environment: Name
    target: Literal["gitops", "kubernetes"]
    image: Text500 = ""
    source_commit: Annotated[str | None, Field(pattern=r"^[0-9a-f]{7,64}$")] = None
    source_time: Stamp | None = None
    actor: Text200
    started_at: Stamp
    finished_at: Stamp
    outcome: Literal["succeeded", "failed", "refused"]
    message: Text2000 = ""
    findings: Annotated[list[dict[str, Any]], Field(max_length=500), AfterValidator(_findings)] = (
        Field(default_factory=list)
    )
    break_glass: Text500 | None = None
    rollback_of: RowId | None = None
    restored: RowId | None = None
    revision: Annotated[str | None, Field(pattern=r"^[0-9a-f]{7,64}$")] = None
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
    finished_at: dt.datetime
    outcome: str
    message: str
    findings: list[dict[str, Any]]
    break_glass: str | None
    rollback_of: int | None
    restored: int | None
    revision: str | None
    manifests: str | None
    recorded_by: str


class DeploymentPage(BaseModel):
    deployments: list[DeploymentOut]
    next_cursor: str | None


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
