"""The repository: CODEOWNERS, files that parse, waivers that are still valid."""

from __future__ import annotations

from collections.abc import Iterator

from paved.guardrails._model import Rule, Violation
from paved.guardrails._rules._util import make_rule
from paved.guardrails._tree import WAIVERS_FILE, ServiceTree

__all__ = ["CODEOWNERS_FILES", "RULES"]

RULES: list[Rule] = []
CODEOWNERS_FILES = ("CODEOWNERS", ".github/CODEOWNERS", ".gitlab/CODEOWNERS", "docs/CODEOWNERS")
_PARSED = ("**/*.json", "**/*.yaml", "**/*.yml", "**/*.tf")


@make_rule(
    RULES,
    "PAVED-REPO-001",
    "no CODEOWNERS",
    "error",
    "add CODEOWNERS with at least '* @<owning-team>'",
)
def codeowners_missing(tree: ServiceTree) -> Iterator[Violation]:
    path = next((f for f in CODEOWNERS_FILES if tree.exists(f)), None)
    if path is None:
        yield Violation("no CODEOWNERS file", "CODEOWNERS")
        return
    entries = [
        line.split()
        for line in (tree.text(path) or "").splitlines()
        if line.strip() and not line.lstrip().startswith("#")
    ]
    if not any(len(entry) >= 2 for entry in entries):
        yield Violation("CODEOWNERS names no owner", path)


@make_rule(
    RULES,
    "PAVED-REPO-002",
    "configuration file does not parse",
    "error",
    "fix the syntax the message names; the other rules cannot read this file",
)
def unparsable(tree: ServiceTree) -> Iterator[Violation]:
    for pattern in _PARSED:
        for path in tree.glob(pattern):
            if path.endswith(".tf"):
                tree.hcl(path)
            else:
                tree.yaml(path)
    for path, error in sorted(tree.parse_errors.items()):
        if path.endswith(".json") and tree.json(path) is not None:
            continue
        yield Violation(f"{path} does not parse: {error}", path)


@make_rule(
    RULES,
    "PAVED-REPO-003",
    "expired waiver",
    "warning",
    "fix the finding the waiver covered, or renew the waiver with a new expiry and a reason",
)
def expired_waiver(tree: ServiceTree) -> Iterator[Violation]:
    for waiver in tree.waivers:
        if waiver.expired(tree.today):
            yield Violation(
                f"the waiver of {waiver.rule} on '{waiver.path}' (owner {waiver.owner}) expired "
                f"on {waiver.expires.isoformat()} and no longer waives",
                WAIVERS_FILE,
                waiver.line,
            )
