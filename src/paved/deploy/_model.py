"""What a deploy is asked (the requests), what it runs with (the deps), what comes back."""

from __future__ import annotations

import dataclasses
import datetime as dt
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Literal

from paved.catalog import Catalog
from paved.config import Settings
from paved.errors import GuardrailBlocked
from paved.models import Deployment

__all__ = [
    "Action",
    "DeployDeps",
    "DeployRefused",
    "DeployRequest",
    "DeployResult",
    "RollbackRequest",
    "timed",
]

Action = Literal["deploy", "rollback"]


@dataclasses.dataclass(frozen=True)
class DeployRequest:
    """What the person asked for, as typed."""

    path: Path
    environment: str
    image: str | None = None
    dry_run: bool = False
    #: ``--break-glass --reason TEXT``: the reason, or None.
    break_glass: str | None = None


@dataclasses.dataclass(frozen=True)
class RollbackRequest:
    path: Path
    environment: str
    to: int | None = None
    dry_run: bool = False


@dataclasses.dataclass(frozen=True)
class DeployDeps:
    """The outside world a deploy works with; tests pass their own."""

    settings: Settings
    data_dir: Path
    catalog: Callable[[], Catalog]
    clock: Callable[[], dt.datetime]
    #: The process environment for the git and kubectl subprocesses (PATH, HOME, GIT_*).
    env: Mapping[str, str]
    progress: Callable[[str], None] = lambda _message: None
    #: Called between commit and push (attempt number): tests make another deploy win here.
    before_push: Callable[[int], None] | None = None
    #: Milliseconds per phase of the last run (gate, render, apply), for the benchmark.
    timings: dict[str, float] = dataclasses.field(default_factory=dict)


@dataclasses.dataclass(frozen=True)
class DeployResult:
    action: Action
    #: deployed | unchanged | planned | refused | rolled back
    status: str
    service: str
    environment: str
    target: str
    image: str
    deployment: Deployment | None
    findings: tuple[dict[str, Any], ...] = ()
    refusals: tuple[str, ...] = ()
    repository: str | None = None
    path: str | None = None
    diff: str | None = None

    def to_json(self) -> dict[str, Any]:
        """The documented shape (docs/schemas/deploy.schema.json)."""
        return {
            "schema": "paved/deploy/v1",
            "action": self.action,
            "status": self.status,
            "service": self.service,
            "environment": self.environment,
            "target": self.target,
            "image": self.image,
            "repository": self.repository,
            "path": self.path,
            "revision": self.deployment.revision if self.deployment else None,
            "deployment": self.deployment.to_json() if self.deployment else None,
            "findings": list(self.findings),
            "refusals": list(self.refusals),
            "diff": self.diff,
        }


class DeployRefused(GuardrailBlocked):
    """The gate refused the deploy (exit 3); carries the result with the findings."""

    def __init__(self, message: str, result: DeployResult, *, hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.result = result


@contextmanager
def timed(deps: DeployDeps, phase: str) -> Iterator[None]:
    """Keep how long ``phase`` took in ``deps.timings`` (milliseconds)."""
    start = time.perf_counter()
    try:
        yield
    finally:
        deps.timings[phase] = (time.perf_counter() - start) * 1000
