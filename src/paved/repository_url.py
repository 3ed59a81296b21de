"""The rules about repository URLs, in one place.

A repository URL reaches paved as input: ``--remote``, ``githost.remote``, the platform's git
host, ``--set repository_url=...``, a settings file or a registration. Every part of paved that
turns one into a browse URL, checks one, serves one or prints one asks this module, so the
rules agree: the same URL is never readable for one part and refused by the next.

- :func:`browse_url`: the https URL of the repository for its catalog entry, from the remote
  paved pushes to (ssh forms written as https, credentials dropped), or ``""``.
- :func:`backstage_problem`: why Backstage cannot read (and store) the URL, or ``None``.
- :func:`source_location`: the ``url:`` source location served for it, exactly when
  Backstage can read it.
- :func:`clone_problem`: why other members cannot clone the URL, or ``None``.
- :func:`has_credentials`, :func:`without_credentials` and :func:`shown_url`: a user or
  password in the URL is a secret: it is refused, dropped before the URL is kept, and never
  printed.

The shared rules: a space, a control character, an invisible format character or a backslash
(which Backstage's URL parser reads as ``/``) is refused; so are ``.`` and ``..`` segments,
also percent-encoded (``%2e``), a query or fragment, a port that is not a number from 0 to
65535 and an IPv6 bracket that does not close. One trailing slash and a ``.git`` suffix are
allowed and left out of the browse URL and the source location.
"""

from __future__ import annotations

import re
from urllib.parse import unquote, urlsplit

__all__ = [
    "LIMIT",
    "backstage_problem",
    "browse_url",
    "clone_problem",
    "configured_git_host",
    "has_credentials",
    "shown_url",
    "source_location",
    "without_credentials",
]

#: The longest repository URL the road's ``repository_url`` question takes.
LIMIT = 200

_HOST = r"(?P<host>[A-Za-z0-9](?:[-A-Za-z0-9.]*[A-Za-z0-9])?)"
_PATH = r"(?P<path>[-A-Za-z0-9_.~]+(?:/[-A-Za-z0-9_.~]+)*)"
_HTTPS = re.compile(rf"https://(?:[^/@?#\s\\]+@)?{_HOST}(?P<port>:[0-9]{{1,5}})?/{_PATH}/?")
_SSH = re.compile(rf"ssh://(?:[A-Za-z0-9._-]+@)?{_HOST}(?P<port>:[0-9]{{1,5}})?/{_PATH}/?")
_SCP = re.compile(rf"[A-Za-z0-9._-]+@{_HOST}:(?!/){_PATH}/?")

#: ``user@host:path``, the scp-like form git reads as ssh.
_SCP_FORM = re.compile(r"^[A-Za-z0-9._-]+@[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?:(?P<path>.+)$")
_SCHEME = re.compile(r"^(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*)://(?P<authority>[^/?#]*)")
_DRIVE_OR_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*):")
_REACHABLE = frozenset({"https", "http", "ssh", "git"})
#: Schemes whose user is a login name (the key or agent authenticates), not a secret.
_LOGIN_USER = frozenset({"ssh", "git+ssh", "ssh+git"})


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
    port = found.groupdict().get("port") or ""
    if port and int(port[1:]) > 65535:
        return ""
    port = port if https else ""
    url = f"https://{found.group('host').lower()}{port}/{path}"
    return url if len(url) <= LIMIT else ""


def configured_git_host(api: str, api_url: str) -> tuple[str, str] | None:
    """The settings' self-hosted GitHub or GitLab (``githost.api``, ``githost.api_url``) as
    (kind, host), or ``None`` when they name none (the public services need no entry)."""
    if api not in {"github", "gitlab"}:
        return None
    found = re.fullmatch(rf"https?://(?:[^/@?#\s\\]+@)?{_HOST}(?::[0-9]{{1,5}})?(?:/.*)?", api_url)
    if found is None:
        return None
    host = found.group("host").lower()
    return (api, host) if host not in {"api.github.com", "github.com", "gitlab.com"} else None


def _unprintable(url: str) -> bool:
    """A space, a control or format character, a line separator or a backslash."""
    return not url.isprintable() or " " in url or "\\" in url


def _dot_segment(path: str) -> bool:
    """A ``.`` or ``..`` segment in ``path``, also percent-encoded (``%2e``)."""
    return any(unquote(segment) in {".", ".."} for segment in path.split("/"))


def _parse_problem(url: str) -> str | None:
    """Why ``url`` (``SCHEME://...``) does not parse: a bracket that does not close, a port
    that is not a number from 0 to 65535; else ``None``."""
    try:
        urlsplit(url).port  # noqa: B018 - a port that is not a number raises here
    except ValueError:
        return "is not a URL (a port that is not a number or a bracket that does not close)"
    return None


def has_credentials(url: str) -> bool:
    """Whether ``url`` carries a user or password before its host that is a secret.

    Any ``USER@`` or ``USER:PASSWORD@`` of an http(s), git or other URL is one (a user name
    may be a token); the user of an ssh URL is the login name and only a password is one.
    git's ``user@host:path`` form holds a login name only.

    >>> has_credentials("https://oauth2:tok@gitlab.com/a/b.git")
    True
    >>> has_credentials("ssh://git@github.com/a/b.git"), has_credentials("git@github.com:a/b")
    (False, False)
    """
    found = _SCHEME.match(url)
    if found is None or "@" not in found.group("authority"):
        return False
    userinfo = found.group("authority").rpartition("@")[0]
    return found.group("scheme").lower() not in _LOGIN_USER or ":" in userinfo


def without_credentials(url: str) -> str:
    """``url`` with its secret user or password (:func:`has_credentials`) left out, as it may
    be kept or printed: git reads credentials from its credential helper.

    >>> without_credentials("https://u:tok@git.example.com/a/b.git")
    'https://git.example.com/a/b.git'
    >>> without_credentials("ssh://git:pw@git.example.com/a/b.git")
    'ssh://git@git.example.com/a/b.git'
    """
    if not has_credentials(url):
        return url
    found = _SCHEME.match(url)
    assert found is not None  # has_credentials found a scheme
    userinfo, _, host = found.group("authority").rpartition("@")
    login = _login_name(found.group("scheme"), userinfo)
    return f"{found.group('scheme')}://{login + '@' if login else ''}{host}{url[found.end() :]}"


def _login_name(scheme: str, userinfo: str) -> str:
    """The login name kept of a URL's ``userinfo`` (ssh's user, never a secret), or ``""``: none
    for other schemes, and none when the user holds an ``@`` itself (the split is ambiguous, so
    the whole of it may be the secret)."""
    if scheme.lower() not in _LOGIN_USER:
        return ""
    user = userinfo.partition(":")[0]
    return "" if "@" in user else user


def shown_url(url: str) -> str:
    """``url`` as it may be printed: a secret user or password replaced by ``***``, what is
    not printable escaped (no control character reaches a terminal), cut to 300 characters.

    >>> shown_url("https://u:tok@git.example.com/a\\n")
    'https://***@git.example.com/a\\\\n'
    """
    found = _SCHEME.match(url)
    if found is not None and has_credentials(url):
        userinfo, _, host = found.group("authority").rpartition("@")
        login = _login_name(found.group("scheme"), userinfo)
        kept = f"{login}:" if login else ""
        url = f"{found.group('scheme')}://{kept}***@{host}{url[found.end() :]}"
    return "".join(c if c.isprintable() else ascii(c)[1:-1] for c in url)[:300]


def backstage_problem(url: str) -> str | None:
    """Why Backstage cannot be given ``url`` as a repository to read and store, or ``None``.

    The rule: an ``http://`` or ``https://`` URL of a host, with no user or password, query,
    fragment, ``.``/``..`` segment (also ``%2e``), empty segment, space, control character or
    backslash, a port that is a number; one trailing slash and ``.git`` are fine.

    >>> backstage_problem("https://git.example.com/team/orders.git/") is None
    True
    >>> backstage_problem("https://git.example.com/team/%2e%2e/orders")
    'holds . or .. segments'
    """
    if not url.lower().startswith(("http://", "https://")) or _unprintable(url):
        return "is not an http(s) URL Backstage can read"
    found = _SCHEME.match(url)
    if found is not None and "@" in found.group("authority"):
        return "holds a user or password"
    if "?" in url or "#" in url:
        return "holds a query or fragment"
    if _parse_problem(url) is not None:
        return "is not an http(s) URL Backstage can read"
    parts = urlsplit(url)
    if not parts.hostname:
        return "names no host"
    if _dot_segment(parts.path):
        return "holds . or .. segments"
    segments = parts.path.removesuffix("/").split("/")[1:]
    if not segments:
        return "names no repository path"
    if "" in segments:
        return "holds an empty segment"
    return None


def _base(url: str) -> str:
    """``url`` without one trailing slash and ``.git``."""
    return url.removesuffix("/").removesuffix(".git")


def source_location(url: str) -> str | None:
    """``url:BASE/`` (Backstage's ``backstage.io/source-location``) for a repository URL
    Backstage can read (:func:`backstage_problem`), else ``None``; ``BASE`` is the URL without
    a trailing slash or ``.git``.

    >>> source_location("https://git.example.com/team/orders.git")
    'url:https://git.example.com/team/orders/'
    >>> source_location("https://u:tok@git.example.com/team/orders.git") is None
    True
    """
    if backstage_problem(url) is not None:
        return None
    return f"url:{_base(url)}/"


def clone_problem(url: str) -> str | None:
    """Why other members cannot clone ``url``, or ``None`` for a URL of a git host.

    A path (``/srv/x.git``, ``~/x``, ``./x``, anything without a scheme, ``C:\\x``) or a
    ``file:`` URL names a folder on one machine; https, http, ssh and git URLs of a host and
    ``user@host:path`` name a host everyone can reach, unless they carry credentials
    (:func:`has_credentials`), a space, a control character or a backslash, a query or
    fragment, ``.``/``..`` segments, or a port that is not a number. The answer never repeats
    a credential.

    >>> clone_problem("git@github.com:acme/payments.git") is None
    True
    >>> clone_problem("ssh://git@git.example.com:2222/acme/payments.git") is None
    True
    """
    shown = shown_url(url)
    unprintable = f"repository '{shown}' holds a space, a control character or a backslash"
    scp = _SCP_FORM.match(url)
    if scp is not None:
        if _unprintable(url):
            return unprintable
        if _dot_segment(scp.group("path")) or "?" in url or "#" in url:
            return f"repository '{shown}' holds . or .. segments, a query or a fragment"
        return None
    scheme = _DRIVE_OR_SCHEME.match(url)
    if (
        url.startswith(("/", "~", "."))
        or scheme is None
        or len(scheme.group(1)) == 1  # a drive letter: C:\repos
        or scheme.group(1).lower() == "file"
    ):
        return (
            f"repository '{shown}' is a local path other members cannot reach: set "
            "githost.remote in the platform settings (paved platform serve --settings) so new "
            "services go to the organisation's git host"
        )
    if _unprintable(url):
        return unprintable
    if has_credentials(url):
        return (
            "the repository URL carries credentials (USER@ or USER:PASSWORD@ before the host): "
            "register it without them; git reads them from its credential helper"
        )
    found = _SCHEME.match(url)
    if (
        scheme.group(1).lower() not in _REACHABLE
        or found is None
        or not found.group("authority").rpartition("@")[2]
        or _parse_problem(url) is not None
    ):
        return (
            f"repository '{shown}' is not the URL of a git host: use https://HOST/PATH, "
            "ssh://HOST/PATH, git://HOST/PATH or git@HOST:PATH"
        )
    if "?" in url or "#" in url or _dot_segment(urlsplit(url).path):
        return f"repository '{shown}' holds . or .. segments, a query or a fragment"
    return None
