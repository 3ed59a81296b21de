"""Registering a service's ``catalog-info.yaml`` in an organisation's Backstage catalog.

Backstage's catalog REST API (``<backstage.url>/api/catalog``) takes a ``url`` location: the
address of the file in the repository, which Backstage reads itself. A plain registration
answers 201 even when the file cannot be read or is refused, and nothing ever appears, so
:meth:`Backstage.register` always asks for a dry run first; a second registration of the
same target is a 409, which is the registration already being there.

The token (``backstage.token``) is sent as ``Authorization: Bearer`` and never shown: no
message here names it.
"""

from __future__ import annotations

import ipaddress
import json
import re
from typing import Any
from urllib.parse import quote, urlsplit

from paved.errors import AuthError, ConflictError, InputError, RemoteError
from paved.models import CatalogEntry
from paved.repository_url import backstage_problem as repository_problem
from paved.repository_url import shown_url

__all__ = [
    "Backstage",
    "catalog_file_url",
    "cleartext_problem",
    "repository_problem",
    "shown_url",
    "url_problem",
]

#: Seconds for one request: a dry run reads the file from the repository host.
TIMEOUT = 30.0
_SCHEMES = ("http://", "https://")
_CONTROL = re.compile(r"[\x00-\x20\x7f]")


def url_problem(url: str) -> str | None:
    """Say what is wrong with ``backstage.url``, or ``None`` when it is usable."""
    if not url.startswith(_SCHEMES):
        return "is not an http:// or https:// URL"
    if _CONTROL.search(url):
        return "holds a space or a control character"
    parts = urlsplit(url)
    if not parts.hostname:
        return "names no host"
    if parts.username or parts.password:
        return "holds a user or password (give the token as backstage.token instead)"
    if parts.query or parts.fragment:
        return "holds a query or fragment"
    return None


def cleartext_problem(url: str) -> str | None:
    """Why a token must not be sent to ``url``: an ``http://`` URL of another machine (the
    token would cross the network in the clear); ``None`` for https or a loopback host."""
    parts = urlsplit(url)
    if parts.scheme.lower() != "http":
        return None
    host = (parts.hostname or "").lower()
    if host == "localhost" or host.endswith(".localhost"):
        return None
    try:
        if ipaddress.ip_address(host).is_loopback:
            return None
    except ValueError:
        pass
    return "is an http:// URL of another machine: the token would be sent in the clear"


def catalog_file_url(repository: str, *, api: str = "", branch: str = "main") -> str | None:
    """The address of ``catalog-info.yaml`` on ``branch`` of ``repository``, as Backstage
    reads it; ``None`` when :func:`paved.repository_url.backstage_problem` finds one (a folder
    on this machine, ssh, a URL with credentials, query, fragment or dot segments).

    GitHub's form (``…/blob/BRANCH/catalog-info.yaml``) for github.com or ``githost.api =
    github``; GitLab's (``…/-/blob/BRANCH/catalog-info.yaml``) for every other host.
    """
    if repository_problem(repository) is not None:
        return None
    base = repository.removesuffix("/").removesuffix(".git")
    host = (urlsplit(base).hostname or "").lower()
    github = api == "github" or (api != "gitlab" and host in {"github.com", "www.github.com"})
    middle = "blob" if github else "-/blob"
    return f"{base}/{middle}/{quote(branch)}/catalog-info.yaml"


class Backstage:
    """A Backstage catalog at ``url`` (the backend's base URL, without ``/api/catalog``)."""

    def __init__(
        self, url: str, token: str = "", *, githost_api: str = "", transport: Any = None
    ) -> None:
        self.url = url.rstrip("/")
        if token and (problem := cleartext_problem(self.url)) is not None:
            raise InputError(
                f"Backstage {shown_url(self.url)} {problem}",
                hint="use the https:// URL of the Backstage backend",
            )
        self._token = token
        self._githost_api = githost_api
        self._transport = transport

    def file_url(self, repository: str) -> str | None:
        """Where Backstage reads the catalog-info.yaml of the repository paved pushes to at
        ``repository`` (see :func:`catalog_file_url`), or ``None`` when it cannot read it.

        The repository's https browse URL (:func:`paved.repository_url.browse_url`: git's
        ``user@host:path`` and ``ssh://`` forms written as https, credentials dropped) when
        it has one; else the remote itself when Backstage can read it as it is (an
        ``http://`` repository host, as on loopback in the tests).
        """
        from paved.repository_url import browse_url

        for candidate in (browse_url(repository), repository):
            if candidate and (url := catalog_file_url(candidate, api=self._githost_api)):
                return url
        return None

    def __repr__(self) -> str:  # never the token
        return f"Backstage({self.url!r})"

    # -- the calls -------------------------------------------------------------------

    def _call(self, method: str, path: str, body: dict[str, Any] | None = None) -> tuple[int, Any]:
        import httpx

        headers = {"accept": "application/json"}
        if self._token:
            headers["authorization"] = f"Bearer {self._token}"
        try:
            with httpx.Client(transport=self._transport, timeout=TIMEOUT) as client:
                response = client.request(
                    method, f"{self.url}/api/catalog{path}", json=body, headers=headers
                )
        except httpx.HTTPError as exc:
            raise RemoteError(
                f"Backstage {self.url} cannot be reached ({type(exc).__name__})",
                hint="check backstage.url, or try again when Backstage is back",
            ) from exc
        try:
            data = response.json() if response.content else None
        except (json.JSONDecodeError, UnicodeDecodeError):
            data = None
        if response.status_code in (401, 403):
            raise AuthError(
                f"Backstage {self.url} refused paved's credentials (HTTP {response.status_code})",
                hint="set backstage.token (or PAVED_BACKSTAGE_TOKEN) to a token Backstage "
                "accepts (backend.auth.externalAccess)",
            )
        if response.status_code >= 500:
            raise RemoteError(
                f"Backstage {self.url} failed (HTTP {response.status_code}: {_message(data)})"
            )
        return response.status_code, data

    def entity_location(
        self, name: str, kind: str = "component", namespace: str = "default"
    ) -> str | None:
        """Where the entity ``kind:namespace/name`` was registered from (``url:…``), ``None``
        when there is no such entity, ``""`` when it names no location."""
        ref = f"{kind}:{namespace}/{name}"
        path = "/".join(quote(part, safe="") for part in (kind.lower(), namespace, name))
        status, data = self._call("GET", f"/entities/by-name/{path}")
        if status == 404:
            return None
        if status != 200 or not isinstance(data, dict):
            raise RemoteError(f"Backstage {self.url} answered HTTP {status} for {_shown(ref)}")
        annotations = (data.get("metadata") or {}).get("annotations") or {}
        where = (
            annotations.get("backstage.io/managed-by-location", "")
            if isinstance(annotations, dict)
            else ""
        )
        return where if isinstance(where, str) else ""

    def check_free(self, name: str, target: str, entry: CatalogEntry) -> None:
        """Raise :class:`ConflictError` when another location than ``target`` already provides
        an entity the catalog-info.yaml of service ``name`` with the catalog ``entry`` holds
        (:meth:`CatalogEntry.entity_refs`: the Component, its API, its Resources): Backstage
        would keep that one and only log a warning."""
        self._check_entities(list(entry.entity_refs(name)), target)

    def _check_entities(self, refs: list[tuple[str, str, str]], target: str) -> None:
        for kind, namespace, name in refs:
            where = self.entity_location(name, kind, namespace)
            if where is not None and where != f"url:{target}":
                kind = kind.lower()
                article = "an" if kind[:1] in "aeiou" else "a"
                ref = name if namespace == "default" else f"{namespace}/{name}"
                raise ConflictError(
                    f"Backstage {self.url} already has {article} {_shown(kind)} '{_shown(ref)}' "
                    f"from {_shown(where) or 'another location'}, not from {target}",
                    hint="choose another service name, or remove that location from Backstage",
                )

    def check_location(self, target: str) -> bool:
        """Dry-run the registration of ``target`` (a ``catalog-info.yaml`` URL) and check every
        entity it answers with against other locations; write nothing. True when
        :meth:`add_location` would add it, False when it is registered already."""
        status, data = self._call("POST", "/locations?dryRun=true", _location(target))
        if status == 409:
            return False
        if status not in (200, 201):
            raise InputError(
                f"Backstage {self.url} refused {target}: {_message(data) or f'HTTP {status}'}",
                hint="fix catalog-info.yaml (paved services validate), push, and run the "
                "command again",
            )
        self._check_entities(_entity_refs(data), target)
        return True

    def add_location(self, target: str) -> bool:
        """Register ``target`` as a ``url`` location, without a dry run (call
        :meth:`check_location` first). True when registered now, False when it already was."""
        status, data = self._call("POST", "/locations", _location(target))
        if status == 409:
            return False
        if status != 201:
            raise RemoteError(
                f"Backstage {self.url} did not register {target} (HTTP {status}: {_message(data)})"
            )
        return True

    def register(self, target: str) -> bool:
        """Register ``target`` (a ``catalog-info.yaml`` URL) as a ``url`` location: a dry run,
        then the registration. True when registered now, False when it already was."""
        return self.check_location(target) and self.add_location(target)


def _location(target: str) -> dict[str, str]:
    return {"type": "url", "target": target}


def _entity_refs(data: Any) -> list[tuple[str, str, str]]:
    """``(kind, namespace, name)`` of each entity a location dry run answered with."""
    entities = data.get("entities") if isinstance(data, dict) else None
    refs: list[tuple[str, str, str]] = []
    for entity in entities if isinstance(entities, list) else []:
        if not isinstance(entity, dict):
            continue
        kind = entity.get("kind")
        metadata = entity.get("metadata")
        if not isinstance(kind, str) or not isinstance(metadata, dict):
            continue
        name, namespace = metadata.get("name"), metadata.get("namespace") or "default"
        if isinstance(name, str) and name and isinstance(namespace, str) and kind:
            refs.append((kind, namespace, name))
    return refs


def _shown(text: str) -> str:
    return text.encode("unicode_escape").decode("ascii")[:300]


def _message(data: Any) -> str:
    """The message of a Backstage error body, escaped and cut to one line."""
    if isinstance(data, dict) and isinstance(data.get("error"), dict):
        error = data["error"]
        return _shown(f"{error.get('name', 'Error')}: {error.get('message', '')}")
    return ""
