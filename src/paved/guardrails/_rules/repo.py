"""The repository: CODEOWNERS, files that parse, valid waivers, no conflicts, no links out."""

from __future__ import annotations

from collections.abc import Iterator

from paved.guardrails._model import Rule, Violation
from paved.guardrails._rules._util import make_rule
from paved.guardrails._tree import WAIVERS_FILE, ServiceTree
from paved.text import escaped

__all__ = ["CODEOWNERS_FILES", "CONFLICT_RULE", "RULES", "conflict_markers"]

RULES: list[Rule] = []
CODEOWNERS_FILES = ("CODEOWNERS", ".github/CODEOWNERS", ".gitlab/CODEOWNERS", "docs/CODEOWNERS")
_PARSED = ("**/*.json", "**/*.yaml", "**/*.yml", "**/*.tf")
#: The rule for conflict markers and ``.rej`` files (``paved doctor`` reports it on its own).
CONFLICT_RULE = "PAVED-REPO-004"


@make_rule(
    RULES,
    "PAVED-REPO-001",
    "no CODEOWNERS",
    "error",
    "add CODEOWNERS with at least '* @<owning-team>'",
    reason=(
        "Without code owners no team is asked to review changes, and nobody answers for the code."
    ),
    refuses="# no CODEOWNERS, or one without a 'PATTERN OWNER' line",
    passes="# CODEOWNERS\n* @team-checkout",
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
    reason=(
        "The rules cannot check a file they cannot read, and neither can the tools that deploy it."
    ),
    refuses="a: [1, 2",
    passes="a: [1, 2]",
)
def unparsable(tree: ServiceTree) -> Iterator[Violation]:
    for pattern in _PARSED:
        for path in tree.glob(pattern):
            if path.endswith(".tf.json") and tree.inside(path):
                # Terraform reads it as configuration; the rules read only .tf files
                yield Violation(
                    f"{path} is Terraform written as JSON, which no rule reads: write it as a"
                    " .tf file",
                    path,
                )
            elif tree.inside(path) and tree.text(path) is None:
                yield Violation(
                    f"{path} cannot be read (binary, or over 1 MB): no rule checks it", path
                )
            elif path.endswith(".tf"):
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
    reason=(
        "A waiver is a promise to fix a finding by a date; once that date has passed the finding "
        "comes back, and the stale entry should go."
    ),
    refuses="- rule: PAVED-K8S-007\n  ...\n  expires: 2020-01-31   # in the past",
    passes=(
        "# the finding fixed and the entry removed, or:\n"
        "  expires: <a date to come>   # renewed, with a reason"
    ),
    waivable=False,  # a finding about the waivers themselves
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


def _marker(line: str, char: str) -> bool:
    return line == char * 7 or line.startswith(char * 7 + " ")


def conflict_markers(text: str) -> list[int]:
    """The lines (1-based) of the conflict markers in ``text``.

    A marker is a line starting ``<<<<<<< `` or ``>>>>>>> `` (or exactly seven of either), and
    a ``=======`` (or diff3's ``|||||||``) line between a ``<<<<<<<`` and the ``>>>>>>>`` that
    closes it: alone, ``=======`` is a heading underline, not a conflict.
    """
    if "<<<<<<<" not in text and ">>>>>>>" not in text:
        return []
    found: list[int] = []
    middle: list[int] | None = None  # the '=======' lines of the block being read
    for number, line in enumerate(text.splitlines(), start=1):
        if _marker(line, "<"):
            found.append(number)
            middle = []
        elif _marker(line, ">"):
            found.extend(middle or ())
            found.append(number)
            middle = None
        elif middle is not None and (line == "=======" or _marker(line, "|")):
            middle.append(number)
    return sorted(found)


@make_rule(
    RULES,
    CONFLICT_RULE,
    "unresolved merge conflict",
    "error",
    "resolve each conflict (keep the right lines, delete the markers), apply or drop what each "
    ".rej file holds and delete it, then commit",
    reason="A half-merged file deploys neither side of the merge, and often does not parse.",
    refuses="<<<<<<< before updating\nreplicas: 2\n=======\nreplicas: 3\n>>>>>>> after updating",
    passes="replicas: 3",
    waivable=False,  # half-merged files are never deployed
)
def unresolved_conflict(tree: ServiceTree) -> Iterator[Violation]:
    for path in tree.files:
        if path.endswith(".rej"):
            yield Violation("rejected changes: an update could not apply them (a .rej file)", path)
            continue
        text = tree.text(path)
        lines = conflict_markers(text) if text is not None else []
        if lines:
            yield Violation(
                f"unresolved conflict: {len(lines)} conflict marker line(s), the first here",
                path,
                lines[0],
            )


@make_rule(
    RULES,
    "PAVED-REPO-005",
    "invalid waiver",
    "error",
    "correct or remove the entry in .paved/waivers.yaml (see paved docs guardrails#waivers)",
    reason=(
        "A waiver lifts a guardrail: each one must say which rule, where, why, whose, and until "
        "when, or it could waive more than anyone approved."
    ),
    refuses=(
        "- rule: PAVED-K8S-007\n"
        "  path: ../other-service/**   # '..' leaves the service\n"
        "  owner: Team_Checkout        # not a team name"
    ),
    passes=(
        "- rule: PAVED-K8S-007\n"
        "  path: k8s/base/deployment.yaml\n"
        "  reason: vendor image has no digest yet\n"
        "  owner: team-checkout\n"
        "  expires: <a date to come>"
    ),
    waivable=False,  # a finding about the waivers themselves
)
def invalid_waiver(tree: ServiceTree) -> Iterator[Violation]:
    yield from tree.waiver_problems
    for waiver in tree.waivers:
        if waiver.rule in tree.unwaivable:
            yield Violation(
                f"the waiver of {waiver.rule} on '{waiver.path}' is ignored: "
                f"{waiver.rule} cannot be waived",
                WAIVERS_FILE,
                waiver.line,
            )


@make_rule(
    RULES,
    "PAVED-REPO-006",
    "file links outside the service",
    "error",
    "replace the symbolic link with the file itself, or point it at a file inside the service",
    reason=(
        "A link out of the service points at files no rule reads, so what it points at would be "
        "deployed unchecked."
    ),
    refuses="k8s/base/deployment.yaml -> ../../other-service/k8s/deployment.yaml",
    passes="k8s/base/deployment.yaml   # the file itself, or a link inside the service",
    waivable=False,  # what it points at is never read, so no rule checks it
)
def link_outside(tree: ServiceTree) -> Iterator[Violation]:
    for path, target in sorted(tree.links_outside.items()):
        yield Violation(
            f"links outside the service, to {escaped(target)}: paved does not read it", path
        )
