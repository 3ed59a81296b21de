"""The catalog: services, owners and template versions, behind one interface.

Two backends share it: :class:`~paved.catalog.sqlite.SqliteCatalog`, a local SQLite file
used in-process (the embedded default), and the platform's HTTP API.
"""

from __future__ import annotations

import builtins
from typing import Protocol

from paved.models import Deployment, Service

__all__ = ["Catalog"]


class Catalog(Protocol):
    """What every catalog backend offers. Errors are paved errors (RemoteError, ConflictError)."""

    #: Where the catalog lives, for messages (a file path or a URL).
    location: str

    def get(self, name: str) -> Service | None:
        """The service called ``name``, or ``None``."""
        ...

    def register(self, service: Service) -> tuple[Service, bool]:
        """Register ``service`` idempotently.

        Returns the stored service and whether it was created now. Registering the same name
        again with the same owner and repository returns the stored entry unchanged; any
        other owner or repository is a :class:`~paved.errors.ConflictError`.
        """
        ...

    def list(self, *, owner: str | None = None, template: str | None = None) -> list[Service]:
        """Services by name, optionally only one owner's or one scaffold's."""
        ...

    def record_deployment(self, deployment: Deployment) -> Deployment:
        """Store one deployment attempt; returns it with its id."""
        ...

    def deployments(
        self, *, service: str | None = None, environment: str | None = None
    ) -> builtins.list[Deployment]:
        """Deployment attempts, oldest first, optionally of one service or environment."""
        ...

    def close(self) -> None: ...
