"""Help that teaches: examples that parse, summaries that fit, metavars that read as words."""

from __future__ import annotations

import re
import shlex
from typing import TYPE_CHECKING

import pytest
import typer
from typer.core import TyperGroup

if TYPE_CHECKING:
    from typer._click import Command

from paved.cli.app import app
from paved.cli.examples import EXAMPLES, Example
from paved.cli.shape import first_sentence, leaf_commands, walk

#: The widths a reader's terminal has; click caps its help at 80 columns whatever the terminal.
WIDTHS = (80, 120)
#: Where a shell command line stops being paved's arguments.
SHELL_OPERATORS = {"|", "||", "&&", ";", "<", ">", ">>", "2>"}


def tree() -> TyperGroup:
    """A fresh command tree, built as `paved` builds it (a copy nobody else touches)."""
    root = typer.main.get_command(app)
    assert isinstance(root, TyperGroup)
    return root


def groups() -> dict[str, TyperGroup]:
    root = tree()
    found = {"": root}
    found.update({path: cmd for path, cmd in walk(root) if isinstance(cmd, TyperGroup)})
    return found


LEAVES = sorted(leaf_commands(tree()))
ALL_EXAMPLES = [(path, example) for path, examples in EXAMPLES.items() for example in examples]


def parse_example(example: Example) -> str:
    """Parse an example against the real command, as click would, running no command.

    Returns the command path it names; raises click's own error for an unknown command or
    option, a missing argument or a bad value.
    """
    words = shlex.split(example.command)
    for index, word in enumerate(words):
        if word in SHELL_OPERATORS:
            words = words[:index]
            break
    assert words[0] == "paved", f"{example.command!r} does not start with paved"
    command: Command = tree()
    path: list[str] = []
    rest = words[1:]
    while isinstance(command, TyperGroup):
        assert rest, f"{example.command!r} names a group, not a command"
        name, *rest = rest
        sub = command.commands.get(name)
        assert sub is not None, (
            f"{example.command!r}: no command {name!r} in 'paved {' '.join(path)}'"
        )
        command = sub
        path.append(name)
    command.make_context(" ".join(["paved", *path]), list(rest))
    return " ".join(path)


# -- examples ----------------------------------------------------------------------------------


def test_every_leaf_command_has_one_to_three_examples() -> None:
    assert sorted(EXAMPLES) == LEAVES
    for path, examples in EXAMPLES.items():
        assert 1 <= len(examples) <= 3, path


@pytest.mark.parametrize(
    ("path", "example"), ALL_EXAMPLES, ids=[e.command for _, e in ALL_EXAMPLES]
)
def test_each_example_parses_against_its_command(path: str, example: Example) -> None:
    assert parse_example(example) == path
    assert example.says
    assert not example.says.endswith(".")
    # shown as written at 80 columns: two spaces of indent, nothing wrapped by the terminal
    assert len(f"  # {example.says}") <= 78
    assert len(f"  {example.command}") <= 78


@pytest.mark.parametrize(
    ("command", "error"),
    [
        ("paved new service payments --onwer team-checkout", "No such option"),
        ("paved services shwo payments", "no command 'shwo'"),
        ("paved services show", "Missing"),
        ("paved platform serve --port http", "valid integer"),
    ],
)
def test_the_example_check_catches_what_drifted(command: str, error: str) -> None:
    with pytest.raises(Exception) as caught:  # noqa: PT011 - click's error or the check's
        parse_example(Example("drifted", command))
    assert error.lower() in str(caught.value).lower()


@pytest.mark.parametrize("path", LEAVES)
def test_help_ends_with_the_examples_as_written(paved, path: str) -> None:
    done = paved(*path.split(), "--help")
    assert done.exit_code == 0
    block = "\n\n".join(f"  # {e.says}\n  {e.command}" for e in EXAMPLES[path])
    assert done.stdout.endswith(f"\nExamples:\n{block}\n")


# -- metavars ----------------------------------------------------------------------------------

#: A type where a word should be: {NAME}, <str>, <list[str]>, <int range>, INTEGER RANGE.
TYPE_LEAK = re.compile(r"\{[A-Z_]+\}|<[a-z][a-z_ |\[\]]*>|\bRANGE\b|\bINTEGER\b|\bTEXT\.\.\.")


@pytest.mark.parametrize("path", [*sorted(groups()), *LEAVES])
def test_metavars_read_as_words(paved, path: str) -> None:
    done = paved(*path.split(), "--help")
    assert done.exit_code == 0
    assert TYPE_LEAK.findall(done.stdout) == []


def test_each_option_and_argument_has_a_word_for_its_value() -> None:
    for path, command in leaf_commands(tree()).items():
        for param in command.params:
            if getattr(param, "is_flag", False) or getattr(param, "count", False):
                continue
            assert param.metavar, f"paved {path}: {param.name} has no metavar"
            assert re.fullmatch(r"[A-Z][A-Z0-9_=.,%:|\[\]-]*|[a-z]+(\|[a-z]+)+", param.metavar), (
                f"paved {path}: {param.name} shows {param.metavar!r}"
            )


def test_an_argument_reads_as_its_name(paved) -> None:
    done = paved("services", "show", "--help")
    assert done.stdout.startswith("Usage: paved services show [OPTIONS] NAME\n")
    assert "\n  NAME  The service name.  [required]\n" in done.stdout
    status = paved("fleet", "status", "--help").stdout
    assert status.startswith("Usage: paved fleet status [OPTIONS] [ROLLOUT]\n")


# -- summaries ---------------------------------------------------------------------------------


def command_rows(help_text: str) -> list[str]:
    """The lines of the Commands section of a group's help."""
    lines = help_text.split("\nCommands:\n", 1)[1].split("\n\n", 1)[0].splitlines()
    return lines


@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize("path", sorted(groups()))
def test_summaries_are_whole_sentences_on_one_line(
    paved, monkeypatch: pytest.MonkeyPatch, path: str, width: int
) -> None:
    monkeypatch.setenv("COLUMNS", str(width))
    group = groups()[path]
    done = paved(*path.split(), "--help")
    assert done.exit_code == 0
    rows = command_rows(done.stdout)
    visible = [name for name, cmd in group.commands.items() if not cmd.hidden]
    # one line a command: a summary that does not fit would wrap onto a line of its own
    assert [row.split()[0] for row in rows] == visible
    for row, name in zip(rows, visible, strict=True):
        summary = row.strip()[len(name) :].strip()
        assert summary == first_sentence(group.commands[name].help), f"paved {path} {name}"
        assert summary.endswith("."), f"paved {path} {name}"
        assert not summary.endswith("..."), f"paved {path} {name}"
        assert len(row) <= 78


def test_first_sentence_takes_the_sentence_not_the_paragraph() -> None:
    assert first_sentence("Deploy it. Then more.\n\nDetails.") == "Deploy it."
    assert first_sentence("One line\nwrapped.\n\nDetails.") == "One line wrapped."
    assert first_sentence(None) == ""
