"""One fixture pins the environment for every test, so whole outputs can be compared."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from typer.testing import CliRunner

from paved.cli.app import app
from paved.cli.runtime import Runtime


@pytest.fixture(autouse=True)
def pinned_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """HOME, PAVED_HOME, colour, width and git identity fixed for each test."""
    return pin_environment(tmp_path, monkeypatch)


def pin_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Pin the environment to ``tmp_path`` (a module-scoped fixture uses it too)."""
    home = tmp_path / "home"
    home.mkdir(exist_ok=True)
    (home / ".gitconfig").write_text(
        "[user]\n\tname = Test Engineer\n\temail = engineer@example.com\n"
        "[init]\n\tdefaultBranch = main\n",
        encoding="utf-8",
    )
    for var in list(os.environ):
        if var.startswith(("PAVED_", "GIT_", "XDG_")) or var in {"CI", "COPIER_CACHE_DIR"}:
            monkeypatch.delenv(var)
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("PAVED_HOME", str(tmp_path / "paved-home"))
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    monkeypatch.setenv("NO_COLOR", "1")
    monkeypatch.setenv("COLUMNS", "80")
    monkeypatch.chdir(tmp_path)
    return tmp_path


@dataclass
class Invocation:
    exit_code: int
    stdout: str
    stderr: str


@pytest.fixture
def paved(pinned_env: Path) -> Callable[..., Invocation]:
    """Run the CLI in-process through CliRunner, with a runtime built from the pinned env."""
    runner = CliRunner()

    def invoke(*args: str, runtime: Runtime | None = None, input: str | None = None) -> Invocation:
        runtime = runtime or Runtime.from_process()
        result = runner.invoke(app, list(args), obj=runtime, input=input)
        if result.exception and not isinstance(result.exception, SystemExit):
            raise result.exception
        return Invocation(result.exit_code, result.stdout, result.stderr)

    return invoke
