"""The deploy gate: the guardrails' findings plus the rules of the environment."""

from __future__ import annotations

import dataclasses
from typing import Any

from paved.deploy._environments import Environment
from paved.deploy._image import ImageRef
from paved.docs import reference
from paved.errors import InputError
from paved.guardrails import Report
from paved.versions import Version

__all__ = [
    "GATE_DOCS",
    "GATE_REFERENCE",
    "GATE_RULES",
    "GateResult",
    "GateRule",
    "gate",
    "older_than",
]

GATE_DOCS = "docs/deploy.md#the-gate"
#: The same page as a hint names it: a command, not a path of the repository.
GATE_REFERENCE = reference("deploy", "the-gate")


@dataclasses.dataclass(frozen=True)
class GateRule:
    """One of the gate's own rules: about the deploy (the catalog, the road layer, the image),
    not the service's files. An error in a protected environment, a warning elsewhere; never
    waived."""

    id: str
    title: str
    fix: str
    #: Why the rule exists (``paved guardrails explain``).
    reason: str
    #: A deploy the rule refuses, and the same deploy that passes.
    refuses: str
    passes: str

    def explain(self, *, protected: bool = False) -> dict[str, Any]:
        """The shape of :meth:`paved.guardrails.Rule.explain`, with the severity the rule has
        in a protected environment (``protected``) or elsewhere, as the gate decides it."""
        return {
            "id": self.id,
            "severity": _severity(protected),
            "title": self.title,
            "fix": self.fix,
            "docs": GATE_DOCS,
            "source": "paved deploy gate",
            "waivable": False,
            "reason": self.reason,
            "refuses": self.refuses,
            "passes": self.passes,
        }


_UNREGISTERED, _OLD_ROAD, _BY_TAG = GATE_RULES = (
    GateRule(
        "PAVED-DEPLOY-001",
        "service not registered in the catalog",
        "register it (paved new service registers; see paved services list)",
        reason=(
            "What runs in a protected environment must be known to the catalog: its owners are "
            "who is paged, and the catalog is where a deploy's history is kept."
        ),
        refuses="paved deploy --env prod ...   # in a service paved services list does not show",
        passes="paved deploy --env prod ...   # in a service made by paved new service",
    ),
    GateRule(
        "PAVED-DEPLOY-002",
        "road layer older than deploy.min_road_version",
        "run paved update in the service, commit and push the update, then deploy again",
        reason=(
            "The platform team sets a minimum road version when an older one has a known "
            "weakness; a service below it must update before it deploys."
        ),
        refuses=(
            "# .copier-answers.road.yml\n_commit: 1.2.0\n"
            '# settings: [deploy] min_road_version = "1.4.0"'
        ),
        passes="# .copier-answers.road.yml, after paved update\n_commit: 1.4.0",
    ),
    GateRule(
        "PAVED-DEPLOY-003",
        "image not pinned by digest",
        "deploy the digest CI built: --image NAME@sha256:...",
        reason=(
            "A tag can be moved to other bits after CI built and scanned it; a digest names "
            "exactly that image."
        ),
        refuses="paved deploy --env prod --image registry.example.com/payments:1.4.2",
        passes="paved deploy --env prod --image registry.example.com/payments@sha256:9f86d08...",
    ),
)


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
            hint=f"fix the setting (see {reference('deploy')})",
        )
    have = Version.parse(version)
    return have is None or have < want


def _severity(protected: bool) -> str:
    """A gate rule's severity: an error in a protected environment, a warning elsewhere."""
    return "error" if protected else "warning"


def _finding(rule: GateRule, protected: bool, message: str, file: str) -> dict[str, Any]:
    return {
        "rule": rule.id,
        "severity": _severity(protected),
        "status": "open",
        "message": message,
        "file": file,
        "line": None,
        "fix": rule.fix,
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
                _UNREGISTERED,
                protected,
                f"service '{service}' is not registered in the catalog",
                "catalog-info.yaml",
            )
        )
    if min_road_version and older_than(road_version, min_road_version):
        own.append(
            _finding(
                _OLD_ROAD,
                protected,
                f"road layer {road_version or '(unknown)'} is older than the minimum "
                f"{min_road_version}",
                ".copier-answers.road.yml",
            )
        )
    if image.digest is None:
        own.append(
            _finding(
                _BY_TAG,
                protected,
                f"{image} is not pinned by digest (a tag can move)",  # after "--image"
                "--image",
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
