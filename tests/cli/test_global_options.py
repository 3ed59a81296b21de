"""Global options and the promise never to prompt when nobody can answer."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from paved.errors import ExitCode
from tests.helpers import REPO_ROOT


@pytest.mark.parametrize("flags", [[], ["--yes"]])
def test_ci_never_prompts_and_names_the_flag(
    paved, monkeypatch: pytest.MonkeyPatch, flags: list[str]
) -> None:
    monkeypatch.setenv("CI", "true")
    result = paved(*flags, "new", "service", "payments", input="team-a\n")
    assert result.exit_code == ExitCode.USAGE
    assert result.stderr == "error: the owning team is missing; pass --owner TEAM\n"


def test_quiet_says_nothing_but_the_result(paved, pinned_env: Path) -> None:
    result = paved(
        "--quiet", "new", "service", "payments", "--owner", "team-a", "--no-push", "--no-register"
    )
    assert result.exit_code == 0
    assert result.stderr == ""
    assert "status\tcreated" in result.stdout.splitlines()


def test_root_json_flag_works_like_the_command_one(paved) -> None:
    assert json.loads(paved("--json", "templates", "list").stdout) == json.loads(
        paved("templates", "list", "--json").stdout
    )


def test_an_unreachable_catalog_url_is_a_remote_error(
    paved, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PAVED_CATALOG_URL", "http://127.0.0.1:9")
    result = paved("services", "list")
    assert result.exit_code == ExitCode.REMOTE
    assert "platform http://127.0.0.1:9 is unreachable" in result.stderr


def test_a_broken_config_file_is_one_line(paved, pinned_env: Path) -> None:
    config = pinned_env / "paved-home" / "config" / "config.toml"
    config.parent.mkdir(parents=True)
    config.write_text("[githost\n")
    result = paved("services", "list")
    assert result.exit_code == ExitCode.USAGE
    assert result.stderr.startswith(f"error: configuration file {config} is not valid TOML")
    assert len(result.stderr.splitlines()) == 1


def complete(words: str, cword: int, env_extra: dict[str, str] | None = None) -> list[str]:
    """Ask the real completion protocol of the installed `paved`, as bash would."""
    env = {
        **os.environ,
        "_PAVED_COMPLETE": "complete_bash",
        "COMP_WORDS": words,
        "COMP_CWORD": str(cword),
        **(env_extra or {}),
    }
    done = subprocess.run(
        [sys.executable, "-c", "from paved.cli.app import app; app(prog_name='paved')"],
        env=env,
        capture_output=True,
        text=True,
        check=False,
        cwd=REPO_ROOT,
    )
    return done.stdout.split()


def test_shell_completion_offers_commands_and_templates() -> None:
    assert {"new", "services", "templates"} <= set(complete("paved ", 1))
    assert complete("paved new service x --template serv", 5) == ["service-python"]
