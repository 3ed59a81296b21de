"""The reference pages list the CLI and the guardrails exactly: nothing missing, nothing extra.

docs/commands.md documents a command in a ``##`` section (its ``###`` subsections included)
whose usage block, a plain code fence, has one line per command: ``paved WORDS... [OPTIONS]``,
the command's words first, then its arguments (upper case) and options; an indented line
continues the one above. A command's options are
the ones its usage lines name, and, in a section of one command only, the ones in the first
column of its tables. The root's options are the table of "Global options"; an option of the
root that a command also accepts (``--json`` after the command) needs no second mention.

docs/guardrails.md documents a rule in a ``### RULE-ID`` heading.
"""

from __future__ import annotations

import re
from collections import defaultdict
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
import typer.main

from paved.cli.app import app
from paved.guardrails import BUILTIN_RULES
from tests.helpers import REPO_ROOT

DOCS = REPO_ROOT / "docs"
COMMANDS_MD = DOCS / "commands.md"
GUARDRAILS_MD = DOCS / "guardrails.md"

_OPTION = re.compile(r"(?<![\w./-])(--?[a-zA-Z][\w-]*)")
_HELP = {"-h", "--help"}  # click adds these to every command


def _tree() -> dict[str, set[str]]:
    """Every command of the real click tree: its words (``""`` for the root) and options."""
    found: dict[str, set[str]] = {}

    def walk(command: Any, words: list[str]) -> None:
        subcommands = getattr(command, "commands", {})
        if not words or not subcommands:
            found[" ".join(words)] = {
                option
                for param in command.params
                if param.param_type_name == "option"
                for option in (*param.opts, *param.secondary_opts)
            } | _HELP
        for name, sub in subcommands.items():
            if not getattr(sub, "hidden", False):
                walk(sub, [*words, name])

    walk(typer.main.get_command(app), [])
    return found


def _sections(text: str) -> list[tuple[str, str]]:
    """(heading, body) of each ``##`` section."""
    parts = re.split(r"^## (.*)$", text, flags=re.M)
    return list(zip(parts[1::2], parts[2::2], strict=True))


def _usage_lines(body: str) -> list[str]:
    """The ``paved ...`` lines of a section's plain code fences; an indented line continues the
    line above it."""
    lines: list[str] = []
    for fence in re.findall(r"^```\n(.*?)^```$", body, flags=re.M | re.S):
        previous_is_usage = False
        for line in fence.splitlines():
            if line.startswith("paved "):
                lines.append(line.strip())
                previous_is_usage = True
            elif previous_is_usage and line.startswith(" ") and line.strip():
                lines[-1] += " " + line.strip()
            else:
                previous_is_usage = False
    return lines


def _command_words(usage: str) -> str:
    words = []
    for word in usage.split()[1:]:
        if not re.fullmatch(r"[a-z][a-z-]*", word):
            break
        words.append(word)
    return " ".join(words)


def _table_options(body: str) -> set[str]:
    options: set[str] = set()
    for cell in re.findall(r"^\| ([^|]*(?:\\\|[^|]*)*) \|", body, flags=re.M):
        for code in re.findall(r"`([^`]+)`", cell):
            options |= set(_OPTION.findall(code))
    return options


def _documented() -> dict[str, set[str]]:
    """Every command docs/commands.md documents, with the options it names for each."""
    documented: dict[str, set[str]] = defaultdict(set)
    for heading, body in _sections(COMMANDS_MD.read_text(encoding="utf-8")):
        if heading.strip() == "Global options":
            documented[""] |= _table_options(body)
            continue
        usages = _usage_lines(body)
        commands = {_command_words(usage) for usage in usages}
        for usage in usages:
            documented[_command_words(usage)] |= set(_OPTION.findall(usage))
        if len(commands) == 1:
            documented[commands.pop()] |= _table_options(body)
    return documented


def test_the_parser_reads_the_conventions_of_the_page() -> None:
    documented = _documented()
    assert {"--json", "--yes", "-y", "--version"} <= documented[""]
    assert {"-o", "--owner", "--set", "--dry-run"} <= documented["new service"]
    assert {"--continue", "--abort", "--decline", "--until"} <= documented["update"]
    assert {"--parallel", "--waves", "--mode"} <= documented["fleet update"]
    assert "--waves" not in documented["fleet plan"]


_HOW = "(docs/commands.md: a ## section with a usage block; see tests/docs/test_reference.py)"


def test_every_documented_command_exists() -> None:
    tree = _tree()
    assert sorted(set(_documented()) - set(tree)) == [], f"documented, not in the CLI {_HOW}"


def test_every_command_is_documented() -> None:
    assert sorted(set(_tree()) - set(_documented())) == [], f"not documented {_HOW}"


def test_every_documented_option_exists_on_its_command() -> None:
    tree, documented = _tree(), _documented()
    extra = {
        command: sorted(options - tree[command])
        for command, options in documented.items()
        if command in tree and options - tree[command]
    }
    assert extra == {}, f"documented options no command has {_HOW}"


def test_every_option_is_documented_with_its_command() -> None:
    tree, documented = _tree(), _documented()
    root = tree[""]
    missing = {
        command: sorted(options - documented.get(command, set()) - (root if command else set()))
        for command, options in tree.items()
    }
    missing = {command: options for command, options in missing.items() if options}
    assert missing == {}, f"options not documented with their command {_HOW}"


def _documented_rules() -> list[str]:
    return re.findall(r"^### ([A-Z]+-[A-Z0-9]+-\d{3})\s*$", GUARDRAILS_MD.read_text(), flags=re.M)


def test_guardrails_md_documents_exactly_the_registered_rules() -> None:
    documented = _documented_rules()
    assert len(documented) == len(set(documented)), "a rule documented twice"
    assert sorted(documented) == sorted(rule.id for rule in BUILTIN_RULES)


@pytest.mark.parametrize("page", [*sorted(p.name for p in DOCS.glob("*.md")), "../README.md"])
def test_every_rule_id_a_page_names_is_registered(page: str) -> None:
    known = {rule.id for rule in BUILTIN_RULES} | {"PAVED-DEPLOY-001", "PAVED-DEPLOY-002"}
    known |= {"PAVED-DEPLOY-003"}  # the deploy gate's own findings (docs/deploy.md)
    named = set(re.findall(r"\bPAVED-[A-Z0-9]+-\d{3}\b", (DOCS / page).read_text()))
    assert sorted(named - known) == []


_DATED = re.compile(r"\b(?:expires|until)\b[\"':\s=]*(\d{4}-\d{2}-\d{2})")


def _example_dates(path: Path) -> list[str]:
    """The dates of the waivers and declines in a page's examples: ``expires: DATE`` and
    ``--until DATE`` / ``until: DATE``, in code blocks and spans."""
    return _DATED.findall(path.read_text(encoding="utf-8"))


@pytest.mark.parametrize("page", sorted(p.name for p in DOCS.glob("*.md")))
def test_dated_examples_stay_valid_for_a_year(page: str) -> None:
    """A waiver or decline shown as active must still be active when a reader copies it.

    docs/doctor.md also shows a decline's expiry on purpose: its dates are in the future as
    well, and its example names the day after.
    """
    soon = date.today() + timedelta(days=365)
    stale = [day for day in _example_dates(DOCS / page) if date.fromisoformat(day) < soon]
    assert stale == [], f"{page}: examples dated before {soon}: move them a few years on"
