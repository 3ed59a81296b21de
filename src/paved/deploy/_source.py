"""The service being deployed: read from its road-layer answers file and its git repository."""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from pathlib import Path
from typing import Any

from paved.errors import InputError
from paved.gitcmd import Git, GitError
from paved.models import CHANGE_START_MAX_AGE
from paved.names import name_problem
from paved.service.layout import ROAD_ANSWERS, read_answers
from paved.versions import VERSION_TEXT

__all__ = ["ROAD_ANSWERS", "ServiceSource", "change_start", "read_service", "source_commit"]


@dataclasses.dataclass(frozen=True)
class ServiceSource:
    root: Path
    name: str
    owner: str
    #: The road layer's version (the template store's tag recorded by copier).
    road_version: str
    #: The environments the service has overlays for.
    environments: tuple[str, ...]
    #: The image name the road layer writes into the manifests.
    image_name: str

    def overlay(self, environment: str) -> Path:
        return self.root / "k8s" / "overlays" / environment


#: What the answers file may hold where its values reach a path, a command or an image name.
_ACCOUNT = re.compile(r"[0-9]{12}")
_REGION = re.compile(r"[a-z]{2}(-[a-z]+)+-[0-9]{1,2}")


def _answer(value: Any, key: str, where: Path, *, rule: str) -> str:
    """An answer ``value`` checked by ``rule`` (``name``, ``account``, ``region``, ``version``).

    The answers file is the service repository's, so anyone who can push to it writes it: a
    value that reaches a path, a commit or an image name passes the command line's rules first.
    """
    if not isinstance(value, str):
        raise InputError(f"{where}: '{key}' is not a string", hint=_REPAIR)
    problem: str | None
    if rule == "name":
        problem = name_problem(value)
    else:
        pattern = {"account": _ACCOUNT, "region": _REGION, "version": VERSION_TEXT}[rule]
        problem = None if pattern.fullmatch(value) else "is not in the expected form"
    if problem is not None:
        shown = value.encode("unicode_escape").decode("ascii")
        raise InputError(f"{where}: {key} '{shown}' {problem}", hint=_REPAIR)
    return value


_REPAIR = "restore the value paved new service wrote (see the file's git history)"


def read_service(root: Path) -> ServiceSource:
    """The paved service in ``root``; :class:`InputError` when ``root`` is not one.

    Every value read from the answers file is checked by the same rules as the command line
    before it is used (names, environments, the AWS account and region, the version).
    """
    answers_file = root / ROAD_ANSWERS
    hint = "run paved deploy inside a service made with 'paved new service', or pass --path"
    if not root.is_dir():
        raise InputError(f"{root} is not a folder", hint=hint)
    try:
        answers = read_answers(root, ROAD_ANSWERS)
    except InputError as exc:
        raise InputError(exc.message, hint=hint) from None
    if "service_name" not in answers:
        raise InputError(f"{answers_file} names no service_name", hint=hint)

    def answer(key: str, rule: str) -> str:
        return _answer(answers.get(key), key, answers_file, rule=rule)

    name = answer("service_name", "name")
    owner = answer("owner", "name")
    environments = answers.get("environments") or []
    if not isinstance(environments, list):
        raise InputError(f"{answers_file}: 'environments' is not a list", hint=_REPAIR)
    for value in environments:
        _answer(value, "environments", answers_file, rule="name")
    version = answer("_commit", "version") if "_commit" in answers else ""
    account = answer("aws_account_id", "account")
    region = answer("aws_region", "region")
    return ServiceSource(
        root=root,
        name=name,
        owner=owner,
        road_version=version,
        environments=tuple(environments),
        image_name=f"{account}.dkr.ecr.{region}.amazonaws.com/{name}",
    )


def source_commit(root: Path) -> tuple[str, dt.datetime]:
    """The commit the service's working tree is at, and its commit time.

    A deploy ships committed work only: uncommitted changes to tracked files are refused, so
    that the recorded commit is what was deployed.
    """
    git = Git(root)
    try:
        out = git("log", "-1", "--format=%H %cI")
        dirty = git("status", "--porcelain", "--untracked-files=no")
    except GitError as exc:
        raise InputError(
            f"{root} is not a git repository with a commit ({exc.message})",
            hint="commit the service first: a deploy records the commit it ships",
        ) from exc
    if dirty:
        changed = ", ".join(line[3:] for line in dirty.splitlines()[:3])
        raise InputError(
            f"{root} has uncommitted changes ({changed})",
            hint="commit them first: a deploy records the commit it ships",
        )
    sha, _, when = out.partition(" ")
    return sha, dt.datetime.fromisoformat(when).astimezone(dt.UTC)


#: A commit id as a record may hold it (abbreviated or whole): anything else never reaches git.
_COMMIT = re.compile(r"[0-9a-f]{7,64}")


def change_start(
    root: Path, commit: str, committed_at: dt.datetime, previous: str | None
) -> dt.datetime:
    """When the change that ``commit`` ships began: the oldest commit time of the commits
    reachable from ``commit`` and not from ``previous`` (the commit the service's previous
    deployment to the environment shipped).

    Without a previous commit, or with one this repository does not hold (a shallow clone, a
    record from another repository) or that is not an ancestor of ``commit`` (history was
    rewritten), and for a redeploy of the same commit, it is ``committed_at``, the deployed
    commit's own time. Never earlier than ``committed_at`` minus
    :data:`paved.models.CHANGE_START_MAX_AGE` (the platform's bound). ``previous`` comes
    from the catalog's records: input, checked before it reaches git.
    """
    if previous is None or _COMMIT.fullmatch(previous) is None:
        return committed_at
    git = Git(root)
    code, _ = git.status("merge-base", "--is-ancestor", f"{previous}^{{commit}}", commit)
    if code != 0:  # 1: not an ancestor; anything else: an object git does not hold
        return committed_at
    try:
        out = git("log", "--format=%ct", f"{previous}..{commit}")
    except GitError:
        return committed_at
    times = [int(line) for line in out.split() if line.isdigit()]
    if not times:  # the same commit again: nothing new
        return committed_at
    oldest = dt.datetime.fromtimestamp(min(times), dt.UTC)
    # a committer clock set ahead can date an older commit after the deployed one; one set
    # back (1970) would give a lead time of decades, which the platform refuses
    return max(min(oldest, committed_at), committed_at - CHANGE_START_MAX_AGE)
