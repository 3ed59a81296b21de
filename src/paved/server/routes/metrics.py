"""``/v1/metrics``: delivery metrics (the four DORA keys) per service and in total, and the
organisation's time to patch a layer (``/v1/metrics/patching``)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Query

from paved.server import _schemas as s
from paved.server._access import Reader
from paved.server._metrics import Record, delivery_metrics, time_to_patch
from paved.server._state import ClockDep, StoreDep
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


def _metrics(service: str, owner: str, records: list[Record], days: int) -> s.ServiceMetrics:
    found = delivery_metrics(records, days)
    return s.ServiceMetrics.model_validate({"service": service, "owner": owner, **found})


@router.get("/v1/metrics")
def metrics(
    who: Reader,
    store: StoreDep,
    clock: ClockDep,
    team: NameQuery = None,
    service: NameQuery = None,
    environment: Environment = "prod",
    days: Annotated[int, Query(ge=1, le=366)] = 30,
) -> s.MetricsOut:
    """Delivery metrics per service, and in total, over the last ``days`` (docs/platform.md)."""
    end = clock()
    start = end - dt.timedelta(days=days)
    found = store.finished_deployments(
        environment=environment, start=start, end=end, team=team, service=service
    )
    by_service: dict[str, list[Record]] = {}
    owners: dict[str, str] = {}
    for owner, record in found:
        owners[record.service] = owner
        by_service.setdefault(record.service, []).append(record)
    return s.MetricsOut(
        environment=environment,
        team=team,
        window_start=start,
        window_end=end,
        total=_metrics(service or "*", team or "*", [r for _, r in found], days),
        services=[
            _metrics(name, owners[name], records, days)
            for name, records in sorted(by_service.items())
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
