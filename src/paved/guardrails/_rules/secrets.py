"""Secrets: key and token patterns in the files git tracks or would commit.

There is no parser for "a secret", so this family reads text: every listed file that is not
binary (no NUL byte in its first 8 KiB) and not over 1 MB. A finding never repeats the secret.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import PurePosixPath

from paved.guardrails._model import Rule, Violation
from paved.guardrails._rules._util import make_rule
from paved.guardrails._tree import ServiceTree

__all__ = ["PASSWORD", "RULES", "SECRET_PATTERNS"]

RULES: list[Rule] = []

SECRET_PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("an AWS access key id", re.compile(r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b")),
    ("a private key", re.compile(r"-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----")),
    ("a GitHub token", re.compile(r"\bgh[pousr]_[A-Za-z0-9]{36,}\b")),
    ("a GitHub fine-grained token", re.compile(r"\bgithub_pat_[A-Za-z0-9_]{22,}")),
    ("a Slack token", re.compile(r"\bxox[abprs]-[A-Za-z0-9-]{10,}")),
)
PASSWORD = re.compile(
    r"""(?ix) \b(?:password|passwd|pwd)\b ["']? \s* [:=] \s* (["'])(?P<value>[^"'\s]+)\1"""
)
_PLACEHOLDER = re.compile(r"^(?:\$|\{\{|<|%\(|\*+$)")


def _is_test(path: str) -> bool:
    parts = PurePosixPath(path).parts
    name = parts[-1]
    return (
        any(p in ("test", "tests") for p in parts[:-1])
        or name.startswith("test_")
        or name.endswith("_test.py")
        or name == "conftest.py"
    )


def _lines(tree: ServiceTree, *, tests: bool = True) -> Iterator[tuple[str, int, str]]:
    for path in tree.files:
        if not tests and _is_test(path):
            continue
        text = tree.text(path)
        if text is None:
            continue
        for number, line in enumerate(text.splitlines(), start=1):
            yield path, number, line


@make_rule(
    RULES,
    "PAVED-SECRET-001",
    "committed secret",
    "error",
    "revoke the secret now, remove it from the history, and load it at run time (secret-read)",
    reason=(
        "A committed secret is readable by everyone with the repository, in every clone, forever: "
        "it must be revoked, not just deleted."
    ),
    refuses="AWS_ACCESS_KEY_ID=AKIAIOSFODNN7EXAMPLE",
    passes='AWS_ACCESS_KEY_ID = os.environ["AWS_ACCESS_KEY_ID"]   # given at run time',
)
def committed_secret(tree: ServiceTree) -> Iterator[Violation]:
    for path, number, line in _lines(tree):
        for what, pattern in SECRET_PATTERNS:
            if pattern.search(line):
                yield Violation(f"{what} is committed", path, number)


@make_rule(
    RULES,
    "PAVED-SECRET-002",
    "password assigned a literal value",
    "warning",
    "read the password from the environment or a secret store, not from a literal",
    reason=(
        "A password written in the code is shared with everyone who reads it and changes only with "
        "a commit."
    ),
    refuses='password = "hunter22"',
    passes='password = os.environ["DB_PASSWORD"]',
)
def literal_password(tree: ServiceTree) -> Iterator[Violation]:
    for path, number, line in _lines(tree, tests=False):
        match = PASSWORD.search(line)
        if match and not _PLACEHOLDER.match(match["value"]):
            yield Violation("a password is assigned a literal value", path, number)
