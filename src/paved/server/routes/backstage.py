"""``/v1/backstage/catalog.yaml``: the organisation as Backstage catalog entities.

One YAML stream: a ``Group`` per team the platform knows (and per owner a service names,
should the database hold one that is not), then a ``Component`` per registered service, then
an ``API`` per service with an API document in a repository Backstage can read, then a
``Resource`` per resource a service declares and per data resource ``paved add`` made (its
catalog entry, as its road answers: ``SERVICE-NAME``, after the others, in the order added). The
shape is documented in docs/backstage.md and kept stable: a Backstage instance reads it as a
``url`` location. Every name and value comes from the database and is treated as input: an
entity whose name Backstage would refuse is left out, and the stream is written by
``yaml.safe_dump_all``, never by templates.
"""

from __future__ import annotations

import re
import secrets
from typing import Annotated, Any
from urllib.parse import quote, urlsplit

import yaml
from fastapi import APIRouter, Depends, Request, Response

from paved.models import RESOURCE_KINDS
from paved.repository_url import source_location
from paved.server import _schemas as s
from paved.server._auth import authenticate, bearer
from paved.server._errors import ApiError
from paved.server._state import StoreDep, clock_of, config_of, store_of

__all__ = ["ENTITY_NAME", "catalog_entities", "router"]

router = APIRouter(tags=["backstage"])

API_VERSION = "backstage.io/v1alpha1"
#: Backstage's rule for an entity's ``metadata.name`` (1 to 63 characters; ``\Z``, not ``$``,
#: which also matches before a final newline).
ENTITY_NAME = re.compile(r"^(?=.{1,63}\Z)([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]\Z")
#: The layer whose version the Components carry as annotations.
ROAD = "road"


class YamlResponse(Response):
    media_type = "application/yaml"


def backstage_reader(request: Request) -> None:
    """A platform token, or the Backstage reader token the server was started with (in the
    ``Authorization`` header: a token in the URL is refused for every route)."""
    token = bearer(request.headers.get("authorization", ""))
    if token is not None:
        configured = config_of(request).backstage_token
        if configured and secrets.compare_digest(token.encode(), configured.encode()):
            return
        if authenticate(store_of(request), token, clock_of(request)()) is not None:
            return
    raise ApiError(401, "unauthenticated", "a valid bearer token is required")


def _source_location(repository: str) -> str | None:
    """``url:REPO/`` for a repository URL Backstage can read, else ``None`` (the rule is
    :func:`paved.repository_url.source_location`'s)."""
    return source_location(repository)


def _group(name: str, team: s.TeamOut | None) -> dict[str, Any]:
    metadata: dict[str, Any] = {"name": name}
    if team is not None and team.display_name:
        metadata["title"] = team.display_name
    if team is not None and team.description:
        metadata["description"] = team.description
    return {
        "apiVersion": API_VERSION,
        "kind": "Group",
        "metadata": metadata,
        "spec": {"type": "team", "children": []},
    }


def _document_url(repository: str, path: str) -> str | None:
    """The address of ``path`` on ``main`` of ``repository`` as Backstage reads it (the form of
    :func:`paved.backstage.catalog_file_url`: GitHub's ``…/blob/main/PATH`` for github.com,
    GitLab's ``…/-/blob/main/PATH`` for every other host), or ``None`` when Backstage cannot
    read the repository."""
    location = _source_location(repository)
    if location is None:
        return None
    base = location.removeprefix("url:").removesuffix("/")
    host = (urlsplit(base).hostname or "").lower()
    middle = "blob" if host in {"github.com", "www.github.com"} else "-/blob"
    return f"{base}/{middle}/main/{quote(path)}"


def _api_url(service: s.ServiceOut) -> str | None:
    """Where Backstage reads the service's API document, or ``None``: no API entity."""
    if not service.catalog.api_definition:
        return None
    return _document_url(service.repository, service.catalog.api_definition)


def _lifecycle(service: s.ServiceOut) -> str:
    return "deprecated" if service.archived_at is not None else service.catalog.lifecycle


def _owned_spec(service: s.ServiceOut, **fields: Any) -> dict[str, Any]:
    spec = {**fields, "owner": f"group:default/{service.owner}"}
    if service.catalog.system:
        spec["system"] = service.catalog.system
    return spec


def _component(service: s.ServiceOut, apis: list[str], resources: list[str]) -> dict[str, Any]:
    annotations: dict[str, str] = {}
    location = _source_location(service.repository)
    if location is not None:
        annotations["backstage.io/source-location"] = location
    for layer in service.layers:
        if layer.layer == ROAD:
            annotations["paved.dev/road-template"] = layer.scaffold
            annotations["paved.dev/road-template-version"] = layer.version
    metadata: dict[str, Any] = {"name": service.name}
    if service.description:
        metadata["description"] = service.description
    if annotations:
        metadata["annotations"] = annotations
    spec = _owned_spec(service, type="service", lifecycle=_lifecycle(service))
    if apis:
        spec["providesApis"] = apis
    if resources:
        spec["dependsOn"] = [f"resource:{name}" for name in resources]
    return {"apiVersion": API_VERSION, "kind": "Component", "metadata": metadata, "spec": spec}


def _api(service: s.ServiceOut, name: str, url: str) -> dict[str, Any]:
    definition = service.catalog.api_definition
    return {
        "apiVersion": API_VERSION,
        "kind": "API",
        "metadata": {
            "name": name,
            "description": f"The HTTP API of {service.name} (its OpenAPI document, {definition}).",
        },
        "spec": _owned_spec(
            service, type="openapi", lifecycle=_lifecycle(service), definition={"$text": url}
        ),
    }


def _resource(service: s.ServiceOut, choice: str) -> dict[str, Any]:
    """The Resource entity of one of the road's ``resources`` choices, or of a data resource
    (``data:NAME``: what ``paved add`` made), as the road's catalog-info.yaml writes it."""
    if choice.startswith(_DATA):
        made = service.catalog.entry().data_resource(choice.removeprefix(_DATA))
        assert made is not None  # catalog_entities named it from the same entry
        name = made.entity_name(service.name)
        description = made.description(service.name)
        kind_type = made.type
    else:
        kind = RESOURCE_KINDS[choice]
        name = kind.name(service.name)
        description = kind.description.format(service=service.name)
        kind_type = kind.type
    return {
        "apiVersion": API_VERSION,
        "kind": "Resource",
        "metadata": {"name": name, "description": description},
        "spec": _owned_spec(service, type=kind_type),
    }


#: How :func:`catalog_entities` tells a data resource from a ``resources`` choice.
_DATA = "data:"


def catalog_entities(teams: list[s.TeamOut], services: list[s.ServiceOut]) -> list[dict[str, Any]]:
    """The Backstage entities of ``teams`` and ``services``: Groups by name, then
    Components by name, then their APIs and Resources; none whose name (or owner's name)
    Backstage would refuse, nor one whose name equals an earlier one's but for case (an API
    or Resource left out is left out of its Component's relations too)."""
    known = {team.name: team for team in teams}
    groups = _unique(
        sorted(name for name in {*known, *(x.owner for x in services)} if ENTITY_NAME.match(name))
    )
    named = {service.name: service for service in sorted(services, key=lambda x: x.name)}
    kept = [
        named[name]
        for name in _unique(list(named))
        if ENTITY_NAME.match(name) and ENTITY_NAME.match(named[name].owner)
    ]
    wanted_apis: list[tuple[str, s.ServiceOut, str]] = []
    wanted_resources: list[tuple[str, s.ServiceOut, str]] = []
    for service in kept:
        if (url := _api_url(service)) is not None:
            wanted_apis.append((f"{service.name}-api", service, url))
        wanted_resources.extend(
            (RESOURCE_KINDS[x].name(service.name), service, x) for x in service.catalog.resources
        )
        wanted_resources.extend(
            (f"{service.name}-{x.name}", service, f"{_DATA}{x.name}")
            for x in service.catalog.data_resources
        )
    apis = _named(wanted_apis)
    resources = _named(wanted_resources)
    components = [
        _component(
            service,
            [name for name, (owner, _) in apis.items() if owner is service],
            [name for name, (owner, _) in resources.items() if owner is service],
        )
        for service in kept
    ]
    return [
        *(_group(name, known.get(name)) for name in groups),
        *components,
        *(_api(owner, name, url) for name, (owner, url) in apis.items()),
        *(_resource(owner, choice) for name, (owner, choice) in resources.items()),
    ]


def _named(
    wanted: list[tuple[str, s.ServiceOut, str]],
) -> dict[str, tuple[s.ServiceOut, str]]:
    """The entities of one kind Backstage takes, by name, in order: names it refuses and
    names equal but for case to an earlier one are left out."""
    by_name = {name: (service, value) for name, service, value in wanted}
    names = [name for name, _, _ in wanted if ENTITY_NAME.match(name)]
    return {name: by_name[name] for name in _unique(names)}


def _unique(names: list[str]) -> list[str]:
    """``names`` without any that Backstage would take for an earlier one: it compares names
    regardless of case, and would keep one of two at random."""
    seen: set[str] = set()
    kept = []
    for name in names:
        if name.casefold() not in seen:
            seen.add(name.casefold())
            kept.append(name)
    return kept


@router.get(
    "/v1/backstage/catalog.yaml",
    response_class=Response,
    responses={
        200: {
            "description": (
                "A YAML stream of Backstage entities (Group, Component, API, then Resource)"
            ),
            "content": {"application/yaml": {"schema": {"type": "string"}}},
        }
    },
)
def backstage_catalog(
    reader: Annotated[None, Depends(backstage_reader)], store: StoreDep
) -> YamlResponse:
    """The organisation as Backstage entities, one YAML document each: a ``Group`` per team,
    a ``Component`` per registered service (its catalog entry's lifecycle, archived ones
    ``deprecated``), an ``API`` per service whose API document Backstage can read from its
    repository, and a ``Resource`` per resource a service declares or ``paved add`` made
    (the Component ``dependsOn`` each). Readable with any
    platform token, or with the Backstage reader token the server was started with."""
    teams, services = store.organisation()
    entities = catalog_entities(teams, services)
    text = yaml.safe_dump_all(entities, sort_keys=False, allow_unicode=False)
    return YamlResponse(text)
