"""What an update is: its request, its plan, the fate of each file, and its result."""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from paved.catalog import Catalog
from paved.models import LayerRef
from paved.scaffold.registry import Layer, Scaffold, ScaffoldRegistry
from paved.scaffold.store import TemplateStore

__all__ = [
    "AnswerChange",
    "Change",
    "FileChange",
    "LayerPlan",
    "UpdateDeps",
    "UpdatePlan",
    "UpdateRequest",
    "UpdateResult",
    "describe",
]


class Change(enum.StrEnum):
    """What an update does to one file of a layer."""

    UNCHANGED = "unchanged"  # the template did not change it: kept as it is
    TEMPLATE_UPDATED = "template-updated"  # changed by the template only: takes the new text
    MERGED = "merged"  # changed on both sides, no overlap: both changes kept
    CONFLICT = "conflict"  # changed on both sides where they overlap: you decide
    ADDED = "added"  # new in the template
    REMOVED = "removed"  # removed by the template, not edited here: deleted
    DELETED_LOCALLY = "deleted-locally"  # deleted here, not changed by the template: stays so
    MOVED = "moved"  # moved by the template; your edits moved with it


@dataclasses.dataclass(frozen=True)
class FileChange:
    path: str
    layer: str
    change: Change
    #: For a move: where the file was.
    moved_from: str | None = None
    #: For a conflict: what kind, and the lines of its markers.
    conflict: str | None = None
    lines: tuple[int, ...] = ()

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {"path": self.path, "layer": self.layer, "change": str(self.change)}
        if self.moved_from is not None:
            data["moved_from"] = self.moved_from
        if self.conflict is not None:
            data["conflict"] = self.conflict
            data["lines"] = list(self.lines)
        return data


@dataclasses.dataclass(frozen=True)
class AnswerChange:
    """Road answers to change, the road layer rendered again at the version it has with them
    and merged as an update is (``paved add`` and ``paved remove``)."""

    answers: Mapping[str, Any]
    #: The commit's subject, and its trailers after the layer's.
    subject: str
    trailers: tuple[tuple[str, str], ...] = ()


@dataclasses.dataclass(frozen=True)
class UpdateRequest:
    path: Path
    layers: tuple[Layer, ...] = (Layer.ROAD,)
    to: str | None = None
    dry_run: bool = False
    diff: bool = False
    #: Record the new versions in the catalog once committed (a fleet roll-out records them
    #: itself, when the default branch holds the update).
    record: bool = True
    #: Change these road answers at the road's own version instead of moving it (``to`` and
    #: ``layers`` are then the road's alone).
    change: AnswerChange | None = None


@dataclasses.dataclass(frozen=True)
class UpdateDeps:
    """The outside world an update works with; tests pass their own."""

    registry: ScaffoldRegistry
    store: TemplateStore
    catalog: Callable[[], Catalog]
    cache_dir: Path
    clock: Callable[[], dt.datetime]
    env: Mapping[str, str]
    progress: Callable[[str], None] = lambda _message: None
    #: Render the old and the new version in two processes at once (a fleet's workers, which
    #: run side by side already, render in their own process).
    parallel_renders: bool = True
    #: The settings' self-hosted GitHub or GitLab (kind, host), for the road's ``git_host``
    #: (:func:`paved.repository_url.configured_git_host`).
    git_host: tuple[str, str] | None = None


@dataclasses.dataclass(frozen=True)
class LayerPlan:
    """One layer: where it comes from, the version it has, the version it goes to."""

    layer: Layer
    answers_file: str
    #: The scaffold as this paved knows it (its questions are the target's).
    scaffold: Scaffold
    source_url: str
    current: str
    target: str
    answers: Mapping[str, Any]
    #: The answers the platform gives the target version's questions (the road's repository
    #: and API answers, :func:`paved.service.road_answers.platform_answers`), over the
    #: recorded ones when the target version is rendered.
    platform: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    #: Answers that change at the same version (:class:`AnswerChange`), over the others.
    changes: Mapping[str, Any] = dataclasses.field(default_factory=dict)

    @property
    def moves(self) -> bool:
        """Whether the update changes this layer: a new version, or new answers."""
        return self.current != self.target or bool(self.changes)

    @property
    def ref(self) -> LayerRef:
        return LayerRef(self.layer.value, self.scaffold.name, self.target)

    def to_json(self) -> dict[str, str]:
        return {
            "layer": self.layer.value,
            "scaffold": self.scaffold.name,
            "from": self.current,
            "to": self.target,
        }


@dataclasses.dataclass(frozen=True)
class UpdatePlan:
    """Everything checked; what the update will do."""

    request: UpdateRequest
    root: Path
    service: str
    head: str
    #: The layers asked for, up to date or not.
    layers: tuple[LayerPlan, ...]
    #: Every layer of the service after the update (for the catalog).
    recorded: tuple[LayerRef, ...]

    @property
    def moving(self) -> tuple[LayerPlan, ...]:
        return tuple(layer for layer in self.layers if layer.moves)


@dataclasses.dataclass(frozen=True)
class UpdateResult:
    #: ``up-to-date``, ``planned``, ``updated``, ``conflicts``, ``continued``, ``aborted``,
    #: ``declined``.
    status: str
    root: Path
    service: str
    layers: tuple[dict[str, str], ...] = ()
    files: tuple[FileChange, ...] = ()
    commit: str | None = None
    #: ``recorded``, ``unchanged``, ``not registered``, ``skipped`` or ``failed: REASON``.
    catalog: str = "skipped"
    diff: str | None = None
    decline: Mapping[str, str] | None = None
    #: Untracked files an abort left alone.
    left: tuple[str, ...] = ()

    @property
    def conflicts(self) -> tuple[FileChange, ...]:
        return tuple(f for f in self.files if f.change is Change.CONFLICT)


def describe(result: UpdateResult) -> dict[str, Any]:
    """The documented JSON shape of a result (docs/schemas/update.schema.json)."""
    counts: dict[str, int] = {}
    for change in result.files:
        counts[str(change.change)] = counts.get(str(change.change), 0) + 1
    data: dict[str, Any] = {
        "schema": "paved/update/v1",
        "status": result.status,
        "service": result.service,
        "path": str(result.root),
        "layers": list(result.layers),
        "files": [change.to_json() for change in result.files],
        "counts": dict(sorted(counts.items())),
        "conflicts": [change.path for change in result.conflicts],
        "commit": result.commit,
        "catalog": result.catalog,
    }
    if result.diff is not None:
        data["diff"] = result.diff
    if result.decline is not None:
        data["decline"] = dict(result.decline)
    if result.left:
        data["left"] = list(result.left)
    return data
