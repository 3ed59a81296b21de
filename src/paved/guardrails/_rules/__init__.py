"""The rules paved ships, one module per family."""

from __future__ import annotations

from paved.guardrails._model import Rule
from paved.guardrails._rules import catalog, ci, data, iam, k8s, logs, repo, secrets, waf

__all__ = ["BUILTIN_RULES"]

BUILTIN_RULES: tuple[Rule, ...] = (
    *iam.RULES,
    *data.RULES,
    *waf.RULES,
    *k8s.RULES,
    *logs.RULES,
    *ci.RULES,
    *secrets.RULES,
    *catalog.RULES,
    *repo.RULES,
)
