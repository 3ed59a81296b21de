"""The platform applies a requested data resource itself: ``POST .../resources`` with
``"apply": true`` against a real server on loopback, a service made by ``paved new service``
on a real git daemon, the real road rendered by the server, the branch pushed back."""

from __future__ import annotations

import contextlib
import socket
import sqlite3
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.helpers import free_port, git, run_paved
from tests.platform_helpers import GitDaemon, Platform, git_daemon, platform_server

pytest.importorskip("fastapi", reason="the platform server needs the 'server' extra")

pytestmark = pytest.mark.slow

BRANCH = "paved/add-database-orders"
ORDERS = {"kind": "database", "name": "orders", "apply": True}


@dataclass(frozen=True)
class World:
    githost: GitDaemon
    platform: Platform
    bare: Path
    member: str
    stranger: str

    def post(self, token: str, body: dict[str, Any]) -> httpx.Response:
        return httpx.post(
            f"{self.platform.url}/v1/services/payments/resources",
            json=body,
            headers={"Authorization": f"Bearer {token}"},
            timeout=120,
        )

    def settled(self, request_id: int) -> dict[str, Any]:
        """The request once it is closed (polled, with a generous deadline)."""
        deadline = time.monotonic() + 600
        while True:
            listed = httpx.get(
                f"{self.platform.url}/v1/services/payments/resources",
                headers={"Authorization": f"Bearer {self.member}"},
                timeout=120,
            )
            listed.raise_for_status()
            found = next(r for r in listed.json()["requests"] if r["id"] == request_id)
            if found["state"] not in ("started", "requested"):
                return dict(found)
            assert time.monotonic() < deadline, f"request {request_id} still {found['state']}"
            time.sleep(0.2)

    def refs(self) -> str:
        return git("for-each-ref", "--format=%(refname) %(objectname)", cwd=self.bare)

    def set_repository(self, url: str) -> None:
        with sqlite3.connect(self.platform.database) as db:
            db.execute("UPDATE services SET repository = ? WHERE name = 'payments'", (url,))

    def audited(self) -> list[tuple[str, str, str]]:
        with sqlite3.connect(self.platform.database) as db:
            rows = db.execute(
                "SELECT action, actor, outcome FROM audit_events "
                "WHERE action LIKE 'resource.%' ORDER BY id"
            ).fetchall()
        return [(str(a), str(b), str(c)) for a, b, c in rows]


@pytest.fixture
def world(pinned_env: Path) -> Iterator[World]:
    with (
        git_daemon(pinned_env / "githost") as githost,
        platform_server(pinned_env / "platform.db") as platform,
    ):
        bare = githost.create("payments")
        member, stranger = platform.token("ana", "team-a"), platform.token("bo", "team-b")
        assert run_paved("login", platform.url, "--token", member).returncode == 0
        made = run_paved(
            "new", "service", "payments", "--owner", "team-a", "--remote",
            githost.url("payments"),
        )  # fmt: skip
        assert made.returncode == 0, made.stderr
        yield World(githost, platform, bare, member, stranger)


def test_a_member_asks_and_the_platform_pushes_the_change_on_its_branch(world: World) -> None:
    main_before = git("rev-parse", "refs/heads/main", cwd=world.bare)

    asked = world.post(world.member, ORDERS)
    assert asked.status_code == 202, asked.text
    assert asked.json()["state"] == "requested"
    assert asked.json()["branch"] == BRANCH

    done = world.settled(asked.json()["id"])
    assert done["state"] == "committed", done["detail"]
    assert done["branch"] == BRANCH
    tip = git("rev-parse", f"refs/heads/{BRANCH}", cwd=world.bare)
    assert done["commit"] == tip
    message = git("log", "-1", "--format=%B", tip, cwd=world.bare)
    assert "Paved-Resource: add database orders" in message.splitlines()
    author = git("log", "-1", "--format=%an <%ae>|%cn <%ce>", tip, cwd=world.bare)
    assert author == "paved platform <paved@localhost>|paved platform <paved@localhost>"
    files = git("ls-tree", "-r", "--name-only", tip, cwd=world.bare).splitlines()
    assert "terraform/databases.tf" in files
    assert git("rev-parse", f"{tip}^", cwd=world.bare) == main_before  # one commit on main
    assert git("rev-parse", "refs/heads/main", cwd=world.bare) == main_before

    listed = httpx.get(
        f"{world.platform.url}/v1/services/payments/resources",
        headers={"Authorization": f"Bearer {world.member}"},
        timeout=120,
    ).json()
    assert listed["data_resources"] == []  # it joins the entry when the branch is merged
    assert world.audited()[-2:] == [
        ("resource.request", "ana", "requested"),
        ("resource.apply", "ana", "committed"),
    ]


def test_another_team_is_refused_and_nothing_is_pushed(world: World) -> None:
    before = world.refs()
    refused = world.post(world.stranger, ORDERS)
    assert refused.status_code == 403, refused.text
    with sqlite3.connect(world.platform.database) as db:
        assert db.execute("SELECT count(*) FROM resource_requests").fetchone() == (0,)
    assert world.refs() == before


def test_a_repository_the_clone_rule_refuses_ends_failed_saying_why(world: World) -> None:
    before = world.refs()
    world.set_repository(str(world.bare))  # a path: git could clone it, the rule refuses it
    asked = world.post(world.member, ORDERS)
    assert asked.status_code == 202, asked.text

    done = world.settled(asked.json()["id"])
    assert done["state"] == "failed"
    assert "local path other members cannot reach" in done["detail"], done["detail"]
    assert "\n" not in done["detail"]
    assert world.refs() == before
    assert world.audited()[-1] == ("resource.apply", "ana", "failed")


@contextlib.contextmanager
def _silent_host() -> Iterator[int]:
    """A port that takes connections and never answers, until closed."""
    port = free_port()
    server = socket.create_server(("127.0.0.1", port))
    taken: list[socket.socket] = []
    stop = threading.Event()

    def take() -> None:
        server.settimeout(0.2)
        while not stop.is_set():
            with contextlib.suppress(TimeoutError, OSError):
                taken.append(server.accept()[0])

    thread = threading.Thread(target=take, daemon=True)
    thread.start()
    try:
        yield port
    finally:
        stop.set()
        thread.join(timeout=120)
        for conn in taken:
            conn.close()
        server.close()


def test_a_second_apply_of_the_name_while_the_first_is_open_is_a_conflict(world: World) -> None:
    before = world.refs()
    with _silent_host() as port:
        world.set_repository(f"git://127.0.0.1:{port}/payments.git")
        first = world.post(world.member, ORDERS)
        assert first.status_code == 202, first.text
        second = world.post(world.member, {**ORDERS, "branch": "paved/orders-again"})
        assert second.status_code == 409, second.text
        assert "open request" in second.json()["message"]
    done = world.settled(first.json()["id"])  # the host hung up: the clone failed
    assert done["state"] == "failed"
    assert "cannot clone git://127.0.0.1" in done["detail"], done["detail"]
    assert world.refs() == before
