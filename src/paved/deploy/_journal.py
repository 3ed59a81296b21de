"""Deploy records as a journal, settled against what the environment repository holds.

An attempt that reaches its effect is opened as ``started`` before the push (or the apply)
and closed after it. A process killed in between leaves it open, so whatever reads the
records (deploy, rollback, ``paved deployments list``) settles open ones first:

- one whose commit (the ``Paved-Deployment: ID`` trailer) is on the environment branch
  becomes ``succeeded``, with that commit and its time;
- one whose commit is not becomes ``failed``, with the reason ``interrupted``.

Only an attempt that is over is settled. While it runs, its process holds a *claim*: a
file under ``data/attempts/`` locked with the kernel's record lock (released however the
process ends) and naming the attempt. An open record whose claim is free on this machine
is over; one with no claim here (opened on another machine) is taken as over only after
:data:`STALE_AFTER`, longer than any deploy runs.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import hashlib
import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from paved.deploy._gitops import Change, EnvironmentRepository
from paved.errors import PavedError

if TYPE_CHECKING:
    from paved.catalog import Catalog
    from paved.deploy._environments import Environment
    from paved.models import Deployment

__all__ = ["STALE_AFTER", "Claim", "commits_of", "settle_open"]

#: An open record with no claim on this machine is over after this long.
STALE_AFTER = dt.timedelta(minutes=30)


def _claim_path(data_dir: Path, catalog: str, service: str, environment: str) -> Path:
    key = hashlib.sha256(f"{catalog}\0{service}\0{environment}".encode()).hexdigest()[:24]
    return data_dir / "attempts" / f"{key}.lock"


def _stamp(when: dt.datetime) -> str:
    return when.astimezone(dt.UTC).isoformat()


class Claim:
    """This machine's mark of one attempt in flight (one service in one environment).

    The file holds the attempt's start time, then its record's id once the catalog gave
    one. Two deploys of the same service to the same environment on one machine take
    turns; the second waits for the first.
    """

    def __init__(self, data_dir: Path, catalog: str, service: str, environment: str) -> None:
        self.path = _claim_path(data_dir, catalog, service, environment)
        self._handle: int | None = None

    def take(self, started: dt.datetime, progress: Callable[[str], None]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        handle = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, 0o600)
        try:
            fcntl.lockf(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            progress("waiting for another deploy of the same service and environment…")
            fcntl.lockf(handle, fcntl.LOCK_EX)
        self._handle = handle
        self._write(_stamp(started))

    def opened(self, started: dt.datetime, deployment_id: int) -> None:
        self._write(f"{_stamp(started)} {deployment_id}")

    def closed(self) -> None:
        """The record is closed: nothing is left for anyone to settle."""
        self._write("")

    def release(self) -> None:
        if self._handle is not None:
            os.close(self._handle)  # closing drops the record lock
            self._handle = None

    def _write(self, text: str) -> None:
        assert self._handle is not None
        os.ftruncate(self._handle, 0)
        os.pwrite(self._handle, text.encode(), 0)
        os.fsync(self._handle)


def _over(record: Deployment, data_dir: Path, catalog: str, now: dt.datetime) -> bool:
    """The attempt behind an open record has ended (its process is gone)."""
    path = _claim_path(data_dir, catalog, record.service, record.environment)
    try:
        handle = os.open(path, os.O_RDWR | os.O_NOFOLLOW)
    except OSError:
        handle = None
    if handle is not None:
        try:
            mine = _names(os.pread(handle, 200, 0).decode(errors="replace"), record)
            try:
                fcntl.lockf(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                if mine:
                    return False  # its process runs now, on this machine
            else:
                if mine:
                    return True  # claimed here, and its process is gone
        finally:
            os.close(handle)
    return now - record.started_at > STALE_AFTER


def _names(text: str, record: Deployment) -> bool:
    """The claim's text names this record (by id, or by start time before it had one)."""
    stamp, _, number = text.strip().partition(" ")
    if number:
        return number == str(record.id)
    try:
        when = dt.datetime.fromisoformat(stamp)
    except ValueError:
        return False
    return abs((when - record.started_at).total_seconds()) < 1


def settle_open(
    catalog: Catalog,
    environments: Mapping[str, Environment],
    *,
    data_dir: Path,
    env: Mapping[str, str],
    now: dt.datetime,
    progress: Callable[[str], None],
    service: str | None = None,
    environment: str | None = None,
) -> int:
    """Close every open record (of ``service`` in ``environment``) whose attempt is over.

    Returns how many were closed. A record that cannot be settled now (the environment
    repository cannot be reached, the platform refuses) stays open and is said once.
    """
    open_records = [
        d
        for d in catalog.deployments(service=service, environment=environment)
        if d.outcome == "started" and d.id is not None
    ]
    over = [d for d in open_records if _over(d, data_dir, catalog.location, now)]
    closed = 0
    for (env_name, service_name), records in _grouped(over).items():
        try:
            commits = commits_of(environments.get(env_name), env_name, service_name, env)
        except PavedError as exc:
            progress(f"warning: open deployments of {service_name} in {env_name} stay open: {exc}")
            continue
        for record in records:
            assert record.id is not None
            change = commits.get(record.id) if commits is not None else None
            try:
                if change is not None:
                    catalog.finish_deployment(
                        record.id,
                        outcome="succeeded",
                        finished_at=max(record.started_at, min(change.committed_at, now)),
                        message=f"settled: its commit {change.revision[:12]} is on the "
                        "environment branch (the deploy ended before it said so)",
                        revision=change.revision,
                    )
                else:
                    catalog.finish_deployment(
                        record.id,
                        outcome="failed",
                        finished_at=max(record.started_at, now),
                        message=_interrupted(commits is not None),
                    )
            except PavedError as exc:
                progress(f"warning: deployment {record.id} stays open: {exc}")
                continue
            closed += 1
    return closed


def _interrupted(checked: bool) -> str:
    if checked:
        return "interrupted: its commit never reached the environment branch"
    return "interrupted: it may have been applied in part (check the cluster)"


def _grouped(records: list[Deployment]) -> dict[tuple[str, str], list[Deployment]]:
    groups: dict[tuple[str, str], list[Deployment]] = {}
    for record in records:
        groups.setdefault((record.environment, record.service), []).append(record)
    return groups


def commits_of(
    environment: Environment | None, name: str, service: str, env: Mapping[str, str]
) -> dict[int, Change] | None:
    """The environment's commits of ``service`` by deployment id; ``None`` when it has no
    repository to ask (the ``kubernetes`` target, or an environment no longer configured)."""
    if environment is None or environment.target != "gitops":
        return None
    repository = EnvironmentRepository(
        environment.repository, embedded=environment.embedded, env=env
    )
    return {
        change.deployment: change
        for change in repository.history(name, service)
        if change.deployment is not None
    }
