"""``paved onboard``: the new hire's checklist as one resumable run of the existing engines.

Doctor with its safe fixes, a first service (named from ``--name`` or the git identity), a
first deploy to the first environment that is not protected and, when the platform's settings
ask for it, a guided production deploy. The state file (:mod:`paved.onboard._state`) records
each step's start and end; the platform is told too (``onboarding_event``). docs/commands.md.
"""

from __future__ import annotations

from paved.onboard._names import SUFFIX, derive_name, name_base, numbered
from paved.onboard._run import (
    SCHEMA,
    STEP_TEXT,
    Identity,
    OnboardDeps,
    OnboardingEvents,
    OnboardRequest,
    OnboardResult,
    OnboardStepFailed,
    StepView,
    manifest_image,
    onboard,
    production_allowed,
)
from paved.onboard._state import (
    DETAIL_LIMIT,
    STATE_VERSION,
    STATUSES,
    STEPS,
    ServiceChoice,
    State,
    StepRecord,
    StepStatus,
    read_state,
    write_state,
)

__all__ = [
    "DETAIL_LIMIT",
    "SCHEMA",
    "STATE_VERSION",
    "STATUSES",
    "STEPS",
    "STEP_TEXT",
    "SUFFIX",
    "Identity",
    "OnboardDeps",
    "OnboardRequest",
    "OnboardResult",
    "OnboardStepFailed",
    "OnboardingEvents",
    "ServiceChoice",
    "State",
    "StepRecord",
    "StepStatus",
    "StepView",
    "derive_name",
    "manifest_image",
    "name_base",
    "numbered",
    "onboard",
    "production_allowed",
    "read_state",
    "write_state",
]
