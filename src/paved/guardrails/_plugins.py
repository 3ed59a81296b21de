"""Rules from outside paved: Python entry points in the group ``paved.guardrails``.

Each entry point names a :class:`~paved.guardrails.Rule`, a list of rules, or a callable
returning either. A platform team ships them in its own package; installing it next to paved
is all it takes (see docs/guardrails.md#plug-in-rules).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from importlib import metadata
from typing import Any

from paved.errors import InputError
from paved.guardrails._model import Rule

__all__ = ["ENTRY_POINT_GROUP", "plugin_rules"]

ENTRY_POINT_GROUP = "paved.guardrails"

EntryPoints = Callable[[], Iterable[metadata.EntryPoint]]


def _entry_points() -> Iterable[metadata.EntryPoint]:
    return metadata.entry_points(group=ENTRY_POINT_GROUP)


def plugin_rules(entry_points: EntryPoints = _entry_points) -> list[Rule]:
    """The rules every installed plug-in contributes, each marked with its entry point."""
    rules: list[Rule] = []
    for entry_point in sorted(entry_points(), key=lambda e: e.name):
        where = f"guardrails plug-in '{entry_point.name}' ({entry_point.value})"
        try:
            loaded: Any = entry_point.load()
            if callable(loaded) and not isinstance(loaded, Rule):
                loaded = loaded()
        except Exception as exc:  # noqa: BLE001 - a plug-in may raise anything
            raise InputError(
                f"{where} failed to load: {type(exc).__name__}: {exc}",
                hint="fix or uninstall the package that provides it",
            ) from None
        found = [loaded] if isinstance(loaded, Rule) else loaded
        if not isinstance(found, list | tuple) or not all(isinstance(r, Rule) for r in found):
            raise InputError(
                f"{where} gave {type(loaded).__name__}, not a Rule or a list of Rules",
                hint="see paved docs guardrails#plug-in-rules",
            )
        for rule in found:
            rules.append(rule if rule.source != "paved" else _sourced(rule, entry_point.name))
    return rules


def _sourced(rule: Rule, name: str) -> Rule:
    import dataclasses

    return dataclasses.replace(rule, source=f"plug-in {name}")
