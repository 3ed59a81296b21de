"""The ``kubernetes`` target: ``kubectl apply --server-side``, then wait for the rollout.

No cluster runs where paved's tests run: they check everything up to these command lines, with
a fake kubectl that records its arguments (docs/deploy.md says so).
"""

from __future__ import annotations

import subprocess
from collections.abc import Callable, Mapping
from typing import Any

import yaml

from paved.deploy._environments import Environment
from paved.errors import RemoteError

__all__ = ["apply_kubernetes", "kubectl_commands"]


def _deployment(manifests: str, fallback: str) -> tuple[str, str]:
    """The name and namespace of the rendered Deployment."""
    for doc in yaml.safe_load_all(manifests):
        if isinstance(doc, dict) and doc.get("kind") == "Deployment":
            meta: Any = doc.get("metadata") or {}
            return str(meta.get("name", fallback)), str(meta.get("namespace", ""))
    return fallback, ""


def kubectl_commands(
    kubectl: str, environment: Environment, manifests: str, service: str
) -> tuple[list[str], list[str]]:
    """The apply and rollout-status command lines for ``manifests``."""
    name, rendered_namespace = _deployment(manifests, service)
    namespace = environment.namespace or rendered_namespace or "default"
    where = ["--context", environment.context, "--namespace", namespace]
    apply = [kubectl, "apply", "--server-side", "--field-manager=paved", *where, "-f", "-"]
    rollout = [
        kubectl,
        "rollout",
        "status",
        f"deployment/{name}",
        *where,
        f"--timeout={environment.rollout_timeout}",
    ]
    return apply, rollout


def _seconds(duration: str) -> int:
    return int(duration[:-1]) * {"s": 1, "m": 60, "h": 3600}[duration[-1]]


def apply_kubernetes(
    kubectl: str,
    environment: Environment,
    manifests: str,
    service: str,
    *,
    env: Mapping[str, str],
    progress: Callable[[str], None],
) -> None:
    """Apply ``manifests`` and wait for the rollout; :class:`RemoteError` when either fails."""
    apply, rollout = kubectl_commands(kubectl, environment, manifests, service)
    where = f"context {environment.context}"
    for command, stdin, limit, what in (
        (apply, manifests, 300, "kubectl apply"),
        (rollout, None, _seconds(environment.rollout_timeout) + 30, "the rollout"),
    ):
        progress(f"{what} ({where})…")
        try:
            done = subprocess.run(
                command, input=stdin, capture_output=True, text=True, timeout=limit,
                env=dict(env), check=False,
            )  # fmt: skip
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise RemoteError(f"{what} in {where} failed ({exc})") from exc
        if done.returncode != 0:
            last = (done.stderr.strip().splitlines() or [f"exit {done.returncode}"])[-1]
            raise RemoteError(
                f"{what} in {where} failed ({last})",
                hint="check the cluster and the context; 'paved rollback' restores the "
                "previous deployment",
            )
