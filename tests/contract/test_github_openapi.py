"""GitHubRequests' requests, validated by Prism against GitHub's published OpenAPI description.

No live GitHub is used. ``GitHubRequests`` talks to Stoplight Prism on loopback, which checks
each request (path, query, headers it describes, JSON body) against the description in
``@octokit/openapi`` (``tests/contract/prism.py``): a request that breaks it gets 422 and an
``sl-violations`` header naming the rule, which the adapter turns into an error, so a
request paved gets wrong fails these tests. The last tests send deliberately wrong requests
to show that Prism does refuse them.

Prism keeps no state and answers with GitHub's example pull request (#1347, from
``octocat:new-topic``); the idempotence and the error mapping are tested against
``httpx.MockTransport`` in ``tests/unit/test_change_requests.py``.

One thing is changed on the way to Prism: ``Accept``. GitHub documents
``application/vnd.github+json`` and the adapter sends it (asserted below), but the
description lists its bodies as ``application/json``, so Prism answers 406 to the former.

When the tools are missing these tests fail in CI and skip, saying why, on a machine
without npm (``prism.require_tools``).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from paved.errors import InputError
from paved.githost.change_requests import ChangeRequest, GitHubRequests
from tests.contract import prism

pytestmark = pytest.mark.slow

PULLS = "/repos/{owner}/{repo}/pulls"
TOKEN = "ghp_contracttesttoken0123456789"
BRANCH = "paved/update-road-1.4.0"
EXAMPLE = ChangeRequest(
    url="https://github.com/octocat/Hello-World/pull/1347", number=1347, state="open"
)


@dataclass
class Exchange:
    """One request as the adapter built it, and Prism's verdict on it."""

    method: str
    url: httpx.URL
    headers: httpx.Headers
    body: Any
    status: int
    violations: list[dict[str, Any]]

    @property
    def request_violations(self) -> list[dict[str, Any]]:
        return [v for v in self.violations if v.get("location", [""])[0] == "request"]


class ToPrism(httpx.BaseTransport):
    """Sends each request to Prism (with ``Accept: application/json``) and records it.

    ``change`` may alter a request on the way, to send a deliberately wrong one.
    """

    def __init__(self, change: Callable[[httpx.Request], httpx.Request] | None = None) -> None:
        self._inner = httpx.HTTPTransport()
        self._change = change
        self.exchanges: list[Exchange] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if self._change is not None:
            request = self._change(request)
        headers = httpx.Headers(request.headers)
        request.headers["Accept"] = "application/json"
        response = self._inner.handle_request(request)
        self.exchanges.append(
            Exchange(
                method=request.method,
                url=request.url,
                headers=headers,
                body=json.loads(request.content) if request.content else None,
                status=response.status_code,
                violations=json.loads(response.headers.get("sl-violations", "[]")),
            )
        )
        return response

    def close(self) -> None:
        self._inner.close()


@pytest.fixture(scope="module")
def description() -> dict[str, Any]:
    prism.require_tools()
    full = prism.github_description()
    cut = prism.cut_description(full, [PULLS])
    assert cut["paths"][PULLS] == full["paths"][PULLS]  # GitHub's operations, unchanged
    assert set(cut["paths"][PULLS]) >= {"get", "post"}
    return cut


@pytest.fixture(scope="module")
def prism_url(
    description: dict[str, Any], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    with prism.prism(description, tmp_path_factory.mktemp("prism")) as url:
        yield url


def _github(url: str, transport: ToPrism) -> GitHubRequests:
    return GitHubRequests(url, TOKEN, hosts={"github.com"}, transport=transport, retries=0)


def _assert_valid(exchange: Exchange) -> None:
    assert exchange.request_violations == [], exchange.request_violations
    assert exchange.status < 400, (exchange.status, exchange.violations)
    assert exchange.headers["Accept"] == "application/vnd.github+json"
    assert exchange.headers["X-GitHub-Api-Version"] == "2022-11-28"
    assert exchange.headers["Authorization"] == f"Bearer {TOKEN}"


def test_finding_a_pull_request_sends_a_valid_list_request(prism_url: str) -> None:
    transport = ToPrism()
    with _github(prism_url, transport) as github:
        found = github.find("https://github.com/acme/billing.git", BRANCH)
    assert found is None  # Prism's one example is from octocat:new-topic, not this branch
    [get] = transport.exchanges
    _assert_valid(get)
    assert get.method == "GET"
    assert get.url.path == "/repos/acme/billing/pulls"
    assert dict(get.url.params) == {"head": f"acme:{BRANCH}", "state": "open"}


def test_the_example_pull_request_is_read_as_github_describes_it(prism_url: str) -> None:
    transport = ToPrism()
    with _github(prism_url, transport) as github:
        found = github.find("git@github.com:octocat/Hello-World.git", "new-topic")
    assert found == EXAMPLE
    [get] = transport.exchanges
    _assert_valid(get)
    assert dict(get.url.params) == {"head": "octocat:new-topic", "state": "open"}


def test_opening_a_pull_request_sends_a_valid_list_then_create(prism_url: str) -> None:
    transport = ToPrism()
    body = "Updates the **road** layer 1.3.2 → 1.4.0.\n\n- kept: 12 files\n- merged: 1 file\n"
    with _github(prism_url, transport) as github:
        opened = github.open(
            "https://github.com/acme/billing", BRANCH, "main", "Update road to 1.4.0", body
        )
    assert opened == EXAMPLE
    get, post = transport.exchanges
    _assert_valid(get)
    _assert_valid(post)
    assert (post.method, post.url.path, post.status) == ("POST", "/repos/acme/billing/pulls", 201)
    assert post.headers["Content-Type"] == "application/json"
    assert post.body == {
        "title": "Update road to 1.4.0",
        "head": BRANCH,
        "base": "main",
        "body": body,
    }


def _without_head(request: httpx.Request) -> httpx.Request:
    body = json.loads(request.content)
    body.pop("head")
    headers = {k: v for k, v in request.headers.items() if k.lower() != "content-length"}
    return httpx.Request(request.method, request.url, headers=headers, json=body)


def _gitlab_state(request: httpx.Request) -> httpx.Request:
    url = request.url.copy_set_param("state", "opened")  # GitLab's word, not GitHub's
    return httpx.Request(request.method, url, headers=request.headers)


def test_a_create_request_without_head_is_refused_by_the_description(prism_url: str) -> None:
    transport = ToPrism(lambda r: _without_head(r) if r.method == "POST" else r)
    with (
        _github(prism_url, transport) as github,
        pytest.raises(InputError, match="HTTP 422") as refused,
    ):
        github.open("https://github.com/acme/billing", BRANCH, "main", "Update road", "body")
    assert "refused to open a pull request" in refused.value.message
    post = transport.exchanges[-1]
    assert post.status == 422
    assert [v["message"] for v in post.request_violations] == [
        "Request body must have required property 'head'"
    ]


def test_a_list_request_with_an_unknown_state_is_refused_by_the_description(
    prism_url: str,
) -> None:
    transport = ToPrism(_gitlab_state)
    with _github(prism_url, transport) as github, pytest.raises(InputError, match="HTTP 422"):
        github.find("https://github.com/acme/billing", BRANCH)
    [get] = transport.exchanges
    assert [v["location"] for v in get.request_violations] == [["request", "query", "state"]]


def test_prism_refuses_a_path_github_does_not_have(prism_url: str) -> None:
    response = httpx.get(f"{prism_url}/repos/acme/billing/pull", headers={"Accept": "*/*"})
    assert response.status_code == 404


def test_the_cut_description_is_githubs_own(description: dict[str, Any]) -> None:
    """Every component the two operations reference, and nothing else, came along."""
    found: set[str] = set()
    prism._references(description, found)
    names = {
        f"#/components/{kind}/{name}" for kind, c in description["components"].items() for name in c
    }
    assert found == names
    assert description["servers"] == [{"url": "https://api.github.com"}]
