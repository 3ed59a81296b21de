"""Guardrails: rules with stable ids over a service's working tree, waivers, and reports.

The engine reads the tree once (:class:`ServiceTree`), runs each :class:`Rule`'s pure check
over it, and applies the waivers in ``.paved/waivers.yaml``. ``paved guardrails check``,
``paved doctor`` and ``paved deploy`` all call :func:`check`. Platform teams add rules through
the ``paved.guardrails`` entry point group (docs/guardrails.md).
"""

from __future__ import annotations

from paved.guardrails._cache import ParseCache
from paved.guardrails._engine import all_rules, check, evaluate
from paved.guardrails._model import Finding, Report, Rule, Severity, Violation, Waiver
from paved.guardrails._plugins import ENTRY_POINT_GROUP, plugin_rules
from paved.guardrails._rules import BUILTIN_RULES
from paved.guardrails._rules.repo import CONFLICT_RULE, conflict_markers, unresolved_conflict
from paved.guardrails._tree import K8sObject, ServiceTree
from paved.guardrails._waivers import parse_waivers, read_waivers

__all__ = [
    "BUILTIN_RULES",
    "CONFLICT_RULE",
    "ENTRY_POINT_GROUP",
    "Finding",
    "K8sObject",
    "ParseCache",
    "Report",
    "Rule",
    "ServiceTree",
    "Severity",
    "Violation",
    "Waiver",
    "all_rules",
    "check",
    "conflict_markers",
    "evaluate",
    "parse_waivers",
    "plugin_rules",
    "read_waivers",
    "unresolved_conflict",
]
