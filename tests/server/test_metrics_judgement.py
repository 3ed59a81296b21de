"""A judgement kept for a scope summarises any later window exactly as judging it afresh does
(paved.server._metrics.Judgement), page by page."""

from __future__ import annotations

import datetime as dt
import random
from typing import Any

import pytest

from paved.server._metrics import (
    IncidentRecord,
    Judgement,
    Record,
    delivery_metrics,
    delivery_page,
    weekly_delivery,
)

T0 = dt.datetime(2025, 3, 1, 12, 0, tzinfo=dt.UTC)


def history(
    rng: random.Random, *, backwards: bool = False
) -> tuple[list[Record], list[IncidentRecord]]:
    """Deployments of a few services over 60 days before T0 (a few a minute ahead of it),
    with rollbacks of earlier ones and incidents naming some, opened after what they name
    (with ``backwards``, some rollbacks and incidents come before what they name)."""
    records: list[Record] = []
    for k in range(1, 400):
        service = f"svc-{rng.randrange(12):02d}"
        finished = T0 - dt.timedelta(minutes=rng.randrange(-3, 60 * 24 * 60))
        mine = [r for r in records if r.service == service and r.finished_at < finished]
        rollback = None
        if mine and rng.random() < 0.15:
            rollback = rng.choice(mine).id
        if backwards and rng.random() < 0.03:
            later = [r for r in records if r.service == service and r.finished_at > finished]
            rollback = later[0].id if later else rollback
        began = rng.choice([None, finished - dt.timedelta(hours=rng.uniform(1, 50))])
        records.append(
            Record(
                id=k,
                service=service,
                outcome="failed" if rng.random() < 0.2 else "succeeded",
                source_time=finished - dt.timedelta(hours=rng.uniform(0.5, 30)),
                finished_at=finished,
                rollback_of=rollback,
                change_started_at=began,
            )
        )
    incidents: list[IncidentRecord] = []
    for k in range(1, 60):
        named = rng.choice(records)
        opened = named.finished_at + dt.timedelta(minutes=rng.randrange(1, 600))
        if backwards and rng.random() < 0.2:
            opened = named.finished_at - dt.timedelta(minutes=30)
        opened = min(opened, T0)
        resolved = rng.choice([None, opened + dt.timedelta(hours=rng.uniform(0.1, 9))])
        incidents.append(
            IncidentRecord(
                id=k,
                service=named.service,
                opened_at=opened,
                resolved_at=resolved if resolved is None or resolved <= T0 else None,
                deployment_id=named.id if rng.random() < 0.7 else None,
            )
        )
    return records, incidents


def afresh(
    records: list[Record], incidents: list[IncidentRecord], start: dt.datetime, end: dt.datetime
) -> tuple[dict[str, Any], dict[str, dict[str, Any]], list[dict[str, Any]]]:
    """What the platform answered before, by the definitions' own functions: only the
    records and incidents in the window, each service judged on its own."""
    records = [r for r in records if start <= r.finished_at <= end]
    incidents = [i for i in incidents if start <= i.opened_at <= end]
    days = (end - start).total_seconds() / 86400
    names = sorted({r.service for r in records} | {i.service for i in incidents})
    services = {
        name: delivery_metrics(
            [r for r in records if r.service == name],
            days,
            [i for i in incidents if i.service == name],
        )
        for name in names
    }
    return (
        delivery_metrics(records, days, incidents),
        services,
        weekly_delivery(records, incidents, start, end),
    )


@pytest.mark.parametrize("seed", range(8))
def test_a_kept_judgement_answers_later_windows_as_a_fresh_one(seed: int) -> None:
    rng = random.Random(seed)
    records, incidents = history(rng)
    since = T0 - dt.timedelta(days=30)
    kept = Judgement.of(records, incidents, since, T0)
    finished = {r.id: r.finished_at for r in records}
    # Windows that start between a deployment and an incident that names it, too: the
    # incident is then a failure of its own.
    between = [
        finished[i.deployment_id] + dt.timedelta(seconds=1)
        for i in incidents
        if i.deployment_id is not None and finished[i.deployment_id] >= since
    ][:6]
    for start in [since + dt.timedelta(minutes=m) for m in (0, 1, 7, 1800, 4320)] + between:
        end = T0 + dt.timedelta(seconds=30)
        if not kept.covers(start, end):  # a record finished within the minute ahead
            assert any(T0 < r.finished_at <= end for r in records)
            continue
        for _ in range(2):  # the second answer comes from the pages kept
            page = kept.page(start, end)
            total, services, weeks = afresh(records, incidents, start, end)
            assert (page.total, page.services, page.weeks) == (total, services, weeks)
            assert page.service_count == len(services)
        # The window moves within a week: only the frequencies change, as computed afresh.
        later = end + dt.timedelta(seconds=20)
        if kept.covers(start + dt.timedelta(seconds=20), later):
            moved = kept.page(start + dt.timedelta(seconds=20), later)
            assert (
                moved.weeks
                == afresh(records, incidents, start + dt.timedelta(seconds=20), later)[2]
            )


@pytest.mark.parametrize("seed", range(4))
def test_records_that_name_later_ones_bound_the_windows_a_judgement_serves(seed: int) -> None:
    rng = random.Random(100 + seed)
    records, incidents = history(rng, backwards=True)
    since = T0 - dt.timedelta(days=30)
    kept = Judgement.of(records, incidents, since, T0)
    assert kept.starts_by is not None
    for minutes in range(0, 60 * 24 * 30, 60 * 24):
        start = since + dt.timedelta(minutes=minutes)
        if kept.covers(start, T0):
            page = kept.page(start, T0)
            assert (page.total, page.services, page.weeks) == afresh(records, incidents, start, T0)
        else:
            assert start > kept.starts_by


def test_a_window_ending_past_a_record_ahead_of_the_clock_is_not_covered() -> None:
    ahead = Record(1, "payments", "succeeded", None, T0 + dt.timedelta(minutes=3), None)
    kept = Judgement.of([ahead], [], T0 - dt.timedelta(days=1), T0)
    assert kept.covers(T0 - dt.timedelta(hours=1), T0 + dt.timedelta(minutes=2))
    assert not kept.covers(T0 - dt.timedelta(hours=1), T0 + dt.timedelta(minutes=3))
    assert not kept.covers(T0 - dt.timedelta(days=2), T0)  # before what was read
    assert kept.page(T0 - dt.timedelta(hours=1), T0).total["deployments"] == 0


def test_pages_walked_by_name_hold_every_service_once() -> None:
    records, incidents = history(random.Random(3))
    start = T0 - dt.timedelta(days=30)
    whole = delivery_page(records, incidents, start, T0)
    walked: dict[str, dict[str, object]] = {}
    after = None
    for _ in range(20):
        page = delivery_page(records, incidents, start, T0, after=after, limit=5)
        assert page.total == whole.total
        assert page.weeks == whole.weeks
        assert page.service_count == len(whole.services)
        assert len(page.services) <= 5
        assert not walked.keys() & page.services.keys()
        walked.update(page.services)
        after = page.more_after
        if after is None:
            break
    assert walked == whole.services
    assert list(walked) == sorted(walked)
