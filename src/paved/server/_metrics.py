"""Delivery metrics (the four DORA keys) over deployment records; pure functions."""

from __future__ import annotations

import bisect
import dataclasses
import datetime as dt
import statistics
from collections.abc import Iterable

__all__ = ["Record", "delivery_metrics"]


@dataclasses.dataclass(frozen=True)
class Record:
    id: int
    service: str
    outcome: str
    source_time: dt.datetime | None
    finished_at: dt.datetime
    rollback_of: int | None


def _median(values: list[float]) -> float | None:
    return float(statistics.median(values)) if values else None


def delivery_metrics(records: Iterable[Record], days: int) -> dict[str, float | int | None]:
    """The metrics of ``records`` (one environment, one window of ``days``), oldest first.

    - deployment frequency: successful deployments per day;
    - lead time for changes: median of (deployed - committed) over successful deployments;
    - change failure rate: (failed deployments + successful ones later rolled back) over
      (successful deployments that are not rollbacks + failed deployments);
    - time to restore: for each failure, the time until the next successful deployment of
      the same service; the median.

    Refused attempts changed nothing and count for none of these.
    """
    ordered = sorted(
        (r for r in records if r.outcome in ("succeeded", "failed")),
        key=lambda r: (r.finished_at, r.id),
    )
    succeeded = [r for r in ordered if r.outcome == "succeeded"]
    rolled_back = {r.rollback_of for r in succeeded if r.rollback_of is not None}
    changes = [r for r in ordered if r.outcome == "failed" or r.rollback_of is None]
    failures = [r for r in changes if r.outcome == "failed" or r.id in rolled_back]
    lead = [
        (r.finished_at - r.source_time).total_seconds()
        for r in succeeded
        if r.rollback_of is None and r.source_time is not None
    ]
    # The next good deployment of the same service after each failure: per service, the
    # successes in time order, searched by bisection (not one scan per failure).
    recoveries: dict[str, list[tuple[dt.datetime, int]]] = {}
    for r in succeeded:
        if r.id not in rolled_back:
            recoveries.setdefault(r.service, []).append((r.finished_at, r.id))
    restore: list[float] = []
    for failure in failures:
        after = recoveries.get(failure.service, [])
        at = bisect.bisect_right(after, (failure.finished_at, failure.id))
        if at < len(after):
            restore.append((after[at][0] - failure.finished_at).total_seconds())
    return {
        "deployments": len(ordered),
        "deployment_frequency": round(len(succeeded) / days, 4),
        "lead_time_seconds": _median(lead),
        "change_failure_rate": round(len(failures) / len(changes), 4) if changes else None,
        "time_to_restore_seconds": _median(restore),
    }
