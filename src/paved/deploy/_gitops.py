"""The ``gitops`` target: rendered manifests committed to an environment repository.

Layout (docs/deploy.md): ``envs/<env>/<service>/manifests.yaml`` (exactly what ``kubectl
kustomize`` rendered), ``envs/<env>/<service>/kustomization.yaml`` (lists it) and
``envs/<env>/kustomization.yaml`` (lists the services), so Argo CD (one Application per service
folder) or Flux (one Kustomization per environment) syncs them as they are.

Every change is one commit on ``main``, pushed without force: when another deploy pushed
first, paved fetches, applies its change again on the new head and pushes again, a bounded
number of times. The repository only ever receives whole commits.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import hashlib
import random
import re
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path

from paved.errors import InputError, RemoteError
from paved.gitcmd import Git, GitError, PushRejected, create_bare_repository
from paved.names import check_name, name_problem

__all__ = [
    "BRANCH",
    "Change",
    "EnvironmentRepository",
    "catalog_key",
    "kustomization_for",
    "service_path",
]

BRANCH = "main"
MANIFESTS = "manifests.yaml"
KUSTOMIZATION = "kustomization.yaml"
#: How many times a push beaten by another deploy is applied again and retried.
ATTEMPTS = 6


_REVISION = re.compile(r"[0-9a-f]{7,64}")
_ID = re.compile(r"[1-9][0-9]{0,17}")
_FULL_REVISION = re.compile(r"[0-9a-f]{40}|[0-9a-f]{64}")
#: The trailers a change is read from, in the order of the ``git log`` format's fields.
_TRAILERS = (
    "Paved-Service",
    "Paved-Catalog",
    "Paved-Deployment",
    "Paved-Restored-Deployment",
    "Paved-Image",
    "Paved-Source-Commit",
)
#: One commit's fields: its id, its time, then the trailers, each ended by a NUL. A value
#: that holds a NUL breaks the count, and then each commit is read on its own.
_FIELDS = "%H%x00%cI%x00" + "".join(
    f"%(trailers:key={key},valueonly,unfold,separator=%x1d)%x00" for key in _TRAILERS
)
_PER_COMMIT = 2 + len(_TRAILERS)


@dataclasses.dataclass(frozen=True)
class Change:
    """One commit that changed a service's folder, as the environment repository tells it.

    The commit's trailers are input like any other: an id that is not a plain number, a
    trailer given twice, a value with a control character or a trailer naming another
    service reads as absent, and the image and commit are checked again by whoever uses
    them.
    """

    revision: str
    committed_at: dt.datetime
    #: ``Paved-Deployment``: the deployment record this commit belongs to.
    deployment: int | None
    #: ``Paved-Restored-Deployment``: the deployment a rollback put back.
    restored: int | None
    image: str | None
    source_commit: str | None
    #: The service's manifests exist after this commit (``False``: it removed them).
    present: bool
    #: ``Paved-Catalog``: which catalog's ids these are (:func:`catalog_key`).
    catalog: str | None = None


def catalog_key(location: str) -> str:
    """A short fixed name of a catalog (its file or URL), for the ``Paved-Catalog`` trailer:
    ids are a catalog's own, so a commit's id means something only with it."""
    return hashlib.sha256(location.encode()).hexdigest()[:16]


def _trailer(values: str) -> str | None:
    """One trailer's value, or ``None`` when it is absent, given twice or not plain text."""
    found = [value.strip() for value in values.split("\x1d") if value.strip()]
    if len(found) != 1 or not (found[0].isascii() and found[0].isprintable()):
        return None
    return found[0]


def _number(value: str | None) -> int | None:
    return int(value) if value is not None and _ID.fullmatch(value) else None


def _change(fields: list[str], service: str, removed: set[str]) -> Change:
    revision, stamp, *trailers = (field.strip("\n") for field in fields)
    named, catalog, deployment, restored, image, commit = (_trailer(t) for t in trailers)
    ours = named == service
    return Change(
        revision=revision,
        committed_at=dt.datetime.fromisoformat(stamp),
        deployment=_number(deployment) if ours else None,
        restored=_number(restored) if ours else None,
        image=image if ours else None,
        source_commit=commit if ours and commit != "unknown" else None,
        present=revision not in removed,
        catalog=catalog if ours else None,
    )


def _changes(
    revisions: list[str], log: str, service: str, removed: set[str]
) -> list[Change] | None:
    """Parse the fields of ``revisions`` (newest first); oldest first, or ``None`` when the
    output does not line up with them (then each commit is read on its own)."""
    fields = log.split("\x00")
    if len(fields) != _PER_COMMIT * len(revisions) + 1:
        return None
    changes = []
    for at, revision in enumerate(revisions):
        mine = fields[at * _PER_COMMIT : (at + 1) * _PER_COMMIT]
        if mine[0].strip("\n") != revision:
            return None
        changes.append(_change(mine, service, removed))
    return changes[::-1]


def service_path(environment: str, service: str) -> str:
    """``envs/<env>/<service>``; both names follow the naming rule, so it is one folder."""
    check_name(environment, what="environment")
    check_name(service, what="service")
    return f"envs/{environment}/{service}"


def _inside(work: Path, relative: str) -> Path:
    """``work/relative``, refused unless every step of it is a real folder (or absent) in
    the work tree: the environment repository's contents are input, and a symbolic link
    committed there must never lead a write or a delete out of the clone."""
    root = work.resolve()
    current = root
    for part in Path(relative).parts:
        if part in ("", ".", ".."):
            raise InputError(f"environment repository path '{relative}' is not a plain path")
        current = current / part
        if current.is_symlink():
            raise RemoteError(
                f"environment repository holds a symbolic link at {current.relative_to(root)}; "
                "paved does not follow it",
                hint="remove the link from the environment repository (it is not paved's)",
            )
        if current.exists() and not current.is_dir():
            raise RemoteError(
                f"environment repository holds a file where the folder "
                f"{current.relative_to(root)} goes",
                hint="remove it from the environment repository (it is not paved's)",
            )
    if not current.resolve().is_relative_to(root):  # a second wall: never outside the clone
        raise InputError(f"environment repository path '{relative}' leaves the repository")
    return current


def kustomization_for(environment: str, service: str) -> str:
    return (
        f"# {service} in {environment}, written by paved deploy: do not edit here; deploy again\n"
        "# or run paved rollback. manifests.yaml is exactly what 'kubectl kustomize' rendered.\n"
        "apiVersion: kustomize.config.k8s.io/v1beta1\n"
        "kind: Kustomization\n"
        "resources:\n"
        f"  - {MANIFESTS}\n"
    )


class EnvironmentRepository:
    """One environment repository, reached through git only (a URL or a local path)."""

    def __init__(self, url: str, *, embedded: bool, env: Mapping[str, str] | None = None) -> None:
        self.url = url
        self.embedded = embedded
        self.env = dict(env or {})

    def exists(self) -> bool:
        return not self.embedded or Path(self.url).exists()

    def create(self) -> None:
        """Create the embedded bare repository, whole or not at all (another deploy may have
        made it first: then theirs is used)."""
        create_bare_repository(Path(self.url), branch=BRANCH)

    @contextlib.contextmanager
    def checkout(self) -> Iterator[Git]:
        """A throw-away clone of ``main`` (an empty one for an empty repository)."""
        with tempfile.TemporaryDirectory(prefix="paved-envrepo-") as tmp:
            work = Path(tmp) / "work"
            Git(env=self.env).clone(self.url, work, "--no-tags", "--single-branch")
            git = Git(work, self.env)
            if git.head() is None:
                git("symbolic-ref", "HEAD", f"refs/heads/{BRANCH}")
            yield git

    def read(self, git: Git, environment: str, service: str, revision: str = "HEAD") -> str:
        """``manifests.yaml`` of a service at ``revision`` of a checkout ("" when absent)."""
        if git.head() is None:
            return ""
        path = f"{service_path(environment, service)}/{MANIFESTS}"
        if revision != "HEAD" and not _REVISION.fullmatch(revision):
            raise InputError(f"'{revision[:20]}' is not a commit of the environment repository")
        return git("show", f"{revision}:{path}", check=False)

    def history(self, environment: str, service: str) -> list[Change]:
        """Every commit on ``main`` that changed the service's manifests, oldest first.

        This is what the environment ran, whatever the records say: rollback chooses from
        it, and the journal settles open records against it. Only the first-parent line of
        ``main`` counts (a merged side branch ran only as its merge). Reads a bare clone;
        writes nothing to the repository.
        """
        if not self.exists():
            return []
        path = f"{service_path(environment, service)}/{MANIFESTS}"
        with tempfile.TemporaryDirectory(prefix="paved-envlog-") as tmp:
            bare = Path(tmp) / "log.git"
            git = Git(env=self.env)
            git.clone(self.url, bare, "--bare", "--no-tags", "--single-branch")
            log = Git(bare, self.env)
            if log("rev-parse", "--verify", "--quiet", f"refs/heads/{BRANCH}", check=False) == "":
                return []
            walk = ("--first-parent", "--diff-merges=first-parent", "--no-renames")
            where = (f"refs/heads/{BRANCH}", "--", path)
            revisions = log("log", *walk, "--format=%H", *where).split()
            removed = set(log("log", *walk, "--diff-filter=D", "--format=%H", *where).split())
            if any(not _FULL_REVISION.fullmatch(r) for r in revisions):
                raise RemoteError(f"environment repository {self.url}: git log is unreadable")
            try:
                changes = _changes(
                    revisions, log("log", *walk, f"--format={_FIELDS}", *where), service, removed
                )
                if changes is None:  # a value broke the layout: read each commit alone
                    changes = [
                        self._one(log, revision, service, removed) for revision in revisions
                    ][::-1]
            except ValueError as exc:
                raise RemoteError(
                    f"environment repository {self.url}: a commit of {path} cannot be read ({exc})"
                ) from exc
        return changes

    @staticmethod
    def _one(log: Git, revision: str, service: str, removed: set[str]) -> Change:
        fields = log("show", "-s", f"--format={_FIELDS}", revision).split("\x00")
        if len(fields) != _PER_COMMIT + 1:  # still unreadable: a commit that is not paved's
            fields = [revision, log("show", "-s", "--format=%cI", revision)] + [""] * (
                _PER_COMMIT - 2
            )
        return _change(fields[:_PER_COMMIT], service, removed)

    def deployed(self, environment: str, service: str) -> str:
        """What the repository holds now for a service ("" for nothing); writes nothing."""
        if not self.exists():
            return ""
        with self.checkout() as git:
            text = self.read(git, environment, service)
            return text + "\n" if text else ""

    def publish(
        self,
        environment: str,
        service: str,
        write: Callable[[Git, Path], None],
        message: str,
        *,
        progress: Callable[[str], None],
        before_push: Callable[[int], None] | None = None,
    ) -> tuple[str | None, bool]:
        """Apply ``write`` to the service's folder, commit and push; returns (commit, changed).

        ``write`` fills the (emptied) folder; it runs again on the new head whenever another
        deploy pushed first. Never forces, so no one else's commit is ever lost.
        """
        if self.embedded:
            self.create()
        folder = service_path(environment, service)
        with self.checkout() as git:
            assert git.cwd is not None
            for attempt in range(1, ATTEMPTS + 1):
                target = _inside(git.cwd, folder)
                shutil.rmtree(target, ignore_errors=True)
                write(git, target)
                _write_index(_inside(git.cwd, f"envs/{environment}"), environment)
                # --force: a .gitignore in the environment repository never hides paved's files
                git("add", "--all", "--force", "--", folder, f"envs/{environment}/{KUSTOMIZATION}")
                if not git("status", "--porcelain", "--", f"envs/{environment}"):
                    return git.head(), False
                git("commit", "--quiet", "--no-verify", "-m", message)
                if before_push is not None:
                    before_push(attempt)
                try:
                    git.push(self.url, "origin", f"HEAD:refs/heads/{BRANCH}")
                except PushRejected:
                    if attempt == ATTEMPTS:
                        break
                    progress(
                        "push: another deploy pushed first; applying again on the new head "
                        f"(attempt {attempt + 1} of {ATTEMPTS})"
                    )
                    time.sleep(random.uniform(0.05, 0.2) * attempt)  # noqa: S311 - jitter
                    git.fetch(self.url, "origin", BRANCH)
                    git("reset", "--quiet", "--hard", "FETCH_HEAD")
                    continue
                return git.head(), True
        raise RemoteError(
            f"environment repository {self.url} kept moving: {ATTEMPTS} pushes were beaten by "
            "other deploys",
            hint="run the same command again",
        )


def _write_index(env_dir: Path, environment: str) -> None:
    """``envs/<env>/kustomization.yaml``: every service folder of the environment, so that
    one Flux Kustomization per environment syncs them all. Made again from the folders on
    every commit, so two deploys of different services never conflict on it."""
    services = sorted(
        child.name
        for child in env_dir.iterdir()
        if name_problem(child.name) is None
        and not child.is_symlink()
        and child.is_dir()
        and (child / KUSTOMIZATION).is_file()
    )
    lines = [
        f"# Every service in {environment}, written by paved deploy: do not edit here.",
        "apiVersion: kustomize.config.k8s.io/v1beta1",
        "kind: Kustomization",
        "resources:" if services else "resources: []",
        *(f"  - {name}" for name in services),
    ]
    index = env_dir / KUSTOMIZATION
    index.unlink(missing_ok=True)  # paved's own file: never written through a link
    index.write_text("\n".join(lines) + "\n", encoding="utf-8")


def write_manifests(environment: str, service: str, manifests: str) -> Callable[[Git, Path], None]:
    def write(_git: Git, target: Path) -> None:
        target.mkdir(parents=True, exist_ok=True)
        (target / MANIFESTS).write_text(manifests, encoding="utf-8", newline="")
        (target / KUSTOMIZATION).write_text(
            kustomization_for(environment, service), encoding="utf-8", newline=""
        )

    return write


def restore_revision(revision: str, folder: str) -> Callable[[Git, Path], None]:
    """Put the folder back exactly as it was at ``revision`` (bytes from git's own objects)."""

    if not _REVISION.fullmatch(revision):
        raise InputError(f"'{revision[:20]}' is not a commit of the environment repository")

    def write(git: Git, _target: Path) -> None:
        try:
            git("checkout", revision, "--", folder)
        except GitError as exc:
            raise RemoteError(
                f"environment repository has no {folder} at {revision[:12]} ({exc.message})",
                hint="choose another deployment with --to",
            ) from exc

    return write
