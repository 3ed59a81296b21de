"""The catalog: services, owners and template versions, behind one interface.

Two backends share it: :class:`~paved.catalog.sqlite.SqliteCatalog`, a local SQLite file
used in-process (the embedded default), and the platform's HTTP API. Only the platform
records roll-outs (:class:`RolloutCatalog`); :func:`rollout_catalog` says whether a catalog
does. Requests for data resources (:class:`ResourceCatalog`) are the same:
:func:`resource_catalog` says whether a catalog keeps them, and so are incidents, gate reports,
onboarding events and the metrics (:class:`ProductCatalog`, :func:`product_catalog`).
"""

from __future__ import annotations

import builtins
import datetime as dt
from collections.abc import Iterable
from typing import Any, Literal, Protocol, runtime_checkable

from paved.catalog._layers import layers_problem
from paved.catalog._product import (
    ONBOARDING_STATUSES,
    ONBOARDING_STEPS,
    SEVERITIES,
    GateReport,
    Incident,
    OnboardingEvent,
    OnboardingStatus,
    OnboardingStep,
    Severity,
)
from paved.catalog._registration import registration_conflict, unknown_team
from paved.catalog._resources import (
    RESOURCE_REQUEST_STATES,
    ResourceRequest,
    ResourceRequestState,
    ServiceResources,
)
from paved.models import (
    Caller,
    CatalogEntry,
    DataResource,
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
    "ONBOARDING_STATUSES",
    "ONBOARDING_STEPS",
    "RESOURCE_REQUEST_STATES",
    "SEVERITIES",
    "Catalog",
    "GateReport",
    "Incident",
    "OnboardingEvent",
    "OnboardingStatus",
    "OnboardingStep",
    "ProductCatalog",
    "ResourceCatalog",
    "ResourceRequest",
    "ResourceRequestState",
    "RolloutCatalog",
    "ServiceResources",
    "Severity",
    "layers_problem",
    "product_catalog",
    "registration_conflict",
    "resource_catalog",
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


@runtime_checkable
class ResourceCatalog(Catalog, Protocol):
    """A catalog that keeps the journal of requests for data resources: the platform's.

    Get one with :func:`resource_catalog`. ``paved add`` opens a request before it changes
    the service's repository and closes it after. Errors are paved errors: a service of
    another team, or a request of another user, is an :class:`~paved.errors.AuthError`; a
    name the service has already (in its catalog entry or an open request), or a request
    closed already, a :class:`~paved.errors.ConflictError`; a service not in the catalog (or
    archived), or a request it does not have, an :class:`~paved.errors.InputError`; an
    answer of another shape a :class:`~paved.errors.RemoteError`.
    """

    def request_resource(
        self,
        service: str,
        resource: DataResource,
        *,
        branch: str | None = None,
        dry_run: bool = False,
    ) -> int | None:
        """Open a request (state ``started``) for ``resource`` of ``service``, the change to
        go on ``branch`` (``None``: the default branch); its id. With ``dry_run`` every check
        runs, nothing is stored and the answer is ``None``."""
        ...

    def close_resource_request(
        self,
        service: str,
        request_id: int,
        state: Literal["committed", "failed"],
        commit: str | None = None,
        branch: str | None = None,
        detail: str = "",
    ) -> ResourceRequest:
        """Close the open request ``request_id`` of ``service``: ``committed`` (the resource
        joins the service's catalog entry) or ``failed``; the request as closed."""
        ...

    def resources(self, service: str) -> ServiceResources:
        """The data resources of ``service`` and every request for them, newest first."""
        ...


def resource_catalog(catalog: Catalog) -> ResourceCatalog | None:
    """``catalog`` when it keeps requests for data resources (the platform's catalog), else
    ``None``: the local catalog keeps none (``paved add`` then writes the change alone)."""
    if catalog.shared and isinstance(catalog, ResourceCatalog):
        return catalog
    return None


@runtime_checkable
class ProductCatalog(Catalog, Protocol):
    """A catalog that keeps incidents, gate reports and onboarding events, and measures
    delivery, onboarding and adoption from them: the platform's (docs/metrics.md).

    Get one with :func:`product_catalog`. Errors are paved errors: another team's service is
    an :class:`~paved.errors.AuthError`, an incident resolved already a
    :class:`~paved.errors.ConflictError`, an unknown service or incident an
    :class:`~paved.errors.InputError`, an answer of another shape a
    :class:`~paved.errors.RemoteError`. Figures are the platform's JSON, checked key by key.
    """

    def open_incident(
        self,
        service: str,
        environment: str,
        title: str,
        *,
        severity: Severity = "sev2",
        deployment_id: int | None = None,
        dry_run: bool = False,
    ) -> Incident:
        """Open an incident (with ``dry_run``, checked and not stored: its id is ``None``)."""
        ...

    def resolve_incident(self, incident_id: int, *, dry_run: bool = False) -> Incident:
        """Resolve an open incident on the platform's clock."""
        ...

    def incidents(
        self, *, service: str | None = None, team: str | None = None, open: bool | None = None
    ) -> builtins.list[Incident]:
        """Incidents, newest first; ``open``: only open (``True``) or resolved (``False``)."""
        ...

    def report_gate(
        self,
        service: str,
        *,
        commit: str | None,
        passed: bool,
        rule_ids: Iterable[str],
        findings: int,
        dry_run: bool = False,
    ) -> GateReport:
        """Report the gate's result at a commit of a service."""
        ...

    def latest_gate_report(self, service: str) -> GateReport | None:
        """The latest gate report of a service, or ``None``."""
        ...

    def onboarding_event(
        self, step: OnboardingStep, status: OnboardingStatus, detail: str = ""
    ) -> OnboardingEvent:
        """Record a step of ``paved onboard`` for the token's user."""
        ...

    def delivery_metrics(
        self,
        *,
        team: str | None = None,
        service: str | None = None,
        environment: str = "prod",
        days: int = 30,
    ) -> dict[str, Any]:
        """Delivery metrics in total, per service and per week."""
        ...

    def onboarding_metrics(self, *, team: str | None = None, days: int = 365) -> dict[str, Any]:
        """Onboarding time per cohort, team and step."""
        ...

    def adoption_metrics(self, *, layer: str = "road", days: int = 30) -> dict[str, Any]:
        """Road versions, the gate and deployments across services and teams."""
        ...


def product_catalog(catalog: Catalog) -> ProductCatalog | None:
    """``catalog`` when it is the platform's (which keeps incidents, gate reports, onboarding
    events and the metrics), else ``None``."""
    if catalog.shared and isinstance(catalog, ProductCatalog):
        return catalog
    return None
