"""What a platform says about who the token is, checked before it is believed: ``paved login``
and the catalog line refuse a forged user, teams that are not a list of team names, an admin
flag that is not true or false and an answer that is not JSON, naming the platform; the user
is shown as one cell."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from paved.catalog.remote import RemoteCatalog
from paved.errors import ExitCode, RemoteError

GOOD = {"user": "alice", "teams": ["team-a"], "admin": False}


class _Platform:
    """A platform on a loopback port whose /v1/whoami answers ``whoami`` (bytes)."""

    def __init__(self) -> None:
        self.whoami = json.dumps(GOOD).encode()
        self.asked: list[str] = []
        platform = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                platform.asked.append(self.path)
                body = platform.whoami if self.path == "/v1/whoami" else b'{"settings": {}}'
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *_args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"


@pytest.fixture
def platform() -> Iterator[_Platform]:
    running = _Platform()
    thread = threading.Thread(target=running.server.serve_forever, daemon=True)
    thread.start()
    yield running
    running.server.shutdown()
    running.server.server_close()
    thread.join()


BAD = [
    ({**GOOD, "user": "alice\nerror: token expired; run paved login https://evil"}, "user"),
    ({**GOOD, "user": "\x1b]8;;https://evil\x07alice"}, "user"),
    ({**GOOD, "user": "a" * 201}, "longer than 200"),
    ({**GOOD, "user": 7}, "the user is not a string"),
    ({**GOOD, "user": ""}, "the user is empty"),
    ({**GOOD, "teams": "team-a"}, "the teams are not a list"),
    ({**GOOD, "teams": ["team-a", 3]}, "a team is not a string (int)"),
    ({**GOOD, "teams": ["Team A"]}, "the team 'Team A' is not a team name"),
    ({**GOOD, "admin": "yes"}, "the admin flag is not true or false"),
    ({"teams": [], "admin": False}, "the user is not a string"),
    (["alice"], "the answer is not an object"),
]


@pytest.mark.parametrize(("answer", "said"), BAD)
def test_a_bad_whoami_answer_is_a_remote_error_naming_the_platform(
    platform: _Platform, answer: object, said: str
) -> None:
    platform.whoami = json.dumps(answer).encode()
    catalog = RemoteCatalog(platform.url, "pvd_token", retries=0)
    try:
        with pytest.raises(RemoteError) as raised:
            catalog.caller()
    finally:
        catalog.close()
    message = str(raised.value)
    assert f"platform {platform.url} answered who you are" in message
    assert said in message
    assert "\n" not in message
    assert "\x1b" not in message
    assert platform.asked == ["/v1/whoami"]


def test_a_whoami_answer_that_is_not_json_is_a_remote_error(platform: _Platform) -> None:
    platform.whoami = b"<html>not json"
    catalog = RemoteCatalog(platform.url, "pvd_token", retries=0)
    try:
        with pytest.raises(RemoteError, match="it is not JSON"):
            catalog.caller()
    finally:
        catalog.close()


def test_a_good_whoami_answer_is_the_caller(platform: _Platform) -> None:
    platform.whoami = json.dumps(
        {"user": "Alice Ng", "teams": ["team-a", "team-b"], "admin": True}
    ).encode()
    catalog = RemoteCatalog(platform.url, "pvd_token", retries=0)
    try:
        caller = catalog.caller()
    finally:
        catalog.close()
    assert (caller.user, caller.teams, caller.admin) == ("Alice Ng", ("team-a", "team-b"), True)


@pytest.mark.parametrize(("answer", "said"), BAD[:2] + BAD[5:7])
def test_login_refuses_a_bad_whoami_answer_in_one_line_and_writes_nothing(
    paved, pinned_env: Path, platform: _Platform, answer: object, said: str
) -> None:
    platform.whoami = json.dumps(answer).encode()
    done = paved("login", platform.url, "--token", "pvd_token")
    assert done.exit_code == ExitCode.REMOTE, done.stderr
    assert done.stdout == ""
    (line,) = done.stderr.splitlines()
    assert line.startswith(f"error: platform {platform.url} answered who you are")
    assert "Traceback" not in done.stderr
    assert list(pinned_env.rglob("platform.json")) == []  # the credentials file


@pytest.mark.parametrize("whoami", [b"not json", json.dumps(BAD[0][0]).encode()])
def test_the_catalog_line_leaves_out_a_bad_user_and_never_breaks(
    platform: _Platform, whoami: bytes
) -> None:
    platform.whoami = whoami
    from paved.cli.catalogs import say_catalog
    from paved.cli.output import Output

    lines: list[str] = []

    class _Err:
        def write(self, text: str) -> int:
            lines.append(text)
            return len(text)

        def flush(self) -> None:
            pass

        def isatty(self) -> bool:
            return False

    out = Output(stderr=_Err())  # type: ignore[arg-type]
    catalog = RemoteCatalog(platform.url, "pvd_token", retries=0)
    try:
        say_catalog(out, catalog)
    finally:
        catalog.close()
    assert "".join(lines) == f"catalog: {platform.url}\n"


def test_login_with_yes_on_a_terminal_never_reads_the_token_echoed(paved, pinned_env: Path) -> None:
    from tests.terminal_helpers import terminal_runtime

    done = paved(
        "--yes", "login", "http://127.0.0.1:9", runtime=terminal_runtime(), input="pvd_secret\n"
    )
    assert done.exit_code == ExitCode.USAGE
    assert done.stderr.splitlines() == [
        "error: no token given and the run is not interactive; "
        "pass --token TOKEN or pipe it on stdin"
    ]
    assert list(pinned_env.rglob("platform.json")) == []


def test_logout_json_says_what_catalog_is_used_now(
    paved, pinned_env: Path, platform: _Platform
) -> None:
    import jsonschema

    from tests.helpers import REPO_ROOT

    schema = json.loads((REPO_ROOT / "docs/schemas/logout.schema.json").read_text("utf-8"))
    assert paved("login", platform.url, "--token", "pvd_token").exit_code == 0
    done = paved("logout", "--json")
    assert done.exit_code == 0, done.stderr
    data = json.loads(done.stdout)
    jsonschema.validate(data, schema)
    assert (data["logged_out"], data["url"]) == (True, platform.url)
    assert data["removed"] is not None
    assert not Path(data["removed"]).exists()
    assert data["catalog"].endswith("catalog.db")
    again = json.loads(paved("logout", "--json").stdout)
    jsonschema.validate(again, schema)
    assert (again["logged_out"], again["url"], again["removed"]) == (False, None, None)
