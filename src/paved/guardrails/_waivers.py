"""``.paved/waivers.yaml``: the waivers a service carries, each with an owner and an expiry.

The file comes from the repository, so every field is checked before a waiver may waive
anything: the rule is a rule id, the path a relative glob inside the service (no absolute
path, no ``..``, no control characters), the owner a team name (:mod:`paved.names`), the
reason one line of visible text (:mod:`paved.text`), the expiry a date. An entry that fails
a check waives nothing; :func:`read_waivers` says what is wrong with it and on which line.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any

from paved.errors import InputError
from paved.guardrails._model import RULE_ID, Violation, Waiver
from paved.guardrails._yaml import YamlError, line_of, load_all
from paved.names import name_problem
from paved.text import escaped, text_problem

__all__ = ["MAX_PATH", "MAX_REASON", "parse_waivers", "read_waivers"]

_FIELDS = ("rule", "path", "reason", "owner", "expires")
_HINT = (
    "each waiver needs rule, path, reason, owner and expires (YYYY-MM-DD); "
    "see paved docs guardrails#waivers"
)
MAX_PATH = 300
MAX_REASON = 500


def read_waivers(
    docs: Sequence[Any], file: str
) -> tuple[tuple[Waiver, ...], tuple[Violation, ...]]:
    """The valid waivers in the parsed ``docs`` of ``file``, and a violation per bad entry.

    The waivers are a list, or a mapping with a ``waivers`` list.
    """
    waivers, problems = _read(docs)
    return waivers, tuple(
        Violation(f"{problem}: this waiver waives nothing", file, line)
        for problem, line in problems
    )


def parse_waivers(text: str, file: str) -> tuple[Waiver, ...]:
    """The waivers in ``text``, or an :class:`InputError` naming the first bad line."""
    try:
        docs = load_all(text)
    except YamlError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{file}:{mark.line + 1}" if mark is not None else file
        raise InputError(f"{where} is not valid YAML", hint=_HINT) from None
    waivers, problems = _read(docs)
    if problems:
        problem, line = problems[0]
        raise InputError(f"{file}:{line}: {problem}" if line else f"{file}: {problem}", hint=_HINT)
    return waivers


def _read(docs: Sequence[Any]) -> tuple[tuple[Waiver, ...], list[tuple[str, int | None]]]:
    doc: Any = docs[0] if docs else []
    if isinstance(doc, Mapping):
        doc = doc.get("waivers", [])
    if not isinstance(doc, list):
        return (), [("the file must hold a list of waivers", line_of(doc))]
    waivers: list[Waiver] = []
    problems: list[tuple[str, int | None]] = []
    for index, entry in enumerate(doc):
        found = _waiver(entry, line_of(doc, index) or index + 1)
        if isinstance(found, Waiver):
            waivers.append(found)
        else:
            problems.append(found)
    return tuple(waivers), problems


def _waiver(entry: Any, line: int | None) -> Waiver | tuple[str, int | None]:
    """The waiver ``entry`` stands for, or (what is wrong, its line)."""
    if not isinstance(entry, Mapping):
        return "a waiver must be a mapping", line
    missing = [f for f in _FIELDS if entry.get(f) in (None, "")]
    if missing:
        return f"the waiver has no {', '.join(missing)}", line
    unknown = sorted(escaped(str(k)) for k in entry if k not in _FIELDS)
    if unknown:
        return f"unknown waiver field {', '.join(unknown)}", line
    for field in ("rule", "path", "reason", "owner"):
        if not isinstance(entry[field], str):
            return f"{field} must be text, not {type(entry[field]).__name__}", line_of(entry, field)
    checks = (
        ("rule", _rule_problem),
        ("path", _path_problem),
        ("owner", _owner_problem),
        ("reason", _reason_problem),
    )
    for field, check in checks:
        problem = check(entry[field])
        if problem is not None:
            return problem, line_of(entry, field)
    expires = _date(entry["expires"])
    if expires is None:
        shown = escaped(str(entry["expires"]))
        return f"expires '{shown}' is not a date (write it as YYYY-MM-DD)", line_of(
            entry, "expires"
        )
    return Waiver(
        rule=entry["rule"],
        path=entry["path"],
        reason=entry["reason"],
        owner=entry["owner"],
        expires=expires,
        line=line,
    )


def _rule_problem(rule: str) -> str | None:
    if RULE_ID.match(rule):
        return None
    return f"'{escaped(rule)}' is not a rule id (see paved guardrails list)"


def _path_problem(path: str) -> str | None:
    """A waiver's path is a glob relative to the service root that stays inside it."""
    shown = escaped(path)
    problem = text_problem(path)
    if problem is not None:
        return f"path '{shown}' {problem}"
    if len(path) > MAX_PATH:
        return f"path is longer than {MAX_PATH} characters"
    if path.startswith(("/", "\\")) or (path[:1].isalpha() and path[1:2] == ":"):
        return f"path '{shown}' is absolute: write it relative to the service root"
    if "\\" in path:
        return f"path '{shown}' has a backslash: separate folders with '/'"
    if ".." in path.split("/"):
        return f"path '{shown}' has a '..' component: it must stay inside the service"
    return None


def _owner_problem(owner: str) -> str | None:
    problem = name_problem(owner)
    if problem is None:
        return None
    return f"owner '{escaped(owner)}' {problem} (a team name, such as 'team-checkout')"


def _reason_problem(reason: str) -> str | None:
    problem = text_problem(reason)
    if problem is not None:
        return f"reason {problem}: write one line of visible text"
    if not reason.strip():
        return "reason is blank"
    if len(reason) > MAX_REASON:
        return f"reason is longer than {MAX_REASON} characters ({len(reason)})"
    return None


def _date(value: Any) -> dt.date | None:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError:
        return None
