"""Git hosts: where a new service's repository is created and pushed.

The embedded default keeps bare repositories under the data directory. A configured remote
(``githost.remote`` with ``{name}``, or ``--remote URL``) points at an existing empty
repository on any host git can push to, with the user's own git credentials.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from typing import Protocol

from paved.errors import InputError
from paved.gitcmd import Git

__all__ = ["GitHost", "LocalGitHost", "RemoteGitHost"]


class GitHost(Protocol):
    #: True when paved creates repositories itself (otherwise they must exist, empty).
    creates_repositories: bool

    def url_for(self, name: str) -> str:
        """The URL the service ``name`` is pushed to."""
        ...

    def exists(self, name: str) -> bool | None:
        """Whether the repository exists; ``None`` when only the remote itself can tell."""
        ...

    def create(self, name: str) -> None:
        """Create the (empty) repository for ``name`` if it does not exist yet."""
        ...


class LocalGitHost:
    """Bare repositories under one folder: the embedded default."""

    creates_repositories = True

    def __init__(self, root: Path) -> None:
        self.root = root

    def path_for(self, name: str) -> Path:
        return self.root / f"{name}.git"

    def url_for(self, name: str) -> str:
        return self.path_for(name).as_uri()

    def exists(self, name: str) -> bool:
        return self.path_for(name).exists()

    def create(self, name: str) -> None:
        target = self.path_for(name)
        if target.exists():
            return
        self.root.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{name}-", dir=self.root))
        try:
            Git()("init", "--quiet", "--bare", "--initial-branch=main", str(staging))
            staging.rename(target)  # atomic: a reader sees no repository or a whole one
        finally:
            shutil.rmtree(staging, ignore_errors=True)


class RemoteGitHost:
    """Existing repositories at a URL pattern such as ``ssh://git@host/team/{name}.git``."""

    creates_repositories = False

    def __init__(self, pattern: str) -> None:
        if not pattern.strip():
            raise InputError("the git remote URL is empty")
        self.pattern = pattern

    def url_for(self, name: str) -> str:
        try:
            return self.pattern.format(name=name)
        except (KeyError, IndexError, ValueError) as exc:
            raise InputError(
                f"git remote pattern '{self.pattern}' is not valid ({exc})",
                hint="use {name} where the service name goes",
            ) from exc

    def exists(self, name: str) -> bool | None:
        return None

    def create(self, name: str) -> None:
        return None
