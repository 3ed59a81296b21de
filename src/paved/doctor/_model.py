"""The doctor's vocabulary: what one check says, and the report of one run."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any, Literal

__all__ = [
    "SCHEMA",
    "Fixed",
    "Group",
    "Outcome",
    "Report",
    "Result",
    "Skip",
    "Status",
    "exit_status",
    "overall",
]

Status = Literal["ok", "warn", "fail", "skip"]
Group = Literal["environment", "service"]

#: The documented JSON shape of ``paved doctor --json`` (docs/schemas/doctor.schema.json).
SCHEMA = "paved/doctor/v1"


class Skip(Exception):
    """Raised by a check that cannot run; ``reason`` says why."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclasses.dataclass(frozen=True)
class Outcome:
    """What a check function returns; the runner adds the check's id and group."""

    status: Status
    message: str
    fix: str | None = None
    details: tuple[str, ...] = ()


@dataclasses.dataclass(frozen=True)
class Result:
    """One check's result, as reported."""

    id: str
    group: Group
    status: Status
    message: str
    fix: str | None = None
    details: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "group": self.group,
            "status": self.status,
            "message": self.message,
            "fix": self.fix,
            "details": list(self.details),
        }


@dataclasses.dataclass(frozen=True)
class Fixed:
    """One change ``--fix`` made."""

    check: str
    change: str

    def to_json(self) -> dict[str, str]:
        return {"check": self.check, "change": self.change}


def overall(results: Sequence[Result]) -> Literal["ok", "warn", "fail"]:
    """``fail`` when any check fails, ``warn`` when any warns, else ``ok`` (skips are ok)."""
    statuses = {r.status for r in results}
    if "fail" in statuses:
        return "fail"
    if "warn" in statuses:
        return "warn"
    return "ok"


def exit_status(results: Sequence[Result]) -> int:
    """0 when every check is ok or skipped, 1 when any fails, 2 when only warnings."""
    return {"ok": 0, "fail": 1, "warn": 2}[overall(results)]


@dataclasses.dataclass(frozen=True)
class Report:
    """Every check's result (after ``--fix``, the results of the run that followed it)."""

    results: tuple[Result, ...]
    fixed: tuple[Fixed, ...]
    service: str | None

    @property
    def status(self) -> Literal["ok", "warn", "fail"]:
        return overall(self.results)

    @property
    def exit_code(self) -> int:
        return exit_status(self.results)

    def counts(self) -> dict[str, int]:
        counts = dict.fromkeys(("ok", "warn", "fail", "skip"), 0)
        for result in self.results:
            counts[result.status] += 1
        return counts

    def to_json(self) -> dict[str, Any]:
        return {
            "schema": SCHEMA,
            "status": self.status,
            "service": self.service,
            "counts": self.counts(),
            "checks": [r.to_json() for r in self.results],
            "fixed": [f.to_json() for f in self.fixed],
        }
