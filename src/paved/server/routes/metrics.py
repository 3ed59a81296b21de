"""``/v1/metrics``: delivery metrics (the four DORA keys) per service and in total, per week
(``/v1/metrics/delivery``), onboarding time (``/v1/metrics/onboarding``), adoption of the
road (``/v1/metrics/adoption``) and the organisation's time to patch a layer
(``/v1/metrics/patching``). docs/metrics.md defines each. Any valid token reads them: they
are aggregates, never a row per person."""

from __future__ import annotations

import collections
import datetime as dt
import threading
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel

from paved.server import _schemas as s
from paved.server._access import Reader
from paved.server._metrics import (
    Judgement,
    adoption_metrics,
    month_start,
    onboarding_metrics,
    protected_environments,
    time_to_patch,
)
from paved.server._state import ClockDep, ConfigDep, StoreDep
from paved.server._store import Store
from paved.server.routes._query import NameQuery, cursor_after, decode_cursor

__all__ = ["DeliveryPage", "KeptJudgements", "MetricsPage", "router"]

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


Limit = Annotated[
    int,
    Query(
        ge=1,
        le=1000,
        description=(
            "Services per page (by name); the total and the weeks are of every service "
            "whatever the page."
        ),
    ),
]
Cursor = Annotated[
    str | None,
    Query(max_length=400, description="The next_cursor of the page before, for the next page."),
]


class _Paged(BaseModel):
    #: Services with a deployment (or an incident) in the window, on every page.
    service_count: int
    #: Pass as ``cursor`` for the next page of services; ``null`` on the last page.
    next_cursor: str | None


class MetricsPage(s.MetricsOut, _Paged):
    """``GET /v1/metrics``: the total, one page of services, and where the next begins."""


class DeliveryPage(s.DeliveryOut, _Paged):
    """``GET /v1/metrics/delivery``: the total, the weeks, one page of services, and where
    the next begins."""


#: How long a request waits for another's judgement of the same scope before it judges
#: the scope itself (a judgement of the whole organisation takes a few seconds at most).
JUDGING_WAIT = 30.0


class KeptJudgements:
    """The deployments a server has judged, per scope (environment, team, service, with or
    without incidents), kept until the next change through the platform
    (:meth:`Store.data_version`, read from the database, so a change made through any
    process or replica is seen): a window that starts later (the clock moved on) is
    summarised from them, exactly (:meth:`Judgement.covers`). At most ``records`` records
    and ``scopes`` scopes are kept in all (a scope counts as one record at least, so asking
    for 20,000 services without records cannot grow the table), the least recently used
    scope forgotten first. A scope is judged by one request at a time: the others that ask
    for it meanwhile, at the same version, wait for that judgement rather than make it too
    (20 clients asking at once after a change would judge it 20 times over)."""

    def __init__(self, *, records: int = 400_000, scopes: int = 1024) -> None:
        self._bound = records
        self._scopes = scopes
        self._total = 0
        self._lock = threading.Lock()  # requests run in a thread pool
        self._kept: collections.OrderedDict[
            tuple[Any, ...], tuple[int, Judgement, dict[str, str], int]
        ] = collections.OrderedDict()
        #: The scopes being judged now: at which version, and set when the judgement is kept.
        self._judging: dict[tuple[Any, ...], tuple[int, threading.Event]] = {}

    def judgement(
        self,
        store: Store,
        *,
        environment: str,
        team: str | None,
        service: str | None,
        incidents: bool,
        start: dt.datetime,
        end: dt.datetime,
    ) -> tuple[Judgement, dict[str, str]]:
        """The judgement of the scope for ``start``..``end``, and each service's owner."""
        key = (environment, team, service, incidents)
        version = store.data_version()  # before the records: they are at least as new
        mine: threading.Event | None = None
        while mine is None:
            with self._lock:
                found = self._kept.get(key)
                if found is not None and found[0] == version and found[1].covers(start, end):
                    self._kept.move_to_end(key)
                    return found[1], found[2]
                judging = self._judging.get(key)
                if version is None or judging is None or judging[0] != version:
                    mine = threading.Event()
                    if version is not None:
                        self._judging[key] = (version, mine)
                    break
            # Another request judges this scope at this version: its judgement is kept
            # when it is done (or it failed: then this one judges it).
            judging[1].wait(timeout=JUDGING_WAIT)
        try:
            return self._judge(store, key, version, start=start, end=end)
        finally:
            with self._lock:
                if self._judging.get(key, (None, None))[1] is mine:
                    del self._judging[key]
            mine.set()

    def _judge(
        self,
        store: Store,
        key: tuple[Any, ...],
        version: int | None,
        *,
        start: dt.datetime,
        end: dt.datetime,
    ) -> tuple[Judgement, dict[str, str]]:
        environment, team, service, incidents = key
        records, opened = store.delivery_records_since(
            environment=environment, since=start, team=team, service=service,
            incidents_too=incidents,
        )  # fmt: skip
        owners = {record.service: owner for owner, record in records}
        owners.update((incident.service, owner) for owner, incident in opened)
        judgement = Judgement.of([r for _, r in records], [i for _, i in opened], start, end)
        size = max(1, len(records) + len(opened))
        if version is not None and size <= self._bound:
            with self._lock:
                replaced = self._kept.pop(key, None)
                if replaced is not None:
                    self._total -= replaced[3]
                self._kept[key] = (version, judgement, owners, size)
                self._total += size
                while self._total > self._bound or len(self._kept) > self._scopes:
                    self._total -= self._kept.popitem(last=False)[1][3]
        return judgement, owners


def _kept(request: Request) -> KeptJudgements:
    state = request.app.state
    found = getattr(state, "metrics_judgements", None)
    if not isinstance(found, KeptJudgements):
        with _MAKING:
            found = getattr(state, "metrics_judgements", None)
            if not isinstance(found, KeptJudgements):
                found = state.metrics_judgements = KeptJudgements()
    return found


_MAKING = threading.Lock()


@router.get("/v1/metrics")
def metrics(
    request: Request,
    who: Reader,
    store: StoreDep,
    clock: ClockDep,
    team: NameQuery = None,
    service: NameQuery = None,
    environment: Environment = "prod",
    days: Days = 30,
    cursor: Cursor = None,
    limit: Limit = 100,
) -> MetricsPage:
    """Delivery metrics in total and per service, a page of services at a time (by name),
    over the last ``days``, from deployments only (docs/metrics.md;
    ``/v1/metrics/delivery`` adds incidents and weeks)."""
    after = decode_cursor(cursor, str)
    end = clock()
    start = end - dt.timedelta(days=days)
    judgement, owners = _kept(request).judgement(
        store, environment=environment, team=team, service=service, incidents=False,
        start=start, end=end,
    )  # fmt: skip
    page = judgement.page(start, end, weeks=False, after=after, limit=limit)
    return MetricsPage(
        environment=environment,
        team=team,
        window_start=start,
        window_end=end,
        total=s.ServiceMetrics.model_validate(
            {"service": service or "*", "owner": team or "*", **page.total}
        ),
        services=[
            s.ServiceMetrics.model_validate({"service": name, "owner": owners[name], **metrics})
            for name, metrics in page.services.items()
        ],
        service_count=page.service_count,
        next_cursor=cursor_after(page.more_after),
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
    request: Request,
    who: Reader,
    store: StoreDep,
    clock: ClockDep,
    team: NameQuery = None,
    service: NameQuery = None,
    environment: Environment = "prod",
    days: Days = 30,
    cursor: Cursor = None,
    limit: Limit = 100,
) -> DeliveryPage:
    """Delivery metrics in total, per week (Monday 00:00 UTC, oldest first) and per
    service, a page of services at a time (by name), over the last ``days``, from
    deployments and incidents (docs/metrics.md)."""
    after = decode_cursor(cursor, str)
    end = clock()
    start = end - dt.timedelta(days=days)
    judgement, owners = _kept(request).judgement(
        store, environment=environment, team=team, service=service, incidents=True,
        start=start, end=end,
    )  # fmt: skip
    page = judgement.page(start, end, after=after, limit=limit)
    return DeliveryPage(
        environment=environment,
        team=team,
        window_start=start,
        window_end=end,
        total=s.DeliveryServiceMetrics(service=service or "*", owner=team or "*", **page.total),
        services=[
            s.DeliveryServiceMetrics(service=name, owner=owners[name], **metrics)
            for name, metrics in page.services.items()
        ],
        weeks=[s.WeekMetrics(**week) for week in page.weeks],
        service_count=page.service_count,
        next_cursor=cursor_after(page.more_after),
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
