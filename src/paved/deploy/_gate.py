"""The deploy gate: the guardrails' findings plus the rules of the environment."""

from __future__ import annotations

import dataclasses
from typing import Any

from paved.deploy._environments import Environment
from paved.deploy._image import ImageRef
from paved.errors import InputError
from paved.guardrails import Report
from paved.versions import Version

__all__ = ["GATE_DOCS", "GateResult", "gate", "older_than"]

GATE_DOCS = "docs/deploy.md#the-gate"


@dataclasses.dataclass(frozen=True)
class GateResult:
    #: Every finding (``Finding.to_json`` shape): the guardrails' and the gate's own.
    findings: tuple[dict[str, Any], ...]
    #: Why the deploy is refused, one line each; empty when it may go.
    refusals: tuple[str, ...]
    #: The break-glass reason when it let a refused deploy through.
    break_glass: str | None
    #: Whether a guardrail finding refuses: a waiver in ``.paved/waivers.yaml`` may lift it.
    waivable: bool = False
    #: ``(rule, fix)`` of each of the gate's own findings that refuses: no waiver lifts them.
    unwaivable: tuple[tuple[str, str], ...] = ()

    @property
    def passed(self) -> bool:
        return not self.refusals or self.break_glass is not None


def older_than(version: str, minimum: str) -> bool:
    """Is ``version`` older than ``minimum``? An unreadable version counts as older.

    An unreadable minimum is a configuration error, never a quietly disabled check.
    """
    if not minimum:
        return False
    want = Version.parse(minimum)
    if want is None:
        raise InputError(
            f"setting deploy.min_road_version '{minimum}' is not a version such as 1.4.0",
            hint="fix the setting (see docs/deploy.md)",
        )
    have = Version.parse(version)
    return have is None or have < want


def _finding(rule: str, protected: bool, message: str, file: str, fix: str) -> dict[str, Any]:
    return {
        "rule": rule,
        "severity": "error" if protected else "warning",
        "status": "open",
        "message": message,
        "file": file,
        "line": None,
        "fix": fix,
        "docs": GATE_DOCS,
        "waiver": None,
    }


def gate(
    report: Report,
    environment: Environment,
    *,
    service: str,
    registered: bool,
    road_version: str,
    min_road_version: str,
    image: ImageRef,
    break_glass: str | None,
) -> GateResult:
    """Decide whether a deploy may go. Pure: every input is given."""
    protected = environment.protected
    own = []
    if not registered:
        own.append(
            _finding(
                "PAVED-DEPLOY-001",
                protected,
                f"service '{service}' is not registered in the catalog",
                "catalog-info.yaml",
                "register it (paved new service registers; see paved services list)",
            )
        )
    if min_road_version and older_than(road_version, min_road_version):
        own.append(
            _finding(
                "PAVED-DEPLOY-002",
                protected,
                f"road layer {road_version or '(unknown)'} is older than the minimum "
                f"{min_road_version}",
                ".copier-answers.road.yml",
                "run paved update in the service, commit and push the update, then deploy again",
            )
        )
    if image.digest is None:
        own.append(
            _finding(
                "PAVED-DEPLOY-003",
                protected,
                f"{image} is not pinned by digest (a tag can move)",  # after "--image"
                "--image",
                "deploy the digest CI built: --image NAME@sha256:...",
            )
        )
    findings = tuple(f.to_json(report.today) for f in report.findings) + tuple(own)
    refusing = [
        f for f in findings if f["status"] == "open" and (f["severity"] == "error" or protected)
    ]
    refusals = []
    for f in refusing:
        where = f"{f['file']}:{f['line']}" if f["line"] else f["file"]
        refusals.append(f"{f['rule']} {f['severity']} {where} {f['message']}")
    waivable = any(f not in own for f in refusing)
    unwaivable = tuple((f["rule"], f["fix"]) for f in refusing if f in own)
    if break_glass is not None and protected:
        refusals.append(
            f"break-glass is not allowed in {environment.name} (a protected environment)"
        )
        return GateResult(findings, tuple(refusals), None, waivable, unwaivable)
    chosen = break_glass if refusals else None
    return GateResult(findings, tuple(refusals), chosen, waivable, unwaivable)
