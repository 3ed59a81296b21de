"""The whole road against a real platform server: login, new service, deploy, all recorded there."""

from __future__ import annotations

import json
import socket
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.helpers import run_paved

pytest.importorskip("fastapi", reason="the platform server needs the 'server' extra")
pytestmark = pytest.mark.slow

DIGEST = "sha256:" + "ab" * 32


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def platform(pinned_env: Path) -> Iterator[tuple[str, Path]]:
    """``paved platform serve`` as its own process on loopback, with a SQLite database."""
    database = pinned_env / "platform.db"
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "paved", "platform", "serve", "--port", str(port),
         "--db", f"sqlite:///{database}"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            httpx.get(f"{url}/openapi.json", timeout=1).raise_for_status()
            break
        except httpx.HTTPError:
            if server.poll() is not None or time.monotonic() > deadline:
                server.kill()
                pytest.fail(f"the platform did not start: {server.communicate()[1]}")
            time.sleep(0.1)
    try:
        yield url, database
    finally:
        server.terminate()
        server.wait(timeout=15)


def test_login_then_new_service_then_deploy_lands_in_the_platform(
    pinned_env: Path, platform: tuple[str, Path]
) -> None:
    url, database = platform
    created = run_paved(
        "platform", "token", "create", "--user", "ana", "--team", "team-a",
        "--db", f"sqlite:///{database}",
    )  # fmt: skip
    assert created.returncode == 0, created.stderr
    token = created.stdout.strip().splitlines()[-1]

    login = run_paved("login", url, "--token", token)
    assert login.returncode == 0, login.stderr
    assert token not in login.stdout + login.stderr

    made = run_paved("new", "service", "payments", "--owner", "team-a", "--json")
    assert made.returncode == 0, made.stderr
    assert json.loads(made.stdout)["registered"] is True

    deployed = run_paved(
        "deploy", "--env", "dev", "--image", f"registry.example.com/payments@{DIGEST}", "--json",
        cwd=pinned_env / "payments",
    )  # fmt: skip
    assert deployed.returncode == 0, deployed.stderr

    listed = run_paved("deployments", "list", "--service", "payments", "--json")
    assert listed.returncode == 0, listed.stderr
    records = json.loads(listed.stdout)["deployments"]
    assert [(r["environment"], r["outcome"]) for r in records] == [("dev", "succeeded")]

    # What the CLI says is in the platform is in the platform's own database.
    with sqlite3.connect(database) as db:
        owners = db.execute("SELECT name, owner FROM services").fetchall()
        shipped = db.execute("SELECT service, environment, outcome FROM deployments").fetchall()
    assert owners == [("payments", "team-a")]
    assert shipped == [("payments", "dev", "succeeded")]
    # ...and not in a local catalog beside it.
    assert not (pinned_env / "paved-home" / "data" / "catalog.db").exists()

    other_team = run_paved(
        "platform", "token", "create", "--user", "bo", "--team", "team-b",
        "--db", f"sqlite:///{database}",
    )  # fmt: skip
    assert (
        run_paved("login", url, "--token", other_team.stdout.strip().splitlines()[-1]).returncode
        == 0
    )
    refused = run_paved("services", "archive", "payments")
    assert refused.returncode == 4, refused.stderr
    assert run_paved("logout").returncode == 0
