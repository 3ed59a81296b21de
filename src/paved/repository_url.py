"""The rules about repository URLs, in one place.

A repository URL reaches paved as input: ``--remote``, ``githost.remote``, the platform's git
host, ``--set repository_url=...``, a settings file or a registration. Every part of paved that
turns one into a browse URL, checks one, or prints one asks this module.

:func:`browse_url` gives the repository's https URL for the catalog entry from the remote paved
pushes to: only an ``https://`` URL, an ``ssh://`` URL or git's ``user@host:path`` form with
plain path segments gives a URL, the ssh forms written as ``https://host/path``. Credentials are
never copied; anything else (a path, ``file://``, ``http://``, a query, a fragment, a URL over
:data:`LIMIT` characters) gives none, and the catalog entry then has no source location, so
Backstage derives it from where the entry is registered.
"""

from __future__ import annotations

import re

__all__ = ["LIMIT", "browse_url", "configured_git_host"]

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
