"""The platform's metrics, as pure functions over plain records (docs/metrics.md defines
each): delivery (the four DORA keys, per window and per week) over deployments and
incidents, onboarding time over onboarding events, tokens and deployments, and adoption
(road versions, time to patch, the gate, teams) over the catalog."""

from __future__ import annotations

import bisect
import dataclasses
import datetime as dt
import math
import statistics
from collections.abc import Iterable, Mapping
from typing import Any

from paved.versions import Version

__all__ = [
    "ONBOARDING_STEPS",
    "P90_BELOW",
    "SUPPRESS_BELOW",
    "DeliveryPage",
    "GateRecord",
    "IncidentRecord",
    "Judgement",
    "LayerRecord",
    "OnboardingPerson",
    "OnboardingStepRecord",
    "Record",
    "adoption_metrics",
    "delivery_metrics",
    "delivery_page",
    "delivery_report",
    "month_start",
    "nearest_rank",
    "onboarding_metrics",
    "protected_environments",
    "time_to_patch",
    "week_start",
    "weekly_delivery",
]


@dataclasses.dataclass(frozen=True)
class Record:
    """A deployment that succeeded or failed (refused and started ones are no record)."""

    id: int
    service: str
    outcome: str
    source_time: dt.datetime | None
    finished_at: dt.datetime
    rollback_of: int | None
    #: When the change began (migration 0008); lead time falls back to ``source_time``.
    change_started_at: dt.datetime | None = None


@dataclasses.dataclass(frozen=True)
class IncidentRecord:
    """An incident: opened and (maybe) resolved at the platform's clock."""

    id: int
    service: str
    opened_at: dt.datetime
    resolved_at: dt.datetime | None
    #: The deployment that caused it, if one is named.
    deployment_id: int | None = None


def _median(values: list[float]) -> float | None:
    return float(statistics.median(values)) if values else None


@dataclasses.dataclass(frozen=True)
class _Judged:
    """What the delivery metrics make of one deployment."""

    record: Record
    #: Not a rollback: a change of what runs.
    change: bool
    #: A change that failed, was rolled back, or that an incident names.
    failed: bool
    #: Seconds from the change's start to its successful deployment (changes only).
    lead: float | None
    #: Seconds until the next successful deployment of the service that is not a failed
    #: change; ``None`` when none followed (or it did not fail by its outcome or a rollback).
    restore: float | None


def _judge(
    records: Iterable[Record], incidents: Iterable[IncidentRecord]
) -> tuple[list[_Judged], list[tuple[IncidentRecord, float | None]]]:
    """Each deployment judged, in time order, and each incident that is a failure of its
    own (not one naming a deployment that failed or was rolled back) with its restore."""
    ordered = sorted(
        (r for r in records if r.outcome in ("succeeded", "failed")),
        key=lambda r: (r.finished_at, r.id),
    )
    kept = list(incidents)
    named = {i.deployment_id for i in kept if i.deployment_id is not None}
    rolled_back = {r.rollback_of for r in ordered if r.outcome == "succeeded" and r.rollback_of}
    evident: set[int] = set()  # failed by outcome or rolled back
    failed: set[int] = set()
    for r in ordered:
        if r.rollback_of is None or r.outcome == "failed":
            if r.outcome == "failed" or r.id in rolled_back:
                evident.add(r.id)
                failed.add(r.id)
            elif r.id in named:
                failed.add(r.id)
    # The next good deployment after each failure: per service, the successes that are not
    # failed changes, in time order, searched by bisection (not one scan per failure).
    good: dict[str, list[tuple[dt.datetime, int]]] = {}
    for r in ordered:
        if r.outcome == "succeeded" and r.id not in failed:
            good.setdefault(r.service, []).append((r.finished_at, r.id))
    judged = []
    for r in ordered:
        change = r.rollback_of is None or r.outcome == "failed"
        began = r.change_started_at or r.source_time
        lead = None
        if change and r.outcome == "succeeded" and began is not None:
            lead = (r.finished_at - began).total_seconds()
        restore = None
        if r.id in evident:
            after = good.get(r.service, [])
            at = bisect.bisect_right(after, (r.finished_at, r.id))
            if at < len(after):
                restore = (after[at][0] - r.finished_at).total_seconds()
        judged.append(_Judged(r, change, r.id in failed, lead, restore))
    own = [
        (i, (i.resolved_at - i.opened_at).total_seconds() if i.resolved_at else None)
        for i in sorted(kept, key=lambda i: (i.opened_at, i.id))
        if i.deployment_id not in evident
    ]
    return judged, own


def _summary(
    judged: list[_Judged],
    own: list[tuple[IncidentRecord, float | None]],
    incidents: int,
    days: float,
) -> dict[str, float | int | None]:
    succeeded = sum(1 for j in judged if j.record.outcome == "succeeded")
    changes = [j for j in judged if j.change]
    failures = [j for j in changes if j.failed]
    lead = [j.lead for j in judged if j.lead is not None]
    restore = [j.restore for j in judged if j.restore is not None]
    restore += [seconds for _, seconds in own if seconds is not None]
    return {
        "deployments": len(judged),
        "deployment_frequency": round(succeeded / days, 4) if days > 0 else 0.0,
        "lead_time_seconds": _median(lead),
        "change_failure_rate": round(len(failures) / len(changes), 4) if changes else None,
        "time_to_restore_seconds": _median(restore),
        "incidents": incidents,
        "failed_deployments": sum(1 for j in judged if j.record.outcome == "failed"),
        "rollbacks": sum(
            1
            for j in judged
            if j.record.rollback_of is not None and j.record.outcome == "succeeded"
        ),
    }


def delivery_metrics(
    records: Iterable[Record], days: float, incidents: Iterable[IncidentRecord] = ()
) -> dict[str, float | int | None]:
    """The delivery metrics of ``records`` and ``incidents`` (one environment, one window
    of ``days``); docs/metrics.md has the definitions.

    - ``deployments``: deployments that succeeded or failed (refused ones changed nothing);
    - ``deployment_frequency``: successful deployments per day;
    - ``lead_time_seconds``: median of (deployed - the change's start) over successful
      changes (deployments that are not rollbacks); the start is ``change_started_at``,
      else ``source_time``; a change with neither has no lead time;
    - ``change_failure_rate``: failed changes over changes, where a change is a deployment
      that is not a successful rollback, and it failed if its outcome is ``failed``, a
      later rollback names it, or an incident names it;
    - ``time_to_restore_seconds``: median over failures of the time to restore: for a
      deployment that failed or was rolled back, until the next successful deployment of
      the service that is not itself a failed change; for an incident (other than one
      naming such a deployment), from opened to resolved. A failure not restored in the
      window has no time to restore;
    - ``incidents``, ``failed_deployments``, ``rollbacks``: counts.
    """
    kept = list(incidents)
    judged, own = _judge(records, kept)
    return _summary(judged, own, len(kept), days)


def week_start(at: dt.datetime) -> dt.datetime:
    """Monday 00:00 UTC of the week of ``at``."""
    day = at.astimezone(dt.UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    return day - dt.timedelta(days=day.weekday())


_WEEK = dt.timedelta(days=7)


def weekly_delivery(
    records: Iterable[Record],
    incidents: Iterable[IncidentRecord],
    start: dt.datetime,
    end: dt.datetime,
) -> list[dict[str, Any]]:
    """The delivery metrics of each week (Monday 00:00 UTC) that overlaps ``start``..``end``,
    oldest first. Deployments are judged over the whole window (a change rolled back the
    week after still failed) and counted in the week they finished; incidents in the week
    they opened. The frequency is per day of the week that lies in the window."""
    kept = list(incidents)
    judged, own = _judge(records, kept)
    return _weeks(judged, own, kept, start, end)


def delivery_report(
    records: Iterable[Record],
    incidents: Iterable[IncidentRecord],
    start: dt.datetime,
    end: dt.datetime,
    *,
    weeks: bool = True,
) -> tuple[dict[str, Any], dict[str, dict[str, Any]], list[dict[str, Any]]]:
    """:func:`delivery_metrics` of everything, of each service, and :func:`weekly_delivery`
    (none without ``weeks``), from one judgement of the records (the same answers, computed
    once)."""
    page = delivery_page(records, incidents, start, end, weeks=weeks)
    return page.total, page.services, page.weeks


@dataclasses.dataclass(frozen=True)
class DeliveryPage:
    """The delivery metrics of everything, of one page of services and of each week."""

    #: :func:`delivery_metrics` of every record and incident.
    total: dict[str, Any]
    #: :func:`delivery_metrics` of each service of the page, by name.
    services: dict[str, dict[str, Any]]
    #: :func:`weekly_delivery` (empty when not asked for).
    weeks: list[dict[str, Any]]
    #: The services with a record or an incident, on every page.
    service_count: int
    #: The last service of this page when another page follows, else ``None``.
    more_after: str | None


def delivery_page(
    records: Iterable[Record],
    incidents: Iterable[IncidentRecord],
    start: dt.datetime,
    end: dt.datetime,
    *,
    weeks: bool = True,
    after: str | None = None,
    limit: int | None = None,
) -> DeliveryPage:
    """What :func:`delivery_report` answers, with the per-service figures of one page only:
    the services (with a record or an incident) by name, those after ``after``, at most
    ``limit`` of them (all without). The total and the weeks are of everything, whatever
    the page: every record is judged once, and only the page's services are summarised."""
    found = Judgement.of(records, incidents, start, end)
    return found.page(start, end, weeks=weeks, after=after, limit=limit)


@dataclasses.dataclass(frozen=True)
class Judgement:
    """Deployments and incidents judged once (:func:`delivery_metrics`'s terms), to be
    summarised for any window it :meth:`covers`: a server keeps one until the next change.

    How a deployment is judged depends on it and on what came after it (a rollback, the
    next good deployment, an incident naming it), never on what came before; so what was
    judged from ``since`` serves a window that starts later too, unless a record names one
    that finished after it (client clocks may disagree): such a window must start no later
    than ``starts_by``. Records finished after ``end`` (ahead of the platform's clock) are
    not judged; a window must end before the first of them, ``ends_before``."""

    judged: list[_Judged]
    #: Every incident, by when it opened, with its time to restore.
    timed: list[tuple[IncidentRecord, float | None]]
    #: The deployments that failed by their outcome or were rolled back, and when they
    #: finished: an incident naming one in the window is that failure, not one of its own.
    evident: dict[int, dt.datetime]
    since: dt.datetime
    end: dt.datetime
    starts_by: dt.datetime | None
    ends_before: dt.datetime | None
    #: Pages summarised already, by what they depend on (see :meth:`page`).
    _pages: dict[tuple[Any, ...], tuple[DeliveryPage, list[int]]] = dataclasses.field(
        default_factory=dict, compare=False, repr=False
    )

    @classmethod
    def of(
        cls,
        records: Iterable[Record],
        incidents: Iterable[IncidentRecord],
        since: dt.datetime,
        end: dt.datetime,
    ) -> Judgement:
        """Judge the records that finished and the incidents opened in ``since``..``end``;
        those after ``end`` only bound the windows it serves."""
        within: list[Record] = []
        ends_before: dt.datetime | None = None
        for record in records:
            if record.finished_at > end:
                if ends_before is None or record.finished_at < ends_before:
                    ends_before = record.finished_at
            elif record.finished_at >= since:
                within.append(record)
        kept = sorted(
            (i for i in incidents if since <= i.opened_at <= end), key=lambda i: (i.opened_at, i.id)
        )
        judged, _own = _judge(within, kept)
        rolled_back = {
            j.record.rollback_of
            for j in judged
            if j.record.outcome == "succeeded" and j.record.rollback_of is not None
        }
        evident = {
            j.record.id: j.record.finished_at
            for j in judged
            if j.change and (j.record.outcome == "failed" or j.record.id in rolled_back)
        }
        timed = [
            (i, (i.resolved_at - i.opened_at).total_seconds() if i.resolved_at else None)
            for i in kept
        ]
        finished = {j.record.id: j.record.finished_at for j in judged}
        backwards = [
            j.record.finished_at
            for j in judged
            if j.record.rollback_of is not None
            and finished.get(j.record.rollback_of, j.record.finished_at) > j.record.finished_at
        ]
        backwards += [
            i.opened_at
            for i in kept
            if i.deployment_id is not None
            and finished.get(i.deployment_id, i.opened_at) > i.opened_at
        ]
        starts_by = min(backwards, default=None)
        return cls(judged, timed, evident, since, end, starts_by, ends_before)

    def covers(self, start: dt.datetime, end: dt.datetime) -> bool:
        """Whether the window ``start``..``end`` is summarised from this judgement exactly as
        from its own (the records have not changed meanwhile)."""
        return (
            self.since <= start <= end
            and self.end <= end
            and (self.starts_by is None or start <= self.starts_by)
            and (self.ends_before is None or end < self.ends_before)
        )

    def page(
        self,
        start: dt.datetime,
        end: dt.datetime,
        *,
        weeks: bool = True,
        after: str | None = None,
        limit: int | None = None,
    ) -> DeliveryPage:
        """:func:`delivery_page` of the window ``start``..``end`` (one it :meth:`covers`)."""
        first = bisect.bisect_left(self.judged, start, key=lambda j: j.record.finished_at)
        opened = bisect.bisect_left(self.timed, start, key=lambda item: item[0].opened_at)
        # What the page depends on: which records and incidents are in the window (and so
        # which incidents are failures of their own), its length, the page asked for, and
        # the weeks it spans; within a week only the frequency moves with the clock.
        begins = week_start(start)
        count = max(1, math.ceil((end - begins) / _WEEK)) if end > begins else 1
        key = (first, opened, end - start, after, limit, weeks and (begins, count))
        found = self._pages.get(key)
        if found is None:
            made = self._page(first, opened, start, end, weeks=weeks, after=after, limit=limit)
            successes = [0] * count
            for j in self.judged[first:] if weeks else ():
                index = int((j.record.finished_at - begins) // _WEEK)
                if j.record.outcome == "succeeded" and 0 <= index < count:
                    successes[index] += 1
            if len(self._pages) >= 64:
                self._pages.clear()
            self._pages[key] = found = (made, successes)
            return made
        kept_page, successes = found
        per_week = []
        for index, week in enumerate(kept_page.weeks):
            inside = min(end, week["week_start"] + _WEEK) - max(start, week["week_start"])
            days = max(inside.total_seconds(), 0.0) / 86400
            frequency = round(successes[index] / days, 4) if days > 0 else 0.0
            per_week.append({**week, "deployment_frequency": frequency})
        return dataclasses.replace(kept_page, weeks=per_week)

    def _page(
        self,
        first: int,
        opened: int,
        start: dt.datetime,
        end: dt.datetime,
        *,
        weeks: bool,
        after: str | None,
        limit: int | None,
    ) -> DeliveryPage:
        judged = self.judged[first:]
        kept = [incident for incident, _ in self.timed[opened:]]
        own = [
            (incident, seconds)
            for incident, seconds in self.timed[opened:]
            if (failed_at := self.evident.get(incident.deployment_id or 0)) is None
            or failed_at < start
        ]
        days = (end - start).total_seconds() / 86400
        per_judged: dict[str, list[_Judged]] = {}
        for j in judged:
            per_judged.setdefault(j.record.service, []).append(j)
        per_own: dict[str, list[tuple[IncidentRecord, float | None]]] = {}
        for item in own:
            per_own.setdefault(item[0].service, []).append(item)
        count: dict[str, int] = {}
        for incident in kept:
            count[incident.service] = count.get(incident.service, 0) + 1
        names = sorted({*per_judged, *count})
        first = 0 if after is None else bisect.bisect_right(names, after)
        last = len(names) if limit is None else min(len(names), first + limit)
        services = {
            name: _summary(
                per_judged.get(name, []), per_own.get(name, []), count.get(name, 0), days
            )
            for name in names[first:last]
        }
        return DeliveryPage(
            total=_summary(judged, own, len(kept), days),
            services=services,
            weeks=_weeks(judged, own, kept, start, end) if weeks else [],
            service_count=len(names),
            more_after=names[last - 1] if first < last < len(names) else None,
        )


def _weeks(
    judged: list[_Judged],
    own: list[tuple[IncidentRecord, float | None]],
    kept: list[IncidentRecord],
    start: dt.datetime,
    end: dt.datetime,
) -> list[dict[str, Any]]:
    weeks: list[dict[str, Any]] = []
    first = week_start(start)
    count = max(1, math.ceil((end - first) / _WEEK)) if end > first else 1
    buckets: list[list[_Judged]] = [[] for _ in range(count)]
    own_buckets: list[list[tuple[IncidentRecord, float | None]]] = [[] for _ in range(count)]
    opened = [0] * count

    def slot(at: dt.datetime) -> int | None:
        index = int((at - first) // _WEEK)
        return index if 0 <= index < count else None

    for j in judged:
        if (index := slot(j.record.finished_at)) is not None:
            buckets[index].append(j)
    for incident in kept:
        if (index := slot(incident.opened_at)) is not None:
            opened[index] += 1
    for item in own:
        if (index := slot(item[0].opened_at)) is not None:
            own_buckets[index].append(item)
    for index in range(count):
        begins = first + index * _WEEK
        inside = min(end, begins + _WEEK) - max(start, begins)
        days = max(inside.total_seconds(), 0.0) / 86400
        found = _summary(buckets[index], own_buckets[index], opened[index], days)
        del found["failed_deployments"], found["rollbacks"]
        weeks.append({"week_start": begins, **found})
    return weeks


@dataclasses.dataclass(frozen=True)
class LayerRecord:
    """One row of the layer history: a service's layer recorded at a version."""

    id: int
    service: str
    scaffold: str
    version: str
    recorded_at: dt.datetime


def nearest_rank(values: list[float], share: float) -> float | None:
    """The ``share`` quantile of ``values`` by nearest rank: the smallest value that at least
    that share of them do not exceed (0.9 of 1..10 is 9)."""
    if not values:
        return None
    ordered = sorted(values)
    return float(ordered[max(0, math.ceil(share * len(ordered)) - 1)])


def _version_key(version: str) -> tuple[int, Version | None, str]:
    parsed = Version.parse(version)
    return (0, parsed, version) if parsed is not None else (1, None, version)


def _older(before: str, after: str) -> bool:
    old, new = Version.parse(before), Version.parse(after)
    return old is not None and new is not None and old < new


def time_to_patch(
    history: Iterable[LayerRecord],
    current: Iterable[tuple[str, str]],
    rollouts: Iterable[tuple[str, str, dt.datetime]],
) -> list[dict[str, Any]]:
    """For each (scaffold, version) of one layer, how it spread.

    ``history`` is every record of the layer (archived services too), ``current`` the
    (scaffold, version) of the layer of each registered service that is not archived, and
    ``rollouts`` the (scaffold, version, started_at) of the layer's roll-outs.

    - ``released_at``: the earliest of the first record at the version and the first
      roll-out of it;
    - ``services`` and ``share``: services at it now, and their share of those whose layer
      comes from the same scaffold;
    - ``moved``, ``time_to_patch_median_seconds``, ``time_to_patch_p90_seconds``: the
      services whose layer moved to it from an older version of the same scaffold (the
      first time each did), and the median and 90th percentile (nearest rank) of
      (recorded_at - released_at).
    """
    records = sorted(history, key=lambda r: (r.recorded_at, r.id))
    released: dict[tuple[str, str], dt.datetime] = {}
    for record in records:
        released.setdefault((record.scaffold, record.version), record.recorded_at)
    for scaffold, version, started_at in rollouts:
        key = (scaffold, version)
        released[key] = min(released.get(key, started_at), started_at)
    moves: dict[tuple[str, str], list[float]] = {}
    last: dict[str, LayerRecord] = {}
    moved: set[tuple[str, str, str]] = set()
    for record in records:
        key = (record.scaffold, record.version)
        before = last.get(record.service)
        last[record.service] = record
        if (
            before is not None
            and before.scaffold == record.scaffold
            and _older(before.version, record.version)
            and (record.service, *key) not in moved
        ):
            moved.add((record.service, *key))
            waited = (record.recorded_at - released[key]).total_seconds()
            moves.setdefault(key, []).append(waited)
    on: dict[tuple[str, str], int] = {}
    per_scaffold: dict[str, int] = {}
    for scaffold, version in current:
        on[(scaffold, version)] = on.get((scaffold, version), 0) + 1
        per_scaffold[scaffold] = per_scaffold.get(scaffold, 0) + 1
    found = []
    for scaffold, version in sorted(
        {*released, *on}, key=lambda key: (key[0], _version_key(key[1]))
    ):
        key = (scaffold, version)
        waits = moves.get(key, [])
        total = per_scaffold.get(scaffold, 0)
        found.append(
            {
                "scaffold": scaffold,
                "version": version,
                "released_at": released.get(key),
                "services": on.get(key, 0),
                "share": round(on.get(key, 0) / total, 4) if total else None,
                "moved": len(waits),
                "time_to_patch_median_seconds": _median(waits),
                "time_to_patch_p90_seconds": nearest_rank(waits, 0.9),
            }
        )
    return found


# -- onboarding -------------------------------------------------------------------------------

#: Fewer finished people than this in a group: its median is not shown (no one is identified).
SUPPRESS_BELOW = 5
#: Fewer finished people than this in a group: its 90th percentile is not shown (by nearest
#: rank, the p90 of fewer than ten people is one of the slowest few of them).
P90_BELOW = 10


@dataclasses.dataclass(frozen=True)
class OnboardingPerson:
    """One person's onboarding: when it started (their first onboarding event or first
    token, whichever is first), when it ended (their first successful deployment to a
    protected environment without break-glass, after the start; ``None`` if none yet), and
    the teams of their tokens."""

    start: dt.datetime
    end: dt.datetime | None
    teams: tuple[str, ...]


@dataclasses.dataclass(frozen=True)
class OnboardingStepRecord:
    """A step of ``paved onboard`` that one person started, finished, failed or skipped.
    ``person`` only tells one person's events from another's: it is never reported."""

    person: str
    step: str
    status: str
    at: dt.datetime
    id: int = 0


#: The steps of ``paved onboard``, in order.
ONBOARDING_STEPS = ("doctor", "service", "first-deploy", "production-deploy")


def protected_environments(settings: Mapping[str, Any]) -> tuple[str, ...]:
    """The environments the platform holds protected, by the settings' own rule
    (``paved.deploy``'s): ``prod`` unless its ``protected`` is false, and each environment
    of the organisation settings whose ``protected`` is true (``true`` or ``"true"``
    exactly, as the settings file takes it; anything else protects nothing)."""
    found = {"prod"}
    environments = settings.get("environments")
    if isinstance(environments, Mapping):
        for name, options in environments.items():
            if isinstance(name, str) and isinstance(options, Mapping):
                flag = options.get("protected")
                if flag is True or flag == "true":
                    found.add(name)
                elif flag is False or flag == "false":
                    found.discard(name)
    return tuple(sorted(found))


def _times(values: list[float], started: int) -> dict[str, Any]:
    shown_median = len(values) >= SUPPRESS_BELOW
    shown_p90 = len(values) >= P90_BELOW
    return {
        "started": started,
        "finished": len(values),
        "median_seconds": _median(values) if shown_median else None,
        "p90_seconds": nearest_rank(values, 0.9) if shown_p90 else None,
        "suppressed": not (shown_median and shown_p90),
    }


def month_start(at: dt.datetime) -> dt.datetime:
    """00:00 UTC of the first day of the month of ``at``: onboarding windows snap to it."""
    day = at.astimezone(dt.UTC)
    return day.replace(day=1, hour=0, minute=0, second=0, microsecond=0)


def onboarding_metrics(
    people: Iterable[OnboardingPerson],
    steps: Iterable[OnboardingStepRecord],
    start: dt.datetime,
    end: dt.datetime,
) -> dict[str, Any]:
    """Onboarding time of the people who started in ``start``..``end``, per monthly cohort
    (the month of their start) and per team (a person in two teams counts in both), and the
    time each step of ``paved onboard`` takes; never a row per person. ``start`` snaps to
    the start of its month (:func:`month_start`), so cohorts are whole months.

    Onboarding time is (end - start) of the people who finished. A step counts each person
    once: their first ``started`` of it in the window, up to their next ``finished`` of it
    (``runs``: the people who started it; ``finished``: those who finished it). A group with
    fewer than :data:`SUPPRESS_BELOW` finished people shows no median, with fewer than
    :data:`P90_BELOW` no p90; either withheld sets ``suppressed``.
    """
    start = month_start(start)
    cohorts: dict[str, tuple[list[float], list[int]]] = {}
    teams: dict[str, tuple[list[float], list[int]]] = {}
    for person in people:
        if not start <= person.start <= end:
            continue
        took = None
        if person.end is not None and person.end <= end:
            took = (person.end - person.start).total_seconds()
        groups = [cohorts.setdefault(person.start.strftime("%Y-%m"), ([], [0]))]
        groups += [teams.setdefault(team, ([], [0])) for team in sorted(set(person.teams))]
        for values, started in groups:
            started[0] += 1
            if took is not None:
                values.append(took)
    runs: dict[str, tuple[list[float], list[int]]] = {s: ([], [0]) for s in ONBOARDING_STEPS}
    first_start: dict[tuple[str, str], dt.datetime] = {}
    done: set[tuple[str, str]] = set()
    for record in sorted(steps, key=lambda r: (r.at, r.id)):
        if not start <= record.at <= end or record.step not in runs:
            continue
        key = (record.person, record.step)
        if record.status == "started" and key not in first_start:
            runs[record.step][1][0] += 1  # one run per person: their first
            first_start[key] = record.at
        elif record.status == "finished" and key in first_start and key not in done:
            done.add(key)
            runs[record.step][0].append((record.at - first_start[key]).total_seconds())
    return {
        "window_start": start,
        "window_end": end,
        "cohorts": [
            {"cohort": name, **_times(values, started[0])}
            for name, (values, started) in sorted(cohorts.items())
        ],
        "teams": [
            {"team": name, **_times(values, started[0])}
            for name, (values, started) in sorted(teams.items())
        ],
        "steps": [
            {"step": name, "runs": started[0], **_step_times(values)}
            for name, (values, started) in runs.items()
        ],
    }


def _step_times(values: list[float]) -> dict[str, Any]:
    found = _times(values, 0)
    del found["started"]
    return found


# -- adoption ---------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class GateRecord:
    """The latest gate report of a service that is not archived."""

    service: str
    passed: bool
    rule_ids: tuple[str, ...]


def adoption_metrics(
    layer: str,
    versions: list[dict[str, Any]],
    gate: Iterable[GateRecord],
    teams: Iterable[tuple[str, int, bool]],
) -> dict[str, Any]:
    """How far the road has spread: ``versions`` is :func:`time_to_patch` of ``layer``;
    ``gate`` the latest report of each service that is not archived; ``teams`` each team
    with its services (not archived) and whether one of them deployed successfully in the
    window.

    - ``newest``: each scaffold's newest version (by version order) anyone is on or was
      released; ``on_newest``: the services on it, and their share of the services whose
      layer comes from a scaffold;
    - ``gate``: the services that reported, those whose latest report passed and their
      share of those that reported, and each rule that fails in a latest report with the
      number of services it fails in (most first);
    - ``teams_deployed``: the teams that deployed in the window.
    """
    newest: dict[str, str] = {}
    for found in versions:  # by scaffold, oldest version first
        newest[found["scaffold"]] = found["version"]
    total = sum(found["services"] for found in versions)
    on = sum(
        found["services"] for found in versions if newest.get(found["scaffold"]) == found["version"]
    )
    reports = list(gate)
    passed = sum(1 for report in reports if report.passed)
    failing: dict[str, int] = {}
    for report in reports:
        if not report.passed:
            for rule in set(report.rule_ids):
                failing[rule] = failing.get(rule, 0) + 1
    rows = [
        {"team": team, "services": services, "deployed_in_window": deployed}
        for team, services, deployed in sorted(teams)
    ]
    return {
        "layer": layer,
        "newest": newest,
        "versions": versions,
        "on_newest": {"services": on, "share": round(on / total, 4) if total else None},
        "gate": {
            "reported": len(reports),
            "passed": passed,
            "share_passing": round(passed / len(reports), 4) if reports else None,
            "failing_rules": [
                {"rule_id": rule, "services": count}
                for rule, count in sorted(failing.items(), key=lambda x: (-x[1], x[0]))
            ],
        },
        "teams": rows,
        "teams_deployed": sum(1 for row in rows if row["deployed_in_window"]),
    }
