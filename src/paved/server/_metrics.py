"""Delivery metrics (the four DORA keys) over deployment records, and the time services take
to move to a layer's release (time to patch) over the layer history; pure functions."""

from __future__ import annotations

import bisect
import dataclasses
import datetime as dt
import math
import statistics
from collections.abc import Iterable
from typing import Any

from paved.versions import Version

__all__ = ["LayerRecord", "Record", "delivery_metrics", "nearest_rank", "time_to_patch"]


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
