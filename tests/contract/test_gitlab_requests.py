"""GitLabRequests' requests, as a real HTTP server on loopback receives them.

No live GitLab is used, and no OpenAPI validator either: GitLab publishes a description of
its v4 API (``doc/api/openapi/openapi_v2.yaml`` in its repository), but no npm or PyPI
package ships it, so these tests cannot check the requests against it offline. Instead a
``http.server`` on 127.0.0.1 plays GitLab, scripted per test, and the tests assert each
request exactly: method, raw path (the project's path URL-encoded, ``group%2Fproject``),
query, headers and JSON body, as GitLab's merge request API documents them
(``GET /projects/:id/merge_requests?source_branch=&state=opened``,
``POST /projects/:id/merge_requests`` with ``source_branch``, ``target_branch``, ``title``
and ``description``; ``PRIVATE-TOKEN`` for the token; 409 "Another open merge request
already exists" for a second one). A scripted answer that no request took fails the test.
"""

from __future__ import annotations

import json
import threading
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from paved import __version__
from paved.githost.change_requests import ChangeRequest, GitLabRequests

TOKEN = "glpat-contracttesttoken01234"
BRANCH = "paved/update-road-1.4.0"
REPOSITORY = "git@gitlab.example.com:platform/payments/billing.git"
PROJECT = "/api/v4/projects/platform%2Fpayments%2Fbilling/merge_requests"
QUERY = {"source_branch": [BRANCH], "state": ["opened"]}
MERGE_REQUEST = {
    "id": 90112,
    "iid": 12,
    "project_id": 77,
    "source_branch": BRANCH,
    "target_branch": "main",
    "state": "opened",
    "web_url": "https://gitlab.example.com/platform/payments/billing/-/merge_requests/12",
}
OPENED = ChangeRequest(url=MERGE_REQUEST["web_url"], number=12, state="open")  # type: ignore[arg-type]


@dataclass
class Received:
    method: str
    path: str  # raw, as sent on the request line
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: Any


class FakeGitLab:
    """A loopback HTTP server answering from a script of ``(status, json)`` pairs."""

    def __init__(self) -> None:
        self.script: list[tuple[int, Any]] = []
        self.received: list[Received] = []
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def _answer(self) -> None:
                raw = self.path.partition("?")
                length = int(self.headers.get("Content-Length") or 0)
                content = self.rfile.read(length) if length else b""
                fake.received.append(
                    Received(
                        method=self.command,
                        path=raw[0],
                        query=urllib.parse.parse_qs(raw[2]),
                        headers={k.lower(): v for k, v in self.headers.items()},
                        body=json.loads(content) if content else None,
                    )
                )
                status, answer = fake.script.pop(0) if fake.script else (599, {"message": "?"})
                data = json.dumps(answer).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = _answer

            def log_message(self, format: str, *args: Any) -> None:
                return None

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/api/v4"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self._thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self._thread.join(timeout=5)


@pytest.fixture
def gitlab() -> Iterator[FakeGitLab]:
    fake = FakeGitLab()
    yield fake
    fake.close()
    assert fake.script == [], "a scripted answer was never asked for"


def _client(fake: FakeGitLab) -> GitLabRequests:
    return GitLabRequests(fake.url, TOKEN, hosts={"gitlab.example.com"}, retries=0)


def _assert_headers(received: Received, *, body: bool) -> None:
    assert received.headers["private-token"] == TOKEN
    assert received.headers["accept"] == "application/json"
    assert received.headers["user-agent"] == f"paved/{__version__}"
    assert "authorization" not in received.headers
    assert (received.headers.get("content-type") == "application/json") is body


def test_finding_a_merge_request(gitlab: FakeGitLab) -> None:
    gitlab.script = [(200, [MERGE_REQUEST])]
    with _client(gitlab) as client:
        assert client.find(REPOSITORY, BRANCH) == OPENED
    [get] = gitlab.received
    assert (get.method, get.path, get.query, get.body) == ("GET", PROJECT, QUERY, None)
    _assert_headers(get, body=False)


def test_opening_a_merge_request_lists_then_creates(gitlab: FakeGitLab) -> None:
    gitlab.script = [(200, []), (201, MERGE_REQUEST)]
    body = "Updates the road layer 1.3.2 → 1.4.0.\n\n| file | how |\n|---|---|\n"
    with _client(gitlab) as client:
        opened = client.open(REPOSITORY, BRANCH, "main", "Update road to 1.4.0", body)
    assert opened == OPENED
    get, post = gitlab.received
    assert (get.method, get.path, get.query) == ("GET", PROJECT, QUERY)
    assert (post.method, post.path, post.query) == ("POST", PROJECT, {})
    assert post.body == {
        "source_branch": BRANCH,
        "target_branch": "main",
        "title": "Update road to 1.4.0",
        "description": body,
    }
    _assert_headers(post, body=True)


def test_an_open_merge_request_is_returned_not_made_twice(gitlab: FakeGitLab) -> None:
    gitlab.script = [(200, [MERGE_REQUEST])]
    with _client(gitlab) as client:
        assert client.open(REPOSITORY, BRANCH, "main", "Update road", "body") == OPENED
    assert [r.method for r in gitlab.received] == ["GET"]


def test_one_opened_meanwhile_is_found_after_gitlab_s_409(gitlab: FakeGitLab) -> None:
    """Another run opened it between the list and the create: GitLab answers 409."""
    exists = {"message": ["Another open merge request already exists for this source branch: !12"]}
    gitlab.script = [(200, []), (409, exists), (200, [MERGE_REQUEST])]
    with _client(gitlab) as client:
        assert client.open(REPOSITORY, BRANCH, "main", "Update road", "body") == OPENED
    assert [r.method for r in gitlab.received] == ["GET", "POST", "GET"]


def test_a_project_at_the_top_of_a_namespace(gitlab: FakeGitLab) -> None:
    gitlab.script = [(200, [])]
    with _client(gitlab) as client:
        assert client.find("https://gitlab.example.com/team/billing", BRANCH) is None
    assert gitlab.received[0].path == "/api/v4/projects/team%2Fbilling/merge_requests"
