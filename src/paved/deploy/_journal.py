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
:data:`STALE_AFTER`, longer than any deploy runs. A commit's id is matched together with
its catalog (the ``Paved-Catalog`` trailer) and its image: ids are each catalog's own.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import hashlib
import os
import stat
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from paved.deploy._gitops import Change, EnvironmentRepository, catalog_key
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
    one, under an ``flock`` (held by the open file, so even a second claim in the same
    process sees it taken). Two deploys of the same service to the same environment on one
    machine take turns; the second waits for the first. Writing it is best effort: a claim
    that cannot be written only makes a dead attempt wait :data:`STALE_AFTER` to settle.
    """

    def __init__(self, data_dir: Path, catalog: str, service: str, environment: str) -> None:
        self.path = _claim_path(data_dir, catalog, service, environment)
        self._handle: int | None = None

    def take(self, started: dt.datetime, progress: Callable[[str], None]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        handle = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_NONBLOCK, 0o600)
        try:
            if not stat.S_ISREG(os.fstat(handle).st_mode):
                raise OSError(f"{self.path} is not a regular file")
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                progress("waiting for another deploy of the same service and environment…")
                fcntl.flock(handle, fcntl.LOCK_EX)
        except BaseException:
            os.close(handle)
            raise
        self._handle = handle
        self._write(_stamp(started))

    def opened(self, started: dt.datetime, deployment_id: int) -> None:
        self._write(f"{_stamp(started)} {deployment_id}")

    def closed(self) -> None:
        """The record is closed: nothing is left for anyone to settle."""
        self._write("")

    def release(self) -> None:
        if self._handle is not None:
            os.close(self._handle)  # closing drops the lock
            self._handle = None

    def _write(self, text: str) -> None:
        if self._handle is None:
            return
        with contextlib.suppress(OSError):
            os.ftruncate(self._handle, 0)
            os.pwrite(self._handle, text.encode(), 0)
            os.fsync(self._handle)


def _over(record: Deployment, data_dir: Path, catalog: str, now: dt.datetime) -> bool:
    """The attempt behind an open record has ended (its process is gone)."""
    path = _claim_path(data_dir, catalog, record.service, record.environment)
    try:
        handle = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError:
        handle = None
    if handle is not None:
        try:
            if stat.S_ISREG(os.fstat(handle).st_mode):
                mine = _names(os.pread(handle, 200, 0).decode(errors="replace"), record)
                try:
                    fcntl.flock(handle, fcntl.LOCK_SH | fcntl.LOCK_NB)
                except BlockingIOError:
                    if mine:
                        return False  # its process runs now, on this machine
                else:
                    if mine:
                        return True  # claimed here, and its process is gone
        except OSError:
            pass  # an unreadable claim says nothing: the time rule decides
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

    Returns how many were closed. A record is left open, and said once, when it cannot
    be settled now or here: the environment repository cannot be reached, the platform
    refuses, the environment is not configured on this machine, or its commit is
    ambiguous (two commits with its id, or one whose image is not the record's). With a
    platform, only the records of the user's own teams are settled.
    """
    open_records = [
        d
        for d in catalog.deployments(service=service, environment=environment)
        if d.outcome == "started" and d.id is not None
    ]
    if not open_records:
        return 0
    over = [d for d in open_records if _over(d, data_dir, catalog.location, now)]
    caller = catalog.caller() if over and catalog.shared else None
    if caller is not None:
        owners = {name: catalog.get(name) for name in {d.service for d in over}}
        over = [
            d for d in over if (found := owners[d.service]) is not None and caller.owns(found.owner)
        ]
    key = catalog_key(catalog.location)
    closed = 0
    for (env_name, service_name), records in _grouped(over).items():
        where = environments.get(env_name)
        if where is None:
            progress(
                f"warning: open deployments of {service_name} in {env_name} stay open: "
                "that environment is not configured here"
            )
            continue
        try:
            commits = commits_of(where, service_name, env, key)
        except PavedError as exc:
            progress(f"warning: open deployments of {service_name} in {env_name} stay open: {exc}")
            continue
        for record in records:
            closed += _settle_one(catalog, record, commits, now, progress)
    return closed


def _settle_one(
    catalog: Catalog,
    record: Deployment,
    commits: dict[int, list[Change]] | None,
    now: dt.datetime,
    progress: Callable[[str], None],
) -> int:
    assert record.id is not None
    found = commits.get(record.id, []) if commits is not None else []
    if len(found) > 1 or (found and found[0].image != record.image):
        progress(
            f"warning: deployment {record.id} stays open: the environment repository holds "
            "commits with its id that do not match it (see git log --grep 'Paved-Deployment')"
        )
        return 0
    try:
        if found:
            catalog.finish_deployment(
                record.id,
                outcome="succeeded",
                finished_at=max(record.started_at, min(found[0].committed_at, now)),
                message=f"settled: its commit {found[0].revision[:12]} is on the environment "
                "branch (the deploy ended before it said so)",
                revision=found[0].revision,
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
        return 0
    return 1


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
    environment: Environment, service: str, env: Mapping[str, str], catalog: str
) -> dict[int, list[Change]] | None:
    """The environment's commits of ``service`` by deployment id of ``catalog`` (its
    :func:`catalog_key`); ``None`` for the ``kubernetes`` target, which keeps no history."""
    if environment.target != "gitops":
        return None
    repository = EnvironmentRepository(
        environment.repository, embedded=environment.embedded, env=env
    )
    found: dict[int, list[Change]] = {}
    for change in repository.history(environment.name, service):
        if change.deployment is not None and change.catalog == catalog:
            found.setdefault(change.deployment, []).append(change)
    return found
