"""Git hosts: where a new service's repository is created and pushed.

The embedded default keeps bare repositories under the data directory. A configured remote
(``githost.remote`` with ``{name}``, or ``--remote URL``) points at an existing empty
repository on any host git can push to, with the user's own git credentials.
"""

from __future__ import annotations

import re
import string
import urllib.parse
from pathlib import Path
from typing import Protocol

from paved.errors import InputError, PavedError
from paved.gitcmd import create_bare_repository

__all__ = [
    "PATTERN_HINT",
    "GitHost",
    "LocalGitHost",
    "RemoteGitHost",
    "is_local_repository",
    "pattern_problem",
    "same_repository",
]

#: What to do about a bad ``githost.remote`` pattern.
PATTERN_HINT = "put {name} where the service name goes, as in git@git.example.com:team/{name}.git"


def pattern_problem(pattern: str) -> str | None:
    """Say what is wrong with a ``githost.remote`` pattern, or ``None`` when it is usable.

    A pattern holds ``{name}`` (at least once) and no other placeholder: ``{nam}``, ``{0}``,
    ``{name!r}`` or ``{name:>9}`` would fail or surprise only when a service is created.
    """
    try:
        fields = [
            (field, conversion, spec)
            for _, field, spec, conversion in string.Formatter().parse(pattern)
            if field is not None
        ]
    except ValueError:
        return "has an unmatched '{' or '}' (write a literal brace as '{{' or '}}')"
    for field, conversion, spec in fields:
        if (field, conversion, spec) != ("name", None, ""):
            shown = "{" + field + (f"!{conversion}" if conversion else "")
            shown += (f":{spec}" if spec else "") + "}"
            return f"has the placeholder {shown}; the only placeholder is {{name}}"
    if not fields:
        return "has no {name}: every new service would be pushed to the same repository"
    return None


#: A URL scheme as git reads one (``https://``, ``ssh://``, ``git://``, ``file://``).
_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*)://")
#: git's scp-like form, ``user@host:path``.
_SCP = re.compile(r"^[^/@:]+@[^/:]+:")


def is_local_repository(url: str) -> bool:
    """Whether ``url`` names a repository on this machine (a path or ``file://``).

    Nobody else in the organisation can reach such a repository, so the platform's catalog
    never records one.
    """
    found = _SCHEME.match(url)
    if found is not None:
        return found.group(1).lower() == "file"
    return _SCP.match(url) is None


def _key(url: str) -> str:
    """A repository URL in a form two spellings of the same repository share."""
    found = _SCHEME.match(url)
    if found is None and _SCP.match(url) is None:
        return str(Path(url).expanduser().resolve())
    if found is not None and found.group(1).lower() == "file":
        return str(Path(urllib.parse.unquote(urllib.parse.urlsplit(url).path)).resolve())
    return url.rstrip("/").removesuffix(".git")


def same_repository(one: str, other: str) -> bool:
    """Whether two repository URLs (or paths) name the same repository."""
    return _key(one) == _key(other)


class GitHost(Protocol):
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
        try:
            create_bare_repository(target)
        except OSError as exc:
            raise PavedError(
                f"repository {target} cannot be created ({exc.strerror or exc})",
                hint="check that paved's data folder is writable (or set PAVED_HOME to one "
                "that is), or push elsewhere with --remote URL",
            ) from exc


class RemoteGitHost:
    """Existing repositories at a URL pattern such as ``ssh://git@host/team/{name}.git``."""

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
