"""Run the rules over a service's tree, apply its waivers, and make the report."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from pathlib import Path

from paved.errors import InputError
from paved.guardrails._cache import ParseCache
from paved.guardrails._model import Finding, Report, Rule, Violation
from paved.guardrails._plugins import EntryPoints, plugin_rules
from paved.guardrails._plugins import _entry_points as _default_entry_points
from paved.guardrails._tree import ServiceTree
from paved.kustomize import Builder

__all__ = ["all_rules", "check", "evaluate"]


def all_rules(entry_points: EntryPoints = _default_entry_points) -> list[Rule]:
    """paved's rules, then every plug-in's; an id used twice is an error."""
    from paved.guardrails._rules import BUILTIN_RULES

    rules = [*BUILTIN_RULES, *plugin_rules(entry_points)]
    seen: dict[str, Rule] = {}
    for rule in rules:
        if rule.id in seen:
            raise InputError(
                f"guardrail id {rule.id} is defined twice ({seen[rule.id].source}, {rule.source})",
                hint="give the plug-in rule an id of its own",
            )
        seen[rule.id] = rule
    return rules


def _run(rule: Rule, tree: ServiceTree) -> list[Violation]:
    try:
        return list(rule.check(tree))
    except Exception as exc:  # noqa: BLE001 - a broken rule is reported, never skipped
        return [Violation(f"the rule could not run: {type(exc).__name__}: {exc}", ".")]


def evaluate(tree: ServiceTree, rules: Sequence[Rule]) -> Report:
    """Every rule over ``tree``; findings covered by an unexpired waiver are marked waived.

    A rule with ``waivable=False`` is never waived: a waiver naming it is ignored (and the
    rule PAVED-REPO-005 reports it, from ``tree.unwaivable``).
    """
    tree.unwaivable = frozenset(rule.id for rule in rules if not rule.waivable)
    active = [w for w in tree.waivers if not w.expired(tree.today)]
    findings = []
    for rule in rules:
        for violation in _run(rule, tree):
            finding = Finding(
                rule=rule.id,
                severity=rule.severity,
                message=violation.message,
                file=violation.file,
                line=violation.line,
                fix=rule.fix,
                docs=rule.docs,
            )
            if rule.waivable:
                waiver = next((w for w in active if w.covers(finding)), None)
                if waiver is not None:
                    finding = Finding(**{**finding.__dict__, "status": "waived", "waiver": waiver})
            findings.append(finding)
    return Report(
        root=str(tree.root),
        today=tree.today,
        findings=tuple(findings),
        waivers=tree.waivers,
        rules=tuple(r.id for r in rules),
    )


def check(
    root: Path,
    *,
    today: dt.date,
    env: Mapping[str, str],
    rules: Sequence[Rule] | None = None,
    kustomize: Builder | None = None,
    cache: ParseCache | bool = True,
) -> Report:
    """Check the service in ``root``: read its tree once, run every rule, apply its waivers.

    ``cache``: where parsed files are kept between runs; ``True`` (the default) for paved's
    cache folder as ``env`` names it (:meth:`ParseCache.from_env`), ``False`` for none.
    """
    if not root.is_dir():
        raise InputError(f"{root} is not a folder", hint="give the path of a service repository")
    tree = ServiceTree(root, today=today, env=env, kustomize=kustomize, cache=_cache(cache, env))
    tree.prefetch()
    return evaluate(tree, all_rules() if rules is None else rules)


def _cache(cache: ParseCache | bool, env: Mapping[str, str]) -> ParseCache | None:
    if cache is True:
        return ParseCache.from_env(env)
    return cache or None
