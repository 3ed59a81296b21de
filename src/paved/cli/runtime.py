"""The runtime: what the root callback hands every command (settings, clients, clock).

Everything from the outside world enters here and is built lazily, so that a command pays only
for what it uses and tests can pass their own pieces (``CliRunner.invoke(app, obj=runtime)``).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import os
import sys
from collections.abc import Callable, Mapping
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from paved.cli.output import Output
from paved.config import Paths, Settings, load_settings
from paved.credentials import read_credentials

if TYPE_CHECKING:
    from paved.catalog import Catalog
    from paved.githost import GitHost
    from paved.githost.change_requests import ChangeRequests
    from paved.scaffold.registry import ScaffoldRegistry
    from paved.scaffold.store import TemplateStore

__all__ = ["Runtime"]


def _utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(microsecond=0)


@dataclasses.dataclass
class Runtime:
    """One command run's view of the world."""

    env: Mapping[str, str]
    cwd: Path
    home: Path
    clock: Callable[[], dt.datetime] = _utc_now
    stdin_is_terminal: bool = False
    scaffolds_root: Path | None = None
    #: Global options, set by the root callback.
    json: bool = False
    color: bool = True
    verbosity: int = 0
    yes: bool = False
    #: Pieces a test may replace before the command runs.
    catalog_factory: Callable[[Runtime], Catalog] | None = None
    githost_factory: Callable[[Runtime], GitHost] | None = None
    change_requests_factory: Callable[[Runtime], ChangeRequests | None] | None = None
    _catalog: Catalog | None = dataclasses.field(default=None, init=False, repr=False)

    @classmethod
    def from_process(cls) -> Runtime:
        return cls(
            env=dict(os.environ),
            cwd=Path.cwd(),
            home=Path.home(),
            stdin_is_terminal=sys.stdin.isatty(),
        )

    # -- derived -----------------------------------------------------------------------

    @cached_property
    def out(self) -> Output:
        return Output(json_mode=self.json, color=self.color, verbosity=self.verbosity, env=self.env)

    @property
    def interactive(self) -> bool:
        """May this run ask questions? Never in a pipe, with --yes, or when CI is set."""
        return (
            self.stdin_is_terminal
            and self.out.stderr_is_terminal
            and not self.yes
            and "CI" not in self.env
        )

    @cached_property
    def paths(self) -> Paths:
        return Paths.from_env(self.env, self.home)

    @cached_property
    def platform_login(self) -> dict[str, Any] | None:
        """What ``paved login`` stored (URL, token, settings), or ``None``."""
        return read_credentials(self.paths.config_dir)

    @cached_property
    def settings(self) -> Settings:
        login = self.platform_login
        organisation = login.get("settings") if login else None
        return load_settings(
            self.paths, self.env, organisation if isinstance(organisation, dict) else None
        )

    @cached_property
    def registry(self) -> ScaffoldRegistry:
        from paved.scaffold.registry import ScaffoldRegistry, bundled_root

        urls = self.settings.scaffold_urls
        return ScaffoldRegistry(
            self.scaffolds_root or bundled_root(),
            urls,
            self.store.organisation_scaffold if urls else None,
        )

    @cached_property
    def store(self) -> TemplateStore:
        from paved.scaffold.store import TemplateStore

        return TemplateStore(
            self.paths.templates_dir,
            self.env,
            warn=lambda message: self.out.info(f"warning: {message}"),
        )

    def catalog(self) -> Catalog:
        if self._catalog is None:
            if self.catalog_factory is not None:
                self._catalog = self.catalog_factory(self)
            elif self.settings.catalog_url or self.platform_login:
                from paved.catalog.remote import RemoteCatalog

                login = self.platform_login or {}
                url = self.settings.catalog_url or str(login["url"])
                same = login.get("url") == url.rstrip("/")
                token = self.env.get("PAVED_TOKEN") or (login.get("token") if same else None)
                self._catalog = RemoteCatalog(url, str(token) if token else None)
            else:
                from paved.catalog.sqlite import SqliteCatalog

                self._catalog = SqliteCatalog(self.paths.catalog_db, teams=self.settings.teams)
        return self._catalog

    def githost(self, remote: str | None = None) -> GitHost:
        from paved.githost import LocalGitHost, RemoteGitHost

        if remote is not None:  # --remote, even an empty one (which RemoteGitHost refuses)
            return RemoteGitHost(remote)
        if self.githost_factory is not None:
            return self.githost_factory(self)
        if self.settings.githost_remote:
            return RemoteGitHost(self.settings.githost_remote)
        return LocalGitHost(self.paths.repos_dir)

    def change_requests(self) -> ChangeRequests | None:
        """The git host's API for pull or merge requests (``githost.api``), or None."""
        if self.change_requests_factory is not None:
            return self.change_requests_factory(self)
        from paved.githost.change_requests import change_requests

        return change_requests(self.settings, self.env)

    def close(self) -> None:
        if self._catalog is not None:
            self._catalog.close()
            self._catalog = None
