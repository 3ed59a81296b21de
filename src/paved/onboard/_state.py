"""The onboarding state file: which steps ran, when, and how they ended.

It is read back on the next run, so it is input: anything that is not exactly the documented
shape (a hand edit, a truncated write, another program's file) is refused in one line that
points to ``--restart``, before any step runs.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

from paved.errors import InputError
from paved.names import name_problem
from paved.text import escaped, text_problem

__all__ = [
    "DETAIL_LIMIT",
    "STATE_VERSION",
    "STATUSES",
    "STEPS",
    "ServiceChoice",
    "State",
    "StepRecord",
    "StepStatus",
    "read_state",
    "write_state",
]

STATE_VERSION = 1
#: The steps, in the order they run.
STEPS = ("doctor", "service", "first-deploy", "production-deploy")
StepStatus = Literal["started", "finished", "failed", "skipped"]
STATUSES: tuple[StepStatus, ...] = ("started", "finished", "failed", "skipped")
DETAIL_LIMIT = 500


@dataclasses.dataclass(frozen=True)
class StepRecord:
    status: StepStatus
    started_at: dt.datetime | None = None
    finished_at: dt.datetime | None = None
    detail: str = ""

    def to_json(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "started_at": _stamp(self.started_at),
            "finished_at": _stamp(self.finished_at),
            "detail": self.detail,
        }


@dataclasses.dataclass(frozen=True)
class ServiceChoice:
    """The first service, once chosen: a re-run makes (or resumes) this one, not another."""

    name: str
    owner: str
    path: Path

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "owner": self.owner, "path": str(self.path)}


@dataclasses.dataclass(frozen=True)
class State:
    steps: Mapping[str, StepRecord] = dataclasses.field(default_factory=dict)
    service: ServiceChoice | None = None

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "version": STATE_VERSION,
            "steps": {name: self.steps[name].to_json() for name in STEPS if name in self.steps},
        }
        if self.service is not None:
            data["service"] = self.service.to_json()
        return data

    def with_step(self, name: str, record: StepRecord) -> State:
        return dataclasses.replace(self, steps={**self.steps, name: record})


def _stamp(value: dt.datetime | None) -> str | None:
    return value.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ") if value else None


class _Bad(ValueError):
    pass


def _time(value: object, where: str) -> dt.datetime | None:
    if value is None:
        return None
    if not isinstance(value, str) or len(value) > 40:
        raise _Bad(f"{where} is not a time")
    try:
        parsed = dt.datetime.fromisoformat(value)
    except ValueError:
        raise _Bad(f"{where} is not a time") from None
    if parsed.tzinfo is None:
        raise _Bad(f"{where} has no time zone")
    return parsed.astimezone(dt.UTC)


def _step(name: str, value: object) -> StepRecord:
    where = f"step '{name}'"
    if not isinstance(value, dict) or set(value) != {
        "status",
        "started_at",
        "finished_at",
        "detail",
    }:
        raise _Bad(f"{where} is not {{status, started_at, finished_at, detail}}")
    status = value["status"]
    if status not in STATUSES:
        raise _Bad(f"{where} has an unknown status")
    detail = value["detail"]
    if not isinstance(detail, str) or len(detail) > DETAIL_LIMIT:
        raise _Bad(f"{where} has a detail that is not text of at most {DETAIL_LIMIT} characters")
    if detail and text_problem(detail) is not None:
        raise _Bad(f"{where} has a detail that is not one line of text")
    started = _time(value["started_at"], f"{where} started_at")
    finished = _time(value["finished_at"], f"{where} finished_at")
    if started and finished and finished < started:
        raise _Bad(f"{where} finished before it started")
    return StepRecord(status, started, finished, detail)


def _service(value: object) -> ServiceChoice:
    if not isinstance(value, dict) or set(value) != {"name", "owner", "path"}:
        raise _Bad("service is not {name, owner, path}")
    name, owner, path = value["name"], value["owner"], value["path"]
    for what, field in (("name", name), ("owner", owner)):
        if not isinstance(field, str) or name_problem(field) is not None:
            raise _Bad(f"service {what} does not follow the naming rule")
    if (
        not isinstance(path, str)
        or not path
        or text_problem(path) is not None
        or not Path(path).is_absolute()
    ):
        raise _Bad("service path is not an absolute path")
    assert isinstance(name, str)
    assert isinstance(owner, str)
    return ServiceChoice(name, owner, Path(path))


def _parse(text: str) -> State:
    try:
        data = json.loads(text)
    except ValueError:
        raise _Bad("is not JSON") from None
    if not isinstance(data, dict) or not set(data) <= {"version", "steps", "service"}:
        raise _Bad("is not {version, steps, service}")
    if data.get("version") != STATE_VERSION:
        raise _Bad(f"is not version {STATE_VERSION}")
    steps = data.get("steps")
    if not isinstance(steps, dict) or not set(steps) <= set(STEPS):
        raise _Bad("has steps other than " + ", ".join(STEPS))
    service = _service(data["service"]) if "service" in data else None
    return State({name: _step(name, steps[name]) for name in STEPS if name in steps}, service)


def read_state(path: Path) -> State:
    """The state in ``path`` (empty when there is none); :class:`InputError` when it is bad."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return State()
    except IsADirectoryError:
        raise _refused(path, "is a folder") from None
    try:
        return _parse(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise _refused(path, "is not UTF-8") from None
    except _Bad as exc:
        raise _refused(path, str(exc)) from None


def _refused(path: Path, problem: str) -> InputError:
    return InputError(
        f"the onboarding state {escaped(str(path))} {problem}",
        hint="run paved onboard --restart to start the checklist again "
        "(what the steps made is kept and picked up)",
    )


def write_state(path: Path, state: State) -> None:
    """Replace ``path`` with ``state`` at once: a reader sees the old file or the new one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    temporary.write_text(json.dumps(state.to_json(), indent=2) + "\n", encoding="utf-8")
    os.replace(temporary, path)
