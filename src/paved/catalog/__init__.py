"""The catalog: services, owners and template versions, behind one interface.

Two backends share it: :class:`~paved.catalog.sqlite.SqliteCatalog`, a local SQLite file
used in-process (the embedded default), and the platform's HTTP API.
"""

from __future__ import annotations

from typing import Protocol

from paved.models import Service

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

    def close(self) -> None: ...
