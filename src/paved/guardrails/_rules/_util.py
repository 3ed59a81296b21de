"""Small helpers the rule families share."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from paved.guardrails._model import Rule, Severity, Violation
from paved.guardrails._tree import ServiceTree

__all__ = ["as_list", "make_rule"]

Check = Callable[[ServiceTree], Iterable[Violation]]


def as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return list(value) if isinstance(value, list | tuple) else [value]


def make_rule(
    rules: list[Rule],
    id: str,
    title: str,
    severity: Severity,
    fix: str,
    *,
    reason: str,
    refuses: str,
    passes: str,
    waivable: bool = True,
) -> Callable[[Check], Check]:
    """Register the decorated check as a rule of its family.

    Every rule paved ships says why it exists and shows one example it refuses and one that
    passes (``paved guardrails explain``): they are required here, next to the check.
    """

    def register(check: Check) -> Check:
        rule = Rule(
            id=id,
            title=title,
            severity=severity,
            check=check,
            fix=fix,
            waivable=waivable,
            reason=reason,
            refuses=refuses,
            passes=passes,
        )
        rules.append(rule)
        return check

    return register
