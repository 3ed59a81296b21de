"""``/v1/metrics``: delivery metrics (the four DORA keys) per service and in total, per week
(``/v1/metrics/delivery``), onboarding time (``/v1/metrics/onboarding``), adoption of the
road (``/v1/metrics/adoption``) and the organisation's time to patch a layer
(``/v1/metrics/patching``). docs/metrics.md defines each. Any valid token reads them: they
are aggregates, never a row per person."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Query

from paved.server import _schemas as s
from paved.server._access import Reader
from paved.server._metrics import (
    adoption_metrics,
    delivery_report,
    month_start,
    onboarding_metrics,
    protected_environments,
    time_to_patch,
)
from paved.server._state import ClockDep, ConfigDep, StoreDep
from paved.server.routes._query import NameQuery

__all__ = ["router"]

router = APIRouter(tags=["metrics"])

Environment = Annotated[str, Query(min_length=2, max_length=40, pattern=s.NAME_REGEX)]
Layer = Annotated[
    str,
    Query(
        min_length=2,
        max_length=40,
        pattern=s.NAME_REGEX,
        description="The layer whose versions are measured, such as road.",
    ),
]


Days = Annotated[int, Query(ge=1, le=366, description="The window: the last N days.")]
Road = Annotated[
    str,
    Query(
        min_length=2,
        max_length=40,
        pattern=s.NAME_REGEX,
        description="The layer whose versions are measured.",
    ),
]


@router.get("/v1/metrics")
def metrics(
    who: Reader,
    store: StoreDep,
    clock: ClockDep,
    team: NameQuery = None,
    service: NameQuery = None,
    environment: Environment = "prod",
    days: Days = 30,
) -> s.MetricsOut:
    """Delivery metrics per service, and in total, over the last ``days``, from deployments
    only (docs/metrics.md; ``/v1/metrics/delivery`` adds incidents and weeks)."""
    end = clock()
    start = end - dt.timedelta(days=days)
    found = store.finished_deployments(
        environment=environment, start=start, end=end, team=team, service=service
    )
    owners = {record.service: owner for owner, record in found}
    total, services, _weeks = delivery_report([r for _, r in found], [], start, end, weeks=False)
    return s.MetricsOut(
        environment=environment,
        team=team,
        window_start=start,
        window_end=end,
        total=s.ServiceMetrics.model_validate(
            {"service": service or "*", "owner": team or "*", **total}
        ),
        services=[
            s.ServiceMetrics.model_validate({"service": name, "owner": owners[name], **metrics})
            for name, metrics in services.items()
        ],
    )


@router.get("/v1/metrics/patching")
def patching(who: Reader, store: StoreDep, layer: Layer) -> s.PatchingOut:
    """Time to patch: for each version of each scaffold of ``layer``, when it was released,
    how many services are on it now, and how long those that moved to it took (median and
    90th percentile, seconds; docs/platform.md)."""
    history, current, rollouts = store.layer_adoption(layer)
    return s.PatchingOut(
        layer=layer,
        versions=[
            s.VersionAdoptionOut.model_validate(found)
            for found in time_to_patch(history, current, rollouts)
        ],
    )


@router.get("/v1/metrics/delivery")
def delivery(
    who: Reader,
    store: StoreDep,
    clock: ClockDep,
    team: NameQuery = None,
    service: NameQuery = None,
    environment: Environment = "prod",
    days: Days = 30,
) -> s.DeliveryOut:
    """Delivery metrics per service, in total and per week (Monday 00:00 UTC, oldest first)
    over the last ``days``, from deployments and incidents (docs/metrics.md)."""
    end = clock()
    start = end - dt.timedelta(days=days)
    found = store.finished_deployments(
        environment=environment, start=start, end=end, team=team, service=service
    )
    opened = store.incident_records(
        environment=environment, start=start, end=end, team=team, service=service
    )
    owners = {record.service: owner for owner, record in found}
    owners.update((incident.service, owner) for owner, incident in opened)
    total, services, weeks = delivery_report(
        [r for _, r in found], [i for _, i in opened], start, end
    )
    return s.DeliveryOut(
        environment=environment,
        team=team,
        window_start=start,
        window_end=end,
        total=s.DeliveryServiceMetrics(service=service or "*", owner=team or "*", **total),
        services=[
            s.DeliveryServiceMetrics(service=name, owner=owners[name], **metrics)
            for name, metrics in services.items()
        ],
        weeks=[s.WeekMetrics(**week) for week in weeks],
    )


@router.get("/v1/metrics/onboarding")
def onboarding(
    who: Reader,
    store: StoreDep,
    clock: ClockDep,
    config: ConfigDep,
    team: NameQuery = None,
    days: Days = 365,
) -> s.OnboardingOut:
    """Onboarding time: from a person's first ``paved onboard`` event or first token to
    their first successful deployment to a protected environment without break-glass that
    they finished themselves (at the platform's clock), median and 90th percentile per
    monthly cohort and per team, and each step's time (each person's first run).

    The window starts at the first of the month ``days`` ago (00:00 UTC): cohorts are whole
    months, so moving ``days`` a day at a time changes no group by one person. A group of
    fewer than five finished people shows no median, of fewer than ten no p90
    (``suppressed``; docs/metrics.md)."""
    end = clock()
    start = month_start(end - dt.timedelta(days=days))
    people, steps = store.onboarding_records(
        protected=protected_environments(config.settings), start=start, end=end, team=team
    )
    found = onboarding_metrics(people, steps, start, end)
    return s.OnboardingOut.model_validate({**found, "team": team})


@router.get("/v1/metrics/adoption")
def adoption(
    who: Reader, store: StoreDep, clock: ClockDep, layer: Road = "road", days: Days = 30
) -> s.AdoptionOut:
    """Adoption of the road: services per version of ``layer`` and on the newest, time to
    patch, the share passing the gate (each service's latest report), services per team
    and the teams that deployed in the last ``days`` (docs/metrics.md)."""
    end = clock()
    history, current, rollouts = store.layer_adoption(layer)
    found = adoption_metrics(
        layer,
        time_to_patch(history, current, rollouts),
        store.latest_gate_reports(),
        store.team_activity(start=end - dt.timedelta(days=days), end=end),
    )
    return s.AdoptionOut.model_validate(found)
