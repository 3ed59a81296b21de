"""The catalog: services, owners and template versions, behind one interface.

Two backends share it: :class:`~paved.catalog.sqlite.SqliteCatalog`, a local SQLite file
used in-process (the embedded default), and the platform's HTTP API. Only the platform
records roll-outs (:class:`RolloutCatalog`); :func:`rollout_catalog` says whether a catalog
does.
"""

from __future__ import annotations

import builtins
import datetime as dt
from typing import Protocol, runtime_checkable

from paved.catalog._layers import layers_problem
from paved.catalog._registration import registration_conflict, unknown_team
from paved.models import (
    Caller,
    CatalogEntry,
    Deployment,
    LayerRef,
    Outcome,
    Rollout,
    RolloutMode,
    RolloutService,
    RolloutStatus,
    Service,
    VersionAdoption,
)

__all__ = [
    "Catalog",
    "RolloutCatalog",
    "layers_problem",
    "registration_conflict",
    "rollout_catalog",
    "unknown_team",
]


class Catalog(Protocol):
    """What every catalog backend offers. Errors are paved errors (RemoteError, ConflictError)."""

    #: Where the catalog lives, for messages (a file path or a URL).
    location: str
    #: The organisation's catalog (other people read it), not one on this machine.
    shared: bool

    def get(self, name: str) -> Service | None:
        """The service called ``name``, or ``None``."""
        ...

    def caller(self) -> Caller | None:
        """Who the catalog knows the user as (their teams); ``None`` when it has no users."""
        ...

    def teams(self) -> tuple[str, ...] | None:
        """The teams that may own services, by name; ``None`` when any valid name may."""
        ...

    def register(self, service: Service, *, dry_run: bool = False) -> tuple[Service, bool]:
        """Register ``service`` idempotently.

        Returns the stored service and whether it was created now. Registering the same name
        again with the same owner and repository returns the stored entry unchanged; any
        other owner or repository is a :class:`~paved.errors.ConflictError`, and so is an
        archived name. With ``dry_run`` every check runs and nothing is stored: ``new
        service`` asks this before it renders anything.
        """
        ...

    def record_layers(
        self,
        name: str,
        layers: tuple[LayerRef, ...],
        *,
        dry_run: bool = False,
        catalog: CatalogEntry | None = None,
    ) -> Service:
        """Record the layer versions a service now has (after an update is committed).

        Replaces the stored layers of the service ``name`` (and its catalog entry, when
        ``catalog`` is given; otherwise the stored one is kept) and returns the stored service.
        Each layer is named once, by the naming rule, at a version paved can compare
        (:func:`layers_problem`); anything else is an :class:`~paved.errors.InputError`, and
        so is a service that is not in the catalog. An archived service is a
        :class:`~paved.errors.ConflictError`. On the platform only a member of the owning
        team (or an admin) may do it (:class:`~paved.errors.AuthError`). With ``dry_run``
        every check runs and nothing is stored.
        """
        ...

    def list(self, *, owner: str | None = None, template: str | None = None) -> list[Service]:
        """Services by name, optionally only one owner's or one scaffold's."""
        ...

    def record_deployment(self, deployment: Deployment) -> Deployment:
        """Store one finished attempt (a refusal, a failure before any effect); with its id."""
        ...

    def start_deployment(self, deployment: Deployment) -> Deployment:
        """Open the journal entry of an attempt (outcome ``started``) before its effect.

        The platform refuses it (:class:`~paved.errors.AuthError`) unless the service is
        registered to one of the user's teams: no effect ever follows a refusal.
        """
        ...

    def finish_deployment(
        self,
        deployment_id: int,
        *,
        outcome: Outcome,
        finished_at: dt.datetime,
        message: str,
        revision: str | None = None,
        manifests: str | None = None,
    ) -> Deployment:
        """Close a ``started`` entry with what happened."""
        ...

    def deployments(
        self, *, service: str | None = None, environment: str | None = None
    ) -> builtins.list[Deployment]:
        """Deployment attempts, oldest first, optionally of one service or environment."""
        ...

    def close(self) -> None: ...


@runtime_checkable
class RolloutCatalog(Catalog, Protocol):
    """A catalog that records roll-outs too: the platform's (a local catalog keeps none).

    Get one with :func:`rollout_catalog`. Errors are paved errors: a refusal (another team's
    service, another user's roll-out) is an :class:`~paved.errors.AuthError`, an id taken
    by another roll-out or a finished roll-out a :class:`~paved.errors.ConflictError`, an
    unknown roll-out or service an :class:`~paved.errors.InputError`.
    """

    def start_rollout(
        self, rollout_id: str, *, layer: str, scaffold: str, version: str, mode: RolloutMode
    ) -> tuple[Rollout, bool]:
        """Start the roll-out ``rollout_id`` (idempotent: the same again is the stored one);
        the roll-out and whether it was created now."""
        ...

    def record_rollout_service(
        self,
        rollout_id: str,
        service: str,
        *,
        status: RolloutStatus,
        detail: str = "",
        branch: str | None = None,
    ) -> RolloutService:
        """Record what became of ``service`` (replacing its earlier result)."""
        ...

    def finish_rollout(self, rollout_id: str) -> Rollout:
        """Finish the roll-out (idempotent); with each service's result."""
        ...

    def rollouts(self, *, layer: str | None = None) -> builtins.list[Rollout]:
        """Every roll-out, oldest first, with its counts by status (no per-service results)."""
        ...

    def rollout(self, rollout_id: str) -> Rollout:
        """One roll-out with each service's result."""
        ...

    def patching(self, layer: str) -> builtins.list[VersionAdoption]:
        """Time to patch ``layer``: each version of each of its scaffolds, and how it spread."""
        ...


def rollout_catalog(catalog: Catalog) -> RolloutCatalog | None:
    """``catalog`` when it records roll-outs (the platform's catalog), else ``None``."""
    if catalog.shared and isinstance(catalog, RolloutCatalog):
        return catalog
    return None
