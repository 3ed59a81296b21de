"""Change requests on a git host's API: a GitHub pull request or a GitLab merge request.

``paved fleet update`` pushes a branch per service; where the organisation names a hosting API
(``githost.api``), it then asks for a change request for that branch through
:class:`ChangeRequests`. Without one (the embedded bare repositories, or any host paved has
no API for) the pushed branch is the request, and :func:`change_requests` returns ``None``.

The repository comes from the catalog, so it is input: only ``https://HOST/OWNER/REPO(.git)``,
``ssh://[USER@]HOST/OWNER/REPO(.git)`` and ``USER@HOST:OWNER/REPO(.git)`` on the API's own host
are taken (GitLab's groups may nest: ``HOST/GROUP/SUB/PROJECT``). ``open`` is idempotent: an
open request for the branch is returned, never a second one made. The token comes from the
environment only and appears in no message. httpx is imported where a request is sent, so
importing this module costs nothing (``paved --help`` stays fast).
"""

from __future__ import annotations

import dataclasses
import re
import time
import urllib.parse
from collections.abc import Callable, Collection, Mapping
from typing import TYPE_CHECKING, Any, ClassVar, Literal, Protocol, Self

from paved import __version__
from paved.errors import AuthError, InputError, PavedError, RemoteError
from paved.text import check_text, escaped, text_problem

if TYPE_CHECKING:
    import httpx

__all__ = [
    "API_NAMES",
    "DEFAULT_API_URLS",
    "TOKEN_VARIABLES",
    "ChangeRequest",
    "ChangeRequests",
    "GitHubRequests",
    "GitLabRequests",
    "HostingSettings",
    "RequestState",
    "api_url_problem",
    "change_requests",
    "redacted",
    "repository_path",
]

#: The hosting APIs ``githost.api`` may name.
API_NAMES = ("github", "gitlab")

#: The API of the public service, used when ``githost.api_url`` is empty.
DEFAULT_API_URLS: Mapping[str, str] = {
    "github": "https://api.github.com",
    "gitlab": "https://gitlab.com/api/v4",
}

#: Where the token is read from, first found wins (an empty variable counts as unset).
TOKEN_VARIABLES: Mapping[str, tuple[str, ...]] = {
    "github": ("PAVED_GITHOST_TOKEN", "GITHUB_TOKEN"),
    "gitlab": ("PAVED_GITHOST_TOKEN", "GITLAB_TOKEN"),
}

RequestState = Literal["open", "closed", "merged"]


@dataclasses.dataclass(frozen=True)
class ChangeRequest:
    """A pull request (GitHub) or merge request (GitLab), as a person finds it."""

    #: The page a person opens (``html_url`` on GitHub, ``web_url`` on GitLab).
    url: str
    #: The number people say, ``#12`` or ``!12`` (GitLab's per-project ``iid``).
    number: int
    state: RequestState


class ChangeRequests(Protocol):
    """Opening and finding the change request for a pushed branch."""

    def open(self, repository: str, branch: str, base: str, title: str, body: str) -> ChangeRequest:
        """The open request from ``branch`` into ``base``: the one already open, else a new
        one with ``title`` and ``body`` (Markdown)."""
        ...

    def find(self, repository: str, branch: str) -> ChangeRequest | None:
        """The open request from ``branch``, or ``None``."""
        ...

    def close(self) -> None:
        """Close the connections."""
        ...


class HostingSettings(Protocol):
    """What :func:`change_requests` reads from the settings (``paved.config.Settings``)."""

    @property
    def githost_api(self) -> str: ...

    @property
    def githost_api_url(self) -> str: ...


# -- input rules -------------------------------------------------------------------------

_LOOPBACK = frozenset({"127.0.0.1", "localhost", "[::1]", "::1"})
_HOST = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?")


def api_url_problem(url: str, *, loopback_http: bool = False) -> str | None:
    """Say what is wrong with a hosting API's base URL, or ``None`` when it is usable.

    It is ``https://HOST[:PORT][/PATH]`` with no user, query or fragment: the token goes to it.
    ``loopback_http`` also lets ``http://`` through to this machine (tests, a local mock).
    """
    if (problem := text_problem(url)) is not None:
        return problem
    if url != url.strip() or " " in url:
        return "has white space in it"
    try:
        parts = urllib.parse.urlsplit(url)
        port = parts.port
    except ValueError as exc:
        return f"is not a URL ({exc})"
    host = parts.hostname or ""
    local_http = loopback_http and parts.scheme == "http" and host in _LOOPBACK
    if parts.scheme != "https" and not local_http:
        return "is not an https:// URL"
    if not host or (not _HOST.fullmatch(host) and host not in _LOOPBACK):
        return "names no host"
    if parts.username is not None or parts.password is not None:
        return "holds a user name or password (the token comes from the environment)"
    if parts.query or parts.fragment or url.endswith(("?", "#")):
        return "has a query or fragment"
    if port == 0:
        return "has port 0"
    return None


#: A path segment of a repository on GitHub or GitLab.
_SEGMENT = re.compile(r"[A-Za-z0-9_.-]+")
_SCHEME_URL = re.compile(r"(https|ssh)://(?:([^/@]+)@)?([^/@:]+)(?::(\d+))?/(.+)")
_SCP_URL = re.compile(r"[A-Za-z0-9._-]+@([^/@:]+):(?!/)(.+)")
#: The user of an https URL, or a password anywhere: hidden in messages (it may be a token).
_USERINFO = re.compile(r"^(https://)[^/@]+@|^([A-Za-z]+://)[^/@:]*:[^/@]*@", re.IGNORECASE)
_REPOSITORY_HINT = (
    "the catalog holds a URL such as https://HOST/OWNER/REPO.git or git@HOST:OWNER/REPO.git"
)


def redacted(url: str) -> str:
    """``url`` as a message may show it: escaped, with the user of an https URL and any
    password replaced by ``***`` (either may be a token)."""
    return escaped(_USERINFO.sub(lambda m: f"{m.group(1) or m.group(2)}***@", url))


def repository_path(repository: str, *, nested: bool = False) -> tuple[str, str]:
    """The host and the ``OWNER/REPO`` path of a repository URL, checked as input.

    ``nested`` lets the path have more than two segments (GitLab's subgroups). Anything else
    (another scheme, a user or password in an https URL, a query, percent-encoding, ``..``)
    is an :class:`InputError`.
    """
    shown = redacted(repository)

    def refuse(reason: str) -> InputError:
        return InputError(f"repository '{shown}' {reason}", hint=_REPOSITORY_HINT)

    if text_problem(repository) is not None or repository != repository.strip():
        raise refuse("holds white space or control characters")
    found = _SCHEME_URL.fullmatch(repository)
    if found is not None:
        scheme, user, host, _port, path = found.groups()
        if user is not None and (scheme == "https" or ":" in user):
            raise refuse("holds a user name or password: the token comes from the environment")
    elif (scp := _SCP_URL.fullmatch(repository)) is not None:
        host, path = scp.groups()
    else:
        raise refuse("is not an https://, ssh:// or USER@HOST:PATH URL of a git host")
    if not _HOST.fullmatch(host):
        raise refuse(f"names the host '{escaped(host)}', which is no host name")
    path = path.removesuffix("/").removesuffix(".git")
    segments = path.split("/")
    if any(not _SEGMENT.fullmatch(s) or s in {".", ".."} for s in segments):
        raise refuse("has a path paved does not take (letters, digits, '.', '_', '-' only)")
    if len(segments) < 2 or (len(segments) > 2 and not nested):
        want = "GROUP/PROJECT" if nested else "OWNER/REPO"
        raise refuse(f"does not end in {want}")
    return host.lower(), "/".join(segments)


#: A branch name: what git allows, narrowed to what a person would type.
_BRANCH = re.compile(r"[A-Za-z0-9._-]+(?:/[A-Za-z0-9._-]+)*")


def _check_branch(branch: str, what: str) -> None:
    if (
        not _BRANCH.fullmatch(branch)
        or branch.startswith(("-", "."))
        or ".." in branch
        or branch.endswith((".lock", "."))
        or len(branch) > 255
    ):
        raise InputError(
            f"{what} '{escaped(branch)}' is not a branch name paved opens requests for",
            hint="use letters, digits, '.', '_', '-' and '/', as in paved/update-road-1.4.0",
        )


#: Characters a body (Markdown, several lines) may not hold: the free-text rule, less
#: newline and tab.
_BODY_REFUSED = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\u2028\u2029]")


def _check_body(body: str, limit: int) -> None:
    found = _BODY_REFUSED.search(body)
    if found is not None:
        raise InputError(
            f"the request's body contains the control character U+{ord(found.group()):04X}",
            hint="write Markdown lines without control characters",
        )
    if len(body) > limit:
        raise InputError(f"the request's body is longer than {limit} characters ({len(body)})")


def _answer_text(response: httpx.Response) -> str:
    """What the host said, as one visible line (its ``message`` and ``errors``)."""
    try:
        data = response.json()
    except ValueError:
        return response.reason_phrase
    parts: list[str] = []

    def collect(value: Any) -> None:
        if isinstance(value, str):
            parts.append(value)
        elif isinstance(value, list):
            for item in value:
                collect(item)
        elif isinstance(value, dict):
            for key in ("message", "error", "code", "field"):
                if key in value:
                    collect(value[key])
                    break

    if isinstance(data, dict):
        for key in ("message", "error", "errors"):
            collect(data.get(key))
    text = "; ".join(p for p in parts if p) or response.reason_phrase
    return escaped(text)[:300]


# -- the adapters --------------------------------------------------------------------------

#: What a token is made of: printable ASCII without white space.
_TOKEN = re.compile(r"[\x21-\x7e]+")


class _HostingAPI:
    """The HTTP plumbing both adapters share: one client, bounded retries of reads, errors
    mapped onto paved's."""

    #: The host's name in messages, and what a request is called there.
    provider: ClassVar[str]
    noun: ClassVar[str]
    #: Where the token comes from, for hints.
    auth_hint: ClassVar[str]
    body_limit: ClassVar[int]
    nested: ClassVar[bool] = False

    def __init__(
        self,
        api_url: str,
        token: str,
        *,
        hosts: Collection[str] | None = None,
        transport: httpx.BaseTransport | None = None,
        timeout: float = 30.0,
        retries: int = 2,
        backoff: float = 0.5,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        import httpx

        if (problem := api_url_problem(api_url, loopback_http=True)) is not None:
            raise InputError(
                f"{self.provider} API URL '{redacted(api_url)}' {problem}",
                hint="set githost.api_url to the API's https:// URL",
            )
        if not token:
            raise AuthError(f"no token for the {self.provider} API", hint=self.auth_hint)
        if not _TOKEN.fullmatch(token):  # it would reach a header; the token is never shown
            raise AuthError(
                f"the token for the {self.provider} API holds white space or control "
                "characters, which no token has",
                hint=self.auth_hint,
            )
        self.api_url = api_url.rstrip("/")
        api_host = (urllib.parse.urlsplit(self.api_url).hostname or "").lower()
        #: The hosts whose repositories this API serves: the API's own, and the one without a
        #: leading ``api.`` (api.github.com serves github.com).
        self.hosts = frozenset(
            h.lower() for h in (hosts or {api_host, api_host.removeprefix("api.")})
        )
        self._retries = retries
        self._backoff = backoff
        self._sleep = sleep
        self._client = httpx.Client(
            base_url=self.api_url,
            headers={"User-Agent": f"paved/{__version__}", **self._headers(token)},
            timeout=httpx.Timeout(timeout, connect=min(timeout, 10.0)),
            transport=transport,
            follow_redirects=False,
        )

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.api_url!r})"

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._client.close()

    def _headers(self, token: str) -> dict[str, str]:
        raise NotImplementedError

    def _path(self, repository: str) -> str:
        host, path = repository_path(repository, nested=self.nested)
        if host not in self.hosts:
            raise InputError(
                f"repository '{redacted(repository)}' is on {host}, not on the {self.provider} "
                f"at {self.api_url}",
                hint=f'set githost.api_url to {host}\'s API, or githost.api = "" to push '
                "branches without opening requests",
            )
        return path

    def _call(
        self,
        method: str,
        path: str,
        *,
        repository: str,
        action: str,
        idempotent: bool,
        **kwargs: Any,
    ) -> httpx.Response:
        """Send one request; retry a read on a network error or 5xx; map a failure."""
        import httpx

        attempts = self._retries + 1 if idempotent else 1
        for attempt in range(attempts):
            last = attempt == attempts - 1
            try:
                response = self._client.request(method, path, **kwargs)
            except httpx.HTTPError as exc:  # the message names no header, so no token
                if last:
                    again = "" if idempotent else " (an open request is found, never made twice)"
                    raise RemoteError(
                        f"{self.provider} at {self.api_url} is unreachable while trying to "
                        f"{action} for {repository} ({type(exc).__name__})",
                        hint=f"check the network and githost.api_url, then run it again{again}",
                    ) from None
            else:
                if response.status_code < 500 or last:
                    return response
            self._sleep(self._backoff * 2**attempt)
        raise AssertionError("unreachable")  # pragma: no cover

    def _failure(self, response: httpx.Response, *, repository: str, action: str) -> PavedError:
        """The paved error for a refused or failed request."""
        status = response.status_code
        said = _answer_text(response)
        where = f"{self.provider} at {self.api_url}"
        limited = response.headers.get("x-ratelimit-remaining") == "0"
        if status == 429 or (status == 403 and limited):
            return RemoteError(
                f"{where} is rate-limiting the token ({said})",
                hint="wait and run it again: open requests are found, never made twice",
            )
        if status == 401:
            return AuthError(f"{where} refused the token (HTTP 401: {said})", hint=self.auth_hint)
        if status == 403:
            return AuthError(
                f"{where} refused to {action} for {repository} (HTTP 403: {said})",
                hint=f"the token needs write access to the repository's {self.noun}s",
            )
        if status == 404:
            return InputError(
                f"repository {repository} is not on {where}, or the token cannot see it",
                hint="check the service's repository in the catalog and the token's access",
            )
        if 400 <= status < 500:
            return InputError(
                f"{where} refused to {action} for {repository} (HTTP {status}: {said})"
            )
        if 300 <= status < 400:
            return RemoteError(
                f"{where} answered with a redirect (HTTP {status})",
                hint="set githost.api_url to the API's own URL",
            )
        return RemoteError(
            f"{where} failed to {action} for {repository} (HTTP {status}: {said})",
            hint="try again later; open requests are found, never made twice",
        )

    def _json(self, response: httpx.Response, *, repository: str) -> Any:
        try:
            return response.json()
        except ValueError:
            raise self._unreadable(repository, "an answer that is not JSON") from None

    def _unreadable(self, repository: str, what: str) -> RemoteError:
        return RemoteError(
            f"{self.provider} at {self.api_url} answered for {repository} with {what}",
            hint="check that githost.api_url is the API's URL (and githost.api its kind)",
        )

    def _request(
        self, item: Any, *, repository: str, url_key: str, number_key: str
    ) -> ChangeRequest:
        """A change request the host answered with, checked like any input."""
        if not isinstance(item, dict):
            raise self._unreadable(repository, f"a {self.noun} that is not an object")
        url, number, state = item.get(url_key), item.get(number_key), self._state(item)
        if not isinstance(number, int) or isinstance(number, bool) or number < 1:
            raise self._unreadable(repository, f"a {self.noun} without a number")
        if (
            not isinstance(url, str)
            or not url.startswith(("https://", "http://"))
            or text_problem(url) is not None
        ):
            raise self._unreadable(repository, f"a {self.noun} without a web address")
        if state is None:
            raise self._unreadable(repository, f"a {self.noun} in a state paved does not know")
        return ChangeRequest(url=url, number=number, state=state)

    def _state(self, item: dict[str, Any]) -> RequestState | None:
        raise NotImplementedError

    def _checked_open(self, repository: str, branch: str, base: str, title: str, body: str) -> None:
        self._path(repository)
        _check_branch(branch, "branch")
        _check_branch(base, "base branch")
        if branch == base:
            raise InputError(f"branch '{branch}' cannot be its own base")
        check_text(title, what=f"the {self.noun}'s title", limit=255)
        if not title.strip():
            raise InputError(f"the {self.noun}'s title is empty")
        _check_body(body, self.body_limit)

    def _again(self, repository: str, branch: str) -> ChangeRequest:
        """After "already exists": the request another run opened meanwhile."""
        found = self.find(repository, branch)
        if found is None:
            raise RemoteError(
                f"{self.provider} at {self.api_url} says a {self.noun} from {branch} exists "
                f"in {repository}, but none is open",
                hint="look at the repository's requests, then run it again",
            )
        return found

    def find(self, repository: str, branch: str) -> ChangeRequest | None:
        raise NotImplementedError


class GitHubRequests(_HostingAPI):
    """Pull requests through GitHub's REST API (github.com, or GitHub Enterprise Server's
    ``https://HOST/api/v3``)."""

    provider = "GitHub"
    noun = "pull request"
    auth_hint = "set GITHUB_TOKEN (or PAVED_GITHOST_TOKEN) to a token that may open pull requests"
    body_limit = 65536  # GitHub refuses a longer pull request body

    def _headers(self, token: str) -> dict[str, str]:
        return {
            "Accept": "application/vnd.github+json",
            "X-GitHub-Api-Version": "2022-11-28",
            "Authorization": f"Bearer {token}",
        }

    def _state(self, item: dict[str, Any]) -> RequestState | None:
        state = item.get("state")
        if state == "open":
            return "open"
        if state == "closed":
            return "merged" if item.get("merged_at") else "closed"
        return None

    def find(self, repository: str, branch: str) -> ChangeRequest | None:
        path = self._path(repository)
        _check_branch(branch, "branch")
        owner, repo = path.split("/")
        action = f"list the pull requests from {branch}"
        response = self._call(
            "GET",
            f"/repos/{owner}/{repo}/pulls",
            params={"head": f"{owner}:{branch}", "state": "open"},
            repository=path,
            action=action,
            idempotent=True,
        )
        if not response.is_success:
            raise self._failure(response, repository=path, action=action)
        items = self._json(response, repository=path)
        if not isinstance(items, list):
            raise self._unreadable(path, "a list of pull requests that is not a list")
        for item in items:
            # GitHub ignores a head filter it cannot read and lists every pull request:
            # only one from this branch of this owner is the one.
            head = item.get("head") if isinstance(item, dict) else None
            if (
                isinstance(head, dict)
                and head.get("ref") == branch
                and str(head.get("label", "")).lower() == f"{owner}:{branch}".lower()
            ):
                return self._request(item, repository=path, url_key="html_url", number_key="number")
        return None

    def open(self, repository: str, branch: str, base: str, title: str, body: str) -> ChangeRequest:
        self._checked_open(repository, branch, base, title, body)
        if (found := self.find(repository, branch)) is not None:
            return found
        owner, repo = self._path(repository).split("/")
        action = f"open a pull request from {branch}"
        response = self._call(
            "POST",
            f"/repos/{owner}/{repo}/pulls",
            json={"title": title, "head": branch, "base": base, "body": body},
            repository=f"{owner}/{repo}",
            action=action,
            idempotent=False,
        )
        if response.status_code == 422 and "already exists" in _answer_text(response).lower():
            return self._again(repository, branch)
        if not response.is_success:
            raise self._failure(response, repository=f"{owner}/{repo}", action=action)
        item = self._json(response, repository=f"{owner}/{repo}")
        return self._request(
            item, repository=f"{owner}/{repo}", url_key="html_url", number_key="number"
        )


_GITLAB_STATES: Mapping[str, RequestState] = {
    "opened": "open",
    "locked": "open",
    "closed": "closed",
    "merged": "merged",
}


class GitLabRequests(_HostingAPI):
    """Merge requests through GitLab's REST API v4 (gitlab.com or ``https://HOST/api/v4``)."""

    provider = "GitLab"
    noun = "merge request"
    auth_hint = (
        "set GITLAB_TOKEN (or PAVED_GITHOST_TOKEN) to a token with the api scope on the project"
    )
    body_limit = 1_048_576  # GitLab's limit for a description
    nested = True

    def _headers(self, token: str) -> dict[str, str]:
        return {"Accept": "application/json", "PRIVATE-TOKEN": token}

    def _state(self, item: dict[str, Any]) -> RequestState | None:
        # "locked" is an open merge request while GitLab merges it.
        return _GITLAB_STATES.get(str(item.get("state")))

    @staticmethod
    def _project(path: str) -> str:
        """The project's id in an API path: its path, URL-encoded (``group%2Fproject``)."""
        return urllib.parse.quote(path, safe="")

    def find(self, repository: str, branch: str) -> ChangeRequest | None:
        path = self._path(repository)
        _check_branch(branch, "branch")
        action = f"list the merge requests from {branch}"
        response = self._call(
            "GET",
            f"/projects/{self._project(path)}/merge_requests",
            params={"source_branch": branch, "state": "opened"},
            repository=path,
            action=action,
            idempotent=True,
        )
        if not response.is_success:
            raise self._failure(response, repository=path, action=action)
        items = self._json(response, repository=path)
        if not isinstance(items, list):
            raise self._unreadable(path, "a list of merge requests that is not a list")
        for item in items:
            if isinstance(item, dict) and item.get("source_branch") == branch:
                return self._request(item, repository=path, url_key="web_url", number_key="iid")
        return None

    def open(self, repository: str, branch: str, base: str, title: str, body: str) -> ChangeRequest:
        self._checked_open(repository, branch, base, title, body)
        if (found := self.find(repository, branch)) is not None:
            return found
        path = self._path(repository)
        action = f"open a merge request from {branch}"
        response = self._call(
            "POST",
            f"/projects/{self._project(path)}/merge_requests",
            json={
                "source_branch": branch,
                "target_branch": base,
                "title": title,
                "description": body,
            },
            repository=path,
            action=action,
            idempotent=False,
        )
        if (
            response.status_code in (409, 422)
            and "already exists" in _answer_text(response).lower()
        ):
            return self._again(repository, branch)
        if not response.is_success:
            raise self._failure(response, repository=path, action=action)
        item = self._json(response, repository=path)
        return self._request(item, repository=path, url_key="web_url", number_key="iid")


_ADAPTERS: Mapping[str, type[GitHubRequests] | type[GitLabRequests]] = {
    "github": GitHubRequests,
    "gitlab": GitLabRequests,
}


def change_requests(settings: HostingSettings, env: Mapping[str, str]) -> ChangeRequests | None:
    """The hosting API the settings name (``githost.api``), or ``None`` when they name none.

    The token is read from ``env`` (``PAVED_GITHOST_TOKEN``, else ``GITHUB_TOKEN`` or
    ``GITLAB_TOKEN``); without one this is an :class:`AuthError`, raised before anything is
    pushed.
    """
    api = settings.githost_api
    if not api:
        return None
    adapter = _ADAPTERS.get(api)
    if adapter is None:
        raise InputError(
            f"githost.api is '{escaped(api)}', which paved has no adapter for",
            hint='set it to github, gitlab, or "" (push branches only)',
        )
    url = settings.githost_api_url or DEFAULT_API_URLS[api]
    names = TOKEN_VARIABLES[api]
    found = next(((name, env[name]) for name in names if env.get(name)), None)
    if found is None:
        raise AuthError(
            f"githost.api is {api}, and no token is set for the {adapter.provider} API at {url}",
            hint=adapter.auth_hint,
        )
    name, token = found
    if not _TOKEN.fullmatch(token):
        raise AuthError(  # the token itself is never shown
            f"${name} holds white space or control characters, which no token has",
            hint=adapter.auth_hint,
        )
    return adapter(url, token)
