"""The platform's nouns, as plain data shared by the CLI, the catalog and the server."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Mapping
from typing import Any, Literal

__all__ = ["Caller", "Deployment", "LayerRef", "Outcome", "Service"]


@dataclasses.dataclass(frozen=True)
class LayerRef:
    """Which scaffold, at which version, made one layer of a service."""

    layer: str
    scaffold: str
    version: str

    def to_json(self) -> dict[str, str]:
        return dataclasses.asdict(self)


@dataclasses.dataclass(frozen=True)
class Service:
    """A service registered in the catalog."""

    name: str
    owner: str
    description: str
    repository: str
    layers: tuple[LayerRef, ...]
    created_at: dt.datetime

    def layer(self, layer: str) -> LayerRef | None:
        return next((ref for ref in self.layers if ref.layer == layer), None)

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "owner": self.owner,
            "description": self.description,
            "repository": self.repository,
            "layers": [ref.to_json() for ref in self.layers],
            "created_at": self.created_at.isoformat().replace("+00:00", "Z"),
        }


#: ``started`` is an open journal entry: the attempt is under way (or was cut off).
Outcome = Literal["started", "succeeded", "failed", "refused"]


@dataclasses.dataclass(frozen=True)
class Caller:
    """Who the platform says the holder of the token is."""

    user: str
    teams: tuple[str, ...]
    admin: bool = False

    def owns(self, team: str) -> bool:
        return self.admin or team in self.teams


def _stamp(value: dt.datetime | None) -> str | None:
    return value.isoformat().replace("+00:00", "Z") if value is not None else None


def _when(value: str | None) -> dt.datetime | None:
    return dt.datetime.fromisoformat(value) if value else None


@dataclasses.dataclass(frozen=True)
class Deployment:
    """One attempt to deploy (or roll back) a service to an environment, whatever its outcome."""

    service: str
    environment: str
    #: ``gitops`` or ``kubernetes``.
    target: str
    #: The image reference deployed (empty when the attempt failed before knowing it).
    image: str
    #: The service repository's commit that was deployed, and its commit time.
    source_commit: str | None
    source_time: dt.datetime | None
    #: The git identity of the person (or CI job) who ran the deploy.
    actor: str
    started_at: dt.datetime
    #: ``None`` while the attempt is ``started``.
    finished_at: dt.datetime | None
    outcome: Outcome
    #: One line: what happened, or why it failed or was refused.
    message: str = ""
    #: The gate's findings (``Finding.to_json`` shapes), open and waived.
    findings: tuple[dict[str, Any], ...] = ()
    #: The reason given with ``--break-glass``, when the gate was passed that way.
    break_glass: str | None = None
    #: For a rollback: the deployment it recovers from, and the one whose manifests it restored.
    rollback_of: int | None = None
    restored: int | None = None
    #: The environment repository's commit holding these manifests (gitops target).
    revision: str | None = None
    #: The manifests applied (kubernetes target only: there is no repository to keep them).
    manifests: str | None = None
    id: int | None = None

    def to_json(self, *, manifests: bool = False) -> dict[str, Any]:
        """The record as JSON (``paved deployments list --json``); with ``manifests``, the
        manifests too (as the platform takes and gives them)."""
        data = {
            "id": self.id,
            "service": self.service,
            "environment": self.environment,
            "target": self.target,
            "image": self.image,
            "source_commit": self.source_commit,
            "source_time": _stamp(self.source_time),
            "actor": self.actor,
            "started_at": _stamp(self.started_at),
            "finished_at": _stamp(self.finished_at),
            "outcome": self.outcome,
            "message": self.message,
            "findings": list(self.findings),
            "break_glass": self.break_glass,
            "rollback_of": self.rollback_of,
            "restored": self.restored,
            "revision": self.revision,
        }
        if manifests:
            data["manifests"] = self.manifests
        return data

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Deployment:
        """The record in ``data``, in the shape of ``to_json(manifests=True)``: every key there,
        each of its type (keys it does not know, such as the platform's ``recorded_by``, are
        left out). Anything else is a :class:`ValueError` saying what is wrong: a record read
        from elsewhere is input, and a missing ``restored`` or ``manifests`` would change what
        a rollback restores."""
        missing = [key for key in _DEPLOYMENT_KEYS if key not in data]
        if missing:
            raise ValueError(f"deployment record has no {', '.join(missing)}")
        for key in ("id", "rollback_of", "restored"):
            value = data[key]
            if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
                raise ValueError(f"deployment record's {key} is not a number")
        if not isinstance(data["id"], int):
            raise ValueError("deployment record has no id")
        for key in _TEXT_KEYS:
            if not isinstance(data[key], str):
                raise ValueError(f"deployment record's {key} is not text")
        for key in _OPTIONAL_TEXT_KEYS:
            if data[key] is not None and not isinstance(data[key], str):
                raise ValueError(f"deployment record's {key} is not text")
        if not data["started_at"]:
            raise ValueError("deployment record has no started_at")
        if not isinstance(data["findings"], list):
            raise ValueError("deployment record's findings is not a list")
        values = {key: data[key] for key in _DEPLOYMENT_KEYS}
        for key in ("source_time", "started_at", "finished_at"):
            values[key] = _when(values[key])
        values["findings"] = tuple(values["findings"])
        return cls(**values)


#: The keys of a deployment record's JSON form (``to_json(manifests=True)``).
_DEPLOYMENT_KEYS = tuple(field.name for field in dataclasses.fields(Deployment))
_TEXT_KEYS = ("service", "environment", "target", "image", "source_commit", "actor", "outcome",
              "message", "started_at")  # fmt: skip
_OPTIONAL_TEXT_KEYS = ("source_time", "finished_at", "break_glass", "revision", "manifests")
