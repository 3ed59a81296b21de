"""``paved doctor``: environment and service checks that people and scripts can trust.

Every check runs, whatever the others do; each gives a :class:`Result` with a stable id, a
status (``ok``, ``warn``, ``fail``, ``skip``), a one-line message, a fix and details. The
checks take what they look at from :class:`Inputs` (paths, settings, a git factory, the
catalog, the clock), never from the process. See docs/doctor.md.
"""

from __future__ import annotations

from paved.doctor._inputs import APP_ANSWERS, ROAD_ANSWERS, Inputs, find_service
from paved.doctor._model import (
    SCHEMA,
    Fixed,
    Group,
    Outcome,
    Report,
    Result,
    Skip,
    Status,
    exit_status,
    overall,
)
from paved.doctor._runner import CHECKS, Check, diagnose, run_check, run_checks

__all__ = [
    "APP_ANSWERS",
    "CHECKS",
    "ROAD_ANSWERS",
    "SCHEMA",
    "Check",
    "Fixed",
    "Group",
    "Inputs",
    "Outcome",
    "Report",
    "Result",
    "Skip",
    "Status",
    "diagnose",
    "exit_status",
    "find_service",
    "overall",
    "run_check",
    "run_checks",
]
