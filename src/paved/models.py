"""The platform's nouns, as plain data shared by the CLI, the catalog and the server."""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from collections.abc import Mapping
from typing import Any, Literal, get_args

from paved.names import name_problem

__all__ = [
    "CHANGE_START_MAX_AGE",
    "DATA_RESOURCE_OPTIONS",
    "DATA_RESOURCE_TYPES",
    "LIFECYCLES",
    "RESERVED_RESOURCE_NAMES",
    "RESOURCE_KINDS",
    "RESOURCE_NAME_MAX",
    "ROLLOUT_ID_SCHEMA_PATTERN",
    "ROLLOUT_STATUSES",
    "Caller",
    "CatalogEntry",
    "DataResource",
    "Deployment",
    "LayerRef",
    "Outcome",
    "ResourceKind",
    "Rollout",
    "RolloutMode",
    "RolloutService",
    "RolloutStatus",
    "Service",
    "VersionAdoption",
    "catalog_entry_problem",
    "data_resource_problem",
    "resource_name_problem",
    "rollout_id_problem",
    "statement_id",
]


#: How long before the deployed commit (its time) its change may have begun: the platform
#: refuses an older ``change_started_at`` and ``paved deploy`` clamps to the commit's time
#: minus this (a commit dated 1970 would otherwise give a lead time of decades).
CHANGE_START_MAX_AGE = dt.timedelta(days=90)


@dataclasses.dataclass(frozen=True)
class LayerRef:
    """Which scaffold, at which version, made one layer of a service."""

    layer: str
    scaffold: str
    version: str

    def to_json(self) -> dict[str, str]:
        return dataclasses.asdict(self)


# -- the service's catalog entry (the road layer's catalog answers) -----------------------

#: The road's ``lifecycle`` choices (``scaffolds/paved-road/copier.yml``).
LIFECYCLES = ("experimental", "production", "deprecated")
#: The road's rule for ``system``: empty, or an entity name Backstage takes (``\Z``, not
#: ``$``, which also matches before a final newline).
_SYSTEM = re.compile(r"^(?=.{1,63}\Z)([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]\Z")
#: The road's rule for ``api_definition``: a relative path of plain segments, ending .json,
#: .yaml or .yml (at most 200 characters).
_API_DEFINITION = re.compile(
    r"^(?![.][.]?(/|\Z))[-A-Za-z0-9_.]+(/(?![.][.]?(/|\Z))[-A-Za-z0-9_.]+)*[.](json|yaml|yml)\Z"
)


@dataclasses.dataclass(frozen=True)
class ResourceKind:
    """What one of the road's ``resources`` choices is in the catalog: a Resource entity
    named ``SERVICE-SUFFIX`` of Backstage ``spec.type`` ``type``."""

    suffix: str
    type: str
    #: The entity's description, ``{service}`` standing for the service's name.
    description: str

    def name(self, service: str) -> str:
        return f"{service}-{self.suffix}"


#: The road's ``resources`` choices, in the road's order, as the road's catalog-info.yaml
#: renders them (a test renders every one and compares).
RESOURCE_KINDS: Mapping[str, ResourceKind] = {
    "s3-read": ResourceKind("s3", "s3-bucket", "The S3 bucket {service} reads."),
    "sqs-send": ResourceKind("sqs", "sqs-queue", "The SQS queue {service} sends to."),
    "dynamodb-rw": ResourceKind(
        "dynamodb", "dynamodb-table", "The DynamoDB table {service} reads and writes."
    ),
    "secret-read": ResourceKind("secret", "secretsmanager-secret", "The secret {service} reads."),
}


# -- data resources (``paved add``: the road's ``data_resources`` answer) -----------------

#: Each kind ``paved add`` makes, with its options and their choices (the first is the
#: default), as the road's ``data_resources`` question takes them.
DATA_RESOURCE_OPTIONS: Mapping[str, Mapping[str, tuple[Any, ...]]] = {
    "database": {"engine": ("postgres", "mysql"), "size": ("small", "medium", "large")},
    "bucket": {},
    "queue": {"dead_letter": (True, False)},
}
#: The Backstage ``spec.type`` of each kind's Resource entity.
DATA_RESOURCE_TYPES: Mapping[str, str] = {
    "database": "database",
    "bucket": "s3-bucket",
    "queue": "sqs-queue",
}
#: Names a data resource cannot take: the road's other entities end in them
#: (``SERVICE-api``, ``SERVICE-s3``, ...).
RESERVED_RESOURCE_NAMES = frozenset({"api", *(kind.suffix for kind in RESOURCE_KINDS.values())})
RESOURCE_NAME_MAX = 20
#: MySQL's limit on a user name: the database user is the service's name, ``-`` as ``_``.
_MYSQL_USER_MAX = 32
#: What each identifier made from a resource's name may be at most, in characters, and how it
#: is made (``{s}`` the service, ``{e}`` an environment, ``{n}`` the name, ``{a}`` the account).
_IDENTIFIERS: Mapping[str, tuple[tuple[str, str, int], ...]] = {
    "database": (("RDS instance", "{s}-{e}-{n}", 63), ("catalog entity", "{s}-{n}", 63)),
    "bucket": (("S3 bucket", "{s}-{e}-{n}-{a}", 63), ("catalog entity", "{s}-{n}", 63)),
    "queue": (("SQS dead-letter queue", "{s}-{e}-{n}-dlq", 80), ("catalog entity", "{s}-{n}", 63)),
}


def resource_name_problem(name: Any) -> str | None:
    """What is wrong with ``name`` as a data resource's name, or ``None``: the service-name
    rule, at most 20 characters, and not a name the road's other entities take."""
    if not isinstance(name, str):
        return "is not text"
    problem = name_problem(name)
    if problem is None and len(name) > RESOURCE_NAME_MAX:
        problem = f"is longer than {RESOURCE_NAME_MAX} characters ({len(name)})"
    if problem is None and name.endswith("-dlq"):
        problem = "must not end with -dlq (a queue's dead-letter queue is named so)"
    if problem is None and name in RESERVED_RESOURCE_NAMES:
        problem = (
            f"is taken by the road's own entities ({', '.join(sorted(RESERVED_RESOURCE_NAMES))})"
        )
    return problem


@dataclasses.dataclass(frozen=True)
class DataResource:
    """One resource ``paved add`` made: a database, a bucket or a queue, with its options.

    The road renders it from the ``data_resources`` answer; :meth:`to_answer` is that
    answer's entry, every option of the kind written out."""

    kind: str
    name: str
    #: The kind's options (:data:`DATA_RESOURCE_OPTIONS`), as ``(key, value)`` pairs.
    options: tuple[tuple[str, Any], ...] = ()

    def __post_init__(self) -> None:
        if (problem := data_resource_problem(self)) is not None:
            raise ValueError(problem)

    @classmethod
    def make(cls, kind: str, name: str, **options: Any) -> DataResource:
        """The resource with every option of ``kind``, an option not given taking its
        default; a :class:`ValueError` says what is wrong."""
        known = DATA_RESOURCE_OPTIONS.get(kind)
        if known is None:
            raise ValueError(f"kind must be one of {', '.join(DATA_RESOURCE_OPTIONS)}")
        unknown = sorted(set(options) - set(known))
        if unknown:
            raise ValueError(f"a {kind} has no option {', '.join(unknown)}")
        values = {key: options.get(key, choices[0]) for key, choices in known.items()}
        return cls(kind, name, tuple(values.items()))

    @classmethod
    def from_answer(cls, data: Any) -> DataResource:
        """The entry ``data`` of a ``data_resources`` answer (input: a :class:`ValueError`
        says what is wrong)."""
        if not isinstance(data, Mapping) or not all(isinstance(k, str) for k in data):
            raise ValueError("a data resource is not a mapping of text keys")
        kind, name = data.get("kind"), data.get("name")
        if not isinstance(kind, str) or kind not in DATA_RESOURCE_OPTIONS:
            raise ValueError(
                f"a data resource's kind must be one of {', '.join(DATA_RESOURCE_OPTIONS)}"
            )
        extra = sorted(set(data) - {"kind", "name", *DATA_RESOURCE_OPTIONS[kind]})
        if extra:
            raise ValueError(f"a {kind} has no option {', '.join(extra)}")
        if not isinstance(name, str):
            raise ValueError(f"a {kind}'s name is not text")
        options = {k: v for k, v in data.items() if k not in ("kind", "name")}
        return cls.make(kind, name, **options)

    @property
    def option(self) -> Mapping[str, Any]:
        return dict(self.options)

    def to_answer(self) -> dict[str, Any]:
        return {"kind": self.kind, "name": self.name, **dict(self.options)}

    @property
    def type(self) -> str:
        """The Backstage ``spec.type`` of its Resource entity."""
        return DATA_RESOURCE_TYPES[self.kind]

    def entity_name(self, service: str) -> str:
        return f"{service}-{self.name}"

    def description(self, service: str) -> str:
        """Its Resource entity's description, as the road's catalog-info.yaml writes it."""
        what = {
            "database": f"{'PostgreSQL' if self.option.get('engine') == 'postgres' else 'MySQL'}"
            " database",
            "bucket": "S3 bucket",
            "queue": "SQS queue",
        }[self.kind]
        return (
            f"The {what} {self.name} of {service}, one per environment (terraform/{self.kind}s.tf)."
        )

    def fit_problem(self, service: str, environments: tuple[str, ...], account: str) -> str | None:
        """Which identifier made from this resource's name is too long for its provider in
        ``service``'s ``environments``, or ``None``."""
        for what, form, limit in _IDENTIFIERS[self.kind]:
            made = max(
                (
                    form.format(s=service, e=env, n=self.name, a=account)
                    for env in environments or ("",)
                ),
                key=len,
            )  # the longest, so the message says how much shorter the name must be
            if len(made) > limit:
                return (
                    f"makes the {what} name {made} ({len(made)} characters; at most {limit}):"
                    " choose a shorter name"
                )
        user = service.replace("-", "_")
        if self.option.get("engine") == "mysql" and len(user) > _MYSQL_USER_MAX:
            return (
                f"is a MySQL database, whose user {user} (the service's name) would be"
                f" {len(user)} characters; MySQL takes at most {_MYSQL_USER_MAX}: use"
                " --engine postgres"
            )
        return None


def data_resource_problem(resource: DataResource) -> str | None:
    """Why ``resource`` breaks the road's rules for a ``data_resources`` entry, or ``None``."""
    known = DATA_RESOURCE_OPTIONS.get(resource.kind) if isinstance(resource.kind, str) else None
    if known is None:
        return f"a data resource's kind must be one of {', '.join(DATA_RESOURCE_OPTIONS)}"
    if (problem := resource_name_problem(resource.name)) is not None:
        return f"the {resource.kind} name {resource.name!r} {problem}"
    options = dict(resource.options) if isinstance(resource.options, tuple) else None
    if options is None or list(options) != list(known):
        return f"a {resource.kind} has the options {', '.join(known) or 'none'}"
    for key, choices in known.items():
        value = options[key]
        if type(value) is not type(choices[0]) or value not in choices:
            shown = ", ".join(str(c).lower() for c in choices)
            return f"the {resource.kind} {resource.name}'s {key} must be one of {shown}"
    return None


@dataclasses.dataclass(frozen=True)
class CatalogEntry:
    """A service's catalog entry as its road layer answers it (``.copier-answers.road.yml``).

    The defaults are what the organisation URL served before the platform kept the entry:
    ``production``, no System, no API, no Resources. A service registered before (or by a
    client that does not send it) has them.
    """

    lifecycle: str = "production"
    system: str = ""
    #: The API document's path in the repository (``openapi.json``), or empty: no API.
    api_definition: str = ""
    #: The road's ``resources`` choices, each once, in the order answered.
    resources: tuple[str, ...] = ()
    #: What ``paved add`` made (the road's ``data_resources`` answer), in the order added.
    data_resources: tuple[DataResource, ...] = ()

    def __post_init__(self) -> None:
        if (problem := catalog_entry_problem(self)) is not None:
            raise ValueError(problem)

    @classmethod
    def from_answers(cls, answers: Mapping[str, Any]) -> CatalogEntry:
        """The entry in the road layer's ``answers``, checked by the road's own rules (a
        key an older road did not ask takes the default, but paved-road 0.3.0, which asks
        ``lifecycle`` and not ``api_definition``, always wrote ``openapi.json``'s API); a
        :class:`ValueError` says which answer is wrong."""
        values: dict[str, Any] = {}
        if "lifecycle" in answers and "api_definition" not in answers:
            values["api_definition"] = "openapi.json"  # paved-road 0.3.0 always wrote it
        for key in ("lifecycle", "system", "api_definition"):
            if key in answers:
                if not isinstance(answers[key], str):
                    raise ValueError(f"road answer {key} is not text")
                values[key] = answers[key]
        if "resources" in answers:
            resources = answers["resources"]
            if not isinstance(resources, list | tuple) or not all(
                isinstance(x, str) for x in resources
            ):
                raise ValueError("road answer resources is not a list of text")
            values["resources"] = tuple(dict.fromkeys(resources))
        if "data_resources" in answers:
            made = answers["data_resources"]
            if not isinstance(made, list | tuple):
                raise ValueError("road answer data_resources is not a list")
            values["data_resources"] = tuple(DataResource.from_answer(x) for x in made)
        return cls(**values)

    def to_json(self) -> dict[str, Any]:
        return {
            "lifecycle": self.lifecycle,
            "system": self.system,
            "api_definition": self.api_definition,
            "resources": list(self.resources),
            "data_resources": [x.to_answer() for x in self.data_resources],
        }

    @classmethod
    def from_json(cls, data: Any) -> CatalogEntry:
        """The entry in ``data`` (the shape of :meth:`to_json`); ``None`` is the default
        entry (a record from before the entry existed)."""
        if data is None:
            return cls()
        if not isinstance(data, Mapping):
            raise ValueError("catalog entry is not an object")
        return cls.from_answers(data)

    def entity_refs(self, service: str) -> tuple[tuple[str, str, str], ...]:
        """``(kind, namespace, name)`` of each entity the road writes in the
        ``catalog-info.yaml`` of ``service`` with this entry: its Component, its API
        ``SERVICE-api`` (with an ``api_definition``) and a Resource per resource."""
        refs = [("component", "default", service)]
        if self.api_definition:
            refs.append(("api", "default", f"{service}-api"))
        refs.extend(
            ("resource", "default", RESOURCE_KINDS[x].name(service))
            for x in self.resources
            if x in RESOURCE_KINDS  # catalog_entry_problem refuses any other
        )
        refs.extend(("resource", "default", x.entity_name(service)) for x in self.data_resources)
        return tuple(refs)

    def data_resource(self, name: str) -> DataResource | None:
        """The data resource named ``name`` (whatever its kind), or ``None``."""
        return next((x for x in self.data_resources if x.name == name), None)


def catalog_entry_problem(entry: CatalogEntry) -> str | None:
    """Why ``entry`` breaks the road's rules for its answers, or ``None``."""
    if not isinstance(entry.lifecycle, str) or entry.lifecycle not in LIFECYCLES:
        return f"lifecycle must be one of {', '.join(LIFECYCLES)}"
    if not isinstance(entry.system, str) or (entry.system and not _SYSTEM.match(entry.system)):
        return (
            "system must be empty or a catalog entity name: at most 63 letters, digits, '-',"
            " '_' and '.', starting and ending with a letter or digit"
        )
    definition = entry.api_definition
    if not isinstance(definition, str) or (
        definition and (len(definition) > 200 or not _API_DEFINITION.match(definition))
    ):
        return (
            "api_definition must be empty or a relative path of at most 200 characters such as"
            " openapi.json (plain segments, no '.' or '..', ending .json, .yaml or .yml)"
        )
    resources = entry.resources
    if not isinstance(resources, tuple) or any(x not in RESOURCE_KINDS for x in resources):
        return f"resources must each be one of {', '.join(RESOURCE_KINDS)}"
    if len(set(resources)) != len(resources):
        return "resources must name each resource once"
    made = entry.data_resources
    if not isinstance(made, tuple) or not all(isinstance(x, DataResource) for x in made):
        return "data_resources must be data resources"
    names = [x.name for x in made]
    if len(set(names)) != len(names):
        twice = next(n for n in names if names.count(n) > 1)
        return f"data_resources must name each resource once ({twice} is there twice)"
    ids: dict[str, str] = {}
    for name in names:
        other = ids.setdefault(statement_id(name), name)
        if other != name:
            return (
                f"data_resources {other} and {name} would share the IAM statement id"
                f" {statement_id(name)}: rename one"
            )
    return None


def statement_id(name: str) -> str:
    """How the road's IAM policies name a resource's statements: ``order-events`` is
    ``OrderEvents`` (so ``logs-2`` and ``logs2`` cannot both be in one service)."""
    return "".join(part.capitalize() for part in name.split("-"))


@dataclasses.dataclass(frozen=True)
class Service:
    """A service registered in the catalog."""

    name: str
    owner: str
    description: str
    repository: str
    layers: tuple[LayerRef, ...]
    created_at: dt.datetime
    #: The road's catalog answers (the default for a record from before the platform kept it).
    catalog: CatalogEntry = CatalogEntry()

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
            "catalog": self.catalog.to_json(),
        }


#: ``started`` is an open journal entry: the attempt is under way (or was cut off).
Outcome = Literal["started", "succeeded", "failed", "refused"]


@dataclasses.dataclass(frozen=True)
class Caller:
    """Who the platform says the holder of the token is."""

    user: str
    teams: tuple[str, ...]
    admin: bool = False

    def owns(self, team: str) -> bool:
        return self.admin or team in self.teams


def _stamp(value: dt.datetime | None) -> str | None:
    return value.isoformat().replace("+00:00", "Z") if value is not None else None


def _when(value: str | None) -> dt.datetime | None:
    return dt.datetime.fromisoformat(value) if value else None


@dataclasses.dataclass(frozen=True)
class Deployment:
    """One attempt to deploy (or roll back) a service to an environment, whatever its outcome."""

    service: str
    environment: str
    #: ``gitops`` or ``kubernetes``.
    target: str
    #: The image reference deployed (empty when the attempt failed before knowing it).
    image: str
    #: The service repository's commit that was deployed, and its commit time.
    source_commit: str | None
    source_time: dt.datetime | None
    #: The git identity of the person (or CI job) who ran the deploy.
    actor: str
    started_at: dt.datetime
    #: ``None`` while the attempt is ``started``.
    finished_at: dt.datetime | None
    outcome: Outcome
    #: One line: what happened, or why it failed or was refused.
    message: str = ""
    #: The gate's findings (``Finding.to_json`` shapes), open and waived.
    findings: tuple[dict[str, Any], ...] = ()
    #: The reason given with ``--break-glass``, when the gate was passed that way.
    break_glass: str | None = None
    #: For a rollback: the deployment it recovers from, and the one whose manifests it restored.
    rollback_of: int | None = None
    restored: int | None = None
    #: The environment repository's commit holding these manifests (gitops target).
    revision: str | None = None
    #: The manifests applied (kubernetes target only: there is no repository to keep them).
    manifests: str | None = None
    id: int | None = None
    #: When the change it ships began: the oldest commit time since the service's previous
    #: deployment to the environment (``None`` where it is not known, as in the local catalog).
    #: Sent to the platform (lead time starts here), not part of :meth:`to_json`.
    change_started_at: dt.datetime | None = None

    def to_json(self, *, manifests: bool = False) -> dict[str, Any]:
        """The record as JSON (``paved deployments list --json``); with ``manifests``, the
        manifests too (as the platform takes and gives them)."""
        data = {
            "id": self.id,
            "service": self.service,
            "environment": self.environment,
            "target": self.target,
            "image": self.image,
            "source_commit": self.source_commit,
            "source_time": _stamp(self.source_time),
            "actor": self.actor,
            "started_at": _stamp(self.started_at),
            "finished_at": _stamp(self.finished_at),
            "outcome": self.outcome,
            "message": self.message,
            "findings": list(self.findings),
            "break_glass": self.break_glass,
            "rollback_of": self.rollback_of,
            "restored": self.restored,
            "revision": self.revision,
        }
        if manifests:
            data["manifests"] = self.manifests
        return data

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Deployment:
        """The record in ``data``, in the shape of ``to_json(manifests=True)``: every key there,
        each of its type (keys it does not know, such as the platform's ``recorded_by``, are
        left out). Anything else is a :class:`ValueError` saying what is wrong: a record read
        from elsewhere is input, and a missing ``restored`` or ``manifests`` would change what
        a rollback restores."""
        missing = [key for key in _DEPLOYMENT_KEYS if key not in data]
        if missing:
            raise ValueError(f"deployment record has no {', '.join(missing)}")
        for key in ("id", "rollback_of", "restored"):
            value = data[key]
            if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
                raise ValueError(f"deployment record's {key} is not a number")
        if not isinstance(data["id"], int):
            raise ValueError("deployment record has no id")
        for key in _TEXT_KEYS:
            if not isinstance(data[key], str):
                raise ValueError(f"deployment record's {key} is not text")
        for key in _OPTIONAL_TEXT_KEYS:
            if data[key] is not None and not isinstance(data[key], str):
                raise ValueError(f"deployment record's {key} is not text")
        if not data["started_at"]:
            raise ValueError("deployment record has no started_at")
        if not isinstance(data["findings"], list):
            raise ValueError("deployment record's findings is not a list")
        values = {key: data[key] for key in _DEPLOYMENT_KEYS}
        for key in ("source_time", "started_at", "finished_at"):
            values[key] = _when(values[key])
        values["findings"] = tuple(values["findings"])
        began = data.get("change_started_at")  # the platform's answer has it, an older one not
        if began is not None and not isinstance(began, str):
            raise ValueError("deployment record's change_started_at is not text")
        return cls(**values, change_started_at=_when(began))


#: The keys of a deployment record's JSON form (``to_json(manifests=True)``).
_DEPLOYMENT_KEYS = tuple(
    field.name for field in dataclasses.fields(Deployment) if field.name != "change_started_at"
)
_TEXT_KEYS = ("service", "environment", "target", "image", "source_commit", "actor", "outcome",
              "message", "started_at")  # fmt: skip
_OPTIONAL_TEXT_KEYS = ("source_time", "finished_at", "break_glass", "revision", "manifests")


# -- roll-outs: one layer release taken to many services ----------------------------------

#: ``branch``: each service gets a branch to merge; ``direct``: the update is committed.
RolloutMode = Literal["branch", "direct"]
#: What became of one service in a roll-out (``pr-open``: ready, with a pull or merge
#: request open for its branch).
RolloutStatus = Literal[
    "pending",
    "up-to-date",
    "declined",
    "ready",
    "pr-open",
    "conflicted",
    "refused",
    "failed",
    "merged",
]
ROLLOUT_STATUSES: tuple[str, ...] = get_args(RolloutStatus)
_ROLLOUT_MODES: tuple[str, ...] = get_args(RolloutMode)
#: A roll-out's id is chosen by the client (so a retry names the same one): 16 to 64 of
#: a-z, 0-9 and '-'.
ROLLOUT_ID_SCHEMA_PATTERN = r"^[a-z0-9-]{16,64}$"
_ROLLOUT_ID = re.compile(ROLLOUT_ID_SCHEMA_PATTERN)


def rollout_id_problem(value: str) -> str | None:
    """Why ``value`` cannot be a roll-out's id, or ``None``."""
    if _ROLLOUT_ID.fullmatch(value) is None:
        shown = value[:70].encode("unicode_escape").decode("ascii")
        return f"rollout id '{shown}' is not 16 to 64 characters of a-z, 0-9 and '-'"
    return None


def _record(data: Mapping[str, Any], what: str, keys: tuple[str, ...]) -> None:
    if not isinstance(data, Mapping):
        raise ValueError(f"{what} is not an object")
    missing = [key for key in keys if key not in data]
    if missing:
        raise ValueError(f"{what} has no {', '.join(missing)}")


def _text_of(data: Mapping[str, Any], what: str, key: str, *, optional: bool = False) -> Any:
    value = data[key]
    if not (isinstance(value, str) or (optional and value is None)):
        raise ValueError(f"{what}'s {key} is not text")
    return value


def _time_of(data: Mapping[str, Any], what: str, key: str, *, optional: bool = False) -> Any:
    value = _text_of(data, what, key, optional=optional)
    if value is None:
        return None
    stamp = dt.datetime.fromisoformat(value)
    if stamp.tzinfo is None:
        raise ValueError(f"{what}'s {key} has no time zone")
    return stamp


def _number_of(data: Mapping[str, Any], what: str, key: str, *, optional: bool = False) -> Any:
    value = data[key]
    if value is None and optional:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"{what}'s {key} is not a number")
    return value


def _one_of(data: Mapping[str, Any], what: str, key: str, allowed: tuple[str, ...]) -> Any:
    value = _text_of(data, what, key)
    if value not in allowed:
        raise ValueError(f"{what}'s {key} '{value}' is not one of {', '.join(allowed)}")
    return value


@dataclasses.dataclass(frozen=True)
class RolloutService:
    """What became of one service in a roll-out, as the platform last recorded it."""

    rollout: str
    service: str
    status: RolloutStatus
    #: One line: what happened (a conflict's files, why it was refused or failed).
    detail: str
    #: The branch the update waits on (``branch`` mode), if there is one.
    branch: str | None
    #: The platform's time of the last change.
    updated_at: dt.datetime

    def to_json(self) -> dict[str, Any]:
        return {
            "rollout": self.rollout,
            "service": self.service,
            "status": self.status,
            "detail": self.detail,
            "branch": self.branch,
            "updated_at": _stamp(self.updated_at),
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> RolloutService:
        """The result in ``data`` (the shape of :meth:`to_json`): every key, each of its
        type; anything else is a :class:`ValueError` saying what is wrong."""
        what = "rollout result"
        _record(data, what, _ROLLOUT_SERVICE_KEYS)
        return cls(
            rollout=_text_of(data, what, "rollout"),
            service=_text_of(data, what, "service"),
            status=_one_of(data, what, "status", ROLLOUT_STATUSES),
            detail=_text_of(data, what, "detail"),
            branch=_text_of(data, what, "branch", optional=True),
            updated_at=_time_of(data, what, "updated_at"),
        )


_ROLLOUT_SERVICE_KEYS = tuple(field.name for field in dataclasses.fields(RolloutService))


@dataclasses.dataclass(frozen=True)
class Rollout:
    """One release of a layer (scaffold and version) taken to many services at once."""

    id: str
    layer: str
    scaffold: str
    version: str
    mode: RolloutMode
    #: The user of the token that started it (the platform sets it).
    started_by: str
    started_at: dt.datetime
    #: ``None`` until the roll-out is finished.
    finished_at: dt.datetime | None
    #: How many services are at each status (every status, zeros included).
    counts: Mapping[str, int]
    #: Each service's result, by name; ``None`` in a listing, which carries ``counts`` only.
    services: tuple[RolloutService, ...] | None = None

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "id": self.id,
            "layer": self.layer,
            "scaffold": self.scaffold,
            "version": self.version,
            "mode": self.mode,
            "started_by": self.started_by,
            "started_at": _stamp(self.started_at),
            "finished_at": _stamp(self.finished_at),
            "counts": dict(self.counts),
        }
        if self.services is not None:
            data["services"] = [result.to_json() for result in self.services]
        return data

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Rollout:
        """The roll-out in ``data`` (the shape of :meth:`to_json`): every key but
        ``services`` (a listing has none), each of its type; anything else is a
        :class:`ValueError` saying what is wrong."""
        what = "rollout record"
        _record(data, what, _ROLLOUT_KEYS)
        counts = data["counts"]
        if not isinstance(counts, Mapping) or any(
            key not in ROLLOUT_STATUSES or isinstance(n, bool) or not isinstance(n, int)
            for key, n in counts.items()
        ):
            raise ValueError(f"{what}'s counts is not a number for each status")
        services = data.get("services")
        if services is not None and not isinstance(services, list):
            raise ValueError(f"{what}'s services is not a list")
        return cls(
            id=_text_of(data, what, "id"),
            layer=_text_of(data, what, "layer"),
            scaffold=_text_of(data, what, "scaffold"),
            version=_text_of(data, what, "version"),
            mode=_one_of(data, what, "mode", _ROLLOUT_MODES),
            started_by=_text_of(data, what, "started_by"),
            started_at=_time_of(data, what, "started_at"),
            finished_at=_time_of(data, what, "finished_at", optional=True),
            counts=dict(counts),
            services=(
                None
                if services is None
                else tuple(RolloutService.from_json(item) for item in services)
            ),
        )


_ROLLOUT_KEYS = tuple(
    field.name for field in dataclasses.fields(Rollout) if field.name != "services"
)


@dataclasses.dataclass(frozen=True)
class VersionAdoption:
    """How one version of a layer's scaffold spread: the organisation's time to patch."""

    scaffold: str
    version: str
    #: The first time a service was recorded at it, or a roll-out of it started.
    released_at: dt.datetime | None
    #: Registered services (not archived) whose layer is at this version now, and their
    #: share of those whose layer comes from this scaffold.
    services: int
    share: float | None
    #: Services that moved to it from an older version, and how long after ``released_at``
    #: (median and 90th percentile, seconds).
    moved: int
    time_to_patch_median_seconds: float | None
    time_to_patch_p90_seconds: float | None

    def to_json(self) -> dict[str, Any]:
        data = dataclasses.asdict(self)
        data["released_at"] = _stamp(self.released_at)
        return data

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> VersionAdoption:
        """The figures in ``data`` (the shape of :meth:`to_json`), checked key by key."""
        what = "version adoption"
        _record(data, what, _ADOPTION_KEYS)
        for key in ("services", "moved"):
            value = data[key]
            if isinstance(value, bool) or not isinstance(value, int):
                raise ValueError(f"{what}'s {key} is not a whole number")
        return cls(
            scaffold=_text_of(data, what, "scaffold"),
            version=_text_of(data, what, "version"),
            released_at=_time_of(data, what, "released_at", optional=True),
            services=data["services"],
            share=_number_of(data, what, "share", optional=True),
            moved=data["moved"],
            time_to_patch_median_seconds=_number_of(
                data, what, "time_to_patch_median_seconds", optional=True
            ),
            time_to_patch_p90_seconds=_number_of(
                data, what, "time_to_patch_p90_seconds", optional=True
            ),
        )


_ADOPTION_KEYS = tuple(field.name for field in dataclasses.fields(VersionAdoption))
