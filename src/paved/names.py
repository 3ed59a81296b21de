"""The naming rule shared by services and teams.

A name must be valid at once as a DNS label, a Kubernetes object name, a Backstage entity
name and part of an IAM role or WAF web ACL name with an environment suffix, so the rule is
the intersection of those: lower-case ASCII letters and digits in hyphen-separated words,
starting with a letter, 2 to 40 characters.
"""

from __future__ import annotations

import re

from paved.errors import InputError

__all__ = [
    "MAX_LENGTH",
    "MIN_LENGTH",
    "NAME_PATTERN",
    "NAME_SCHEMA_PATTERN",
    "check_name",
    "example_name",
    "name_problem",
]

NAME_PATTERN = re.compile(r"[a-z][a-z0-9]*(?:-[a-z0-9]+)*")
MIN_LENGTH = 2
MAX_LENGTH = 40
#: The same rule as a whole-string pattern, for the API's JSON Schemas and query checks.
NAME_SCHEMA_PATTERN = f"^{NAME_PATTERN.pattern}$"


def name_problem(name: str) -> str | None:
    """Say what is wrong with ``name``, or ``None`` when it follows the rule."""
    if name == "":
        return "is empty"
    if not name.isascii() or not name.isprintable():
        return "has characters outside a-z, 0-9 and '-'"
    if len(name) < MIN_LENGTH:
        return f"is shorter than {MIN_LENGTH} characters"
    if len(name) > MAX_LENGTH:
        return f"is longer than {MAX_LENGTH} characters ({len(name)})"
    if name != name.lower():
        return "has upper-case letters"
    if not name[0].isalpha():
        return "must start with a letter"
    if name.endswith("-"):
        return "must not end with '-'"
    if "--" in name:
        return "must not contain '--'"
    if NAME_PATTERN.fullmatch(name) is None:
        return "has characters outside a-z, 0-9 and '-'"
    return None


#: An example of each kind of name, for hints and prompts: a team's example is a team.
_EXAMPLES = (("team", "team-checkout"), ("environment", "staging"), ("layer", "paved-road"))


def example_name(what: str) -> str:
    """A name of the kind ``what`` names ("owner team", "environment", ...), to show."""
    return next((example for kind, example in _EXAMPLES if kind in what), "payments-api")


def check_name(name: str, *, what: str = "service") -> str:
    """Return ``name`` when it follows the rule; raise :class:`InputError` otherwise."""
    problem = name_problem(name)
    if problem is not None:
        shown = name.encode("unicode_escape").decode("ascii")
        raise InputError(
            f"{what} name '{shown}' {problem}",
            hint=(
                f"use 2-{MAX_LENGTH} lower-case letters, digits and single hyphens, "
                f"starting with a letter (for example '{example_name(what)}')"
            ),
        )
    return name
