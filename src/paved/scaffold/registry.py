"""The scaffolds paved knows: their layer, version and questions, read from their files.

A scaffold is a standard copier template folder with one extra file, ``scaffold.yml``, that
names its layer and version. Reading it needs only PyYAML, so listing templates and checking
``--set`` answers stays fast and never imports copier.

paved bundles its scaffolds; the settings may point a scaffold's name at an organisation's
own git repository instead (``[scaffolds.NAME] url``), and the registry then offers that one
(read by the template store, :mod:`paved.scaffold.store`).
"""

from __future__ import annotations

import dataclasses
import enum
import functools
import json
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from paved.errors import InputError
from paved.names import name_problem
from paved.text import escaped, text_problem

if TYPE_CHECKING:
    import jinja2

__all__ = [
    "RESERVED_ANSWERS",
    "Layer",
    "Move",
    "Question",
    "Scaffold",
    "ScaffoldRegistry",
    "bundled_root",
    "load_scaffold",
    "parse_moves",
]

#: Answers paved supplies itself; they come from the NAME argument, --owner and --description.
RESERVED_ANSWERS = {
    "service_name": "the NAME argument",
    "owner": "--owner",
    "description": "--description",
}


class Layer(enum.StrEnum):
    """The two layers of a service: the language code, and the platform's road."""

    APP = "app"
    ROAD = "road"


@functools.cache
def _validator_env() -> jinja2.Environment:
    """The Jinja environment copier renders validators in: sandboxed, with the Ansible core
    filters (``regex_search`` and the like) that copier always loads."""
    from jinja2.sandbox import SandboxedEnvironment

    return SandboxedEnvironment(extensions=["jinja2_ansible_filters.AnsibleCoreFiltersExtension"])


@functools.lru_cache(maxsize=256)
def _validator(source: str) -> jinja2.Template:
    """A validator compiled once: answers are checked several times (both versions of an
    update, every layer), and compiling is most of the cost."""
    return _validator_env().from_string(source)


@dataclasses.dataclass(frozen=True)
class Question:
    """One copier question of a scaffold."""

    name: str
    type: str
    help: str
    default: Any
    choices: tuple[Any, ...] | None
    multiselect: bool = False
    #: copier's validator: a Jinja template that renders to an error message, or to nothing.
    validator: str | None = None

    def coerce(self, raw: str) -> Any:
        """Turn the text of ``--set KEY=VALUE`` into a value of this question's type."""
        value: Any
        try:
            if self.type == "int":
                value = int(raw)
            elif self.type == "float":
                value = float(raw)
            elif self.type == "bool":
                lowered = raw.strip().lower()
                if lowered in {"true", "yes", "y", "on", "1"}:
                    value = True
                elif lowered in {"false", "no", "n", "off", "0"}:
                    value = False
                else:
                    raise ValueError(raw)
            elif self.type == "json":
                value = json.loads(raw)
            elif self.multiselect:
                # "a,b" or a YAML list "[a, b]"; "" is the empty selection
                text = raw.strip()
                if text.startswith("["):
                    value = yaml.safe_load(text)
                else:
                    value = [item.strip() for item in text.split(",") if item.strip()]
            elif self.type == "yaml":
                value = yaml.safe_load(raw)
            else:
                value = raw
        except (ValueError, yaml.YAMLError) as exc:
            raise InputError(
                f"--set {self.name}={_shown_raw(raw)!r} is not a valid {self.type}",
                hint=f"{self.name}: {self.help}" if self.help else None,
            ) from exc
        return self.check(value, shown=f"--set {self.name}={_shown_raw(raw)!r}")

    @property
    def free_text(self) -> bool:
        """A ``str`` question without choices: any one line of visible text may answer it."""
        return self.type == "str" and self.choices is None and not self.multiselect

    def check(self, value: Any, *, shown: str) -> Any:
        """Return ``value`` when this question accepts it; raise :class:`InputError` otherwise.

        The rules, in order: the choices; for free text, one line of visible text (see
        :mod:`paved.text`); then copier's own validator from ``copier.yml``, rendered the way
        copier renders it. ``shown`` names the answer in the message (``--set KEY='VALUE'``).
        """
        if self.multiselect:
            value = value if isinstance(value, list) else [value]
            self._check_choices(shown, value)
        else:
            self._check_choices(shown, [value])
        if self.free_text:
            problem = text_problem(value) if isinstance(value, str) else "is not text"
            if problem is not None:
                raise InputError(
                    f"{shown}: {problem}",
                    hint="write one line of visible text, without control characters",
                )
        self._validate(shown, value)
        return value

    def _validate(self, shown: str, value: Any) -> None:
        if not self.validator:
            return
        message = " ".join(_validator(self.validator).render({self.name: value}).split())
        if message:
            raise InputError(f"{shown}: {message}")

    def _check_choices(self, shown: str, values: Iterable[Any]) -> None:
        if self.choices is None:
            return
        for value in values:
            if value not in self.choices:
                allowed = ", ".join(str(c) for c in self.choices)
                raise InputError(
                    f"{shown} is not one of the choices",
                    hint=f"choose from: {allowed}",
                )


@dataclasses.dataclass(frozen=True)
class Move:
    """A file the scaffold moved in one of its versions; local edits follow it on update."""

    version: str
    source: str
    target: str


_MOVE_HINT = (
    "scaffold.yml declares moves as: moved: [{version: 0.3.0, from: OLD/PATH, to: NEW/PATH}]"
)


def _relative_path(value: Any, where: str) -> str:
    """A rendered file's path as a move names it: relative, inside the service, one line."""
    from paved.text import escaped

    if not isinstance(value, str) or not value:
        raise InputError(f"{where} is not a path", hint=_MOVE_HINT)
    parts = value.split("/")
    if (
        text_problem(value) is not None
        or len(value) > 300
        or value.startswith("/")
        or "\\" in value
        or any(part in {"", ".", "..", ".git"} for part in parts)
    ):
        raise InputError(
            f"{where} '{escaped(value)}' is not a relative path inside the service",
            hint=_MOVE_HINT,
        )
    return value


def parse_moves(meta: Mapping[str, Any], origin: str) -> tuple[Move, ...]:
    """The ``moved`` list of a ``scaffold.yml`` (input: a scaffold may come from any git URL),
    checked: each entry a version and two relative paths inside the service."""
    from paved.versions import Version

    raw = meta.get("moved") or []
    if not isinstance(raw, list):
        raise InputError(f"{origin}: 'moved' is not a list", hint=_MOVE_HINT)
    moves = []
    for number, entry in enumerate(raw, start=1):
        where = f"{origin}: move {number}"
        if not isinstance(entry, Mapping) or set(entry) != {"version", "from", "to"}:
            raise InputError(f"{where} needs exactly version, from and to", hint=_MOVE_HINT)
        version = str(entry["version"])
        if Version.parse(version) is None:
            raise InputError(f"{where}: '{version}' is not a version", hint=_MOVE_HINT)
        source = _relative_path(entry["from"], f"{where} from")
        target = _relative_path(entry["to"], f"{where} to")
        moves.append(Move(version, source, target))
    return tuple(moves)


@dataclasses.dataclass(frozen=True)
class Scaffold:
    """A copier template folder that paved ships or knows of."""

    name: str
    layer: Layer
    version: str
    description: str
    path: Path
    questions: tuple[Question, ...]
    #: Files moved by this version or an earlier one (``moved`` in scaffold.yml).
    moves: tuple[Move, ...] = ()
    #: The organisation's git repository this scaffold comes from (``[scaffolds.NAME] url``
    #: in the settings); ``None`` for a scaffold paved bundles.
    url: str | None = None

    @property
    def template_dir(self) -> Path:
        """The folder copier renders (``_subdirectory`` in copier.yml)."""
        return self.path / "template"

    @property
    def answers_file(self) -> str:
        return f".copier-answers.{self.layer.value}.yml"

    def question(self, name: str) -> Question | None:
        return next((q for q in self.questions if q.name == name), None)

    def check_answers(self, answers: Mapping[str, Any]) -> None:
        """Check answers that do not come from ``--set`` (the NAME argument, ``--owner``,
        ``--description``) by the rules of this scaffold's questions, before copier sees them."""
        for key, value in answers.items():
            question = self.question(key)
            if question is not None:
                question.check(value, shown=f"{RESERVED_ANSWERS.get(key, key)} {value!r}")


def _shown_raw(raw: str) -> str:
    """The text of ``--set KEY=VALUE`` as a message may repeat it: a URL's user or password
    (``https://USER:TOKEN@host/...``) is never repeated."""
    from paved.repository_url import has_credentials, shown_url

    return shown_url(raw) if has_credentials(raw) else raw


def _choices(raw: Any) -> tuple[Any, ...] | None:
    if raw is None:
        return None
    if isinstance(raw, Mapping):
        return tuple(raw.values())
    return tuple(raw)


def _identity(meta: Mapping[str, Any], origin: str) -> tuple[str, Layer, str]:
    """The name, layer and version a ``scaffold.yml`` gives, each checked as input."""
    name, layer, version = meta.get("name"), meta.get("layer"), meta.get("version")
    if not isinstance(name, str) or (problem := name_problem(name)) is not None:
        shown = escaped(repr(name))
        raise InputError(
            f"{origin}: name {shown} {problem if isinstance(name, str) else 'is not text'}",
            hint="name the scaffold in lower-case words joined by '-', as in paved-road",
        )
    if layer not in {item.value for item in Layer}:
        raise InputError(
            f"{origin}: layer {escaped(repr(layer))} is not app or road",
            hint="a scaffold is the app layer or the road layer of a service",
        )
    from paved.versions import Version

    if not isinstance(version, str) or Version.parse(version) is None:
        raise InputError(
            f"{origin}: version {escaped(repr(version))} is not a version",
            hint="write it as MAJOR.MINOR.PATCH in quotes if need be, as in version: 0.1.0",
        )
    return name, Layer(layer), version


def load_scaffold(path: Path) -> Scaffold:
    """Read one scaffold folder; raise :class:`InputError` when it is not a scaffold.

    The folder may come from any git repository an organisation names, so both files are
    input: each a mapping, read as it is (not through a symbolic link), with a name by the
    naming rule, a layer, a version and moves that are checked.
    """
    try:
        for name in ("scaffold.yml", "copier.yml"):
            if (path / name).is_symlink():
                raise InputError(f"scaffold at {path} cannot be read ({name} is a symbolic link)")
        meta = yaml.safe_load((path / "scaffold.yml").read_text(encoding="utf-8"))
        copier_conf = yaml.safe_load((path / "copier.yml").read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise InputError(f"scaffold at {path} cannot be read ({exc})") from exc
    if not isinstance(meta, Mapping) or not isinstance(copier_conf, Mapping):
        raise InputError(f"scaffold at {path} cannot be read (not a mapping)")
    name, layer, version = _identity(meta, str(path / "scaffold.yml"))
    questions = []
    for key, spec in copier_conf.items():
        if not isinstance(key, str):
            raise InputError(f"{path / 'copier.yml'}: the key {escaped(repr(key))} is not text")
        if key.startswith("_"):
            continue
        spec = spec if isinstance(spec, Mapping) else {"default": spec}
        if spec.get("when") is False:
            continue  # a computed value, not a question
        questions.append(
            Question(
                name=key,
                type=str(spec.get("type", "str")),
                help=str(spec.get("help", "")).strip(),
                default=spec.get("default"),
                choices=_choices(spec.get("choices")),
                multiselect=bool(spec.get("multiselect", False)),
                validator=spec.get("validator"),
            )
        )
    return Scaffold(
        name=name,
        layer=layer,
        version=version,
        description=str(meta.get("description", "")),
        path=path,
        questions=tuple(questions),
        moves=parse_moves(meta, str(path / "scaffold.yml")),
    )


def bundled_root() -> Path:
    """The folder holding the scaffolds shipped with paved.

    An installed wheel carries them as ``paved/_scaffolds``; a source checkout (editable
    install, tests) has them at the top of the repository.
    """
    packaged = Path(__file__).resolve().parent.parent / "_scaffolds"
    if packaged.is_dir():
        return packaged
    return Path(__file__).resolve().parents[3] / "scaffolds"


class ScaffoldRegistry:
    """The scaffolds paved knows, by name: those found under one folder (the bundled ones),
    and those the settings point at an organisation's git repository, which take the place of
    a bundled scaffold of the same name.

    An organisation's scaffold is read only when it is asked for (``load(name, url)``, the
    template store's :meth:`~paved.scaffold.store.TemplateStore.organisation_scaffold`), since
    reading it fetches its repository.
    """

    def __init__(
        self,
        root: Path,
        organisation: Mapping[str, str] | None = None,
        load: Callable[[str, str], Scaffold] | None = None,
    ) -> None:
        self.root = root
        #: ``{name: url}``: the scaffolds an organisation keeps in its own git repository.
        self.urls: Mapping[str, str] = dict(organisation or {})
        if self.urls and load is None:
            raise ValueError("an organisation's scaffolds need a load function")
        self._load_organisation = load
        self._scaffolds: dict[str, Scaffold] | None = None
        self._organisation: dict[str, Scaffold] = {}

    def _load(self) -> dict[str, Scaffold]:
        if self._scaffolds is None:
            found = {}
            if self.root.is_dir():
                for child in sorted(self.root.iterdir()):
                    if (child / "scaffold.yml").is_file():
                        scaffold = load_scaffold(child)
                        found[scaffold.name] = scaffold
            self._scaffolds = found
        return self._scaffolds

    def _organisation_scaffold(self, name: str) -> Scaffold:
        if name not in self._organisation:
            assert self._load_organisation is not None
            self._organisation[name] = self._load_organisation(name, self.urls[name])
        return self._organisation[name]

    def bundled(self) -> list[Scaffold]:
        """The scaffolds paved bundles, whatever the settings point elsewhere."""
        return list(self._load().values())

    def all(self) -> list[Scaffold]:
        """Every scaffold on offer: the bundled ones, each replaced by the organisation's
        scaffold of its name where the settings give one, then the organisation's others."""
        bundled = self._load()
        offered = [
            self._organisation_scaffold(s.name) if s.name in self.urls else s
            for s in bundled.values()
        ]
        offered += [self._organisation_scaffold(n) for n in sorted(self.urls) if n not in bundled]
        return offered

    def get(self, name: str, *, layer: Layer | None = None) -> Scaffold:
        if name in self.urls:
            scaffold: Scaffold | None = self._organisation_scaffold(name)
        else:
            scaffold = self._load().get(name)
        if scaffold is not None and scaffold.url and layer and scaffold.layer is not layer:
            raise InputError(
                f"template '{name}' ({scaffold.url}) is for the {scaffold.layer.value} layer, "
                f"not the {layer.value} layer",
                hint=f"check [scaffolds.{name}] url in the settings",
            )
        if scaffold is None or (layer is not None and scaffold.layer is not layer):
            offered = [s for s in self._load().values() if s.name not in self.urls]
            offered += self._organisation.values()
            known = ", ".join(sorted(s.name for s in offered if layer is None or s.layer is layer))
            kind = f"{layer.value}-layer " if layer else ""
            raise InputError(
                f"unknown {kind}template '{name}'",
                hint=f"known: {known or 'none'} (see 'paved templates list')",
            )
        return scaffold
