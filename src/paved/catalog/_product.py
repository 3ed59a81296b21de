"""The platform's records and figures for the platform as a product: incidents, gate
reports, onboarding events, and the delivery, onboarding and adoption metrics.

Each is read from the platform's answer as input: every documented key, each of its type
(keys paved does not know are left out); anything else is a :class:`ValueError` naming the
key, which the client turns into one line (exit 5).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from collections.abc import Mapping
from typing import Any, Literal, get_args

from paved.text import escaped, text_problem

__all__ = [
    "ONBOARDING_STATUSES",
    "ONBOARDING_STEPS",
    "RULE_ID_PATTERN",
    "SEVERITIES",
    "GateReport",
    "Incident",
    "OnboardingEvent",
    "OnboardingStatus",
    "OnboardingStep",
    "Severity",
    "adoption_figures",
    "delivery_figures",
    "onboarding_figures",
]

Severity = Literal["sev1", "sev2", "sev3", "sev4"]
SEVERITIES: tuple[str, ...] = get_args(Severity)
OnboardingStep = Literal["doctor", "service", "first-deploy", "production-deploy"]
ONBOARDING_STEPS: tuple[str, ...] = get_args(OnboardingStep)
OnboardingStatus = Literal["started", "finished", "failed", "skipped"]
ONBOARDING_STATUSES: tuple[str, ...] = get_args(OnboardingStatus)
#: The id of a guardrail rule, such as ``PAVED-K8S-001``.
RULE_ID_PATTERN = r"^[A-Z][A-Z0-9]*(-[A-Z0-9]+)+$"
_RULE_ID = re.compile(RULE_ID_PATTERN)


def _stamp(value: dt.datetime | None) -> str | None:
    return value.isoformat().replace("+00:00", "Z") if value is not None else None


# -- a small checker for the shapes of answers ---------------------------------------------
#
# A shape is one of: ``int`` (a whole number, never a boolean), ``float`` (any number),
# ``bool``, ``str`` (one line of visible text), ``"stamp"`` (an ISO 8601 time with a time
# zone), ``_Maybe(shape)`` (that shape or null), ``[shape]`` (a list of it), ``{key: shape}``
# (an object with at least those keys) and ``_Names(shape)`` (an object of any keys, each
# text, to values of that shape).


@dataclasses.dataclass(frozen=True)
class _Maybe:
    shape: Any


@dataclasses.dataclass(frozen=True)
class _Names:
    shape: Any


def _checked(value: Any, shape: Any, where: str) -> Any:
    """``value`` when it has ``shape``, with only the keys the shape names (so what paved
    prints keeps its documented shape whatever else a newer platform sends); else a
    :class:`ValueError` naming where it is wrong."""
    if isinstance(shape, _Maybe):
        return None if value is None else _checked(value, shape.shape, where)
    if shape is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValueError(f"{where} is not a whole number")
    elif shape is float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ValueError(f"{where} is not a number")
    elif shape is bool:
        if not isinstance(value, bool):
            raise ValueError(f"{where} is not true or false")
    elif shape is str:
        _text(value, where)
    elif shape == "stamp":
        _time(value, where)
    elif isinstance(shape, list):
        if not isinstance(value, list):
            raise ValueError(f"{where} is not a list")
        return [_checked(item, shape[0], f"{where}[{i}]") for i, item in enumerate(value)]
    elif isinstance(shape, _Names):
        if not isinstance(value, dict):
            raise ValueError(f"{where} is not an object")
        return {
            _text(key, f"a key of {where}"): _checked(item, shape.shape, f"{where}.{key}")
            for key, item in value.items()
        }
    else:
        if not isinstance(value, dict):
            raise ValueError(f"{where} is not an object")
        missing = [key for key in shape if key not in value]
        if missing:
            raise ValueError(f"{where} has no {', '.join(missing)}")
        return {key: _checked(value[key], inner, f"{where}.{key}") for key, inner in shape.items()}
    return value


def _text(value: Any, where: str) -> str:
    if not isinstance(value, str):
        raise ValueError(f"{where} is not text")
    if (problem := text_problem(value)) is not None:
        raise ValueError(f"{where} '{escaped(value[:70])}' {problem}")
    return value


def _time(value: Any, where: str) -> dt.datetime:
    stamp = dt.datetime.fromisoformat(_text(value, where))
    if stamp.tzinfo is None:
        raise ValueError(f"{where} has no time zone")
    return stamp


def _figures(data: Mapping[str, Any], shape: dict[str, Any], what: str) -> dict[str, Any]:
    figures: dict[str, Any] = _checked(data, shape, what)
    return figures


_DELIVERY = {
    "deployments": int,
    "deployment_frequency": float,
    "lead_time_seconds": _Maybe(float),
    "change_failure_rate": _Maybe(float),
    "time_to_restore_seconds": _Maybe(float),
}
_SERVICE_DELIVERY = {
    "service": str,
    "owner": str,
    **_DELIVERY,
    "incidents": int,
    "failed_deployments": int,
    "rollbacks": int,
}
_WEEK = {"week_start": "stamp", **_DELIVERY, "incidents": int}
_DELIVERY_FIGURES = {
    "environment": str,
    "team": _Maybe(str),
    "window_start": "stamp",
    "window_end": "stamp",
    "total": _SERVICE_DELIVERY,
    "services": [_SERVICE_DELIVERY],
    "weeks": [_WEEK],
}
_SPREAD = {"started": int, "finished": int, "median_seconds": _Maybe(float),
           "p90_seconds": _Maybe(float), "suppressed": bool}  # fmt: skip
_ONBOARDING_FIGURES = {
    "window_start": "stamp",
    "window_end": "stamp",
    "team": _Maybe(str),
    "cohorts": [{"cohort": str, **_SPREAD}],
    "teams": [{"team": str, **_SPREAD}],
    "steps": [{"step": str, "runs": int, "finished": int, "median_seconds": _Maybe(float),
               "p90_seconds": _Maybe(float), "suppressed": bool}],
}  # fmt: skip
_VERSION = {
    "scaffold": str,
    "version": str,
    "services": int,
    "share": _Maybe(float),
    "released_at": _Maybe("stamp"),
    "moved": int,
    "time_to_patch_median_seconds": _Maybe(float),
    "time_to_patch_p90_seconds": _Maybe(float),
}
_ADOPTION_FIGURES = {
    "layer": str,
    "newest": _Names(str),
    "versions": [_VERSION],
    "on_newest": {"services": int, "share": _Maybe(float)},
    "gate": {
        "reported": int,
        "passed": int,
        "share_passing": _Maybe(float),
        "failing_rules": [{"rule_id": str, "services": int}],
    },
    "teams": [{"team": str, "services": int, "deployed_in_window": bool}],
    "teams_deployed": int,
}


def delivery_figures(data: Mapping[str, Any]) -> dict[str, Any]:
    """The platform's delivery metrics (``GET /v1/metrics/delivery``), checked."""
    return _figures(data, _DELIVERY_FIGURES, "delivery metrics")


def onboarding_figures(data: Mapping[str, Any]) -> dict[str, Any]:
    """The platform's onboarding metrics (``GET /v1/metrics/onboarding``), checked."""
    return _figures(data, _ONBOARDING_FIGURES, "onboarding metrics")


def adoption_figures(data: Mapping[str, Any]) -> dict[str, Any]:
    """The platform's adoption metrics (``GET /v1/metrics/adoption``), checked."""
    return _figures(data, _ADOPTION_FIGURES, "adoption metrics")


# -- records ---------------------------------------------------------------------------------


def _record(data: Mapping[str, Any], shape: dict[str, Any], what: str) -> Mapping[str, Any]:
    if not isinstance(data, Mapping):
        raise ValueError(f"{what} is not an object")
    _checked(dict(data), shape, what)
    return data


def _one_of(value: str, allowed: tuple[str, ...], where: str) -> Any:
    if value not in allowed:
        raise ValueError(f"{where} '{escaped(value[:70])}' is not one of {', '.join(allowed)}")
    return value


@dataclasses.dataclass(frozen=True)
class Incident:
    """Something that went wrong with a service in an environment, opened and resolved on the
    platform's clock."""

    #: ``None`` in the answer to a dry run (nothing was stored).
    id: int | None
    service: str
    environment: str
    title: str
    severity: Severity
    #: The deployment (of the same service to the same environment) that caused it.
    deployment_id: int | None
    opened_at: dt.datetime
    opened_by: str
    #: ``None`` while the incident is open.
    resolved_at: dt.datetime | None
    resolved_by: str | None

    def to_json(self) -> dict[str, Any]:
        data = dataclasses.asdict(self)
        data["opened_at"] = _stamp(self.opened_at)
        data["resolved_at"] = _stamp(self.resolved_at)
        return data

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Incident:
        what = "incident"
        _record(data, _INCIDENT, what)
        return cls(
            id=data["id"],
            service=data["service"],
            environment=data["environment"],
            title=data["title"],
            severity=_one_of(data["severity"], SEVERITIES, f"{what}.severity"),
            deployment_id=data["deployment_id"],
            opened_at=_time(data["opened_at"], f"{what}.opened_at"),
            opened_by=data["opened_by"],
            resolved_at=(
                None
                if data["resolved_at"] is None
                else _time(data["resolved_at"], f"{what}.resolved_at")
            ),
            resolved_by=data["resolved_by"],
        )


_INCIDENT = {
    "id": _Maybe(int),
    "service": str,
    "environment": str,
    "title": str,
    "severity": str,
    "deployment_id": _Maybe(int),
    "opened_at": "stamp",
    "opened_by": str,
    "resolved_at": _Maybe("stamp"),
    "resolved_by": _Maybe(str),
}


@dataclasses.dataclass(frozen=True)
class GateReport:
    """What ``paved guardrails check`` found at a commit of a service, as the platform keeps
    it: whether the gate passed, the ids of the rules that failed and how many findings."""

    #: ``None`` in the answer to a dry run (nothing was stored).
    id: int | None
    service: str
    commit: str | None
    passed: bool
    #: Sorted, each once.
    rule_ids: tuple[str, ...]
    findings: int
    reported_at: dt.datetime
    reported_by: str

    def to_json(self) -> dict[str, Any]:
        data = dataclasses.asdict(self)
        data["rule_ids"] = list(self.rule_ids)
        data["reported_at"] = _stamp(self.reported_at)
        return data

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> GateReport:
        what = "gate report"
        _record(data, _GATE_REPORT, what)
        for rule in data["rule_ids"]:
            if _RULE_ID.fullmatch(rule) is None:
                raise ValueError(f"{what}.rule_ids holds '{escaped(rule[:70])}', not a rule id")
        return cls(
            id=data["id"],
            service=data["service"],
            commit=data["commit"],
            passed=data["passed"],
            rule_ids=tuple(data["rule_ids"]),
            findings=data["findings"],
            reported_at=_time(data["reported_at"], f"{what}.reported_at"),
            reported_by=data["reported_by"],
        )


_GATE_REPORT = {
    "id": _Maybe(int),
    "service": str,
    "commit": _Maybe(str),
    "passed": bool,
    "rule_ids": [str],
    "findings": int,
    "reported_at": "stamp",
    "reported_by": str,
}


@dataclasses.dataclass(frozen=True)
class OnboardingEvent:
    """One step of ``paved onboard`` started, finished, failed or skipped, as the platform
    recorded it (the user is the token's, the time the platform's)."""

    id: int
    user: str
    step: OnboardingStep
    status: OnboardingStatus
    at: dt.datetime
    detail: str

    def to_json(self) -> dict[str, Any]:
        data = dataclasses.asdict(self)
        data["at"] = _stamp(self.at)
        return data

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> OnboardingEvent:
        what = "onboarding event"
        _record(data, _ONBOARDING_EVENT, what)
        return cls(
            id=data["id"],
            user=data["user"],
            step=_one_of(data["step"], ONBOARDING_STEPS, f"{what}.step"),
            status=_one_of(data["status"], ONBOARDING_STATUSES, f"{what}.status"),
            at=_time(data["at"], f"{what}.at"),
            detail=data["detail"],
        )


_ONBOARDING_EVENT = {
    "id": int,
    "user": str,
    "step": str,
    "status": str,
    "at": "stamp",
    "detail": str,
}
