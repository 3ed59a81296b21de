"""The platform catalog over HTTP: the :class:`~paved.catalog.Catalog` interface on httpx.

One ``httpx.Client`` is reused for every call. Network errors and 5xx answers are retried
with backoff, and a 429 after its ``Retry-After`` (at most 10 s), only where the call is
idempotent (reads, registration by name, archiving, recording a service's layers, starting,
recording in and finishing a roll-out, a dry run of a resource request, a gate report, and
every read of incidents and metrics); recording a deployment, opening and closing a resource
request, opening and resolving an incident and an onboarding event are sent once (a 429 for
them is an error that says when to try again). HTTP errors become paved errors: 401 and 403
:class:`AuthError`, 409 :class:`ConflictError`, anything else :class:`RemoteError`.
"""

from __future__ import annotations

import builtins
import dataclasses
import datetime as dt
import re
import time
from collections.abc import Callable, Iterable, Mapping
from typing import Any, Literal, TypeVar

import httpx

from paved.catalog._layers import layers_problem
from paved.catalog._product import (
    ONBOARDING_STATUSES,
    ONBOARDING_STEPS,
    RULE_ID_PATTERN,
    SEVERITIES,
    GateReport,
    Incident,
    OnboardingEvent,
    OnboardingStatus,
    OnboardingStep,
    Severity,
    adoption_figures,
    delivery_figures,
    onboarding_figures,
)
from paved.catalog._resources import ResourceRequest, ServiceResources
from paved.errors import AuthError, ConflictError, InputError, RemoteError
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
    rollout_id_problem,
)
from paved.names import check_name, name_problem
from paved.text import check_text, escaped, text_problem

__all__ = ["RemoteCatalog"]

_Answer = TypeVar("_Answer")
#: A result's detail is one line of at most this many characters on the platform.
_DETAIL_LIMIT = 500
#: The longest user name paved shows for the platform's ``/v1/whoami``.
_USER_LIMIT = 200
_BLANKS = re.compile(r"[\t\n\r\v\f\u2028\u2029]+")


def _answer(read: Callable[[Mapping[str, Any]], _Answer], data: Any, what: str) -> _Answer:
    """``data`` read by ``read``: what the platform answers is input, checked like any."""
    try:
        if not isinstance(data, dict):
            raise ValueError(f"{what} is not an object")
        return read(data)
    except ValueError as exc:
        raise RemoteError(
            f"the platform answered with {'an' if what[0] in 'aeiou' else 'a'} {what} paved "
            f"cannot use: {exc}",
            hint="the platform may run another version of paved; tell the platform team",
        ) from None


def _body(response: httpx.Response) -> Any:
    """The JSON of a successful answer; anything else (an empty body, HTML from a proxy) is a
    :class:`RemoteError`, never a traceback: what the platform answers is input."""
    try:
        return response.json()
    except ValueError:  # a JSON decoding error, or bytes that are not UTF-8
        raise RemoteError(
            f"the platform answered HTTP {response.status_code} with something that is not JSON",
            hint="check the platform URL ('paved login'); if it is right, tell the platform team",
        ) from None


def _page(data: Any, key: str, what: str) -> tuple[list[Any], str | None]:
    """The items under ``key`` of one page of a list, and the next page's cursor."""
    if (
        not isinstance(data, dict)
        or not isinstance(data.get(key), list)
        or not isinstance(data.get("next_cursor"), str | None)
    ):
        raise RemoteError(
            f"the platform answered with a page of {what} paved cannot use",
            hint="the platform may run another version of paved; tell the platform team",
        )
    return data[key], data["next_cursor"]


def _rollout_path(rollout_id: str) -> str:
    # The id goes into the URL's path: never a '/', a '..' or a '?'.
    if (problem := rollout_id_problem(rollout_id)) is not None:
        raise InputError(problem, hint="choose an id such as road-1-2-0-20250301-1200")
    return f"/v1/rollouts/{rollout_id}"


def _one_line(detail: str) -> str:
    """``detail`` as the platform takes it: line breaks and tabs become one space, other
    control characters visible escapes, at most 500 characters."""
    line = escaped(_BLANKS.sub(" ", detail).strip())
    return line if len(line) <= _DETAIL_LIMIT else line[: _DETAIL_LIMIT - 3] + "..."


def _deployment(data: Any) -> Deployment:
    """A deployment record the platform answered with, checked like any input."""
    try:
        if not isinstance(data, dict):
            raise ValueError("deployment record is not an object")
        return Deployment.from_json(data)
    except ValueError as exc:
        raise RemoteError(
            f"the platform answered with a deployment record paved cannot use: {exc}",
            hint="the platform may run another version of paved; tell the platform team",
        ) from None


def _service(data: Any) -> Service:
    """A service record the platform answered with, checked like any input."""
    try:
        return _answer(_service_of, data, "service record")
    except (KeyError, TypeError, AttributeError) as exc:
        raise RemoteError(
            f"the platform answered with a service record paved cannot use: {exc!r}",
            hint="the platform may run another version of paved; tell the platform team",
        ) from None


def _service_of(data: Mapping[str, Any]) -> Service:
    return Service(
        name=data["name"],
        owner=data["owner"],
        description=data["description"],
        repository=data["repository"],
        layers=tuple(LayerRef(x["layer"], x["scaffold"], x["version"]) for x in data["layers"]),
        created_at=dt.datetime.fromisoformat(data["created_at"]),
        catalog=_entry(data.get("catalog")),
    )


def _entry(data: Any) -> CatalogEntry:
    """The catalog entry in the platform's answer (an older platform sends none: the
    default entry)."""
    try:
        return CatalogEntry.from_json(data)
    except ValueError as exc:
        raise RemoteError(
            f"the platform answered with a catalog entry paved cannot use: {exc}",
            hint="the platform may run another version of paved; tell the platform team",
        ) from None


class _WhoamiError(ValueError):
    """What is wrong with the platform's answer to ``/v1/whoami``."""


def _caller(data: Any) -> Caller:
    """The caller the platform answered with: a user of at most :data:`_USER_LIMIT` visible
    characters, a list of team names (the naming rule) and a boolean admin flag."""
    if not isinstance(data, dict):
        raise _WhoamiError("the answer is not an object")
    user, teams, admin = data.get("user"), data.get("teams"), data.get("admin")
    if not isinstance(user, str):
        raise _WhoamiError("the user is not a string")
    if not user:
        raise _WhoamiError("the user is empty")
    if not user.isprintable() or text_problem(user) is not None:
        raise _WhoamiError(f"the user '{escaped(user)}' holds characters that are not visible")
    if len(user) > _USER_LIMIT:
        raise _WhoamiError(f"the user is longer than {_USER_LIMIT} characters ({len(user)})")
    if not isinstance(teams, list):
        raise _WhoamiError("the teams are not a list")
    for team in teams:
        if not isinstance(team, str):
            raise _WhoamiError(f"a team is not a string ({type(team).__name__})")
        if name_problem(team) is not None:
            raise _WhoamiError(f"the team '{escaped(team)}' is not a team name")
    if not isinstance(admin, bool):
        raise _WhoamiError("the admin flag is not true or false")
    return Caller(user, tuple(teams), admin)


#: Pages of 1,000 services the delivery metrics are read in, at most (an organisation of
#: 100,000 services).
_MOST_METRIC_PAGES = 100

#: The longest wait a ``Retry-After`` can ask of a command before it is retried.
_LONGEST_RETRY_AFTER = 10.0


def _retry_after(response: httpx.Response, default: float) -> float:
    """The seconds a 429 asks the client to wait (``Retry-After`` in seconds), within
    0 to :data:`_LONGEST_RETRY_AFTER`; ``default`` when it says nothing usable."""
    value = response.headers.get("retry-after", "").strip()
    if not value.isascii() or not value.isdigit():
        return default
    return min(float(value), _LONGEST_RETRY_AFTER)


def _stamp(value: dt.datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


class RemoteCatalog:
    """The organisation's catalog, at ``url``, as the holder of ``token``."""

    shared = True

    def __init__(
        self,
        url: str,
        token: str | None,
        *,
        client: httpx.Client | None = None,
        retries: int = 3,
        backoff: float = 0.2,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.location = url.rstrip("/")
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        if client is None:
            client = httpx.Client(base_url=self.location, timeout=30.0)
        client.headers.update(headers)
        self._client = client
        self._retries = retries
        self._backoff = backoff
        self._sleep = sleep

    # -- plumbing ----------------------------------------------------------------------

    def _call(
        self,
        method: str,
        path: str,
        *,
        idempotent: bool,
        passthrough: frozenset[int] = frozenset(),
        **kwargs: Any,
    ) -> httpx.Response:
        """The platform's answer; an HTTP error is a paved error, but for the statuses in
        ``passthrough``, which the caller reads itself."""
        attempts = self._retries + 1 if idempotent else 1
        for attempt in range(attempts):
            last = attempt == attempts - 1
            try:
                response = self._client.request(method, path, **kwargs)
            except httpx.HTTPError as exc:
                if last:
                    raise RemoteError(
                        f"platform {self.location} is unreachable ({type(exc).__name__})",
                        hint="check the URL ('paved login') and your network, then try again",
                    ) from None
            else:
                if response.status_code in passthrough:
                    return response
                busy = response.status_code == 429
                if not (busy or response.status_code >= 500) or last:
                    return self._checked(response)
                if busy:  # the platform refused it unread: wait as long as it asks
                    self._sleep(_retry_after(response, self._backoff * 2**attempt))
                    continue
            self._sleep(self._backoff * 2**attempt)
        raise AssertionError("unreachable")  # pragma: no cover

    def _checked(self, response: httpx.Response) -> httpx.Response:
        if response.is_success:
            return response
        try:
            body = response.json()
        except ValueError:
            body = None
        message = str(body.get("message", "")) if isinstance(body, dict) else ""
        message = message or response.reason_phrase
        status = response.status_code
        if status == 401:
            raise AuthError(
                f"platform {self.location} refused the token ({message})",
                hint="log in again: paved login URL",
            )
        if status == 403:
            raise AuthError(f"platform {self.location} refused: {message}")
        if status == 409:
            raise ConflictError(message, hint="choose another name")
        if status in (400, 404, 422):
            raise InputError(f"platform {self.location} refused the request: {message}")
        if status == 429:
            wait = _retry_after(response, 1.0)
            raise RemoteError(
                f"platform {self.location} is busy and did not take the request ({message})",
                hint=f"try again in {wait:g} s",
            )
        raise RemoteError(
            f"platform {self.location} failed (HTTP {status}: {message})",
            hint="try again; if it persists, tell the platform team",
        )

    def close(self) -> None:
        self._client.close()

    # -- the Catalog interface -----------------------------------------------------------

    def get(self, name: str) -> Service | None:
        check_name(name)  # it goes into the URL's path: never a '..' or a '?'
        try:
            response = self._call("GET", f"/v1/services/{name}", idempotent=True)
        except InputError:
            return None
        data = _body(response)
        service = _service(data)
        return None if data.get("archived_at") else service

    def teams(self) -> tuple[str, ...] | None:
        """The teams the platform knows (``GET /v1/teams``), by name; ``None`` from a platform
        that keeps no teams (an older one: it answers 404). Names that break the naming rule
        are left out; an answer of another shape is a :class:`RemoteError`."""
        try:
            response = self._call("GET", "/v1/teams", idempotent=True)
        except InputError:
            return None
        try:
            teams = response.json()["teams"]
            names = [team["name"] for team in teams]
        except (ValueError, KeyError, TypeError):
            raise RemoteError(
                f"platform {self.location} answered the list of teams with something paved "
                "cannot use",
                hint="the platform may run another version of paved; tell the platform team",
            ) from None
        return tuple(sorted({n for n in names if isinstance(n, str) and not name_problem(n)}))

    def settings(self) -> dict[str, Any]:
        """The organisation settings the platform hands its clients."""
        data = _body(self._call("GET", "/v1/settings", idempotent=True))
        if not isinstance(data, dict) or not isinstance(data.get("settings"), dict):
            raise RemoteError(
                "the platform answered with settings paved cannot use",
                hint="the platform may run another version of paved; tell the platform team",
            )
        settings: dict[str, Any] = data["settings"]
        return settings

    def caller(self) -> Caller:
        """Who the token belongs to, as the platform says; an answer that is not a user of at
        most 200 visible characters, a list of team names and an admin flag is refused."""
        response = self._call("GET", "/v1/whoami", idempotent=True)
        try:
            return _caller(response.json())
        except ValueError as exc:  # a JSON decoding error is a ValueError too
            problem = str(exc) if isinstance(exc, _WhoamiError) else "it is not JSON"
            raise RemoteError(
                f"platform {self.location} answered who you are with something paved cannot "
                f"use: {problem}",
                hint="the platform may run another version of paved; tell the platform team",
            ) from None

    def register(self, service: Service, *, dry_run: bool = False) -> tuple[Service, bool]:
        body = {
            "name": service.name,
            "owner": service.owner,
            "description": service.description,
            "repository": service.repository,
            "layers": [ref.to_json() for ref in service.layers],
            "catalog": service.catalog.to_json(),
        }
        params = {"dry_run": "true"} if dry_run else None
        response = self._call("POST", "/v1/services", idempotent=True, json=body, params=params)
        return _service(_body(response)), response.status_code == 201

    def record_layers(
        self,
        name: str,
        layers: tuple[LayerRef, ...],
        *,
        dry_run: bool = False,
        catalog: CatalogEntry | None = None,
    ) -> Service:
        check_name(name)
        if (problem := layers_problem(layers)) is not None:  # the platform's rule too
            raise InputError(
                f"the layers of service '{name}' cannot be recorded: {problem}",
                hint="record each layer once, at a version such as 1.4.0",
            )
        body: dict[str, Any] = {"layers": [ref.to_json() for ref in layers]}
        if catalog is not None:
            body["catalog"] = catalog.to_json()
        params = {"dry_run": "true"} if dry_run else None
        try:
            response = self._call(
                "PUT", f"/v1/services/{name}/layers", idempotent=True, json=body, params=params
            )
        except ConflictError as exc:
            hint = "the update stays committed in its repository"
            raise ConflictError(exc.message, hint=hint) from None
        return _service(_body(response))

    def archive(self, name: str) -> Service:
        check_name(name)
        return _service(_body(self._call("POST", f"/v1/services/{name}/archive", idempotent=True)))

    def list(self, *, owner: str | None = None, template: str | None = None) -> list[Service]:
        params: dict[str, str | int] = {"limit": 1000}
        if owner is not None:
            params["owner"] = owner
        if template is not None:
            params["template"] = template
        found: list[Service] = []
        while True:
            page = _body(self._call("GET", "/v1/services", idempotent=True, params=params))
            items, cursor = _page(page, "services", "services")
            found += [_service(item) for item in items]
            if cursor is None:
                return found
            params["cursor"] = cursor

    def record_deployment(self, deployment: Deployment) -> Deployment:
        body = deployment.to_json(manifests=True)
        body.pop("id")
        body.pop("actor")  # the platform sets it: the token's user
        if deployment.change_started_at is not None:
            body["change_started_at"] = _stamp(deployment.change_started_at)
        response = self._call("POST", "/v1/deployments", idempotent=False, json=body)
        return _deployment(_body(response))

    def start_deployment(self, deployment: Deployment) -> Deployment:
        return self.record_deployment(
            dataclasses.replace(deployment, outcome="started", finished_at=None)
        )

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
        body = {
            "outcome": outcome,
            "finished_at": _stamp(finished_at),
            "message": message,
            "revision": revision,
            "manifests": manifests,
        }
        response = self._call(
            "POST", f"/v1/deployments/{deployment_id}/finish", idempotent=False, json=body
        )
        return _deployment(_body(response))

    def deployments(
        self, *, service: str | None = None, environment: str | None = None
    ) -> builtins.list[Deployment]:
        params: dict[str, str | int] = {"limit": 1000}
        if service is not None:
            params["service"] = service
        if environment is not None:
            params["environment"] = environment
        found: builtins.list[Deployment] = []
        while True:
            page = _body(self._call("GET", "/v1/deployments", idempotent=True, params=params))
            items, cursor = _page(page, "deployments", "deployments")
            found += [_deployment(item) for item in items]
            if cursor is None:
                return found
            params["cursor"] = cursor

    # -- roll-outs (RolloutCatalog) ------------------------------------------------------

    def start_rollout(
        self, rollout_id: str, *, layer: str, scaffold: str, version: str, mode: RolloutMode
    ) -> tuple[Rollout, bool]:
        path = _rollout_path(rollout_id)
        if (problem := layers_problem([LayerRef(layer, scaffold, version)])) is not None:
            raise InputError(f"rollout {rollout_id} cannot be started: {problem}")
        body = {"layer": layer, "scaffold": scaffold, "version": version, "mode": mode}
        try:
            response = self._call("PUT", path, idempotent=True, json=body)
        except ConflictError as exc:
            raise ConflictError(exc.message, hint="choose another rollout id") from None
        return _answer(Rollout.from_json, _body(response), "rollout record"), (
            response.status_code == 201
        )

    def record_rollout_service(
        self,
        rollout_id: str,
        service: str,
        *,
        status: RolloutStatus,
        detail: str = "",
        branch: str | None = None,
    ) -> RolloutService:
        path = _rollout_path(rollout_id)
        check_name(service)
        body = {"status": status, "detail": _one_line(detail), "branch": branch}
        try:
            response = self._call("PUT", f"{path}/services/{service}", idempotent=True, json=body)
        except ConflictError as exc:
            raise ConflictError(exc.message, hint="the service's update stays as it is") from None
        return _answer(RolloutService.from_json, _body(response), "rollout result")

    def finish_rollout(self, rollout_id: str) -> Rollout:
        path = _rollout_path(rollout_id)
        response = self._call("POST", f"{path}/finish", idempotent=True)
        return _answer(Rollout.from_json, _body(response), "rollout record")

    def rollouts(self, *, layer: str | None = None) -> builtins.list[Rollout]:
        params: dict[str, str | int] = {"limit": 1000}
        if layer is not None:
            params["layer"] = check_name(layer, what="layer")
        found: builtins.list[Rollout] = []
        while True:
            page = _body(self._call("GET", "/v1/rollouts", idempotent=True, params=params))
            items, cursor = _page(page, "rollouts", "roll-outs")
            found += [_answer(Rollout.from_json, item, "rollout record") for item in items]
            if cursor is None:
                return found
            params["cursor"] = cursor

    def rollout(self, rollout_id: str) -> Rollout:
        response = self._call("GET", _rollout_path(rollout_id), idempotent=True)
        return _answer(Rollout.from_json, _body(response), "rollout record")

    def patching(self, layer: str) -> builtins.list[VersionAdoption]:
        check_name(layer, what="layer")
        data = _body(
            self._call("GET", "/v1/metrics/patching", idempotent=True, params={"layer": layer})
        )
        versions = data.get("versions") if isinstance(data, dict) else None
        if not isinstance(versions, list):
            raise RemoteError(
                "the platform answered with version adoption paved cannot use",
                hint="the platform may run another version of paved; tell the platform team",
            )
        return [_answer(VersionAdoption.from_json, item, "version adoption") for item in versions]

    # -- data resources (ResourceCatalog) ------------------------------------------------

    def request_resource(
        self,
        service: str,
        resource: DataResource,
        *,
        branch: str | None = None,
        dry_run: bool = False,
    ) -> int | None:
        check_name(service)  # it goes into the URL's path: never a '..' or a '?'
        answer = resource.to_answer()
        body: dict[str, Any] = {
            "kind": answer.pop("kind"),
            "name": answer.pop("name"),
            "options": answer,
        }
        if branch is not None:
            body["branch"] = branch
        params = {"dry_run": "true"} if dry_run else None
        try:
            response = self._call(
                "POST",
                f"/v1/services/{service}/resources",
                idempotent=dry_run,  # a second request would find the first one open
                json=body,
                params=params,
            )
        except ConflictError as exc:
            raise ConflictError(exc.message, hint="choose another name") from None
        made = _answer(ResourceRequest.from_json, _body(response), "resource request")
        if made.service != service or made.resource != resource or (made.id is None) != dry_run:
            raise RemoteError(
                f"the platform answered the request for {resource.kind} {resource.name} of "
                f"{service} with another request",
                hint="the platform may run another version of paved; tell the platform team",
            )
        return made.id

    def close_resource_request(
        self,
        service: str,
        request_id: int,
        state: Literal["committed", "failed"],
        commit: str | None = None,
        branch: str | None = None,
        detail: str = "",
    ) -> ResourceRequest:
        check_name(service)
        if isinstance(request_id, bool) or not isinstance(request_id, int) or request_id < 1:
            raise InputError(f"resource request id {request_id!r} is not a positive number")
        body = {"state": state, "commit": commit, "branch": branch, "detail": _one_line(detail)}
        try:
            response = self._call(
                "PATCH",
                f"/v1/services/{service}/resources/{request_id}",
                idempotent=False,  # a second close of one request is refused
                json=body,
            )
        except ConflictError as exc:
            raise ConflictError(exc.message, hint="a closed request stays as it is") from None
        closed = _answer(ResourceRequest.from_json, _body(response), "resource request")
        if closed.id != request_id or closed.service != service or closed.state != state:
            raise RemoteError(
                f"the platform answered the close of resource request {request_id} of "
                f"{service} with another request",
                hint="the platform may run another version of paved; tell the platform team",
            )
        return closed

    def resources(self, service: str) -> ServiceResources:
        check_name(service)
        params: dict[str, str | int] = {"limit": 1000}
        made: tuple[DataResource, ...] | None = None
        requests: builtins.list[ResourceRequest] = []
        while True:
            page = _body(
                self._call(
                    "GET", f"/v1/services/{service}/resources", idempotent=True, params=params
                )
            )
            items, cursor = _page(page, "requests", "resource requests")
            if made is None:
                made = _answer(_data_resources, page, "list of data resources")
            requests += [_answer(ResourceRequest.from_json, x, "resource request") for x in items]
            if cursor is None:
                return ServiceResources(service, made, tuple(requests))
            params["cursor"] = cursor

    # -- the platform as a product: incidents, gate reports, onboarding, metrics ----------

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
        """Open an incident of ``service`` in ``environment`` (``POST /v1/incidents``),
        optionally naming the deployment that caused it; with ``dry_run`` the platform
        checks it and stores nothing (the answer's id is ``None``)."""
        check_name(service)
        check_name(environment, what="environment")
        title = check_text(title, what="the incident's title", limit=_TITLE_LIMIT)
        if not title.strip():
            raise InputError("the incident's title is empty", hint="say what is wrong in a line")
        if severity not in SEVERITIES:
            raise InputError(f"severity {severity!r} is not one of {', '.join(SEVERITIES)}")
        if deployment_id is not None:
            _check_id(deployment_id, "deployment id")
        body = {
            "service": service,
            "environment": environment,
            "title": title,
            "severity": severity,
            "deployment_id": deployment_id,
        }
        response = self._call(
            "POST",
            "/v1/incidents",
            idempotent=dry_run,  # a second one would be a second incident
            json=body,
            params={"dry_run": "true"} if dry_run else None,
        )
        made = _answer(Incident.from_json, _body(response), "incident")
        if (
            made.service != service
            or made.environment != environment
            or ((made.id is None) != dry_run)
        ):
            raise RemoteError(
                f"the platform answered the incident of {service} in {environment} with "
                "another incident",
                hint="the platform may run another version of paved; tell the platform team",
            )
        return made

    def resolve_incident(self, incident_id: int, *, dry_run: bool = False) -> Incident:
        """Resolve incident ``incident_id`` on the platform's clock; one resolved already is a
        :class:`ConflictError`."""
        _check_id(incident_id, "incident id")
        try:
            response = self._call(
                "POST",
                f"/v1/incidents/{incident_id}/resolve",
                idempotent=dry_run,  # a second resolve is refused
                params={"dry_run": "true"} if dry_run else None,
            )
        except ConflictError as exc:
            raise ConflictError(exc.message, hint="a resolved incident stays as it is") from None
        made = _answer(Incident.from_json, _body(response), "incident")
        if made.id != incident_id or made.resolved_at is None:
            raise RemoteError(
                f"the platform answered the resolution of incident {incident_id} with another "
                "incident, or one still open",
                hint="the platform may run another version of paved; tell the platform team",
            )
        return made

    def incidents(
        self, *, service: str | None = None, team: str | None = None, open: bool | None = None
    ) -> builtins.list[Incident]:
        """Incidents, newest first: of one service or team, only open (``open=True``) or only
        resolved ones (``False``), or all."""
        params: dict[str, str | int] = {"limit": 1000}  # the most the platform gives at once
        if service is not None:
            params["service"] = check_name(service)
        if team is not None:
            params["team"] = check_name(team, what="team")
        if open is not None:
            params["open"] = "true" if open else "false"
        data = _body(self._call("GET", "/v1/incidents", idempotent=True, params=params))
        items = data.get("incidents") if isinstance(data, dict) else None
        if not isinstance(items, list):
            raise RemoteError(
                "the platform answered with a list of incidents paved cannot use",
                hint="the platform may run another version of paved; tell the platform team",
            )
        return [_answer(Incident.from_json, item, "incident") for item in items]

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
        """Report what the gate found at ``commit`` of ``service`` (``POST
        /v1/services/{name}/gate``): the ids of the rules that failed, sorted and each once.
        A report sent twice is the same latest report, so it is retried."""
        check_name(service)
        if commit is not None and _REVISION.fullmatch(commit) is None:
            raise InputError(f"commit '{escaped(commit[:70])}' is not a git commit id")
        rules = sorted(set(rule_ids))
        for rule in rules:
            if _RULE_ID.fullmatch(rule) is None:
                raise InputError(f"rule id '{escaped(rule[:70])}' is not a rule id")
        if len(rules) > _RULES_LIMIT:
            raise InputError(f"{len(rules)} failed rules are more than the {_RULES_LIMIT} sent")
        if isinstance(findings, bool) or not isinstance(findings, int) or findings < 0:
            raise InputError(f"findings {findings!r} is not a count")
        body = {"commit": commit, "passed": passed, "rule_ids": rules, "findings": findings}
        response = self._call(
            "POST",
            f"/v1/services/{service}/gate",
            idempotent=True,
            json=body,
            params={"dry_run": "true"} if dry_run else None,
        )
        made = _answer(GateReport.from_json, _body(response), "gate report")
        if made.service != service or made.passed != passed or (made.id is None) != dry_run:
            raise RemoteError(
                f"the platform answered the gate report of {service} with another report",
                hint="the platform may run another version of paved; tell the platform team",
            )
        return made

    def latest_gate_report(self, service: str) -> GateReport | None:
        """The latest gate report of ``service``, or ``None`` when it has none; an unknown
        service is an :class:`InputError`."""
        check_name(service)
        response = self._call(
            "GET", f"/v1/services/{service}/gate", idempotent=True, passthrough=frozenset({404})
        )
        if response.status_code == 404:
            try:
                code = response.json().get("error")
            except (ValueError, AttributeError):
                code = None
            if code == "no_gate_report":
                return None
            self._checked(response)
        return _answer(GateReport.from_json, _body(response), "gate report")

    def onboarding_event(
        self, step: OnboardingStep, status: OnboardingStatus, detail: str = ""
    ) -> OnboardingEvent:
        """Record that the token's user started, finished, failed or skipped a step of
        ``paved onboard`` (the platform's clock dates it). Sent once."""
        if step not in ONBOARDING_STEPS:
            raise InputError(
                f"onboarding step {step!r} is not one of {', '.join(ONBOARDING_STEPS)}"
            )
        if status not in ONBOARDING_STATUSES:
            raise InputError(
                f"onboarding status {status!r} is not one of {', '.join(ONBOARDING_STATUSES)}"
            )
        body = {"step": step, "status": status, "detail": _one_line(detail)}
        response = self._call("POST", "/v1/onboarding/events", idempotent=False, json=body)
        made = _answer(OnboardingEvent.from_json, _body(response), "onboarding event")
        if made.step != step or made.status != status:
            raise RemoteError(
                f"the platform answered the onboarding event {step} {status} with another event",
                hint="the platform may run another version of paved; tell the platform team",
            )
        return made

    def delivery_metrics(
        self,
        *,
        team: str | None = None,
        service: str | None = None,
        environment: str = "prod",
        days: int = 30,
    ) -> dict[str, Any]:
        """The delivery metrics of ``environment`` over the last ``days`` (1 to 366), in
        total, per service and per week (``GET /v1/metrics/delivery``; docs/metrics.md)."""
        params: dict[str, Any] = _filters(team=team, service=service, days=days)
        params["environment"] = check_name(environment, what="environment")
        params["limit"] = 1000
        first: dict[str, Any] | None = None
        services: builtins.list[Any] = []
        seen: set[str] = set()
        for _ in range(_MOST_METRIC_PAGES):  # the services a page at a time; the rest once
            page = _body(self._call("GET", "/v1/metrics/delivery", idempotent=True, params=params))
            rows = page.get("services") if isinstance(page, dict) else None
            if not isinstance(page, dict) or not isinstance(rows, builtins.list):
                return _answer(delivery_figures, page, "delivery metrics")  # says what is wrong
            first = first or page
            services += rows
            cursor = page.get("next_cursor")
            if not cursor:
                data = {**first, "services": services}
                return _answer(delivery_figures, data, "delivery metrics")
            if not isinstance(cursor, str) or cursor in seen:
                break
            seen.add(cursor)
            params["cursor"] = cursor
        raise RemoteError(
            f"the platform {self.location} answered delivery metrics whose pages do not end "
            f"(a cursor repeated, or more than {_MOST_METRIC_PAGES} pages)",
            hint="the platform may run another version of paved; tell the platform team",
        )

    def onboarding_metrics(self, *, team: str | None = None, days: int = 365) -> dict[str, Any]:
        """Onboarding time per monthly cohort and team, and per step of ``paved onboard``,
        over the last ``days`` (``GET /v1/metrics/onboarding``; never a row per person)."""
        params = _filters(team=team, days=days)
        data = _body(self._call("GET", "/v1/metrics/onboarding", idempotent=True, params=params))
        return _answer(onboarding_figures, data, "onboarding metrics")

    def adoption_metrics(self, *, layer: str = "road", days: int = 30) -> dict[str, Any]:
        """How ``layer``'s versions, the gate and deployments spread over the services and
        teams (``GET /v1/metrics/adoption``)."""
        params = _filters(days=days)
        params["layer"] = check_name(layer, what="layer")
        data = _body(self._call("GET", "/v1/metrics/adoption", idempotent=True, params=params))
        return _answer(adoption_figures, data, "adoption metrics")


#: The longest incident title the platform takes.
_TITLE_LIMIT = 200
#: The most failed rule ids one gate report carries.
_RULES_LIMIT = 500
_RULE_ID = re.compile(RULE_ID_PATTERN)
#: A git commit id, abbreviated or whole.
_REVISION = re.compile(r"[0-9a-f]{7,64}")
#: The longest window of the metrics, in days.
_DAYS_LIMIT = 366


def _check_id(value: Any, what: str) -> int:
    # It goes into the URL's path or the body: a positive whole number only.
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise InputError(f"{what} {value!r} is not a positive number")
    return value


def _filters(*, days: int, team: str | None = None, service: str | None = None) -> dict[str, Any]:
    """The query of a metrics read, each part checked as the platform checks it."""
    if isinstance(days, bool) or not isinstance(days, int) or not 1 <= days <= _DAYS_LIMIT:
        raise InputError(f"--days {days!r} is not from 1 to {_DAYS_LIMIT}")
    params: dict[str, Any] = {"days": days}
    if team is not None:
        params["team"] = check_name(team, what="team")
    if service is not None:
        params["service"] = check_name(service)
    return params


def _data_resources(data: Mapping[str, Any]) -> tuple[DataResource, ...]:
    """The ``data_resources`` of the platform's answer, by the road's rules (each name once)."""
    made = data.get("data_resources")
    if not isinstance(made, list):
        raise ValueError("data_resources is not a list")
    return CatalogEntry.from_answers({"data_resources": made}).data_resources
