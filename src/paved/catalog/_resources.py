"""A service's data resources and the journal of the requests for them, as plain data.

The platform keeps both (``/v1/services/{name}/resources``); what it answers is input, read
here by the same rules as the command line: :meth:`ResourceRequest.from_json` raises a
:class:`ValueError` that says what is wrong.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from collections.abc import Mapping
from typing import Any, Literal, get_args

from paved.models import DataResource
from paved.names import name_problem
from paved.text import escaped, text_problem

__all__ = [
    "RESOURCE_REQUEST_STATES",
    "ResourceRequest",
    "ResourceRequestState",
    "ServiceResources",
]

#: A request is open (``started``, ``requested``) until it is closed ``committed`` or ``failed``.
ResourceRequestState = Literal["started", "requested", "committed", "failed"]
RESOURCE_REQUEST_STATES: tuple[str, ...] = get_args(ResourceRequestState)
_COMMIT = re.compile(r"^[0-9a-f]{7,64}\Z")
_BRANCH = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._/+-]{0,199}\Z")


def _text(data: Mapping[str, Any], key: str, limit: int) -> str:
    value = data.get(key)
    if not isinstance(value, str):
        raise ValueError(f"{key} is not text")
    if len(value) > limit:
        raise ValueError(f"{key} is longer than {limit} characters ({len(value)})")
    if (problem := text_problem(value)) is not None:
        raise ValueError(f"{key} '{escaped(value)}' {problem}")
    return value


def _optional(data: Mapping[str, Any], key: str, rule: re.Pattern[str]) -> str | None:
    value = data.get(key)
    if value is None:
        return None
    if not isinstance(value, str) or not rule.match(value):
        shown = escaped(value) if isinstance(value, str) else type(value).__name__
        raise ValueError(f"{key} '{shown}' is not a {key.replace('_', ' ')} paved takes")
    return value


def _stamp(data: Mapping[str, Any], key: str) -> dt.datetime:
    value = data.get(key)
    if not isinstance(value, str):
        raise ValueError(f"{key} is not a time")
    try:
        stamp = dt.datetime.fromisoformat(value)
    except ValueError:
        raise ValueError(f"{key} '{escaped(value)}' is not a time") from None
    if stamp.tzinfo is None:
        raise ValueError(f"{key} '{escaped(value)}' has no time zone")
    return stamp


@dataclasses.dataclass(frozen=True)
class ResourceRequest:
    """One request for a data resource of a service, as the platform keeps it."""

    #: ``None`` for a dry run (nothing was stored).
    id: int | None
    service: str
    resource: DataResource
    state: ResourceRequestState
    branch: str | None
    commit: str | None
    #: The user of the token that asked.
    requested_by: str
    created_at: dt.datetime
    updated_at: dt.datetime
    detail: str = ""

    @property
    def open(self) -> bool:
        return self.state in ("started", "requested")

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> ResourceRequest:
        """The request in ``data`` (the platform's ``ResourceRequestOut``); a
        :class:`ValueError` says what is wrong."""
        request_id = data.get("id")
        if request_id is not None and (
            not isinstance(request_id, int) or isinstance(request_id, bool) or request_id < 1
        ):
            raise ValueError("id is not a positive whole number")
        service = data.get("service")
        if not isinstance(service, str) or name_problem(service) is not None:
            raise ValueError("service is not a service name")
        options = data.get("options")
        if not isinstance(options, Mapping) or {"kind", "name"} & set(options):
            raise ValueError("options is not an object of a resource's options")
        resource = DataResource.from_answer(
            {**options, "kind": data.get("kind"), "name": data.get("name")}
        )
        state = data.get("state")
        if state not in RESOURCE_REQUEST_STATES:
            raise ValueError(f"state must be one of {', '.join(RESOURCE_REQUEST_STATES)}")
        return cls(
            id=request_id,
            service=service,
            resource=resource,
            state=state,
            branch=_optional(data, "branch", _BRANCH),
            commit=_optional(data, "commit", _COMMIT),
            requested_by=_text(data, "requested_by", 200),
            created_at=_stamp(data, "created_at"),
            updated_at=_stamp(data, "updated_at"),
            detail=_text(data, "detail", 500),
        )

    def to_json(self) -> dict[str, Any]:
        answer = self.resource.to_answer()
        return {
            "id": self.id,
            "service": self.service,
            "kind": answer.pop("kind"),
            "name": answer.pop("name"),
            "options": answer,
            "state": self.state,
            "branch": self.branch,
            "commit": self.commit,
            "requested_by": self.requested_by,
            "created_at": self.created_at.isoformat(),
            "updated_at": self.updated_at.isoformat(),
            "detail": self.detail,
        }


@dataclasses.dataclass(frozen=True)
class ServiceResources:
    """A service's data resources (its catalog entry, in the order added) and the requests
    for them, newest first."""

    service: str
    data_resources: tuple[DataResource, ...]
    requests: tuple[ResourceRequest, ...]
