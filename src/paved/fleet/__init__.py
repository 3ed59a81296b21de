"""Rolling a road release across every service: plan, update in waves, status (docs/fleet.md).

Each service is updated by ``paved update``'s own merge in a clean clone of its repository, on
a branch, checked by the guardrails, then pushed; conflicts go to a branch of their own for a
person. A roll-out has an id and a journal, and the same command run again carries it on.
"""

from paved.fleet._model import FINAL, FleetRequest, Mode, Outcome, Status, describe, parse_waves
from paved.fleet._run import (
    FleetRun,
    Journal,
    adoption,
    fleet_plan,
    fleet_status,
    fleet_update,
    record_merged,
    refresh,
    request_for,
    rollouts,
)
from paved.fleet._work import branch_name

__all__ = [
    "FINAL",
    "FleetRequest",
    "FleetRun",
    "Journal",
    "Mode",
    "Outcome",
    "Status",
    "adoption",
    "branch_name",
    "describe",
    "fleet_plan",
    "fleet_status",
    "fleet_update",
    "parse_waves",
    "record_merged",
    "refresh",
    "request_for",
    "rollouts",
]
