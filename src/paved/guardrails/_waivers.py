"""``.paved/waivers.yaml``: the waivers a service carries, each with an owner and an expiry."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from paved.errors import InputError
from paved.guardrails._model import RULE_ID, Waiver
from paved.guardrails._yaml import YamlError, line_of, load_all

__all__ = ["parse_waivers"]

_FIELDS = ("rule", "path", "reason", "owner", "expires")
_HINT = (
    "each waiver needs rule, path, reason, owner and expires (YYYY-MM-DD); "
    "see docs/guardrails.md#waivers"
)


def parse_waivers(text: str, file: str) -> tuple[Waiver, ...]:
    """The waivers in ``text``: a list, or a mapping with a ``waivers`` list. One-line errors."""
    try:
        docs = load_all(text)
    except YamlError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{file}:{mark.line + 1}" if mark is not None else file
        raise InputError(f"{where} is not valid YAML", hint=_HINT) from None
    doc: Any = docs[0] if docs else []
    if isinstance(doc, Mapping):
        doc = doc.get("waivers", [])
    if not isinstance(doc, list):
        raise InputError(f"{file} must hold a list of waivers", hint=_HINT)
    waivers = []
    for index, entry in enumerate(doc):
        where = f"{file}:{line_of(doc, index) or index + 1}"
        if not isinstance(entry, Mapping):
            raise InputError(f"{where}: a waiver must be a mapping", hint=_HINT)
        missing = [f for f in _FIELDS if entry.get(f) in (None, "")]
        if missing:
            raise InputError(f"{where}: the waiver has no {', '.join(missing)}", hint=_HINT)
        unknown = sorted(str(k) for k in entry if k not in _FIELDS)
        if unknown:
            raise InputError(f"{where}: unknown waiver field {', '.join(unknown)}", hint=_HINT)
        rule = str(entry["rule"])
        if not RULE_ID.match(rule):
            raise InputError(
                f"{where}: '{rule}' is not a rule id", hint="see paved guardrails list"
            )
        waivers.append(
            Waiver(
                rule=rule,
                path=str(entry["path"]),
                reason=str(entry["reason"]),
                owner=str(entry["owner"]),
                expires=_date(entry["expires"], where),
                line=line_of(doc, index),
            )
        )
    return tuple(waivers)


def _date(value: Any, where: str) -> dt.date:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError:
        raise InputError(
            f"{where}: expires '{value}' is not a date", hint="write it as YYYY-MM-DD"
        ) from None
