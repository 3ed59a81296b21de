"""Deploys: plan (pure) → gate → render the environment overlay → apply to a target → record.

``plan_deploy`` and ``plan_rollback`` check everything and write nothing; ``execute`` runs a
plan and records the attempt in the catalog (succeeded, failed or refused); ``deploy`` and
``rollback`` do both. The embedded default target is a GitOps environment repository, a
bare repository under the data directory, laid out for Argo CD and Flux (docs/deploy.md).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
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

#: Each public name and the module it lives in: a name is imported on first use, so that a
#: reader of one part (``paved doctor`` reads the environments) does not load every other
#: part (the gate, the targets, the journal).
_WHERE = {
    "DeployDeps": "paved.deploy._model",
    "DeployPlan": "paved.deploy._plan",
    "DeployRefused": "paved.deploy._model",
    "DeployRequest": "paved.deploy._model",
    "DeployResult": "paved.deploy._model",
    "DeployTarget": "paved.deploy._targets",
    "Environment": "paved.deploy._environments",
    "EnvironmentRepository": "paved.deploy._gitops",
    "GATE_RULES": "paved.deploy._gate",
    "GateResult": "paved.deploy._gate",
    "GateRule": "paved.deploy._gate",
    "ImageRef": "paved.deploy._image",
    "KubectlMissing": "paved.deploy._render",
    "Plan": "paved.deploy._plan",
    "Restore": "paved.deploy._choice",
    "RollbackPlan": "paved.deploy._plan",
    "RollbackRequest": "paved.deploy._model",
    "ServiceSource": "paved.deploy._source",
    "deploy": "paved.deploy._execute",
    "execute": "paved.deploy._execute",
    "gate": "paved.deploy._gate",
    "kubectl_commands": "paved.deploy._kubernetes",
    "kustomization_for": "paved.deploy._gitops",
    "older_than": "paved.deploy._gate",
    "parse_image": "paved.deploy._image",
    "plan_deploy": "paved.deploy._plan",
    "plan_rollback": "paved.deploy._plan",
    "read_service": "paved.deploy._source",
    "render": "paved.deploy._render",
    "resolve_environments": "paved.deploy._environments",
    "service_path": "paved.deploy._gitops",
    "settle": "paved.deploy._execute",
}


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module 'paved.deploy' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))


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
