"""Plan a deploy or a rollback: read and check everything once, write nothing.

A plan holds what the attempt needs: the environment, the service as its answers file and
the catalog say, its commit, the image (or the deployment a rollback restores) and the
target. Every failure here is the person's to fix (exit 2, 4 for ownership) and records
nothing; the open records are settled by :func:`paved.deploy.execute`, never here.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from paved.deploy._choice import Restore, checked_image
from paved.deploy._environments import Environment, get_environment, resolve_environments
from paved.deploy._image import ImageRef, parse_image
from paved.deploy._model import DeployDeps, DeployRequest, RollbackRequest
from paved.deploy._render import check_overlay, find_kubectl
from paved.deploy._source import ServiceSource, change_start, read_service, source_commit
from paved.deploy._targets import DeployTarget, target_for
from paved.errors import AuthError, InputError
from paved.gitcmd import Git
from paved.githost import same_repository
from paved.models import Deployment, Service
from paved.names import check_name
from paved.service.layout import ROAD_ANSWERS
from paved.text import check_text, escaped

__all__ = [
    "DeployPlan",
    "Plan",
    "RollbackPlan",
    "change_started",
    "choose_again",
    "plan_deploy",
    "plan_rollback",
]


@dataclasses.dataclass(frozen=True)
class DeployPlan:
    """A checked deploy: what the gate, the render and the target run with."""

    request: DeployRequest
    environment: Environment
    source: ServiceSource
    #: The catalog's entry of the service (None: unregistered, which the gate weighs).
    registered: Service | None
    target: DeployTarget
    kubectl: str
    commit: str
    committed_at: dt.datetime
    #: The deploying person's git identity, escaped.
    actor: str
    #: None until the open records are settled: without --image the image is the last one
    #: that succeeded, and an open record may be one.
    image: ImageRef | None
    #: When the change began (:func:`change_started`), from the records as the plan read them.
    change_started_at: dt.datetime | None = None

    def record_fields(self) -> dict[str, Any]:
        """The attempt's record, as far as the plan knows it."""
        assert self.image is not None
        return _fields(self, image=str(self.image), source_commit=self.commit) | {
            "source_time": self.committed_at,
            "change_started_at": self.change_started_at,
        }


@dataclasses.dataclass(frozen=True)
class RollbackPlan:
    """A checked rollback: the deployment it restores and the one it recovers from."""

    request: RollbackRequest
    environment: Environment
    source: ServiceSource
    target: DeployTarget
    actor: str
    #: None until the open records are settled (they may change what ran).
    restore: Restore | None
    #: The restored image, checked again (the records and the commits are input too).
    image: str | None

    def record_fields(self) -> dict[str, Any]:
        assert self.restore is not None
        assert self.image is not None
        return _fields(self, image=self.image, source_commit=self.restore.source_commit) | {
            "source_time": self.restore.source_time,
            "rollback_of": self.restore.recovers,
            "restored": self.restore.restored,
        }


Plan = DeployPlan | RollbackPlan


def _fields(plan: Plan, **fields: Any) -> dict[str, Any]:
    return {
        "service": plan.source.name,
        "environment": plan.environment.name,
        "target": plan.environment.target,
        "actor": plan.actor,
        **fields,
    }


def plan_deploy(request: DeployRequest, deps: DeployDeps) -> DeployPlan:
    """Check a deploy: everything the person gave and everything read from the repository.

    The service's identity comes from the catalog; kubectl must be there to render; the
    service ships committed work only. Writes nothing.
    """
    environment, source, registered = _service_in(request.path, request.environment, deps)
    if request.break_glass is not None:
        if not request.break_glass.strip():
            raise InputError("--break-glass needs --reason TEXT saying why")
        check_text(request.break_glass, what="--reason", limit=500)
    kubectl = find_kubectl(deps.env)
    commit, committed_at = source_commit(source.root)
    if (source.overlay(environment.name) / "kustomization.yaml").is_file():
        check_overlay(source, environment.name)  # a missing overlay is render's to say
    earlier = deps.catalog().deployments(service=source.name)
    image = _image(request, source, environment, earlier)
    return DeployPlan(
        request=request,
        environment=environment,
        source=source,
        registered=registered,
        target=target_for(environment, source.name, deps, kubectl=kubectl),
        kubectl=kubectl,
        commit=commit,
        committed_at=committed_at,
        actor=escaped(Git(source.root, deps.env).identity()),
        image=image,
        change_started_at=change_started(source, environment, commit, committed_at, earlier),
    )


def plan_rollback(request: RollbackRequest, deps: DeployDeps) -> RollbackPlan:
    """Check a rollback like a deploy, and choose what it restores. Writes nothing."""
    environment, source, _registered = _service_in(request.path, request.environment, deps)
    # kubectl applies the restored manifests: missing, it is the person's to fix, unrecorded
    needs_kubectl = environment.target == "kubernetes" and not request.dry_run
    kubectl = find_kubectl(deps.env) if needs_kubectl else None
    target = target_for(environment, source.name, deps, kubectl=kubectl)
    history = deps.catalog().deployments(service=source.name, environment=environment.name)
    restore, image = None, None
    if request.dry_run or not _open(history):
        restore = target.choose(history, request.to)
        image = checked_image(restore)
    return RollbackPlan(
        request=request,
        environment=environment,
        source=source,
        target=target,
        actor=escaped(Git(source.root, deps.env).identity()),
        restore=restore,
        image=image,
    )


def choose_again(plan: Plan, deps: DeployDeps) -> Plan:
    """The plan's choices made again from the records as they are now (once settled)."""
    if isinstance(plan, RollbackPlan):
        history = deps.catalog().deployments(
            service=plan.source.name, environment=plan.environment.name
        )
        restore = plan.target.choose(history, plan.request.to)
        return dataclasses.replace(plan, restore=restore, image=checked_image(restore))
    earlier = deps.catalog().deployments(service=plan.source.name)
    began = change_started(plan.source, plan.environment, plan.commit, plan.committed_at, earlier)
    if plan.request.image is not None:
        return dataclasses.replace(plan, change_started_at=began)
    image = _last_image(earlier, plan.source, plan.environment)
    return dataclasses.replace(plan, image=image, change_started_at=began)


def _open(records: list[Deployment]) -> bool:
    return any(d.outcome == "started" for d in records)


def change_started(
    source: ServiceSource,
    environment: Environment,
    commit: str,
    committed_at: dt.datetime,
    earlier: list[Deployment],
) -> dt.datetime:
    """When the change ``commit`` ships to ``environment`` began: the oldest commit since the
    commit of the service's last successful deployment there, as the catalog in use records
    it (:func:`~paved.deploy._source.change_start`); without one, the commit's own time."""
    previous = next(
        (
            d.source_commit
            for d in reversed(earlier)
            if d.environment == environment.name
            and d.service == source.name
            and d.outcome == "succeeded"
            and d.source_commit
        ),
        None,
    )
    return change_start(source.root, commit, committed_at, previous)


def _image(
    request: DeployRequest,
    source: ServiceSource,
    environment: Environment,
    earlier: list[Deployment],
) -> ImageRef | None:
    """``--image``, else the image of the last successful deployment (None: not yet known)."""
    if request.image is not None:
        return parse_image(request.image)
    here = [d for d in earlier if d.environment == environment.name]
    if not request.dry_run and _open(here):
        return None
    return _last_image(earlier, source, environment)


def _last_image(
    earlier: list[Deployment], source: ServiceSource, environment: Environment
) -> ImageRef:
    for deployment in reversed(earlier):
        if deployment.environment == environment.name and deployment.outcome == "succeeded":
            return parse_image(deployment.image)
    raise InputError(
        f"no image to deploy: {source.name} was never deployed to {environment.name}",
        hint="pass --image REGISTRY/NAME@sha256:DIGEST (the image CI built)",
    )


def _service_in(
    path: Path, name: str, deps: DeployDeps
) -> tuple[Environment, ServiceSource, Service | None]:
    """The environment, the service and its catalog entry, every one checked."""
    check_name(name, what="environment")
    environment = get_environment(resolve_environments(deps.settings, deps.data_dir), name)
    source = read_service(path)
    if environment.target == "gitops" and environment.embedded and deps.catalog().shared:
        raise InputError(
            f"environment {environment.name} has no environment repository the organisation "
            "can see (the embedded one is on this machine)",
            hint="the platform team sets deploy.repository in the platform settings; "
            "then run paved login again",
        )
    return environment, source, _identity(source, deps)


def _repository_of(root: Path, env: Mapping[str, str]) -> str:
    """Where this service repository is pushed (its ``origin``), else the folder itself."""
    origin = Git(root, env)("remote", "get-url", "origin", check=False)
    return origin.strip() or root.resolve().as_uri()


def _identity(source: ServiceSource, deps: DeployDeps) -> Service | None:
    """The catalog's entry of the service, checked against this repository and this user.

    A service's identity comes from the catalog, not from its files: the answers file may
    name any service, so a registered name must be registered with *this* repository (exit
    2 otherwise), and its owner must be one of the user's teams (exit 4 otherwise). An
    unregistered service is let through here; the gate keeps it out of protected
    environments.
    """
    catalog = deps.catalog()
    registered = catalog.get(source.name)
    if registered is None:
        return None
    here = _repository_of(source.root, deps.env)
    if not same_repository(registered.repository, here):
        raise InputError(
            f"{source.root / ROAD_ANSWERS}: service_name '{source.name}' is registered with "
            f"repository {registered.repository}, not with this one ({here})",
            hint="deploy a service from its own repository; a copy needs a name of its own "
            "(paved new service)",
        )
    caller = catalog.caller()
    if caller is not None and not caller.owns(registered.owner):
        raise AuthError(
            f"service '{source.name}' belongs to team {registered.owner}; "
            f"{caller.user} is not a member",
            hint="ask a member of the team to deploy it, or the platform team for access",
        )
    if caller is None and registered.owner != source.owner:
        raise AuthError(
            f"{source.root / ROAD_ANSWERS}: owner '{source.owner}' is not the owner the "
            f"catalog records for {source.name} ({registered.owner})",
            hint=f"restore 'owner: {registered.owner}' in the answers file",
        )
    return registered
