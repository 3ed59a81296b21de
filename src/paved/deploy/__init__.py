"""Deploys: plan (pure) → gate → render the environment overlay → apply to a target → record.

``plan_deploy`` and ``plan_rollback`` check everything and write nothing; ``execute`` runs a
plan and records the attempt in the catalog (succeeded, failed or refused); ``deploy`` and
``rollback`` do both. The embedded default target is a GitOps environment repository, a
bare repository under the data directory, laid out for Argo CD and Flux (docs/deploy.md).
"""

from __future__ import annotations

from paved.deploy._choice import Restore
from paved.deploy._environments import Environment, resolve_environments
from paved.deploy._execute import deploy, execute, settle
from paved.deploy._gate import GATE_RULES, GateResult, GateRule, gate, older_than
from paved.deploy._gitops import EnvironmentRepository, kustomization_for, service_path
from paved.deploy._image import ImageRef, parse_image
from paved.deploy._kubernetes import kubectl_commands
from paved.deploy._model import (
    DeployDeps,
    DeployRefused,
    DeployRequest,
    DeployResult,
    RollbackRequest,
)
from paved.deploy._plan import DeployPlan, Plan, RollbackPlan, plan_deploy, plan_rollback
from paved.deploy._render import KubectlMissing, render
from paved.deploy._source import ServiceSource, read_service
from paved.deploy._targets import DeployTarget

__all__ = [
    "GATE_RULES",
    "DeployDeps",
    "DeployPlan",
    "DeployRefused",
    "DeployRequest",
    "DeployResult",
    "DeployTarget",
    "Environment",
    "EnvironmentRepository",
    "GateResult",
    "GateRule",
    "ImageRef",
    "KubectlMissing",
    "Plan",
    "Restore",
    "RollbackPlan",
    "RollbackRequest",
    "ServiceSource",
    "deploy",
    "execute",
    "gate",
    "kubectl_commands",
    "kustomization_for",
    "older_than",
    "parse_image",
    "plan_deploy",
    "plan_rollback",
    "read_service",
    "render",
    "resolve_environments",
    "service_path",
    "settle",
]
