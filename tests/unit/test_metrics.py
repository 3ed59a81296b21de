"""Delivery metrics: exact against a plain reading of their definitions.

Their speed at scale is measured by benchmarks/platform_load.py.
"""

from __future__ import annotations

import datetime as dt
import random
import statistics

import pytest

pytest.importorskip("fastapi", reason="the platform server needs the 'server' extra")

from paved.server import Record, delivery_metrics

T0 = dt.datetime(2026, 11, 1, tzinfo=dt.UTC)


def history(seed: int, count: int, services: int) -> list[Record]:
    rng = random.Random(seed)
    records: list[Record] = []
    for id_ in range(1, count + 1):
        finished = T0 + dt.timedelta(minutes=id_ * 7 + rng.randint(0, 5))
        outcome = rng.choice(["succeeded"] * 6 + ["failed"] * 2 + ["refused"])
        earlier = [r.id for r in records if r.outcome == "succeeded"]
        rollback_of = (
            rng.choice(earlier)
            if outcome == "succeeded" and earlier and rng.random() < 0.1
            else None
        )
        records.append(
            Record(
                id=id_,
                service=f"svc-{rng.randrange(services)}",
                outcome=outcome,
                source_time=finished - dt.timedelta(minutes=rng.randint(1, 600)),
                finished_at=finished,
                rollback_of=rollback_of,
            )
        )
    return records


def time_to_restore_by_definition(records: list[Record]) -> float | None:
    """For each failure, the next good deployment of its service: one scan per failure.

    Good is a success that is not a failed change; a rollback is good even when it is rolled
    back itself (docs/metrics.md: A rolled back by B, B by C, A's restore ends at B)."""
    ordered = sorted(
        (r for r in records if r.outcome != "refused"), key=lambda r: (r.finished_at, r.id)
    )
    succeeded = [r for r in ordered if r.outcome == "succeeded"]
    rolled_back = {r.rollback_of for r in succeeded if r.rollback_of is not None}
    changes = [r for r in ordered if r.outcome == "failed" or r.rollback_of is None]
    failures = [r for r in changes if r.outcome == "failed" or r.id in rolled_back]
    restore = []
    for failure in failures:
        after = next(
            (
                r
                for r in succeeded
                if r.service == failure.service
                and (r.finished_at, r.id) > (failure.finished_at, failure.id)
                and not (r.rollback_of is None and r.id in rolled_back)
            ),
            None,
        )
        if after is not None:
            restore.append((after.finished_at - failure.finished_at).total_seconds())
    return float(statistics.median(restore)) if restore else None


@pytest.mark.parametrize("seed", range(8))
def test_time_to_restore_matches_its_definition(seed: int) -> None:
    records = history(seed, count=300, services=7)
    metrics = delivery_metrics(records, days=30)
    assert metrics["time_to_restore_seconds"] == time_to_restore_by_definition(records)
    assert metrics["deployments"] == sum(r.outcome != "refused" for r in records)
