"""Global options and the promise never to prompt when nobody can answer."""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
import typer
from typer.core import TyperGroup, TyperOption
from typer.main import get_command

from paved.cli.app import app
from paved.cli.common import GLOBAL_OPTIONS
from paved.cli.examples import EXAMPLES
from paved.cli.runtime import Runtime
from paved.cli.shape import leaf_commands
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


# -- global options after the command ----------------------------------------------------------


def root_group() -> TyperGroup:
    """The command tree, built afresh as `paved` builds it."""
    root = get_command(app)
    assert isinstance(root, TyperGroup)
    return root


def options(command: object, flag: str) -> list[TyperOption]:
    params = getattr(command, "params", [])
    return [p for p in params if isinstance(p, TyperOption) and flag in p.opts]


def test_yes_after_the_command_fails_naming_the_missing_owner(paved) -> None:
    result = paved("new", "service", "payments", "--yes")
    assert result.exit_code == ExitCode.USAGE
    assert result.stderr == "error: the owning team is missing; pass --owner TEAM\n"


def test_json_after_the_command_is_the_global_json(paved) -> None:
    after = paved("services", "list", "--json")
    assert after.exit_code == 0
    assert json.loads(after.stdout) == {"schema": "paved/services/v1", "services": []}
    assert after.stdout == paved("--json", "services", "list").stdout


def test_quiet_after_the_command_silences_stderr(paved) -> None:
    loud = paved("doctor")
    assert loud.stderr != ""
    quiet = paved("doctor", "--quiet")
    assert quiet.exit_code == loud.exit_code
    assert quiet.stderr == ""
    assert quiet.stdout == loud.stdout


@pytest.mark.parametrize(
    "args",
    [
        ["--verbose", "doctor", "--quiet"],
        ["-q", "services", "list", "-v"],
        ["doctor", "-v", "-q"],
        ["new", "service", "payments", "--quiet", "--owner", "team-a", "--verbose"],
    ],
)
def test_verbose_with_quiet_anywhere_is_a_usage_error(paved, args: list[str]) -> None:
    result = paved(*args)
    assert result.exit_code == ExitCode.USAGE
    assert result.stderr == "error: --verbose and --quiet cannot be used together\n"
    assert result.stdout == ""


def test_a_value_that_looks_like_a_global_option_stays_a_value(paved) -> None:
    runtime = Runtime.from_process()
    result = paved(
        "-v",
        "new",
        "service",
        "payments",
        "--owner",
        "team-a",
        "--description",
        "-q",
        "--dry-run",
        "--json",
        runtime=runtime,
    )
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["description"] == "-q"
    assert runtime.verbosity == 1


@pytest.mark.parametrize(
    ("flag", "field", "value"),
    [
        ("--yes", "yes", True),
        ("-y", "yes", True),
        ("--json", "json", True),
        ("--no-color", "color", False),
        ("-v", "verbosity", 1),
        ("--quiet", "verbosity", -1),
    ],
)
@pytest.mark.parametrize("path", sorted(leaf_commands(root_group())))
def test_every_command_takes_each_global_option(
    path: str, flag: str, field: str, value: object
) -> None:
    """Parsed (no command run) after each command's first example, the option sets the same
    field of the runtime as before the command."""
    if (path, flag) == ("platform serve", "--json"):  # a server prints no result document
        assert options(leaf_commands(root_group())[path], flag) == []
        return
    root = root_group()
    example = shlex.split(EXAMPLES[path][0].command)
    words = example[: next((i for i, w in enumerate(example) if w in {"|", "<"}), len(example))]
    runtime = Runtime.from_process()
    runtime.out  # noqa: B018 - built before the option, as a command's first use would
    parent = typer.Context(root, info_name="paved", obj=runtime)
    command = leaf_commands(root)[path]
    command.make_context(path, [*words[1 + len(path.split()) :], flag], parent=parent)
    assert getattr(runtime, field) == value
    if field == "json":
        assert runtime.out.json_mode is True  # built again, not the one cached before
    if field == "verbosity":
        assert runtime.out.verbosity == value


def test_a_commands_own_yes_is_the_global_yes(paved) -> None:
    runtime = Runtime.from_process()
    paved("deploy", "--env", "prod", "--yes", runtime=runtime)
    assert runtime.yes is True
    root = root_group()
    [root_yes] = options(root, "--yes")
    [own_yes] = options(leaf_commands(root)["deploy"], "--yes")
    assert own_yes.expose_value  # the command still reads its own value
    assert own_yes.help == root_yes.help


def test_the_global_options_read_the_same_in_every_help(paved) -> None:
    root = root_group()
    for flag, help_text in GLOBAL_OPTIONS.items():
        assert [o.help for o in options(root, flag)] == [help_text]
        for path, command in leaf_commands(root).items():
            taken = (path, flag) != ("platform serve", "--json")  # no result to print
            assert [o.help for o in options(command, flag)] == [help_text] * taken, (path, flag)
    text = paved("deploy", "--help").stdout
    section = text.split("\nGlobal options:\n", 1)[1].split("\n\n", 1)[0]
    flags = re.findall(r"^  (?:-\w, )?(--[\w-]+) ", section, flags=re.MULTILINE)
    assert flags == list(GLOBAL_OPTIONS)


def test_json_before_platform_serve_is_refused_before_anything_starts(paved) -> None:
    done = paved("--json", "platform", "serve", "--port", "1")
    assert done.exit_code == 2
    assert done.stderr.startswith("error: platform serve prints no JSON document")
    assert done.stdout == ""
