"""The platform applies a requested data resource itself, off the request path.

``POST /v1/services/{name}/resources`` with ``"apply": true`` records the request
``requested`` and hands it here. :meth:`ResourceApplier.apply` then, one request at a time per
service: checks the service's repository URL (read from the database: input) by the clone
rule, clones it into a private temporary folder with hooks off and a timeout, runs
``paved add``'s engine (:func:`paved.resources.add_resource`) on a new branch with the
server's own bundled scaffolds and a catalog of its own (so the engine records nothing: the
server keeps the request's state), pushes that branch (never forced), and closes the request
``committed`` with the commit and branch, or ``failed`` with one line saying why. Whatever
happens, the request is closed and the close is audited.

Commits are made as ``paved platform <paved@localhost>``, through git's environment variables
(they win over any configuration of the server's user); hooks and signing are off in the
clone's own configuration, which every later git command in it reads over the user's.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import os
import subprocess
import tempfile
import threading
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from paved.errors import PavedError
from paved.models import DataResource
from paved.repository_url import clone_problem, configured_git_host, shown_url
from paved.server._store import AuditEvent, Store
from paved.text import escaped

__all__ = ["GIT_TIMEOUT", "IDENTITY", "ApplyJob", "ResourceApplier", "default_branch"]

log = logging.getLogger("paved.server")

#: Who the platform's commits are by.
IDENTITY = ("paved platform", "paved@localhost")
#: The longest a clone or a push may take, in seconds.
GIT_TIMEOUT = 300.0
#: git configuration of the clone (so of every git command in it): no hooks, no signing.
_CONFIG = (
    ("core.hooksPath", "/dev/null"),
    ("commit.gpgSign", "false"),
    ("tag.gpgSign", "false"),
)


def default_branch(resource: DataResource) -> str:
    """The branch the platform applies ``resource`` on when the request names none."""
    return f"paved/add-{resource.kind}-{resource.name}"


@dataclasses.dataclass(frozen=True)
class ApplyJob:
    """One request to apply: whose it is and what it asks for (for the change and the audit)."""

    service: str
    request_id: int
    resource: DataResource
    branch: str
    actor: str
    address: str


class _Refused(Exception):
    """The apply stops, with a one-line reason that holds no credential."""


@dataclasses.dataclass
class ResourceApplier:
    """Applies requests with the server's bundled scaffolds, its template store under
    ``data_dir`` and its render cache under ``cache_dir``."""

    data_dir: Path
    cache_dir: Path
    #: The organisation's self-hosted GitHub or GitLab (kind, host) for the road's
    #: ``git_host`` answer, or ``None``.
    git_host: tuple[str, str] | None = None
    #: The environment git and copier run with, under this run's identity and configuration.
    env: Mapping[str, str] = dataclasses.field(default_factory=dict)
    _locks: dict[str, threading.Lock] = dataclasses.field(default_factory=dict, repr=False)
    _guard: threading.Lock = dataclasses.field(default_factory=threading.Lock, repr=False)

    @classmethod
    def for_server(
        cls, data_dir: Path, cache_dir: Path, settings: Mapping[str, Any]
    ) -> ResourceApplier:
        """An applier for a server with these folders and organisation settings."""
        githost = settings.get("githost")
        githost = githost if isinstance(githost, Mapping) else {}
        api, api_url = githost.get("api", ""), githost.get("api_url", "")
        found = (
            configured_git_host(api, api_url)
            if isinstance(api, str) and isinstance(api_url, str)
            else None
        )
        return cls(data_dir / "platform", cache_dir / "platform", found)

    @classmethod
    def from_process(cls, settings: Mapping[str, Any]) -> ResourceApplier:
        """An applier in the data and cache folders of the user the server runs as."""
        from paved.config import Paths

        paths = Paths.from_env(os.environ, Path.home())
        return cls.for_server(paths.data_dir, paths.cache_dir, settings)

    def _lock(self, service: str) -> threading.Lock:
        with self._guard:
            return self._locks.setdefault(service, threading.Lock())

    def run_env(self) -> dict[str, str]:
        """The environment of this run's git commands (over the server's own)."""
        name, email = IDENTITY
        env = {
            **self.env,
            "GIT_AUTHOR_NAME": name,
            "GIT_AUTHOR_EMAIL": email,
            "GIT_COMMITTER_NAME": name,
            "GIT_COMMITTER_EMAIL": email,
            "GIT_TERMINAL_PROMPT": "0",
        }
        return env

    def apply(self, store: Store, clock: Callable[[], dt.datetime], job: ApplyJob) -> None:
        """Apply ``job`` and close its request, ``committed`` or ``failed`` (never left open)."""
        with self._lock(job.service):
            values: dict[str, Any] = {
                "state": "failed",
                "commit": None,
                "branch": job.branch,
                "detail": "the platform stopped before the change was made",
            }
            try:
                values.update(self._apply(store, clock, job))
            except _Refused as exc:
                values["detail"] = str(exc)
            except PavedError as exc:
                values["detail"] = escaped(exc.message)
            except Exception as exc:
                log.exception("applying resource request %s failed", job.request_id)
                values["detail"] = f"the platform could not apply it ({type(exc).__name__})"
            finally:
                self._close(store, clock, job, values)

    def _close(
        self, store: Store, clock: Callable[[], dt.datetime], job: ApplyJob, values: dict[str, Any]
    ) -> None:
        from paved.server._audit import printable  # _audit needs _state, which needs this

        values["detail"] = printable(values["detail"], 500)
        event = AuditEvent(
            at=clock(),
            actor=job.actor,
            action="resource.apply",
            target=printable(f"resource request {job.service}/{job.request_id}", 200),
            address=job.address,
            outcome=values["state"],
            detail=values["detail"],
        )
        try:
            status, closed = store.settle_resource_request(
                job.service, job.request_id, values, clock(), event
            )
        except Exception:
            log.exception("closing resource request %s failed", job.request_id)
            return
        if isinstance(closed, str):
            log.warning("resource request %s: %s (%s)", job.request_id, closed, status)

    def _apply(
        self, store: Store, clock: Callable[[], dt.datetime], job: ApplyJob
    ) -> dict[str, Any]:
        found = store.get_service(job.service)
        if found is None or found.archived_at is not None:
            raise _Refused(f"service '{job.service}' is not in the catalog or archived")
        url = found.repository
        if (problem := clone_problem(url)) is not None:
            raise _Refused(f"the platform does not clone the service's repository: {problem}")
        shown = shown_url(url)
        env = self.run_env()
        with tempfile.TemporaryDirectory(prefix="paved-apply-") as folder:  # mode 0700
            clone = Path(folder) / "service"
            config = [arg for key, value in _CONFIG for arg in ("-c", f"{key}={value}")]
            _git(env, None, "clone", "--quiet", "--template=", *config, "--", url, str(clone),
                 url=url, failed=f"cannot clone {shown}")  # fmt: skip
            result = _add(self, clone, job, env, clock, Path(folder))
            if result.status != "added" or result.commit is None:
                raise _Refused(_not_added(result.status, job))
            _git(env, clone, "push", "--quiet", "origin",
                 f"refs/heads/{job.branch}:refs/heads/{job.branch}",
                 url=url, failed=f"cannot push the branch {job.branch} to {shown}")  # fmt: skip
        return {"state": "committed", "commit": result.commit, "detail": ""}


def _not_added(status: str, job: ApplyJob) -> str:
    what = f"the {job.resource.kind} {job.resource.name}"
    if status == "unchanged":
        return f"the service's default branch has {what} already: nothing to apply"
    if status == "conflicts":
        return f"adding {what} conflicts with the service's files: run paved add in it"
    return f"adding {what} ended {status}, not with a commit"


def _add(
    applier: ResourceApplier,
    clone: Path,
    job: ApplyJob,
    env: Mapping[str, str],
    clock: Callable[[], dt.datetime],
    folder: Path,
) -> Any:
    from paved.catalog.sqlite import SqliteCatalog
    from paved.resources import ResourceRequest, add_resource
    from paved.scaffold.registry import ScaffoldRegistry, bundled_root
    from paved.scaffold.store import TemplateStore
    from paved.update import UpdateDeps

    deps = UpdateDeps(
        registry=ScaffoldRegistry(bundled_root()),
        store=TemplateStore(applier.data_dir / "templates", env),
        catalog=lambda: SqliteCatalog(folder / "catalog.db"),
        cache_dir=applier.cache_dir,
        clock=clock,
        env=env,
        parallel_renders=False,
        git_host=applier.git_host,
    )
    return add_resource(ResourceRequest(clone, job.resource, branch=job.branch), deps)


def _git(env: Mapping[str, str], cwd: Path | None, *args: str, url: str, failed: str) -> None:
    """Run ``git ARGS`` with a timeout; :class:`_Refused` with ``failed`` and git's reason
    (``url`` in it as :func:`shown_url` shows it)."""
    try:
        done = subprocess.run(
            ["git", *args], cwd=cwd, env={**os.environ, "LANGUAGE": "C", "LC_ALL": "C", **env},
            capture_output=True, text=True, timeout=GIT_TIMEOUT, check=False,
            stdin=subprocess.DEVNULL,
        )  # fmt: skip
    except subprocess.TimeoutExpired:
        raise _Refused(f"{failed}: no answer in {GIT_TIMEOUT:.0f} seconds") from None
    except OSError as exc:
        raise _Refused(f"{failed}: git cannot run ({exc.strerror})") from None
    if done.returncode != 0:
        lines = [x.strip() for x in done.stderr.splitlines() if x.strip()]
        reason = next((x for x in lines if x.startswith(("fatal:", "error:"))), "")
        reason = reason.split(":", 1)[1].strip() if reason else f"exit {done.returncode}"
        raise _Refused(f"{failed} ({escaped(reason.replace(url, shown_url(url)))})")
