"""Every command against broken machines: one ``error:`` line, a documented code, no traceback.

Each command of the Typer app gets minimal arguments that reach its real work (a shared
rendered service for the commands that need one), and runs as a process, as a person would
run it, in each broken environment: a home paved cannot write, a catalog.db of garbage, a
config.toml that is not UTF-8 or not TOML, no git on PATH, no kubectl on PATH. The processes
run while the module's fixture is set up, two at a time; each test then looks at one result.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from paved.cli.app import app
from tests.cli.test_new_destination import unwritable
from tests.helpers import REPO_ROOT

pytestmark = pytest.mark.slow

IMAGE = "registry.example.com/payments@sha256:" + "a" * 64

#: Every leaf command, with arguments that get it past parsing to the work it does. {service}
#: is the shared rendered service, {port} a port some other socket holds (so that ``platform
#: serve`` fails on it instead of serving).
COMMANDS: dict[str, list[str]] = {
    "new service": ["new", "service", "billing", "--owner", "team-a"],
    "deploy": ["deploy", "--path", "{service}", "--env", "dev", "--image", IMAGE],
    "rollback": ["rollback", "--path", "{service}", "--env", "dev"],
    "deployments list": ["deployments", "list"],
    "incident open": ["incident", "open", "payments", "--title", "Down", "--dry-run"],
    "incident resolve": ["incident", "resolve", "1", "--dry-run"],
    "incident list": ["incident", "list"],
    "metrics delivery": ["metrics", "delivery"],
    "metrics onboarding": ["metrics", "onboarding"],
    "metrics adoption": ["metrics", "adoption"],
    "doctor": ["doctor", "--json"],
    "onboard": ["onboard", "--name", "billing-first", "--owner", "team-a", "--skip-production"],
    "guardrails check": ["guardrails", "check", "{service}/k8s"],
    "guardrails list": ["guardrails", "list"],
    "guardrails explain": ["guardrails", "explain", "PAVED-K8S-007"],
    "services list": ["services", "list"],
    "services show": ["services", "show", "payments"],
    "services archive": ["services", "archive", "payments"],
    "templates list": ["templates", "list"],
    "templates store": ["templates", "store"],
    "templates show": ["templates", "show", "service-python"],
    "docs": ["docs", "guardrails#waivers"],
    "update": ["update", "{service}", "--dry-run"],  # a dry run: the service is shared
    "add database": ["add", "database", "orders", "--path", "{service}", "--dry-run"],
    "add bucket": ["add", "bucket", "uploads", "--path", "{service}", "--dry-run"],
    "add queue": ["add", "queue", "jobs", "--path", "{service}", "--dry-run"],
    "remove database": ["remove", "database", "orders", "--path", "{service}", "--dry-run"],
    "remove bucket": ["remove", "bucket", "uploads", "--path", "{service}", "--dry-run"],
    "remove queue": ["remove", "queue", "jobs", "--path", "{service}", "--dry-run"],
    "resources list": ["resources", "list", "--path", "{service}"],
    "fleet plan": ["fleet", "plan"],
    "fleet update": ["fleet", "update", "--dry-run"],
    "fleet status": ["fleet", "status"],
    "login": ["login", "http://127.0.0.1:9", "--token", "pvd_0123456789abcdef_x"],
    "logout": ["logout"],
    "platform serve": ["platform", "serve", "--port", "{port}"],
    "platform migrate": ["platform", "migrate", "--dry-run"],
    "platform token create": ["platform", "token", "create", "--user", "alice", "--team", "t-a"],
    "platform token revoke": ["platform", "token", "revoke", "--user", "alice"],
    "platform token list": ["platform", "token", "list"],
    "platform team create": ["platform", "team", "create", "team-x"],
    "platform team list": ["platform", "team", "list"],
}

#: Commands whose non-zero exit can be a report on stdout rather than an error line.
REPORTS = {"doctor": {1, 2}}


def documented_codes() -> set[int]:
    """The codes in the table of docs/exit-codes.md."""
    text = (REPO_ROOT / "docs" / "exit-codes.md").read_text(encoding="utf-8")
    return {int(code) for code in re.findall(r"^\| (\d+) \| `[A-Z]+` \|", text, re.MULTILINE)}


def leaf_commands() -> set[str]:
    import typer.main

    def walk(command: object, path: tuple[str, ...]) -> Iterator[str]:
        children = getattr(command, "commands", None)
        if not children:
            yield " ".join(path)
            return
        for name, child in children.items():
            yield from walk(child, (*path, name))

    return set(walk(typer.main.get_command(app), ()))


def _path_without(tool: str, folder: Path) -> str:
    """A PATH of one folder linking every program on this PATH but ``tool``."""
    folder.mkdir()
    for directory in os.environ.get("PATH", "").split(os.pathsep):
        if not directory or not Path(directory).is_dir():
            continue
        for program in Path(directory).iterdir():
            link = folder / program.name
            if program.name != tool and not link.exists() and not link.is_symlink():
                link.symlink_to(program)
    return str(folder)


def _read_only_home(root: Path) -> dict[str, str]:
    (root / "paved-home" / "config").mkdir(parents=True)
    for folder in ("data", "cache"):
        unwritable(root / "paved-home" / folder)  # asserts that writing there really fails
    return {}


def _corrupt_catalog(root: Path) -> dict[str, str]:
    data = root / "paved-home" / "data"
    data.mkdir(parents=True)
    (data / "catalog.db").write_bytes(b"\x00\xffnot a database\x13" * 300)
    return {}


def _config(content: bytes) -> Callable[[Path], dict[str, str]]:
    def make(root: Path) -> dict[str, str]:
        config = root / "paved-home" / "config"
        config.mkdir(parents=True)
        (config / "config.toml").write_bytes(content)
        return {}

    return make


def _without(tool: str) -> Callable[[Path], dict[str, str]]:
    def make(root: Path) -> dict[str, str]:
        path = _path_without(tool, root / "bin")
        assert shutil.which(tool, path=path) is None
        return {"PATH": path}

    return make


ENVIRONMENTS: dict[str, Callable[[Path], dict[str, str]]] = {
    "read-only-home": _read_only_home,
    "corrupt-catalog": _corrupt_catalog,
    "config-not-utf8": _config(b'[githost]\nremote = "git@h:caf\xe9/{name}.git"\n'),
    "config-not-toml": _config(b"[githost\nremote = 'x'\n"),
    "no-git": _without("git"),
    "no-kubectl": _without("kubectl"),
}


def _base_env(root: Path) -> dict[str, str]:
    """The process environment of tests/conftest.py's pin_environment, under ``root``."""
    home = root / "home"
    home.mkdir(parents=True)
    (home / ".gitconfig").write_text(
        "[user]\n\tname = Test Engineer\n\temail = engineer@example.com\n"
        "[init]\n\tdefaultBranch = main\n",
        encoding="utf-8",
    )
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("PAVED_", "GIT_", "XDG_")) and k not in {"CI", "COPIER_CACHE_DIR"}
    }
    env.update(
        HOME=str(home),
        PAVED_HOME=str(root / "paved-home"),
        GIT_CONFIG_NOSYSTEM="1",
        NO_COLOR="1",
        COLUMNS="80",
    )
    return env


def _run(args: list[str], cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "paved", *args],
        cwd=cwd,
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.fixture(scope="module")
def results(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[dict[tuple[str, str], subprocess.CompletedProcess[str]]]:
    top = tmp_path_factory.mktemp("broken")
    healthy = top / "healthy"
    made = _run(
        ["new", "service", "payments", "--owner", "team-a"], top, _base_env(healthy)
    )  # one rendered service, committed and pushed, for every environment
    assert made.returncode == 0, made.stderr
    service = top / "payments"
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        values = {"service": str(service), "port": str(holder.getsockname()[1])}

        def run_environment(name: str) -> dict[tuple[str, str], subprocess.CompletedProcess[str]]:
            root = top / name
            env = _base_env(root)
            env.update(ENVIRONMENTS[name](root))
            work = root / "work"
            work.mkdir()
            return {
                (name, command): _run([a.format(**values) for a in args], work, env)
                for command, args in COMMANDS.items()
            }

        with ThreadPoolExecutor(max_workers=2) as pool:
            found: dict[tuple[str, str], subprocess.CompletedProcess[str]] = {}
            for one in pool.map(run_environment, ENVIRONMENTS):
                found.update(one)
    yield found
    for name in ENVIRONMENTS:  # let pytest remove what a read-only home left
        for folder in (top / name / "paved-home").rglob("*"):
            if folder.is_dir() and not folder.is_symlink():
                folder.chmod(0o755)


def test_every_command_is_in_the_matrix() -> None:
    assert leaf_commands() == set(COMMANDS)


@pytest.mark.parametrize("command", list(COMMANDS))
@pytest.mark.parametrize("environment", list(ENVIRONMENTS))
def test_a_broken_environment_gives_one_line_and_a_documented_code(
    results: dict[tuple[str, str], subprocess.CompletedProcess[str]],
    environment: str,
    command: str,
) -> None:
    done = results[(environment, command)]
    shown = f"{environment} / paved {command}: exit {done.returncode}\n{done.stderr}"
    assert "Traceback" not in done.stderr, shown
    assert done.returncode in documented_codes(), shown
    if done.returncode == 0:
        return
    if done.returncode in REPORTS.get(command, set()) and done.stdout.strip():
        return  # a report on stdout (doctor's checks), not an error
    lines = done.stderr.splitlines()
    assert lines, shown
    assert lines[-1].startswith("error: "), shown
    assert "\r" not in lines[-1]
    assert "\x1b" not in lines[-1]
