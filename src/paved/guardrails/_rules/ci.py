"""CI: a pipeline with the required stages, pinned actions and least token permissions.

Reads ``.github/workflows/*.yml`` and ``.gitlab-ci.yml`` as YAML. A stage is recognised by the
*names* of jobs (GitHub job ids and ``name``, GitLab job keys, ``stage`` and ``extends``) and of
steps, or by the *tools* a job runs (the programs in ``run``/``script`` lines, the actions in
``uses``, the job's ``image``, GitLab ``include: template``). Words are compared whole
(``-`` separated), so ``latest`` is not ``test``. The word lists are ``STAGES`` below.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Any

from paved.guardrails._model import Rule, Violation
from paved.guardrails._rules._util import as_list, make_rule
from paved.guardrails._tree import ServiceTree
from paved.guardrails._yaml import line_of

__all__ = ["RULES", "STAGES", "pipeline_words"]

RULES: list[Rule] = []

#: stage -> (job or step names, tools) that show a pipeline has it.
STAGES: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "test": (
        ("test", "tests", "unit-test", "unit-tests"),
        ("pytest", "tox", "nox", "unittest", "go-test", "npm-test"),
    ),
    "SAST": (
        ("sast", "static-analysis", "code-scanning", "codeql", "semgrep", "bandit"),
        ("semgrep", "bandit", "codeql-action", "sonar-scanner", "sast"),
    ),
    "dependency audit": (
        ("dependency-audit", "dependency-scan", "dependency-scanning", "dependency-review",
         "audit", "sca", "pip-audit"),
        ("pip-audit", "safety-check", "osv-scanner", "dependency-review-action", "npm-audit",
         "dependency-scanning", "snyk-test"),
    ),
    "image scan": (
        ("image-scan", "container-scan", "container-scanning", "scan-image", "trivy", "grype"),
        ("trivy", "trivy-action", "grype", "anchore", "container-scanning", "docker-scout"),
    ),
}  # fmt: skip
_GITLAB_KEYWORDS = {"stages", "variables", "default", "include", "workflow", "image", "services",
                    "before_script", "after_script", "cache"}  # fmt: skip
_SHA = re.compile(r"^[0-9a-f]{40}$")


def _words(text: Any) -> str:
    return "-" + "-".join(re.findall(r"[a-z0-9]+", str(text).lower())) + "-"


def _workflows(tree: ServiceTree) -> list[tuple[str, Mapping[str, Any]]]:
    found = []
    for path in tree.glob(".github/workflows/*.y*ml"):
        for doc in tree.yaml(path):
            if isinstance(doc, Mapping):
                found.append((path, doc))
    return found


def _gitlab(tree: ServiceTree) -> Mapping[str, Any] | None:
    if not tree.exists(".gitlab-ci.yml"):
        return None
    docs = tree.yaml(".gitlab-ci.yml")
    return docs[0] if docs and isinstance(docs[0], Mapping) else {}


def _jobs(workflow: Mapping[str, Any]) -> list[tuple[str, Mapping[str, Any]]]:
    jobs = workflow.get("jobs")
    if not isinstance(jobs, Mapping):
        return []
    return [(str(k), v) for k, v in jobs.items() if isinstance(v, Mapping)]


def pipeline_words(tree: ServiceTree) -> tuple[list[str], list[str]]:
    """(names, tools) of every job and step of every pipeline, as ``-word-word-`` strings."""
    names: list[str] = []
    tools: list[str] = []
    for _path, workflow in _workflows(tree):
        for job_id, job in _jobs(workflow):
            names += [_words(job_id), _words(job.get("name", ""))]
            tools.append(_words(job.get("uses", "")))
            for step in as_list(job.get("steps")):
                if isinstance(step, Mapping):
                    names.append(_words(step.get("name", "")))
                    tools.append(_words(str(step.get("uses", "")).split("@")[0]))
                    tools += [_words(line) for line in str(step.get("run", "")).splitlines()]
    gitlab = _gitlab(tree)
    if gitlab:
        for include in as_list(gitlab.get("include")):
            if isinstance(include, Mapping):
                tools.append(_words(include.get("template", "")))
        for key, job in gitlab.items():
            if key in _GITLAB_KEYWORDS or str(key).startswith(".") or not isinstance(job, Mapping):
                continue
            names += [_words(key), _words(job.get("stage", ""))]
            names += [_words(e) for e in as_list(job.get("extends"))]
            image = job.get("image")
            tools.append(
                _words(image.get("name", "") if isinstance(image, Mapping) else image or "")
            )
            for part in ("before_script", "script"):
                tools += [_words(line) for line in as_list(job.get(part))]
    return names, tools


@make_rule(
    RULES,
    "PAVED-CI-001",
    "no CI pipeline",
    "error",
    "run paved update to get the paved pipeline (one deleted here stays deleted: restore it from "
    "git)",
    reason="Without a pipeline nothing tests, scans or builds the service before it is deployed.",
    refuses="# no .github/workflows/*.yml and no .gitlab-ci.yml",
    passes="# .github/workflows/ci.yml: the road layer's pipeline",
)
def pipeline_missing(tree: ServiceTree) -> Iterator[Violation]:
    if not _workflows(tree) and _gitlab(tree) is None:
        yield Violation("no GitHub workflow and no .gitlab-ci.yml", ".github/workflows/")


@make_rule(
    RULES,
    "PAVED-CI-002",
    "CI pipeline missing a required stage",
    "error",
    "add the missing job (test, SAST, dependency audit, image scan) from the paved pipeline",
    reason=(
        "Tests, static analysis, a dependency audit and an image scan are the checks every change "
        "must pass before it reaches production."
    ),
    refuses=(
        "jobs:\n"
        "  test: {runs-on: ubuntu-latest, steps: [{run: pytest}]}   # no SAST, audit or image scan"
    ),
    passes=(
        "jobs:\n"
        "  test: ...\n"
        "  sast: {steps: [{run: semgrep ci}]}\n"
        "  audit: {steps: [{run: pip-audit}]}\n"
        "  image-scan: {steps: [{run: trivy image ...}]}"
    ),
)
def stage_missing(tree: ServiceTree) -> Iterator[Violation]:
    workflows = _workflows(tree)
    if not workflows and _gitlab(tree) is None:
        return
    names, tools = pipeline_words(tree)
    file = ".gitlab-ci.yml" if _gitlab(tree) is not None and not workflows else ".github/workflows/"
    for stage, (stage_names, stage_tools) in STAGES.items():
        if not any(_words(w) in n for w in stage_names for n in names) and not any(
            _words(w) in t for w in stage_tools for t in tools
        ):
            yield Violation(f"the CI pipeline has no {stage} job", file)


@make_rule(
    RULES,
    "PAVED-CI-003",
    "workflow action not pinned by full commit SHA",
    "error",
    "pin the action by its full 40-character commit SHA (uses: owner/repo@SHA # vX.Y.Z)",
    reason=(
        "Tags and branches of an action can be moved to malicious code that then runs with the "
        "pipeline's secrets; a commit SHA cannot."
    ),
    refuses="- uses: actions/checkout@v4",
    passes="- uses: actions/checkout@11bd71901bbe5b1630ceea73d27597364c9af683  # v4.2.2",
)
def action_unpinned(tree: ServiceTree) -> Iterator[Violation]:
    for path, workflow in _workflows(tree):
        for job_id, job in _jobs(workflow):
            uses_list: list[tuple[Mapping[str, Any], Any]] = [(job, job.get("uses"))]
            uses_list += [
                (s, s.get("uses")) for s in as_list(job.get("steps")) if isinstance(s, Mapping)
            ]
            for holder, uses in uses_list:
                if not uses:
                    continue
                uses = str(uses)
                if uses.startswith("./") or (uses.startswith("docker://") and "@sha256:" in uses):
                    continue
                ref = uses.rpartition("@")[2] if "@" in uses else ""
                if not _SHA.match(ref):
                    yield Violation(
                        f"job '{job_id}' uses '{uses}', not pinned by commit SHA",
                        path,
                        line_of(holder, "uses"),
                    )


def _write_all(value: Any) -> bool:
    return isinstance(value, str) and value.strip().lower() == "write-all"


@make_rule(
    RULES,
    "PAVED-CI-004",
    "workflow with write-all permissions",
    "error",
    "set permissions: {} at the top and grant each job only the scopes it needs",
    reason=(
        "A job with every write scope can push code, publish packages and change releases when one "
        "of its steps is compromised."
    ),
    refuses="permissions: write-all",
    passes="permissions: {}\njobs:\n  release:\n    permissions: {contents: write}",
)
def write_all(tree: ServiceTree) -> Iterator[Violation]:
    for path, workflow in _workflows(tree):
        if _write_all(workflow.get("permissions")):
            yield Violation(
                "the workflow grants permissions: write-all", path, line_of(workflow, "permissions")
            )
        for job_id, job in _jobs(workflow):
            if _write_all(job.get("permissions")):
                yield Violation(
                    f"job '{job_id}' grants permissions: write-all",
                    path,
                    line_of(job, "permissions"),
                )


@make_rule(
    RULES,
    "PAVED-CI-005",
    "workflow without token permissions",
    "warning",
    "set permissions: {} (or contents: read) at the top of the workflow",
    reason=(
        "Without permissions, jobs get the repository's default token scopes, which may be write."
    ),
    refuses="on: push\njobs: ...   # no permissions anywhere",
    passes="on: push\npermissions: {}\njobs: ...",
)
def permissions_missing(tree: ServiceTree) -> Iterator[Violation]:
    for path, workflow in _workflows(tree):
        if "permissions" in workflow:
            continue
        bare = [job_id for job_id, job in _jobs(workflow) if "permissions" not in job]
        if bare:
            yield Violation(
                f"no permissions are set for job(s) {', '.join(bare)}: they get the "
                "repository's default token permissions",
                path,
                1,
            )
