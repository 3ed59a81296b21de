"""Environments: the built-in dev, staging and prod, merged with the settings' definitions."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path
from typing import Literal

from paved.config import DEFAULT_ENVIRONMENTS, Settings
from paved.errors import InputError

__all__ = ["DEFAULT_ENVIRONMENTS", "Environment", "resolve_environments"]

Target = Literal["gitops", "kubernetes"]

_TIMEOUT = re.compile(r"^[1-9][0-9]*(s|m|h)$")


@dataclasses.dataclass(frozen=True)
class Environment:
    """Where a deploy goes, and how strict its gate is."""

    name: str
    target: Target
    #: A protected environment's gate also refuses warnings, unregistered services and old
    #: road layers, and refuses --break-glass. Built-in: only prod.
    protected: bool
    #: gitops: the environment repository (git URL or path).
    repository: str
    #: kubernetes: the kubeconfig context, the namespace (empty: the overlay's), the rollout wait.
    context: str = ""
    namespace: str = ""
    rollout_timeout: str = "300s"
    #: The repository is the embedded one under the data directory (created on first use).
    embedded: bool = False


def embedded_repository(data_dir: Path) -> Path:
    return data_dir / "environments.git"


def resolve_environments(settings: Settings, data_dir: Path) -> dict[str, Environment]:
    """Every known environment by name; a bad definition is an :class:`InputError`."""
    default_repo = settings.deploy_repository or str(embedded_repository(data_dir))
    origin = settings.sources.get("environments", "the settings")
    found = {}
    for name in settings.environment_names:
        fields = dict(settings.environments.get(name, {}))
        target = fields.get("target", "gitops")
        if target not in ("gitops", "kubernetes"):
            raise InputError(
                f"environment '{name}' in {origin} has target '{target}'",
                hint='use target = "gitops" or target = "kubernetes"',
            )
        protected = fields.get("protected", "true" if name == "prod" else "false")
        if protected not in ("true", "false"):
            raise InputError(f"environment '{name}' in {origin}: protected must be true or false")
        timeout = fields.get("rollout_timeout", "300s")
        if not _TIMEOUT.match(timeout):
            raise InputError(
                f"environment '{name}' in {origin}: rollout_timeout '{timeout}' is not a duration",
                hint="write it as 300s, 5m or 1h",
            )
        if target == "kubernetes" and not fields.get("context"):
            raise InputError(
                f"environment '{name}' in {origin} has target kubernetes but no context",
                hint=f'set [environments.{name}] context = "KUBECONFIG CONTEXT"',
            )
        repository = fields.get("repository", default_repo)
        found[name] = Environment(
            name=name,
            target="kubernetes" if target == "kubernetes" else "gitops",
            protected=protected == "true",
            repository=repository,
            context=fields.get("context", ""),
            namespace=fields.get("namespace", ""),
            rollout_timeout=timeout,
            embedded=repository == str(embedded_repository(data_dir)),
        )
    return found


def get_environment(environments: dict[str, Environment], name: str) -> Environment:
    try:
        return environments[name]
    except KeyError:
        raise InputError(
            f"unknown environment '{name}'",
            hint="known environments: " + ", ".join(environments),
        ) from None
