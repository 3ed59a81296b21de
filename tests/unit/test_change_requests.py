"""Change requests: repository URLs as input, the factory, and each adapter's rules over
``httpx.MockTransport`` (idempotence, error mapping, retries, the token kept out of sight).

What the requests look like on the wire is checked in ``tests/contract``.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from paved.config import Settings
from paved.errors import AuthError, InputError, PavedError, RemoteError
from paved.githost.change_requests import (
    ChangeRequest,
    GitHubRequests,
    GitLabRequests,
    api_url_problem,
    change_requests,
    repository_path,
)

TOKEN = "ghp_unittesttoken0123456789abcdef"
REPO = "https://github.com/acme/billing.git"
BRANCH = "paved/update-road-1.4.0"


def _pull(number: int = 7, *, ref: str = BRANCH, state: str = "open", merged: bool = False) -> Any:
    return {
        "number": number,
        "html_url": f"https://github.com/acme/billing/pull/{number}",
        "state": state,
        "merged_at": "2026-01-01T00:00:00Z" if merged else None,
        "head": {"ref": ref, "label": f"acme:{ref}"},
    }


Handler = Callable[[httpx.Request], httpx.Response]


class Script:
    """Answers requests in order; records them. Every answer must be used."""

    def __init__(self, *answers: httpx.Response | Exception) -> None:
        self.answers = list(answers)
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        answer = self.answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer


def _github(script: Script, **kwargs: Any) -> GitHubRequests:
    sleeps: list[float] = []
    kwargs.setdefault("sleep", sleeps.append)
    return GitHubRequests(
        "https://api.github.com", TOKEN, transport=httpx.MockTransport(script), **kwargs
    )


def _json(status: int, data: Any, **headers: str) -> httpx.Response:
    return httpx.Response(status, json=data, headers=headers)


# -- repository URLs ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "nested", "expected"),
    [
        ("https://github.com/acme/billing.git", False, ("github.com", "acme/billing")),
        ("https://github.com/acme/billing", False, ("github.com", "acme/billing")),
        ("https://GitHub.com/acme/billing/", False, ("github.com", "acme/billing")),
        ("git@github.com:acme/billing.git", False, ("github.com", "acme/billing")),
        ("ssh://git@github.com/acme/billing.git", False, ("github.com", "acme/billing")),
        (
            "ssh://git@ghe.example.com:2222/acme/bil.ling",
            False,
            ("ghe.example.com", "acme/bil.ling"),
        ),
        ("git@gitlab.com:group/sub/project.git", True, ("gitlab.com", "group/sub/project")),
        ("https://gitlab.com/group/project", True, ("gitlab.com", "group/project")),
    ],
)
def test_a_repository_url_gives_its_host_and_path(
    url: str, nested: bool, expected: tuple[str, str]
) -> None:
    assert repository_path(url, nested=nested) == expected


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("/srv/git/billing.git", "is not an https://, ssh:// or USER@HOST:PATH URL"),
        ("file:///srv/git/billing.git", "is not an https://"),
        ("http://github.com/acme/billing.git", "is not an https://"),
        ("git://github.com/acme/billing.git", "is not an https://"),
        ("https://x-access-token:ghp_x@github.com/acme/billing.git", "holds a user name"),
        ("https://deploy@github.com/acme/billing.git", "holds a user name"),
        ("ssh://git:pw@github.com/acme/billing.git", "or password"),
        ("https://github.com/acme/billing/tree/main", "does not end in OWNER/REPO"),
        ("https://github.com/acme", "does not end in OWNER/REPO"),
        ("https://github.com/acme/../billing", "has a path paved does not take"),
        ("https://github.com/acme/bil%6cing", "has a path paved does not take"),
        ("https://github.com/acme/billing?x=1", "has a path paved does not take"),
        ("git@github.com:/acme/billing.git", "is not an https://"),
        ("https://github.com/acme/billing\n", "white space or control characters"),
        (" https://github.com/acme/billing", "white space or control characters"),
        ("https://git_hub.com/acme/billing", "which is no host name"),
        ("ext::sh -c id", "is not an https://"),
    ],
)
def test_anything_else_is_refused_as_input(url: str, reason: str) -> None:
    with pytest.raises(InputError, match=r"^repository '") as refused:
        repository_path(url)
    assert reason in refused.value.message
    assert "\n" not in str(refused.value)


@pytest.mark.parametrize(
    "url",
    ["https://x-access-token:ghp_secret@github.com/a/b", "ssh://git:ghp_secret@github.com/a/b"],
)
def test_a_password_in_a_repository_url_is_not_shown(url: str) -> None:
    with pytest.raises(InputError) as refused:
        repository_path(url)
    assert "ghp_secret" not in str(refused.value)
    assert "://***@github.com/a/b" in refused.value.message


def test_a_repository_on_another_host_is_refused_before_any_request() -> None:
    script = Script()
    with (
        _github(script) as github,
        pytest.raises(InputError, match=r"is on gitlab\.example\.com, not on the GitHub"),
    ):
        github.find("https://gitlab.example.com/acme/billing.git", BRANCH)
    assert script.requests == []


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        ("https://api.github.com", None),
        ("https://ghe.example.com/api/v3", None),
        ("https://gitlab.example.com:8443/api/v4/", None),
        ("http://api.github.com", "is not an https:// URL"),
        ("https://user:pw@ghe.example.com/api/v3", "holds a user name or password"),
        ("https://ghe.example.com/api/v3?x=1", "has a query or fragment"),
        ("https:///api/v3", "names no host"),
        ("https://ghe.example.com/api\x1b[2J", "contains the control character U+001B"),
        ("https://ghe.example.com/a b", "has white space in it"),
        ("https://ghe.example.com:99999/", "is not a URL"),
    ],
)
def test_an_api_url_is_https(url: str, problem: str | None) -> None:
    found = api_url_problem(url)
    assert found == problem or (problem is not None and found is not None and problem in found)


def test_http_only_to_this_machine_and_only_when_asked() -> None:
    assert api_url_problem("http://127.0.0.1:4010", loopback_http=True) is None
    assert api_url_problem("http://127.0.0.1:4010") == "is not an https:// URL"
    assert api_url_problem("http://10.0.0.1", loopback_http=True) == "is not an https:// URL"


@pytest.mark.parametrize(
    ("branch", "base", "title", "body", "message"),
    [
        ("-x", "main", "t", "b", "branch '-x' is not a branch name"),
        ("a..b", "main", "t", "b", "branch 'a..b' is not a branch name"),
        ("a b", "main", "t", "b", "branch 'a b' is not a branch name"),
        (BRANCH, "main\n", "t", "b", "base branch 'main\\n' is not a branch name"),
        (BRANCH, BRANCH, "t", "b", "cannot be its own base"),
        (BRANCH, "main", "two\nlines", "b", "title contains the control character U+000A"),
        (BRANCH, "main", " ", "b", "title is empty"),
        (BRANCH, "main", "t", "bell\x07", "body contains the control character U+0007"),
        (BRANCH, "main", "t", "x" * 65537, "body is longer than 65536 characters"),
    ],
)
def test_what_open_is_given_is_checked_before_any_request(
    branch: str, base: str, title: str, body: str, message: str
) -> None:
    script = Script()
    with _github(script) as github, pytest.raises(InputError) as refused:
        github.open(REPO, branch, base, title, body)
    assert message in refused.value.message
    assert script.requests == []


# -- GitHub ------------------------------------------------------------------------------


def test_open_returns_the_open_pull_request_instead_of_a_second() -> None:
    script = Script(_json(200, [_pull(7)]))
    with _github(script) as github:
        found = github.open(REPO, BRANCH, "main", "Update road", "body")
    assert found == ChangeRequest("https://github.com/acme/billing/pull/7", 7, "open")
    assert [r.method for r in script.requests] == ["GET"]


def test_open_creates_one_when_none_is_open() -> None:
    script = Script(_json(200, []), _json(201, _pull(8)))
    with _github(script) as github:
        made = github.open(REPO, BRANCH, "main", "Update road", "the summary")
    assert made.number == 8
    get, post = script.requests
    assert get.url.params["head"] == f"acme:{BRANCH}"
    assert json.loads(post.content) == {
        "title": "Update road",
        "head": BRANCH,
        "base": "main",
        "body": "the summary",
    }


def test_a_pull_request_opened_meanwhile_is_found_after_the_422() -> None:
    exists = {
        "message": "Validation Failed",
        "errors": [
            {
                "resource": "PullRequest",
                "code": "custom",
                "message": f"A pull request already exists for acme:{BRANCH}.",
            }
        ],
    }
    script = Script(_json(200, []), _json(422, exists), _json(200, [_pull(9)]))
    with _github(script) as github:
        assert github.open(REPO, BRANCH, "main", "Update road", "b").number == 9
    assert [r.method for r in script.requests] == ["GET", "POST", "GET"]


def test_already_exists_but_none_open_is_a_remote_error() -> None:
    exists = {
        "message": "Validation Failed",
        "errors": [{"message": "A pull request already exists"}],
    }
    script = Script(_json(200, []), _json(422, exists), _json(200, []))
    with _github(script) as github, pytest.raises(RemoteError, match="but none is open"):
        github.open(REPO, BRANCH, "main", "Update road", "b")


def test_find_keeps_only_a_pull_request_from_this_branch_of_this_owner() -> None:
    """GitHub lists every pull request when it cannot read the head filter."""
    other_fork = _pull(3) | {"head": {"ref": BRANCH, "label": f"someone:{BRANCH}"}}
    script = Script(_json(200, [_pull(2, ref="main"), other_fork, _pull(4)]))
    with _github(script) as github:
        assert github.find(REPO, BRANCH) == ChangeRequest(
            "https://github.com/acme/billing/pull/4", 4, "open"
        )


@pytest.mark.parametrize(
    ("state", "merged", "expected"),
    [("open", False, "open"), ("closed", False, "closed"), ("closed", True, "merged")],
)
def test_github_states(state: str, merged: bool, expected: str) -> None:
    script = Script(_json(200, [_pull(5, state=state, merged=merged)]))
    with _github(script) as github:
        found = github.find(REPO, BRANCH)
    assert found is not None
    assert found.state == expected


@pytest.mark.parametrize(
    "answer",
    [
        httpx.Response(200, text="<html>"),
        _json(200, {"not": "a list"}),
        _json(200, [_pull(1) | {"number": "1"}]),
        _json(200, [_pull(1) | {"html_url": "javascript:alert(1)"}]),
        _json(200, [_pull(1) | {"state": "weird"}]),
    ],
)
def test_an_answer_paved_cannot_read_is_a_remote_error(answer: httpx.Response) -> None:
    with _github(Script(answer)) as github, pytest.raises(RemoteError, match="answered for"):
        github.find(REPO, BRANCH)


@pytest.mark.parametrize(
    ("answer", "error", "message"),
    [
        (_json(401, {"message": "Bad credentials"}), AuthError, "refused the token (HTTP 401: Bad"),
        (
            _json(403, {"message": "Resource not accessible by integration"}),
            AuthError,
            "refused to list the pull requests from paved/update-road-1.4.0 for acme/billing",
        ),
        (
            _json(403, {"message": "API rate limit exceeded"}, **{"x-ratelimit-remaining": "0"}),
            RemoteError,
            "is rate-limiting the token",
        ),
        (_json(429, {"message": "slow down"}), RemoteError, "is rate-limiting the token"),
        (
            _json(404, {"message": "Not Found"}),
            InputError,
            "repository acme/billing is not on GitHub at https://api.github.com, or the token",
        ),
        (_json(400, {"message": "Problems parsing JSON"}), InputError, "HTTP 400: Problems"),
        (httpx.Response(301, headers={"Location": "https://x"}), RemoteError, "a redirect"),
        (_json(502, {"message": "Bad gateway"}), RemoteError, "failed to list the pull requests"),
    ],
)
def test_http_failures_map_onto_paveds_errors(
    answer: httpx.Response, error: type[PavedError], message: str
) -> None:
    with _github(Script(answer), retries=0) as github, pytest.raises(error) as raised:
        github.find(REPO, BRANCH)
    assert type(raised.value) is error
    assert message in raised.value.message
    assert TOKEN not in str(raised.value)


def test_a_read_is_retried_a_bounded_number_of_times() -> None:
    sleeps: list[float] = []
    script = Script(
        httpx.ConnectError("refused"), _json(503, {"message": "busy"}), _json(200, [_pull(7)])
    )
    with _github(script, retries=2, backoff=0.5, sleep=sleeps.append) as github:
        assert github.find(REPO, BRANCH) is not None
    assert sleeps == [0.5, 1.0]
    failing = Script(*[httpx.ConnectError("refused")] * 3)
    with _github(failing, retries=2) as github, pytest.raises(RemoteError, match="unreachable"):
        github.find(REPO, BRANCH)
    assert len(failing.requests) == 3


@pytest.mark.parametrize(
    "failure", [_json(500, {"message": "oops"}), httpx.ReadTimeout("timed out")]
)
def test_a_create_is_sent_once(failure: httpx.Response | Exception) -> None:
    script = Script(_json(200, []), failure)
    with _github(script, retries=3) as github, pytest.raises(RemoteError) as raised:
        github.open(REPO, BRANCH, "main", "Update road", "b")
    assert [r.method for r in script.requests] == ["GET", "POST"]
    assert TOKEN not in str(raised.value)


def test_the_token_is_sent_only_in_its_header_and_never_shown() -> None:
    script = Script(_json(200, []))
    github = _github(script)
    with github:
        github.find(REPO, BRANCH)
    [request] = script.requests
    assert request.headers["Authorization"] == f"Bearer {TOKEN}"
    assert TOKEN not in str(request.url)
    assert TOKEN not in repr(github)
    assert TOKEN not in repr(vars(github))


def test_a_hostile_answer_is_shown_escaped() -> None:
    script = Script(_json(400, {"message": "bad\x1b[31m\nforged line"}))
    with _github(script) as github, pytest.raises(InputError) as raised:
        github.find(REPO, BRANCH)
    assert "\x1b" not in str(raised.value)
    assert "\n" not in str(raised.value)


# -- GitLab ------------------------------------------------------------------------------


def _gitlab(script: Script) -> GitLabRequests:
    return GitLabRequests(
        "https://gitlab.example.com/api/v4", "glpat-x", transport=httpx.MockTransport(script)
    )


@pytest.mark.parametrize(
    ("state", "expected"),
    [("opened", "open"), ("locked", "open"), ("closed", "closed"), ("merged", "merged")],
)
def test_gitlab_states(state: str, expected: str) -> None:
    mr = {"iid": 3, "web_url": "https://gitlab.example.com/g/p/-/merge_requests/3"}
    script = Script(_json(200, [mr | {"state": state, "source_branch": BRANCH}]))
    with _gitlab(script) as gitlab:
        found = gitlab.find("git@gitlab.example.com:g/p.git", BRANCH)
    assert found is not None
    assert found.state == expected


def test_gitlab_404_names_the_project() -> None:
    script = Script(_json(404, {"message": "404 Project Not Found"}))
    with _gitlab(script) as gitlab, pytest.raises(InputError) as raised:
        gitlab.find("git@gitlab.example.com:g/sub/p.git", BRANCH)
    assert raised.value.message.startswith("repository g/sub/p is not on GitLab at ")


def test_a_gitlab_repository_on_github_is_refused() -> None:
    with _gitlab(Script()) as gitlab, pytest.raises(InputError, match=r"is on github\.com"):
        gitlab.find(REPO, BRANCH)


# -- the factory -------------------------------------------------------------------------


def test_no_api_no_adapter() -> None:
    assert change_requests(Settings(), {"GITHUB_TOKEN": TOKEN}) is None


@pytest.mark.parametrize(
    ("api", "url", "env", "kind", "api_url"),
    [
        ("github", "", {"GITHUB_TOKEN": TOKEN}, GitHubRequests, "https://api.github.com"),
        ("gitlab", "", {"GITLAB_TOKEN": "glpat-x"}, GitLabRequests, "https://gitlab.com/api/v4"),
        (
            "github",
            "https://ghe.example.com/api/v3/",
            {"PAVED_GITHOST_TOKEN": TOKEN},
            GitHubRequests,
            "https://ghe.example.com/api/v3",
        ),
    ],
)
def test_the_factory_builds_the_named_adapter(
    api: str, url: str, env: dict[str, str], kind: type, api_url: str
) -> None:
    made = change_requests(Settings(githost_api=api, githost_api_url=url), env)
    assert isinstance(made, GitHubRequests | GitLabRequests)
    assert type(made) is kind
    assert made.api_url == api_url
    made.close()


def test_paved_s_own_variable_wins_and_an_empty_one_is_unset() -> None:
    seen: list[str] = []
    settings = Settings(githost_api="github")
    for env in (
        {"PAVED_GITHOST_TOKEN": "paved-token", "GITHUB_TOKEN": "gh-token"},
        {"PAVED_GITHOST_TOKEN": "", "GITHUB_TOKEN": "gh-token"},
    ):
        made = change_requests(settings, env)
        assert isinstance(made, GitHubRequests)
        seen.append(made._client.headers["Authorization"])
        made.close()
    assert seen == ["Bearer paved-token", "Bearer gh-token"]


def test_no_token_is_an_auth_error_naming_the_variables() -> None:
    with pytest.raises(AuthError) as raised:
        change_requests(Settings(githost_api="gitlab"), {"GITHUB_TOKEN": TOKEN})
    assert raised.value.message == (
        "githost.api is gitlab, and no token is set for the GitLab API at https://gitlab.com/api/v4"
    )
    assert raised.value.hint is not None
    assert "GITLAB_TOKEN (or PAVED_GITHOST_TOKEN)" in raised.value.hint


@pytest.mark.parametrize("token", ["two words", "line\nbreak", "tab\there", "caf\u00e9"])
def test_a_token_with_white_space_is_refused_without_showing_it(token: str) -> None:
    with pytest.raises(AuthError) as raised:
        change_requests(Settings(githost_api="github"), {"GITHUB_TOKEN": token})
    assert raised.value.message.startswith("$GITHUB_TOKEN holds white space or control")
    assert token not in str(raised.value)


@pytest.mark.parametrize("token", ["", "ghp_x\r\nX-Forged: 1", "caf\u00e9"])
def test_an_adapter_refuses_a_token_that_is_no_token(token: str) -> None:
    with pytest.raises(AuthError) as raised:
        GitHubRequests("https://api.github.com", token)
    assert token == "" or token not in str(raised.value)


def test_an_unknown_api_is_an_input_error() -> None:
    settings = dataclasses.replace(Settings(), githost_api="bitbucket")
    with pytest.raises(InputError, match="'bitbucket', which paved has no adapter for"):
        change_requests(settings, {"PAVED_GITHOST_TOKEN": TOKEN})
