"""``paved --help`` stays fast: the heavy libraries load only where they are used."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from paved import __version__
from tests.helpers import run_paved

HEAVY = ["copier", "git", "httpx", "jinja2", "fastapi", "plumbum", "rich", "sqlite3"]


def test_importing_the_cli_loads_no_heavy_library() -> None:
    probe = (
        "import json, sys; import paved.cli.app; "
        f"print(json.dumps([m for m in {HEAVY!r} if m in sys.modules]))"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert json.loads(done.stdout) == []


def _cli_modules() -> list[str]:
    import paved.cli

    folder = Path(paved.cli.__file__).parent
    return sorted(f"paved.cli.{p.stem}" for p in folder.glob("*.py") if p.stem != "__init__")


@pytest.mark.parametrize("module", _cli_modules())
def test_every_cli_module_imports_on_its_own(module: str) -> None:
    """No import circle: each command module works in a fresh interpreter, without the root
    command being imported first (as the console script and the tests' conftest do)."""
    done = subprocess.run(
        [sys.executable, "-c", f"import {module}"], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr.strip().splitlines()[-1:]


def test_the_cli_modules_are_all_found() -> None:
    assert {"paved.cli.app", "paved.cli.common", "paved.cli.deploy"} <= set(_cli_modules())


def test_version() -> None:
    done = run_paved("--version")
    assert done.returncode == 0
    assert done.stdout == f"paved {__version__}\n"


def test_help_lists_the_commands() -> None:
    done = run_paved("--help")
    assert done.returncode == 0
    for command in ("new", "services", "templates"):
        assert f"  {command} " in done.stdout


def test_an_unknown_command_is_a_usage_error() -> None:
    done = run_paved("frobnicate")
    assert done.returncode == 2
    assert "No such command 'frobnicate'" in done.stderr
    assert done.stdout == ""
