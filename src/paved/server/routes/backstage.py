"""``/v1/backstage/catalog.yaml``: the organisation as Backstage catalog entities.

One YAML stream: a ``Group`` per team the platform knows (and per owner a service names,
should the database hold one that is not), then a ``Component`` per registered service. The
shape is documented in docs/backstage.md and kept stable: a Backstage instance reads it as a
``url`` location. Every name and value comes from the database and is treated as input: an
entity whose name Backstage would refuse is left out, and the stream is written by
``yaml.safe_dump_all``, never by templates.
"""

from __future__ import annotations

import re
import secrets
from typing import Annotated, Any

import yaml
from fastapi import APIRouter, Depends, Request, Response

from paved.repository_url import source_location
from paved.server import _schemas as s
from paved.server._auth import authenticate, bearer
from paved.server._errors import ApiError
from paved.server._state import StoreDep, clock_of, config_of, store_of

__all__ = ["ENTITY_NAME", "catalog_entities", "router"]

router = APIRouter(tags=["backstage"])

API_VERSION = "backstage.io/v1alpha1"
#: Backstage's rule for an entity's ``metadata.name`` (1 to 63 characters).
ENTITY_NAME = re.compile(r"^(?=.{1,63}$)([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$")
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


def _component(service: s.ServiceOut) -> dict[str, Any]:
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
    return {
        "apiVersion": API_VERSION,
        "kind": "Component",
        "metadata": metadata,
        "spec": {
            "type": "service",
            "lifecycle": "deprecated" if service.archived_at is not None else "production",
            "owner": f"group:default/{service.owner}",
        },
    }


def catalog_entities(teams: list[s.TeamOut], services: list[s.ServiceOut]) -> list[dict[str, Any]]:
    """The Backstage entities of ``teams`` and ``services``: Groups by name, then
    Components by name; none whose name (or owner's name) Backstage would refuse."""
    known = {team.name: team for team in teams}
    groups = _unique(
        sorted(name for name in {*known, *(x.owner for x in services)} if ENTITY_NAME.match(name))
    )
    named = {service.name: service for service in sorted(services, key=lambda x: x.name)}
    components = [
        _component(named[name])
        for name in _unique(list(named))
        if ENTITY_NAME.match(name) and ENTITY_NAME.match(named[name].owner)
    ]
    return [*(_group(name, known.get(name)) for name in groups), *components]


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
            "description": "A YAML stream of Backstage entities (Group, then Component)",
            "content": {"application/yaml": {"schema": {"type": "string"}}},
        }
    },
)
def backstage_catalog(
    reader: Annotated[None, Depends(backstage_reader)], store: StoreDep
) -> YamlResponse:
    """The organisation as Backstage entities, one YAML document each: a ``Group`` per team
    and a ``Component`` per registered service (archived ones ``deprecated``). Readable with
    any platform token, or with the Backstage reader token the server was started with."""
    teams, services = store.organisation()
    entities = catalog_entities(teams, services)
    text = yaml.safe_dump_all(entities, sort_keys=False, allow_unicode=False)
    return YamlResponse(text)
