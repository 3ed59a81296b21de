"""What paved asks on a terminal: an invalid answer is explained and asked again, three times
at most; the example shown is of the right kind; a script is never asked."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from paved.errors import ExitCode, InputError
from tests.terminal_helpers import run_in_terminal, terminal_runtime

#: The question (CliRunner prints its last character, a space, with the echoed answer).
PROMPT = "Owning team (for example team-checkout):"
TEAM_HINT = (
    "use 2-40 lower-case letters, digits and single hyphens, starting with a letter "
    "(for example 'team-checkout')"
)


def test_an_invalid_team_is_explained_and_asked_again(paved, pinned_env: Path) -> None:
    done = paved(
        "new", "service", "payments", "--dry-run", "--json",
        runtime=terminal_runtime(), input="Team-A\nteam-a\n",
    )  # fmt: skip
    assert done.exit_code == 0, done.stderr
    # CliRunner echoes what is typed on stdout, as a terminal would show it; then the result
    echoed, result = done.stdout.split("{", 1)
    assert echoed.split() == ["Team-A", "team-a"]
    assert json.loads("{" + result)["owner"] == "team-a"
    assert done.stderr.count(PROMPT) == 2
    assert done.stderr.replace(PROMPT, "").splitlines()[0] == (
        f"owner team name 'Team-A' has upper-case letters; {TEAM_HINT} (2 more tries)"
    )
    assert not (pinned_env / "payments").exists()  # a dry run still writes nothing


def test_three_invalid_teams_fail_like_the_flag(paved, pinned_env: Path) -> None:
    done = paved(
        "new", "service", "payments",
        runtime=terminal_runtime(), input="Team-A\n\nteam a\n",
    )  # fmt: skip
    assert done.exit_code == ExitCode.USAGE
    assert [line.strip() for line in done.stdout.splitlines()] == ["Team-A", "", "team a"]
    assert done.stderr.count(PROMPT) == 3
    assert done.stderr.replace(PROMPT, "").splitlines() == [
        f"owner team name 'Team-A' has upper-case letters; {TEAM_HINT} (2 more tries)",
        f"owner team name '' is empty; {TEAM_HINT} (1 more try)",
        f"error: owner team name 'team a' has characters outside a-z, 0-9 and '-'; {TEAM_HINT}",
    ]
    flag = paved("new", "service", "payments", "--owner", "team a")
    assert flag.stderr.splitlines()[-1] == done.stderr.replace(PROMPT, "").splitlines()[-1]
    assert not (pinned_env / "payments").exists()


@pytest.mark.parametrize("env", [{"CI": "true"}, {}])
def test_no_question_without_a_terminal_or_in_ci(
    paved, pinned_env: Path, monkeypatch: pytest.MonkeyPatch, env: dict[str, str]
) -> None:
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    runtime = terminal_runtime() if env else None  # CI: a terminal, still no question
    done = paved("new", "service", "payments", runtime=runtime, input="team-a\n")
    assert done.exit_code == ExitCode.USAGE
    assert done.stderr == "error: the owning team is missing; pass --owner TEAM\n"


def test_yes_asks_nothing(paved) -> None:
    done = paved("--yes", "new", "service", "payments", runtime=terminal_runtime(), input="x\n")
    assert done.exit_code == ExitCode.USAGE
    assert done.stderr == "error: the owning team is missing; pass --owner TEAM\n"


def test_a_person_at_a_real_terminal_is_asked_again(pinned_env: Path) -> None:
    """The same, through a pseudo-terminal: python -m paved as a person runs it."""
    code, screen = run_in_terminal(
        ["new", "service", "payments", "--dry-run"],
        [(r"Owning team \(for example team-checkout\): ", "Team A"),
         (r"Owning team \(for example team-checkout\): ", "team-a")],
        cwd=pinned_env,
    )  # fmt: skip
    assert code == 0, screen
    assert "owner team name 'Team A' has upper-case letters" in screen
    assert "(2 more tries)" in screen
    assert "Plan for payments (dry run: nothing written):" in screen
    assert not (pinned_env / "payments").exists()


def test_a_question_is_shown_with_its_control_characters_escaped(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import typer

    from paved.cli.prompts import confirm

    asked: list[str] = []

    def prompt(text: str, **_kwargs: object) -> str:
        asked.append(text)
        return "n"

    monkeypatch.setattr(typer, "prompt", prompt)
    question = "Deploy orders\x1b[2J\rerror: done to prod?"
    assert confirm(terminal_runtime(), question, missing=InputError("x")) is False
    assert asked == ["Deploy orders\\u001b[2J\\rerror: done to prod? [y/N]"]


def test_a_confirmation_that_cannot_be_asked_says_to_pass_yes(pinned_env: Path) -> None:
    from paved.cli.prompts import confirm
    from paved.cli.runtime import Runtime

    with pytest.raises(InputError) as raised:
        confirm(Runtime.from_process(), "Go?", missing=InputError("going needs confirmation"))
    assert str(raised.value) == (
        "going needs confirmation; pass --yes when not running interactively"
    )
