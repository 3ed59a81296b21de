"""``/v1/onboarding/events``: the steps of ``paved onboard`` as each user runs them.

The user is always the token's, never the body's; the time is the platform's clock. The
onboarding metrics read these records in aggregate only (docs/metrics.md).
"""

from __future__ import annotations

from fastapi import APIRouter, Request

from paved.server import _schemas as s
from paved.server._access import Caller, refuse_unless
from paved.server._audit import event
from paved.server._state import ClockDep, StoreDep

__all__ = ["router"]

router = APIRouter(tags=["onboarding"])


@router.post("/v1/onboarding/events", status_code=201)
def record_onboarding_event(
    request: Request, who: Caller, store: StoreDep, clock: ClockDep, body: s.OnboardingEventIn
) -> s.OnboardingEventOut:
    """Record that the token's user started, finished, failed or skipped a step of
    ``paved onboard``, now (the platform's clock). Any valid token may; audited."""
    action, target = "onboarding.event", f"onboarding {body.step}"
    who = refuse_unless(request, who, None, action, target)
    return store.record_onboarding_event(
        body,
        user=who.user,
        now=clock(),
        event=lambda new_id: event(
            request, who, action, target, body.status, f"id {new_id}, {body.step}"
        ),
    )
