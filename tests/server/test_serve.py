"""``paved platform serve``: a busy port, organisation settings from a file, an access log
without query strings (a real server in a subprocess)."""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from paved.server import DropQueryString, log_config, organisation_settings
from tests.helpers import free_port


def test_a_busy_port_is_a_usage_error_in_one_line(paved, tmp_path: Path) -> None:
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        db = f"sqlite:///{tmp_path / 'platform.db'}"
        got = paved("platform", "serve", "--port", str(port), "--db", db)
    assert got.exit_code == 2
    assert got.stderr == f"error: port {port} on 127.0.0.1 is in use: choose another with --port\n"
    assert got.stdout == ""


@pytest.mark.parametrize(
    "args",
    [
        ("serve",),
        ("token", "create", "--user", "alice", "--team", "team-a"),
        ("token", "revoke", "--user", "alice"),
    ],
)
@pytest.mark.parametrize("db", ["nope://somewhere", "sqlite:///{plain}/platform.db"])
def test_a_database_that_cannot_be_opened_is_one_line(
    paved, tmp_path: Path, args: tuple[str, ...], db: str
) -> None:
    """An unknown driver, or a SQLite file under a plain file: one line, never a traceback."""
    (tmp_path / "plain").write_text("not a folder\n")
    port = ("--port", str(free_port())) if args == ("serve",) else ()
    got = paved("platform", *args, *port, "--db", db.format(plain=tmp_path / "plain"))
    assert got.exit_code == 2, got.stderr
    assert got.stderr.startswith("error: platform database cannot be opened (")
    assert len(got.stderr.strip().splitlines()) == 1
    assert got.stdout == ""


def test_an_address_that_is_not_this_machine_s_is_a_usage_error(paved, tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'platform.db'}"
    got = paved("platform", "serve", "--host", "203.0.113.9", "--port", "8420", "--db", db)
    assert got.exit_code == 2
    assert got.stderr.startswith("error: cannot listen on 203.0.113.9 port 8420 (")


@pytest.mark.parametrize(
    ("content", "error"),
    [
        ("[githost]\nremoet = 'x'\n", "unknown setting 'githost.remoet' in {file}"),
        ("[deploy]\nrepository = 3\n", "setting 'deploy.repository' in {file} must be a string"),
        ("[environments.qa]\ncolour = 'blue'\n", "unknown setting 'environments.qa.colour'"),
        ("[environments.QA]\ntarget = 'gitops'\n", "'QA' is not an environment name"),
        ("[githost]\nremote = 'https://git.example.com/x.git'\n", "has no {{name}}"),
        ("[githost]\nremote = 'https://h/{name}/{team}.git'\n", "has the placeholder {{team}}"),
        ("[githost]\nremote = 'https://h/{name!r}.git'\n", "has the placeholder {{name!r}}"),
        (
            "[githost]\nremote = 'file:///srv/git/{name}.git'\n",
            "setting 'githost.remote' in {file} is 'file:///srv/git/payments.git', which other "
            "members cannot reach",
        ),
        ("[deploy]\nrepository = '/srv/env.git'\n", "setting 'deploy.repository' in {file} is"),
        (
            "[environments.prod]\nrepository = '~/env.git'\n",
            "setting 'environments.prod.repository' in {file} is '~/env.git'",
        ),
        (
            "[catalog]\nurl = 'https://elsewhere'\n",
            "'catalog.url' in {file} is not an organisation",
        ),
        ("[githost\n", "settings file {file} is not valid TOML"),
        (
            "[scaffolds.paved-road]\nurl = '/local/path'\n",
            "setting 'scaffolds.paved-road.url' in {file}: '/local/path' is a folder on this "
            "machine, which other members cannot reach",
        ),
        (
            "[scaffolds.paved-road]\nurl = 'file:///srv/road.git'\n",
            "setting 'scaffolds.paved-road.url' in {file}: 'file:///srv/road.git' is a folder",
        ),
        ("[scaffolds.paved-road]\nurl = 'ext::sh -c id'\n", "names a git remote helper"),
        ("[scaffolds.paved-road]\nurl = ''\n", "'scaffolds.paved-road.url' in {file} is empty"),
        ("[scaffolds.Road]\nurl = 'https://h/r.git'\n", "'Road' is not a scaffold name"),
        (
            "[githost]\napi = 'gitea'\n",
            "setting 'githost.api' in {file} is 'gitea', which is not one of github, gitlab",
        ),
        (
            "[githost]\napi_url = 'http://ghe.example.com/api/v3'\n",
            "setting 'githost.api_url' in {file} is 'http://ghe.example.com/api/v3', which is "
            "not an https:// URL",
        ),
        (
            "[githost]\ntoken = 'ghp_secret'\n",
            "setting 'githost.token' in {file}: a token is never an organisation setting",
        ),
        (
            "[onboarding]\nproduction_deploy = 'yes'\n",
            "setting 'onboarding.production_deploy' in {file} must be true or false",
        ),
    ],
)
def test_a_bad_settings_file_is_a_usage_error_naming_the_key(
    paved, tmp_path: Path, content: str, error: str
) -> None:
    settings = tmp_path / "platform.toml"
    settings.write_text(content, encoding="utf-8")
    db = tmp_path / "platform.db"
    got = paved(
        "platform", "serve", "--port", "1", "--db", f"sqlite:///{db}", "--settings", str(settings)
    )
    assert got.exit_code == 2, got.stderr
    assert got.stderr.startswith("error: ")
    assert error.format(file=settings) in got.stderr
    assert got.stderr.count("\n") == 1
    assert not db.exists()  # refused before the database is touched


def test_the_platform_hands_out_the_githost_api_but_never_a_token(tmp_path: Path) -> None:
    settings = tmp_path / "platform.toml"
    settings.write_text(
        '[githost]\napi = "github"\napi_url = "https://ghe.example.com/api/v3"\n',
        encoding="utf-8",
    )
    assert organisation_settings(settings) == {
        "githost": {"api": "github", "api_url": "https://ghe.example.com/api/v3"}
    }


def test_the_platform_hands_out_whether_onboarding_guides_a_production_deploy(
    tmp_path: Path,
) -> None:
    settings = tmp_path / "platform.toml"
    settings.write_text("[onboarding]\nproduction_deploy = true\n", encoding="utf-8")
    assert organisation_settings(settings) == {"onboarding": {"production_deploy": True}}


def test_a_missing_settings_file_is_a_usage_error(paved, tmp_path: Path) -> None:
    missing = tmp_path / "nothing.toml"
    got = paved("platform", "serve", "--settings", str(missing))
    assert got.exit_code == 2
    assert f"settings file {missing} cannot be read" in got.stderr


def _access_record(path: str) -> logging.LogRecord:
    return logging.LogRecord(
        "uvicorn.access",
        logging.INFO,
        __file__,
        1,
        '%s - "%s %s HTTP/%s" %d',
        ("203.0.113.7:5000", "GET", path, "1.1", 400),
        None,
    )


def test_the_access_log_filter_drops_the_query_string() -> None:
    from uvicorn.logging import AccessFormatter

    record = _access_record("/v1/services?access_token=pvd_0123456789abcdef_secret&limit=3")
    assert DropQueryString().filter(record) is True
    formatted = AccessFormatter('%(client_addr)s - "%(request_line)s" %(status_code)s').format(
        record
    )
    assert formatted == '203.0.113.7:5000 - "GET /v1/services HTTP/1.1" 400 Bad Request'
    plain = _access_record("/healthz")
    DropQueryString().filter(plain)
    assert plain.getMessage() == '203.0.113.7:5000 - "GET /healthz HTTP/1.1" 400'
    other = logging.LogRecord("uvicorn.access", logging.INFO, __file__, 1, "odd %s", ("?x",), None)
    assert DropQueryString().filter(other) is True
    assert other.getMessage() == "odd ?x"


def test_the_log_configuration_puts_the_filter_on_the_access_log() -> None:
    from uvicorn.config import LOGGING_CONFIG

    config = log_config()
    assert config["loggers"]["uvicorn.access"]["filters"] == ["no_query_string"]
    assert config["filters"]["no_query_string"] == {"()": DropQueryString}
    assert "filters" not in LOGGING_CONFIG["loggers"]["uvicorn.access"]  # a copy, not uvicorn's


@contextlib.contextmanager
def _server(*args: str) -> Iterator[tuple[str, subprocess.Popen[str]]]:
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "paved", "platform", "serve", "--port", str(port), *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=dict(os.environ),
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120  # a loaded machine is slow, never this slow
        while True:
            assert process.poll() is None, process.communicate()
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                    break
            assert time.monotonic() < deadline, "the server did not start"
            time.sleep(0.1)
        yield url, process
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGINT)
            try:
                process.wait(30)
            except subprocess.TimeoutExpired:  # pragma: no cover - a stuck server
                process.kill()
                process.wait(10)


def test_a_real_server_serves_the_settings_file_and_logs_no_query_string(
    paved, tmp_path: Path
) -> None:
    db = f"sqlite:///{tmp_path / 'platform.db'}"
    made = paved("platform", "token", "create", "--user", "alice", "--team", "team-a", "--db", db)
    token = made.stdout.strip()
    settings = tmp_path / "platform.toml"
    settings.write_text(
        "[githost]\n"
        'remote = "git://git.example.com/{name}.git"\n'
        "[deploy]\n"
        'repository = "git@git.example.com:platform/environments.git"\n'
        'min_road_version = "1.1.0"\n'
        "[environments.prod]\n"
        'target = "gitops"\n'
        "protected = true\n"
        "[scaffolds.paved-road]\n"
        'url = "git@git.example.com:platform/paved-road.git"\n',
        encoding="utf-8",
    )
    with _server("--db", db, "--settings", str(settings)) as (url, process):
        auth = {"Authorization": f"Bearer {token}"}
        served = httpx.get(f"{url}/v1/settings", headers=auth).json()
        assert served == {
            "settings": {
                "githost": {"remote": "git://git.example.com/{name}.git"},
                "deploy": {
                    "repository": "git@git.example.com:platform/environments.git",
                    "min_road_version": "1.1.0",
                },
                "environments": {"prod": {"target": "gitops", "protected": "true"}},
                "scaffolds": {"paved-road": {"url": "git@git.example.com:platform/paved-road.git"}},
            }
        }
        assert httpx.get(f"{url}/healthz?probe=visible-marker").status_code == 200
        leaked = httpx.get(f"{url}/v1/services", params={"access_token": token})
        assert leaked.status_code == 400
        assert leaked.json()["error"] == "token_in_query"
    stdout, stderr = process.communicate(timeout=120)
    logged = stdout + stderr
    access = [line for line in logged.splitlines() if "HTTP/1.1" in line]
    assert any('"GET /healthz HTTP/1.1" 200' in line for line in access), logged
    assert any('"GET /v1/services HTTP/1.1" 400' in line for line in access), logged
    assert all("?" not in line for line in access), access
    assert "visible-marker" not in logged
    assert token.split("_", 2)[2] not in logged
    assert "pvd_" not in logged


def test_connections_to_the_listening_socket_send_without_nagle_s_delay() -> None:
    """asyncio (and so uvicorn) turns TCP_NODELAY on only for sockets that say IPPROTO_TCP;
    without it a keep-alive client waited for its delayed ACK (40 ms) on every answer."""
    import asyncio

    from paved.server._serve import listen

    sock = listen("127.0.0.1", free_port())
    seen: list[int] = []

    async def main() -> None:
        def accepted(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            served = writer.get_extra_info("socket")
            seen.append(served.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))
            writer.close()

        server = await asyncio.start_server(accepted, sock=sock)
        port = sock.getsockname()[1]
        _, writer = await asyncio.open_connection("127.0.0.1", port)
        while not seen:
            await asyncio.sleep(0.01)
        writer.close()
        await writer.wait_closed()
        server.close()
        await server.wait_closed()

    try:
        asyncio.run(main())
    finally:
        sock.close()
    assert seen[0] != 0
