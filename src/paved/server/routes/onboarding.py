"""``/v1/onboarding/events``: the steps of ``paved onboard`` as each user runs them.

The user is always the token's, never the body's; the time is the platform's clock. The
onboarding metrics read these records in aggregate only (docs/metrics.md).
"""

from __future__ import annotations

import datetime as dt
import math

from fastapi import APIRouter, Request

from paved.server import _schemas as s
from paved.server._access import Caller, refuse_unless, refused
from paved.server._audit import event
from paved.server._state import ClockDep, StoreDep

__all__ = ["router"]

router = APIRouter(tags=["onboarding"])

#: How many onboarding events one user may send in a period: ``paved onboard`` sends two per
#: step; more is a loop or someone filling the figures.
EVENTS_PER_USER = (100, dt.timedelta(days=1))


@router.post("/v1/onboarding/events", status_code=201)
def record_onboarding_event(
    request: Request, who: Caller, store: StoreDep, clock: ClockDep, body: s.OnboardingEventIn
) -> s.OnboardingEventOut:
    """Record that the token's user started, finished, failed or skipped a step of
    ``paved onboard``, now (the platform's clock). Any valid token may, up to 100 events a
    user in any 24 hours (then 429 with ``Retry-After``); audited."""
    action, target = "onboarding.event", f"onboarding {body.step}"
    who = refuse_unless(request, who, None, action, target)
    now = clock()
    kept = store.record_onboarding_event(
        body,
        user=who.user,
        now=now,
        event=lambda new_id: event(
            request, who, action, target, body.status, f"id {new_id}, {body.step}"
        ),
        limit=EVENTS_PER_USER,
    )
    if isinstance(kept, dt.datetime):
        count, period = EVENTS_PER_USER
        wait = max(1, math.ceil((kept - now).total_seconds()))
        message = (
            f"{who.user} sent {count} onboarding events in the last {period.days * 24} hours: "
            f"try again in {wait} seconds"
        )
        error = refused(request, who, action, target, 429, message, "too many events")
        error.headers["Retry-After"] = str(wait)
        raise error
    return kept
