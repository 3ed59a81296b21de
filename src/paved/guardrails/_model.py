"""The guardrails' vocabulary: a rule, what a rule finds, and the report of one run."""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import re
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from paved.guardrails._tree import ServiceTree

__all__ = [
    "DOCS_PAGE",
    "RULE_ID",
    "Finding",
    "Report",
    "Rule",
    "Severity",
    "Status",
    "Violation",
    "Waiver",
    "glob_match",
]

Severity = Literal["error", "warning"]
Status = Literal["open", "waived"]

#: ``PAVED-IAM-001``; plug-in rules use their own prefix (``ACME-K8S-001``).
RULE_ID = re.compile(r"^[A-Z][A-Z0-9]*(-[A-Z0-9]+)+-[0-9]{3}$")
DOCS_PAGE = "docs/guardrails.md"


@functools.lru_cache(maxsize=256)
def _glob_regex(pattern: str) -> re.Pattern[str]:
    out, i = [], 0
    while i < len(pattern):
        if pattern.startswith("**/", i):
            out.append("(?:.*/)?")
            i += 3
        elif pattern.startswith("**", i):
            out.append(".*")
            i += 2
        elif pattern[i] == "*":
            out.append("[^/]*")
            i += 1
        elif pattern[i] == "?":
            out.append("[^/]")
            i += 1
        else:
            out.append(re.escape(pattern[i]))
            i += 1
    return re.compile("".join(out) + r"\Z")


def glob_match(path: str, pattern: str) -> bool:
    """``*`` and ``?`` stay inside one folder; ``**`` crosses folders."""
    return _glob_regex(pattern.strip("/") or "**").match(path.strip("/")) is not None


@dataclasses.dataclass(frozen=True)
class Violation:
    """What a rule's check yields: the rule is attached by the engine."""

    message: str
    file: str
    line: int | None = None


@dataclasses.dataclass(frozen=True)
class Rule:
    """One guardrail: a stable id, a severity and a pure check over a service's tree."""

    id: str
    title: str
    severity: Severity
    check: Callable[[ServiceTree], Iterable[Violation]]
    fix: str
    docs: str = ""
    #: Where the rule comes from: ``paved`` or the entry point that contributed it.
    source: str = "paved"
    #: False for a rule no waiver may waive: a waiver naming it is ignored and reported.
    waivable: bool = True
    #: Why the rule exists: the harm it keeps out (``paved guardrails explain``).
    reason: str = ""
    #: A short example the rule refuses, as it would read in the service's files.
    refuses: str = ""
    #: The same example written so that the rule passes.
    passes: str = ""

    def __post_init__(self) -> None:
        if not RULE_ID.match(self.id):
            raise ValueError(f"rule id {self.id!r} is not of the form FAMILY-AREA-NNN")
        if self.severity not in ("error", "warning"):
            raise ValueError(f"rule {self.id}: severity must be 'error' or 'warning'")
        if not self.docs:
            object.__setattr__(self, "docs", f"{DOCS_PAGE}#{self.id.lower()}")

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "severity": self.severity,
            "title": self.title,
            "fix": self.fix,
            "docs": self.docs,
            "source": self.source,
        }

    def explain(self) -> dict[str, Any]:
        """What ``paved guardrails explain`` shows: the catalogue entry with the reason,
        an example refused, an example that passes, and whether a waiver may lift it."""
        return {
            **self.to_json(),
            "waivable": self.waivable,
            "reason": self.reason,
            "refuses": self.refuses,
            "passes": self.passes,
        }


@dataclasses.dataclass(frozen=True)
class Waiver:
    """An entry of ``.paved/waivers.yaml``: one rule, waived on the files a glob matches."""

    rule: str
    path: str
    reason: str
    owner: str
    expires: dt.date
    line: int | None = None

    def expired(self, today: dt.date) -> bool:
        """A waiver holds through its expiry date and no longer after it."""
        return today > self.expires

    def covers(self, finding: Finding) -> bool:
        return self.rule == finding.rule and (
            glob_match(finding.file, self.path) or finding.file.rstrip("/") == self.path.rstrip("/")
        )

    def to_json(self, today: dt.date) -> dict[str, Any]:
        return {
            "rule": self.rule,
            "path": self.path,
            "reason": self.reason,
            "owner": self.owner,
            "expires": self.expires.isoformat(),
            "status": "expired" if self.expired(today) else "active",
            "line": self.line,
        }


@dataclasses.dataclass(frozen=True)
class Finding:
    """A rule's finding in one service: where, what, how to fix, and whether it is waived."""

    rule: str
    severity: Severity
    message: str
    file: str
    line: int | None
    fix: str
    docs: str
    status: Status = "open"
    waiver: Waiver | None = None

    @property
    def location(self) -> str:
        return f"{self.file}:{self.line}" if self.line else self.file

    def to_json(self, today: dt.date) -> dict[str, Any]:
        return {
            "rule": self.rule,
            "severity": self.severity,
            "status": self.status,
            "message": self.message,
            "file": self.file,
            "line": self.line,
            "fix": self.fix,
            "docs": self.docs,
            "waiver": self.waiver.to_json(today) if self.waiver else None,
        }


@dataclasses.dataclass(frozen=True)
class Report:
    """The result of one run: every finding (open and waived) and every waiver."""

    root: str
    today: dt.date
    findings: tuple[Finding, ...]
    waivers: tuple[Waiver, ...]
    rules: tuple[str, ...]

    @property
    def open(self) -> tuple[Finding, ...]:
        return tuple(f for f in self.findings if f.status == "open")

    @property
    def errors(self) -> tuple[Finding, ...]:
        return tuple(f for f in self.open if f.severity == "error")

    @property
    def warnings(self) -> tuple[Finding, ...]:
        return tuple(f for f in self.open if f.severity == "warning")

    @property
    def waived(self) -> tuple[Finding, ...]:
        return tuple(f for f in self.findings if f.status == "waived")

    @property
    def passed(self) -> bool:
        """No open error: warnings alone and waived errors pass."""
        return not self.errors

    def to_json(self) -> dict[str, Any]:
        return {
            "schema": "paved/guardrails-check/v1",
            "path": self.root,
            "date": self.today.isoformat(),
            "passed": self.passed,
            "summary": {
                "rules": len(self.rules),
                "errors": len(self.errors),
                "warnings": len(self.warnings),
                "waived": len(self.waived),
            },
            "findings": [f.to_json(self.today) for f in self.findings],
            "waivers": [
                {**w.to_json(self.today), "waived": sum(1 for f in self.waived if f.waiver == w)}
                for w in self.waivers
            ],
        }
