"""Where an environment's manifests go: its GitOps repository, or a cluster through kubectl.

Each target answers the same few questions (what runs now, what a rollback can restore),
and makes the change inside an opened :class:`~paved.deploy._attempt.Attempt`: the record
is opened before the push or the apply, never after.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable
from pathlib import Path
from typing import Protocol

from paved.deploy._attempt import Attempt
from paved.deploy._choice import Restore, choose_from_changes, choose_from_records
from paved.deploy._environments import Environment
from paved.deploy._gitops import (
    MANIFESTS,
    EnvironmentRepository,
    catalog_key,
    restore_revision,
    service_path,
    write_manifests,
)
from paved.deploy._image import ImageRef
from paved.deploy._kubernetes import apply_kubernetes
from paved.deploy._model import DeployDeps, timed
from paved.deploy._render import find_kubectl
from paved.gitcmd import Git
from paved.models import Deployment
from paved.text import escaped

__all__ = ["DeployTarget", "GitOpsTarget", "KubernetesTarget", "target_for"]


class DeployTarget(Protocol):
    """One environment's target, for one service."""

    #: gitops: the environment repository and the service's folder in it (else None).
    repository: str | None
    path: str | None

    def preview(self, manifests: str) -> str:
        """The diff from what runs now to ``manifests`` (a deploy's dry run)."""
        ...

    def choose(self, history: list[Deployment], to: int | None) -> Restore:
        """What a rollback restores (``to``, else the deployment before the current one)."""
        ...

    def preview_restore(self, restore: Restore) -> str:
        """The diff from what runs now to what ``restore`` puts back (a rollback's dry run)."""
        ...

    def apply(
        self, attempt: Attempt, manifests: str, image: ImageRef, break_glass: str | None
    ) -> tuple[str | None, bool]:
        """Open the attempt and ship ``manifests``; returns (revision, changed)."""
        ...

    def restore(self, attempt: Attempt, restore: Restore, what: str) -> tuple[str | None, str]:
        """Open the attempt and put ``restore`` back; returns (revision, the record's message)."""
        ...


def target_for(
    environment: Environment, service: str, deps: DeployDeps, *, kubectl: str | None = None
) -> DeployTarget:
    """The environment's target; ``kubectl`` when already found (a rollback looks later)."""
    if environment.target == "kubernetes":
        return KubernetesTarget(environment, service, deps, kubectl)
    return GitOpsTarget(environment, service, deps)


def diff(before: str, after: str, label: str) -> str:
    return "".join(
        difflib.unified_diff(
            before.splitlines(keepends=True),
            after.splitlines(keepends=True),
            f"a/{label}",
            f"b/{label}",
        )
    )


class GitOpsTarget:
    """A commit to the environment repository, pushed (docs/deploy.md)."""

    def __init__(self, environment: Environment, service: str, deps: DeployDeps) -> None:
        self.environment = environment
        self.service = service
        self.deps = deps
        self.repository: str | None = environment.repository
        self._folder = service_path(environment.name, service)
        self.path: str | None = self._folder
        self._repo = EnvironmentRepository(
            environment.repository, embedded=environment.embedded, env=dict(deps.env)
        )

    def preview(self, manifests: str) -> str:
        deployed = self._repo.deployed(self.environment.name, self.service)
        return diff(deployed, manifests, f"{self._folder}/{MANIFESTS}")

    def choose(self, history: list[Deployment], to: int | None) -> Restore:
        changes = self._repo.history(self.environment.name, self.service)
        key = catalog_key(self.deps.catalog().location)
        return choose_from_changes(changes, to, self.environment, self.service, history, key)

    def preview_restore(self, restore: Restore) -> str:
        assert restore.revision is not None
        name, service = self.environment.name, self.service
        with self._repo.checkout() as git:
            now = self._repo.read(git, name, service)
            then = self._repo.read(git, name, service, restore.revision)
        return diff(now + "\n" if now else "", then + "\n", f"{self._folder}/{MANIFESTS}")

    def apply(
        self, attempt: Attempt, manifests: str, image: ImageRef, break_glass: str | None
    ) -> tuple[str | None, bool]:
        attempt.start()
        name = self.environment.name
        self.deps.progress(f"push: {self._folder} to {self.environment.repository}…")
        message = commit_message(
            f"Deploy {self.service} {image.version} to {name}", attempt, break_glass=break_glass
        )
        return self._publish(attempt, write_manifests(name, self.service, manifests), message)

    def restore(self, attempt: Attempt, restore: Restore, what: str) -> tuple[str | None, str]:
        assert restore.revision is not None
        attempt.start()
        trailers = [("Paved-Restored-Revision", restore.revision)]
        if restore.restored is not None:
            trailers.insert(0, ("Paved-Restored-Deployment", str(restore.restored)))
        if restore.recovers is not None:
            trailers.insert(0, ("Paved-Rollback-Of", str(restore.recovers)))
        where = f"{self.service} in {self.environment.name}"
        message = commit_message(f"Roll back {where} to {what}", attempt, tuple(trailers))
        write = restore_revision(restore.revision, self._folder)
        revision, changed = self._publish(attempt, write, message)
        same = "" if changed else " (the manifests were already those)"
        return revision, f"{where} rolled back to {what}{same}"

    def _publish(
        self, attempt: Attempt, write: Callable[[Git, Path], None], message: str
    ) -> tuple[str | None, bool]:
        with timed(self.deps, "push"):
            revision, changed = self._repo.publish(
                self.environment.name,
                self.service,
                write,
                message,
                progress=self.deps.progress,
                before_push=attempt.before_push,
            )
        attempt.applied = True
        return revision, changed


def commit_message(
    subject: str,
    attempt: Attempt,
    extra: tuple[tuple[str, str], ...] = (),
    *,
    break_glass: str | None = None,
) -> str:
    """The environment commit's message: a subject and ``Paved-*`` trailers.

    Every value was checked before (names, the image, the commit) or is escaped here (the
    actor's git identity, the break-glass reason), so none can add a line or a trailer.
    """
    fields = attempt.fields
    trailers = [
        ("Paved-Service", fields["service"]),
        ("Paved-Environment", fields["environment"]),
        ("Paved-Image", fields["image"]),
        ("Paved-Source-Commit", fields["source_commit"] or "unknown"),
        ("Paved-Actor", escaped(fields["actor"])),
        *extra,
    ]
    deployment_id = attempt.opened.id if attempt.opened is not None else None
    if deployment_id is not None:
        trailers += [
            ("Paved-Catalog", attempt.catalog_key),
            ("Paved-Deployment", str(deployment_id)),
        ]
    if break_glass is not None:
        trailers.append(("Paved-Break-Glass", escaped(" ".join(break_glass.split()))))
    return subject + "\n\n" + "\n".join(f"{key}: {value}" for key, value in trailers) + "\n"


class KubernetesTarget:
    """``kubectl apply`` to the environment's cluster; the records are its only history."""

    repository: str | None = None
    path: str | None = None

    def __init__(
        self, environment: Environment, service: str, deps: DeployDeps, kubectl: str | None
    ) -> None:
        self.environment = environment
        self.service = service
        self.deps = deps
        self.kubectl = kubectl

    def preview(self, manifests: str) -> str:
        deployed = ""
        for earlier in reversed(self.deps.catalog().deployments(service=self.service)):
            if earlier.environment == self.environment.name and earlier.outcome == "succeeded":
                deployed = earlier.manifests or ""
                break
        return diff(deployed, manifests, f"{self.environment.context}/{self.service}/{MANIFESTS}")

    def choose(self, history: list[Deployment], to: int | None) -> Restore:
        return choose_from_records(history, to, self.environment, self.service)

    def preview_restore(self, restore: Restore) -> str:
        return diff(restore.running, restore.manifests or "", f"{self.service}/{MANIFESTS}")

    def apply(
        self, attempt: Attempt, manifests: str, image: ImageRef, break_glass: str | None
    ) -> tuple[str | None, bool]:
        self._apply(attempt, manifests)
        return None, True

    def restore(self, attempt: Attempt, restore: Restore, what: str) -> tuple[str | None, str]:
        self._apply(attempt, restore.manifests or "")
        return None, f"rolled back to {what}"

    def _apply(self, attempt: Attempt, manifests: str) -> None:
        kubectl = self.kubectl or find_kubectl(self.deps.env)
        attempt.set(manifests=manifests)
        attempt.start()
        with timed(self.deps, "apply"):
            apply_kubernetes(
                kubectl,
                self.environment,
                manifests,
                self.service,
                env=self.deps.env,
                progress=self.deps.progress,
            )
        attempt.applied = True
