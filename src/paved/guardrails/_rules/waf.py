"""WAF, for public services: a web ACL per environment, enabled, with managed and rate-based rules.

Reads ``waf/<env>/web-acl.json`` (the WAFv2 ``CreateWebACL`` shape, or ``{"WebACL": {...}}``
as ``get-web-acl`` prints it) and the ``aws_wafv2_web_acl`` resources of every ``.tf`` file.
The association with the load balancer is an ``aws_wafv2_web_acl_association`` resource or an
Ingress annotated ``alb.ingress.kubernetes.io/wafv2-acl-arn`` in the rendered manifests.
Internal services (``exposure: internal`` in the road answers) are not checked.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator, Mapping
from typing import Any

from paved.guardrails._model import Rule, Violation
from paved.guardrails._rules._hcl import blocks, terraform_blocks
from paved.guardrails._rules._util import as_list, make_rule
from paved.guardrails._tree import ServiceTree
from paved.guardrails._yaml import line_of

__all__ = ["RULES", "WebAcl", "web_acls"]

RULES: list[Rule] = []
ALB_WAF_ANNOTATION = "alb.ingress.kubernetes.io/wafv2-acl-arn"


@dataclasses.dataclass(frozen=True)
class WebAcl:
    file: str
    line: int | None
    default_allows: bool
    #: each rule's statement, as a nested mapping
    statements: tuple[Any, ...]


def _keys(value: Any) -> Iterator[str]:
    """Every mapping key anywhere inside ``value``, lower-cased without underscores."""
    if isinstance(value, Mapping):
        for key, inner in value.items():
            yield str(key).lower().replace("_", "")
            yield from _keys(inner)
    elif isinstance(value, list):
        for inner in value:
            yield from _keys(inner)


def web_acls(tree: ServiceTree) -> list[WebAcl]:
    acls = []
    for path in tree.glob("waf/**/*.json"):
        doc = tree.json(path)
        if isinstance(doc, Mapping) and isinstance(doc.get("WebACL"), Mapping):
            doc = doc["WebACL"]
        if not isinstance(doc, Mapping) or not ({"DefaultAction", "Rules"} & set(doc)):
            continue
        default = doc.get("DefaultAction") or {}
        rules = [r for r in as_list(doc.get("Rules")) if isinstance(r, Mapping)]
        acls.append(
            WebAcl(
                path,
                line_of(doc),
                isinstance(default, Mapping) and "Allow" in default,
                tuple(r.get("Statement") for r in rules),
            )
        )
    for path, _name, body in terraform_blocks(tree, "resource", "aws_wafv2_web_acl"):
        default = blocks(body.get("default_action"))
        rules = blocks(body.get("rule"))
        acls.append(
            WebAcl(
                path,
                None,
                any("allow" in d for d in default),
                tuple(r.get("statement") for r in rules),
            )
        )
    return acls


def _associated(tree: ServiceTree) -> bool:
    if any(True for _ in terraform_blocks(tree, "resource", "aws_wafv2_web_acl_association")):
        return True
    for obj in tree.k8s_objects:
        annotations = (obj.doc.get("metadata") or {}).get("annotations") or {}
        if obj.kind == "Ingress" and annotations.get(ALB_WAF_ANNOTATION):
            return True
    return False


def _public(tree: ServiceTree) -> bool:
    return tree.exposure != "internal"


@make_rule(
    RULES,
    "PAVED-WAF-001",
    "public service without a WAF web ACL",
    "error",
    "run paved update to get waf/<env>/web-acl.json (one deleted here stays deleted: restore it "
    "from git)",
    reason=(
        "A public service without a web application firewall takes every injection attempt and "
        "flood straight to its code."
    ),
    refuses="# .copier-answers.road.yml\nexposure: public\n# ... and no waf/ folder",
    passes=(
        "# .copier-answers.road.yml\n"
        "exposure: public\n"
        "# waf/prod/web-acl.json holds the road layer's web ACL"
    ),
)
def waf_missing(tree: ServiceTree) -> Iterator[Violation]:
    if not _public(tree):
        return
    acls = web_acls(tree)
    environments = tree.answer_list("environments")
    json_acls = {a.file for a in acls if a.file.endswith(".json")}
    if not acls:
        yield Violation("the service is public but has no WAF web ACL", "waf/")
    elif json_acls:
        for env in environments:
            if not any(f.startswith(f"waf/{env}/") for f in json_acls):
                yield Violation(
                    f"the service is public but {env} has no WAF web ACL", f"waf/{env}/web-acl.json"
                )


@make_rule(
    RULES,
    "PAVED-WAF-002",
    "WAF web ACL disabled or not associated",
    "error",
    "give the web ACL rules and associate it with the load balancer (the Ingress annotation)",
    reason=(
        "A web ACL that allows everything with no rules, or that is attached to no load balancer, "
        "protects nothing while looking as if it did."
    ),
    refuses='{"Name": "svc-prod", "DefaultAction": {"Allow": {}}, "Rules": []}',
    passes=(
        '{"Name": "svc-prod", "DefaultAction": {"Allow": {}}, "Rules": [{"Name": "common", ...}]}\n'
        "# and the Ingress annotated alb.ingress.kubernetes.io/wafv2-acl-arn"
    ),
)
def waf_disabled(tree: ServiceTree) -> Iterator[Violation]:
    if not _public(tree):
        return
    acls = web_acls(tree)
    for acl in acls:
        if acl.default_allows and not [s for s in acl.statements if s]:
            yield Violation(
                "the web ACL allows everything: default action Allow and no rules",
                acl.file,
                acl.line,
            )
    if acls and not _associated(tree):
        yield Violation(
            "the web ACL is associated with nothing (no aws_wafv2_web_acl_association, "
            f"no Ingress with {ALB_WAF_ANNOTATION})",
            acls[0].file,
            acls[0].line,
        )


@make_rule(
    RULES,
    "PAVED-WAF-003",
    "WAF web ACL without managed rule groups",
    "error",
    "add the AWS managed rule groups (common, known bad inputs, SQL injection, IP reputation)",
    reason=(
        "The AWS managed rule groups block the common attacks (injection, known bad inputs, bad IP "
        "addresses) that a hand-written ACL misses."
    ),
    refuses='{"Rules": [{"Name": "rate", "Statement": {"RateBasedStatement": {"Limit": 1000}}}]}',
    passes=(
        '{"Rules": [{"Name": "common", "Statement": {"ManagedRuleGroupStatement":\n'
        '  {"VendorName": "AWS", "Name": "AWSManagedRulesCommonRuleSet"}}}]}'
    ),
)
def waf_no_managed(tree: ServiceTree) -> Iterator[Violation]:
    if not _public(tree):
        return
    for acl in web_acls(tree):
        if not any("managedrulegroupstatement" in _keys(s) for s in acl.statements):
            yield Violation("the web ACL has no managed rule group", acl.file, acl.line)


@make_rule(
    RULES,
    "PAVED-WAF-004",
    "WAF web ACL without a rate-based rule",
    "error",
    "add a rate-based rule (RateBasedStatement, aggregated by IP)",
    reason="Without a rate-based rule a single client can flood the service.",
    refuses='{"Rules": [{"Name": "common", "Statement": {"ManagedRuleGroupStatement": {...}}}]}',
    passes=(
        '{"Rules": [{"Name": "rate", "Statement": {"RateBasedStatement":\n'
        '  {"Limit": 1000, "AggregateKeyType": "IP"}}}]}'
    ),
)
def waf_no_rate(tree: ServiceTree) -> Iterator[Violation]:
    if not _public(tree):
        return
    for acl in web_acls(tree):
        if not any("ratebasedstatement" in _keys(s) for s in acl.statements):
            yield Violation("the web ACL has no rate-based rule", acl.file, acl.line)
