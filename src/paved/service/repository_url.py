"""The repository's https URL for the catalog entry, from the remote paved pushes to.

The road layer asks ``repository_url`` (the URL Backstage links to and reads the source from)
and ``git_host`` (a self-hosted GitHub or GitLab server whose repositories get the CI slug
annotation); paved fills both in. The remote is input (``--remote``, ``githost.remote`` or the
platform's git host): only an ``https://`` URL, an ``ssh://`` URL or git's ``user@host:path``
form with plain path segments gives a URL, the ssh forms written as ``https://host/path``.
Credentials are never copied; anything else (a path, ``file://``, ``http://``, a query, a
fragment, a URL over :data:`LIMIT` characters) gives none, and the catalog entry then has no
source location, so Backstage derives it from where the entry is registered.
"""

from __future__ import annotations

import re
from typing import Any

__all__ = ["LIMIT", "browse_url", "configured_git_host", "repository_answers"]

#: The longest repository URL the road's ``repository_url`` question takes.
LIMIT = 200

_HOST = r"(?P<host>[A-Za-z0-9](?:[-A-Za-z0-9.]*[A-Za-z0-9])?)"
_PATH = r"(?P<path>[-A-Za-z0-9_.~]+(?:/[-A-Za-z0-9_.~]+)*)"
_HTTPS = re.compile(rf"https://(?:[^/@?#\s]+@)?{_HOST}(?P<port>:[0-9]{{1,5}})?/{_PATH}/?")
_SSH = re.compile(rf"ssh://(?:[A-Za-z0-9._-]+@)?{_HOST}(?::[0-9]{{1,5}})?/{_PATH}/?")
_SCP = re.compile(rf"[A-Za-z0-9._-]+@{_HOST}:(?!/){_PATH}/?")


def browse_url(remote: str) -> str:
    """The https URL of the repository at ``remote``, or ``""`` when it has none.

    >>> browse_url("git@github.com:acme/payments.git")
    'https://github.com/acme/payments'
    >>> browse_url("https://token@gitlab.com/shop/team/payments.git")
    'https://gitlab.com/shop/team/payments'
    >>> browse_url("/srv/git/payments.git")
    ''
    """
    https = _HTTPS.fullmatch(remote)
    found = https or _SSH.fullmatch(remote) or _SCP.fullmatch(remote)
    if found is None:
        return ""
    path = found.group("path").removesuffix(".git")
    segments = path.split("/")
    if any(segment in {"", ".", ".."} for segment in segments) or len(segments) < 2:
        return ""
    port = (https.group("port") or "") if https else ""
    url = f"https://{found.group('host').lower()}{port}/{path}"
    return url if len(url) <= LIMIT else ""


def repository_answers(
    questions: set[str],
    repository: str,
    ci_provider: Any,
    git_host: tuple[str, str] | None,
) -> dict[str, str]:
    """The answers paved fills in for the road questions among ``questions``.

    ``git_host`` is the settings' hosting API (``githost.api`` and the host of
    ``githost.api_url``): its host is the road's ``git_host`` when the service's CI runs on
    the same kind of host (``ci_provider``), so a self-hosted GitHub or GitLab gets the CI slug.
    """
    answers: dict[str, str] = {}
    if "repository_url" in questions:
        answers["repository_url"] = browse_url(repository)
    if "git_host" in questions and git_host is not None and git_host[0] == ci_provider:
        answers["git_host"] = git_host[1]
    return answers


def configured_git_host(api: str, api_url: str) -> tuple[str, str] | None:
    """The settings' self-hosted GitHub or GitLab (``githost.api``, ``githost.api_url``) as
    (kind, host), or ``None`` when they name none (the public services need no entry)."""
    if api not in {"github", "gitlab"}:
        return None
    found = re.fullmatch(rf"https?://(?:[^/@?#\s]+@)?{_HOST}(?::[0-9]{{1,5}})?(?:/.*)?", api_url)
    if found is None:
        return None
    host = found.group("host").lower()
    return (api, host) if host not in {"api.github.com", "github.com", "gitlab.com"} else None
