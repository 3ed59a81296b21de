"""The platform's nouns, as plain data shared by the CLI, the catalog and the server."""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

__all__ = ["LayerRef", "Service"]


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
