"""One service of a roll-out, in a clean clone: update on a branch, gate, commit, push.

Every step looks at the remote first, so that a roll-out run again (after a failure, or a
SIGKILL at any moment) finds what an earlier run pushed and neither commits nor pushes it a
second time. Nothing is ever force-pushed; a conflicted update is committed on its branch
only, with its conflicts listed, never on the default branch.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import shutil
from pathlib import Path

from paved.errors import PavedError
from paved.fleet._model import Mode, Outcome, Status
from paved.gitcmd import Git
from paved.scaffold.registry import Layer
from paved.service.declines import read_declines
from paved.service.layout import APP_ANSWERS, ROAD_ANSWERS, read_answers
from paved.text import escaped
from paved.update import UpdateDeps, UpdateRequest, run_update
from paved.versions import Version

__all__ = ["Job", "branch_name", "run_job"]

_ANSWERS = {"road": ROAD_ANSWERS, "app": APP_ANSWERS}
#: The trailer that marks a commit holding an update's conflicts (never on a default branch).
CONFLICTS_TRAILER = "Paved-Conflicts"


@dataclasses.dataclass(frozen=True)
class Job:
    service: str
    owner: str
    repository: str
    scaffold: str
    current: str
    target: str
    layer: str
    mode: Mode
    work: Path
    plan_only: bool = False

    def outcome(self, status: Status, **fields: object) -> Outcome:
        return Outcome(
            service=self.service,
            owner=self.owner,
            status=status,
            scaffold=self.scaffold,
            current=self.current,
            target=self.target,
            **fields,  # type: ignore[arg-type]
        )


def branch_name(layer: str, version: str) -> str:
    return f"paved/update-{layer}-{version}".replace("+", "-")


def _one_line(exc: BaseException) -> str:
    return escaped(" ".join(str(exc).split()))[:500]


def _remote_branch(job: Job, git: Git, branch: str) -> str | None:
    return git.remote_refs(job.repository).get(f"refs/heads/{branch}")


def _pushed(job: Job, git: Git, branch: str, tip: str) -> Outcome:
    """What an earlier run pushed to ``branch``: a ready update, or one with conflicts."""
    git.fetch(job.repository, "origin", f"refs/heads/{branch}")
    trailers = git("log", "-1", f"--format=%(trailers:key={CONFLICTS_TRAILER},valueonly)", tip)
    listed = trailers.replace("\n", ",").split(",")
    conflicts = tuple(path.strip() for path in listed if path.strip())
    status = Status.CONFLICTED if conflicts else Status.READY
    detail = "pushed by an earlier run"
    base = git("symbolic-ref", "--short", "HEAD")
    return job.outcome(status, branch=branch, conflicts=conflicts, detail=detail, base=base)


def _declined(job: Job, root: Path, today: dt.date) -> str | None:
    for decline in read_declines(root):
        if decline.active(today) and decline.covers(job.scaffold, job.target):
            return f"declined until {decline.until.isoformat()}: {decline.reason}"
    return None


def _at_target(job: Job, root: Path) -> bool:
    recorded = read_answers(root, _ANSWERS[job.layer]).get("_commit")
    have, want = Version.parse(str(recorded)), Version.parse(job.target)
    return have is not None and want is not None and not have < want


def run_job(job: Job, deps: UpdateDeps) -> Outcome:
    """Update one service; every error becomes a ``failed`` outcome, never an exception."""
    try:
        return _run(job, deps)
    except PavedError as exc:
        return job.outcome(Status.FAILED, detail=_one_line(exc))
    except OSError as exc:
        return job.outcome(Status.FAILED, detail=_one_line(exc))


def _run(job: Job, deps: UpdateDeps) -> Outcome:
    shutil.rmtree(job.work, ignore_errors=True)
    job.work.parent.mkdir(parents=True, exist_ok=True)
    Git(env=deps.env).clone(job.repository, job.work, "--single-branch")
    git = Git(job.work, deps.env)
    branch = branch_name(job.layer, job.target)
    if _at_target(job, job.work):
        return job.outcome(Status.UP_TO_DATE)
    if (why := _declined(job, job.work, deps.clock().date())) is not None:
        return job.outcome(Status.DECLINED, detail=why)
    if not job.plan_only and (tip := _remote_branch(job, git, branch)) is not None:
        return _pushed(job, git, branch, tip)
    layer = Layer(job.layer)
    if job.plan_only:
        planned = run_update(
            UpdateRequest(job.work, (layer,), job.target, dry_run=True, record=False), deps
        )
        return job.outcome(Status.PENDING, counts=_counts(planned.files), conflicts=tuple(
            change.path for change in planned.conflicts
        ))  # fmt: skip
    default = git("symbolic-ref", "--short", "HEAD")
    git("checkout", "--quiet", "-b", branch)
    result = run_update(UpdateRequest(job.work, (layer,), job.target, record=False), deps)
    counts = _counts(result.files)
    if result.status == "conflicts":
        return _push_conflicts(job, git, branch, result.conflicts, counts, default)
    gate = _gate(job.work, deps)
    if gate is not None:
        return job.outcome(Status.REFUSED, detail=gate, counts=counts, branch=None)
    if job.mode is Mode.DIRECT:
        git.push(job.repository, "origin", f"HEAD:refs/heads/{default}")
        return job.outcome(Status.MERGED, counts=counts, detail=f"pushed to {default}")
    git.push(job.repository, "origin", f"HEAD:refs/heads/{branch}")
    return job.outcome(Status.READY, branch=branch, counts=counts, base=default)


def _counts(files: object) -> dict[str, int]:
    counts: dict[str, int] = {}
    for change in files:  # type: ignore[attr-defined]
        counts[change.change.value] = counts.get(change.change.value, 0) + 1
    return counts


def _push_conflicts(
    job: Job,
    git: Git,
    branch: str,
    conflicts: object,
    counts: dict[str, int],
    base: str,
) -> Outcome:
    """Commit the update with its conflict markers on its branch, for a person to resolve,
    the files listed in the message; push the branch (never the default branch)."""
    from paved.update import STATE_FILE

    # a path is the repository's: shown escaped, so it cannot forge a line or a trailer
    paths = tuple(escaped(change.path) for change in conflicts)  # type: ignore[attr-defined]
    git("add", "--all")
    message = (
        f"Update the {job.layer} layer to {job.scaffold} {job.target}: {len(paths)} conflict(s)\n\n"
        "The update could not be merged without a person. Resolve the conflict markers in the\n"
        "files below, commit, and merge this branch; or run paved update in the service.\n\n"
        + "".join(f"- {path}\n" for path in paths)
        + f"\n{CONFLICTS_TRAILER}: {', '.join(paths)}\n"
    )
    git("commit", "--quiet", "--no-verify", "-F", "-", stdin=message)
    (Path(git("rev-parse", "--absolute-git-dir")) / STATE_FILE).unlink(missing_ok=True)
    git.push(job.repository, "origin", f"HEAD:refs/heads/{branch}")
    return job.outcome(Status.CONFLICTED, branch=branch, conflicts=paths, counts=counts, base=base)


def _gate(root: Path, deps: UpdateDeps) -> str | None:
    """The guardrails over the updated service: the first unwaived errors, or None."""
    from paved.guardrails import check

    report = check(root, today=deps.clock().date(), env=deps.env)
    if report.passed:
        return None
    shown = "; ".join(f"{f.rule} {f.location}" for f in report.errors[:3])
    return f"the guardrails refused the update: {shown}"
