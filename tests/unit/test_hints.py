"""What paved says to people names a command (``paved docs PAGE#SECTION``, ``paved guardrails
explain RULE-ID``), never a path of the repository: an installed user has no ``docs/`` folder."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from paved.docs import docs_root, page, reference
from tests.helpers import REPO_ROOT

SRC = REPO_ROOT / "src" / "paved"
REPO_PATH = re.compile(r"\bdocs/[\w./-]+\.md")
#: Values that are not words for an installed user: the JSON ``docs`` field of a rule or
#: finding (documented in the schemas as a page of the documentation), and the header of the
#: release index, a file of paved's own repository written for its maintainers.
DATA = {"DOCS_PAGE", "GATE_DOCS", "_INDEX_HEADER"}


def _docstrings(tree: ast.AST) -> set[int]:
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
                found.add(id(body[0].value))
    return found


def _said(path: Path) -> list[tuple[int, str]]:
    """Every string literal of a module that is neither a docstring nor a data constant."""
    tree = ast.parse(path.read_text(), str(path))
    skip = _docstrings(tree)
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign | ast.AnnAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            if any(isinstance(t, ast.Name) and t.id in DATA for t in targets):
                skip |= {id(n) for n in ast.walk(node)}
    return [
        (node.lineno, node.value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in skip
    ]


def test_no_message_names_a_repository_path() -> None:
    offenders = [
        f"{path.relative_to(REPO_ROOT)}:{line}: {text!r}"
        for path in sorted(SRC.rglob("*.py"))
        for line, text in _said(path)
        if REPO_PATH.search(text)
    ]
    assert offenders == []


def test_the_check_finds_a_path_in_a_hint(tmp_path: Path) -> None:
    module = tmp_path / "m.py"
    module.write_text('"""see docs/x.md"""\nHINT = "see docs/guardrails.md#waivers"\n')
    assert [text for _, text in _said(module) if REPO_PATH.search(text)] == [
        "see docs/guardrails.md#waivers"
    ]


@pytest.mark.parametrize(
    "hint",
    sorted(
        {
            match
            for path in SRC.rglob("*.py")
            for _, text in _said(path)
            for match in re.findall(r"paved docs ([\w/-]+(?:#[\w-]+)?)", text)
        }
    ),
)
def test_every_docs_reference_in_a_message_names_a_page_that_ships(hint: str) -> None:
    name, _, anchor = hint.partition("#")
    assert (docs_root() / f"{name}.md").is_file(), hint
    shipped = page(name)
    if anchor:
        assert anchor in {section.anchor for section in shipped.sections()}, hint
    assert reference(name, anchor or None) == f"paved docs {hint}"
