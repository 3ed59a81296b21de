"""Deploys: plan (pure) → gate → render the environment overlay → apply to a target → record.

``deploy`` and ``rollback`` record every attempt in the catalog (succeeded, failed or refused).
The embedded default target is a GitOps environment repository, a bare repository under the
data directory, laid out for Argo CD and Flux (docs/deploy.md).
"""

from __future__ import annotations

from paved.deploy._environments import Environment, resolve_environments
from paved.deploy._gate import GateResult, gate, older_than
from paved.deploy._gitops import EnvironmentRepository, kustomization_for, service_path
from paved.deploy._image import ImageRef, parse_image
from paved.deploy._kubernetes import kubectl_commands
from paved.deploy._render import KubectlMissing, render
from paved.deploy._run import (
    DeployDeps,
    DeployRefused,
    DeployRequest,
    DeployResult,
    RollbackRequest,
    deploy,
    rollback,
    settle,
)
from paved.deploy._source import ServiceSource, read_service

__all__ = [
    "DeployDeps",
    "DeployRefused",
    "DeployRequest",
    "DeployResult",
    "Environment",
    "EnvironmentRepository",
    "GateResult",
    "ImageRef",
    "KubectlMissing",
    "RollbackRequest",
    "ServiceSource",
    "deploy",
    "gate",
    "kubectl_commands",
    "kustomization_for",
    "older_than",
    "parse_image",
    "read_service",
    "render",
    "resolve_environments",
    "rollback",
    "service_path",
    "settle",
]
