"""What the checks look at, handed in from outside: paths, settings, git, catalog, clock.

No check reads ``os.environ``, the clock or the current folder itself; the command builds one
:class:`Inputs` from its runtime, and tests build their own.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import threading
from collections.abc import Callable, Mapping
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from paved.doctor._model import Skip
from paved.errors import InputError
from paved.service.layout import APP_ANSWERS, ROAD_ANSWERS, find_service, read_answers

if TYPE_CHECKING:
    from paved.catalog import Catalog
    from paved.config import Paths, Settings
    from paved.gitcmd import Git
    from paved.guardrails import Report as GuardrailsReport
    from paved.scaffold.registry import ScaffoldRegistry
    from paved.scaffold.store import TemplateSource, TemplateStore

__all__ = ["APP_ANSWERS", "ROAD_ANSWERS", "Inputs", "find_service"]

#: ``git_factory(cwd, env)``: a :class:`~paved.gitcmd.Git` in ``cwd`` with extra ``env``.
GitFactory = Callable[[Path | None, Mapping[str, str] | None], "Git"]
#: ``render(source, destination, answers)``: one scaffold layer into an empty folder.
Renderer = Callable[["TemplateSource", Path, Mapping[str, Any]], None]
#: ``guardrails(root, today)``: every rule over the service in ``root``.
GuardrailsRunner = Callable[[Path, dt.date], "GuardrailsReport"]


def _default_git(cwd: Path | None, env: Mapping[str, str] | None) -> Git:
    from paved.gitcmd import Git

    return Git(cwd, env)


@dataclasses.dataclass
class Inputs:
    """Everything the checks need; each piece is built only when a check asks for it."""

    paths: Paths
    env: Mapping[str, str]
    home: Path
    settings: Callable[[], Settings]
    catalog: Callable[[], Catalog]
    registry: Callable[[], ScaffoldRegistry]
    store: Callable[[], TemplateStore]
    clock: Callable[[], dt.datetime]
    which: Callable[[str], str | None]
    python_version: tuple[int, int, int]
    render: Renderer
    guardrails: GuardrailsRunner
    git_factory: GitFactory = _default_git
    #: The service repository's root, or ``None`` outside one.
    service: Path | None = None
    _lock: threading.Lock = dataclasses.field(default_factory=threading.Lock, repr=False)
    _answers: dict[str, dict[str, Any]] = dataclasses.field(default_factory=dict, repr=False)

    def git(self, cwd: Path | None = None, env: Mapping[str, str] | None = None) -> Git:
        return self.git_factory(cwd, env)

    @cached_property
    def git_path(self) -> str | None:
        """Where git is on PATH, or ``None``."""
        return self.which("git")

    def need_git(self) -> None:
        """Skip the calling check when git is missing."""
        if self.git_path is None:
            raise Skip("git is not installed or not on PATH (see env.git)")

    def need_settings(self) -> Settings:
        """The settings; skip the calling check when they are not valid."""
        try:
            return self.settings()
        except InputError as exc:
            raise Skip("the paved configuration is not valid (see env.config)") from exc

    def need_service(self) -> Path:
        if self.service is None:
            raise Skip("not inside a service repository (use --path)")
        return self.service

    def answers(self, filename: str) -> dict[str, Any]:
        """The service's answers file ``filename``, read once."""
        root = self.need_service()
        with self._lock:
            if filename not in self._answers:
                self._answers[filename] = read_answers(root, filename)
            return self._answers[filename]
