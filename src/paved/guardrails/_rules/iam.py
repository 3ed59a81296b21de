"""IAM: a policy for the declared resources, least-privilege actions and resources, closed trust.

Reads the IAM JSON documents under ``iam/`` (``iam/<env>/policy.json`` and
``trust-policy.json``) and the ``aws_iam_policy_document`` data sources of every ``.tf`` file,
both turned into the same statements. A document with a ``Principal`` is a trust policy.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterator, Mapping
from typing import Any

from paved.guardrails._model import Rule, Violation
from paved.guardrails._rules._hcl import blocks, terraform_blocks
from paved.guardrails._rules._util import as_list, make_rule
from paved.guardrails._tree import ServiceTree
from paved.guardrails._yaml import line_of

__all__ = ["RULES", "Statement", "policy_documents", "resource_too_wide"]

RULES: list[Rule] = []

#: Actions that have no resource-level permissions in AWS: ``Resource: "*"`` is their only form.
STAR_ONLY_ACTIONS = frozenset(
    {
        "ecr:getauthorizationtoken",
        "sts:getcalleridentity",
        "xray:puttracesegments",
        "xray:puttelemetryrecords",
    }
)
#: Services whose ARNs name the resource first (no resource type before it).
_NAME_FIRST = frozenset({"s3", "sqs", "sns"})


@dataclasses.dataclass(frozen=True)
class Statement:
    file: str
    line: int | None
    effect: str
    actions: tuple[str, ...]
    not_actions: tuple[str, ...]
    resources: tuple[str, ...]
    not_resources: tuple[str, ...]
    #: principal type -> identifiers; ``{"*": ("*",)}`` for ``"Principal": "*"``.
    principals: Mapping[str, tuple[str, ...]]
    #: (operator, condition key, values)
    conditions: tuple[tuple[str, str, tuple[str, ...]], ...]

    @property
    def allows(self) -> bool:
        return self.effect.lower() == "allow"


@dataclasses.dataclass(frozen=True)
class PolicyDocument:
    file: str
    statements: tuple[Statement, ...]

    @property
    def is_trust(self) -> bool:
        return any(s.principals for s in self.statements)


def _strs(value: Any) -> tuple[str, ...]:
    return tuple(str(v) for v in as_list(value))


def _json_statement(file: str, raw: Mapping[str, Any]) -> Statement:
    principal = raw.get("Principal", raw.get("NotPrincipal"))
    principals: dict[str, tuple[str, ...]] = {}
    if principal == "*":
        principals["*"] = ("*",)
    elif isinstance(principal, Mapping):
        principals = {str(k): _strs(v) for k, v in principal.items()}
    conditions: list[tuple[str, str, tuple[str, ...]]] = []
    for operator, keys in (raw.get("Condition") or {}).items():
        if isinstance(keys, Mapping):
            conditions.extend((str(operator), str(k), _strs(v)) for k, v in keys.items())
    return Statement(
        file=file,
        line=line_of(raw),
        effect=str(raw.get("Effect", "")),
        actions=_strs(raw.get("Action")),
        not_actions=_strs(raw.get("NotAction")),
        resources=_strs(raw.get("Resource")),
        not_resources=_strs(raw.get("NotResource")),
        principals=principals,
        conditions=tuple(conditions),
    )


def _hcl_statement(file: str, raw: Mapping[str, Any]) -> Statement:
    principals: dict[str, tuple[str, ...]] = {}
    for block in blocks(raw.get("principals")) + blocks(raw.get("not_principals")):
        principals[str(block.get("type", ""))] = _strs(block.get("identifiers"))
    conditions = tuple(
        (str(c.get("test", "")), str(c.get("variable", "")), _strs(c.get("values")))
        for c in blocks(raw.get("condition"))
    )
    return Statement(
        file=file,
        line=None,
        effect=str(raw.get("effect", "Allow")),
        actions=_strs(raw.get("actions")),
        not_actions=_strs(raw.get("not_actions")),
        resources=_strs(raw.get("resources")),
        not_resources=_strs(raw.get("not_resources")),
        principals=principals,
        conditions=conditions,
    )


def policy_documents(tree: ServiceTree) -> list[PolicyDocument]:
    """Every IAM policy document of the service, JSON and Terraform alike."""
    documents = []
    for path in tree.glob("iam/**/*.json"):
        doc = tree.json(path)
        if isinstance(doc, Mapping) and "Statement" in doc:
            raw = [s for s in as_list(doc["Statement"]) if isinstance(s, Mapping)]
            documents.append(PolicyDocument(path, tuple(_json_statement(path, s) for s in raw)))
    for path, _name, body in terraform_blocks(tree, "data", "aws_iam_policy_document"):
        statements = tuple(_hcl_statement(path, s) for s in blocks(body.get("statement")))
        documents.append(PolicyDocument(path, statements))
    return documents


@make_rule(
    RULES,
    "PAVED-IAM-001",
    "IAM policy missing for declared resources",
    "error",
    "run paved update to get the road layer's policies (one deleted here stays deleted: restore it "
    "from git), or add iam/<env>/policy.json for the resources",
    reason=(
        "A service that uses AWS resources without a policy of its own ends up borrowing a broader "
        "role, and nobody can say what it may touch."
    ),
    refuses=(
        "# .copier-answers.road.yml\n"
        "resources: [s3-read]\n"
        "environments: [prod]\n"
        "# ... and no iam/prod/policy.json"
    ),
    passes=(
        "# .copier-answers.road.yml\n"
        "resources: [s3-read]\n"
        "environments: [prod]\n"
        "# iam/prod/policy.json grants s3:GetObject on the service's bucket"
    ),
)
def policy_missing(tree: ServiceTree) -> Iterator[Violation]:
    resources = tree.answer_list("resources")
    if not resources:
        return
    wanted = ", ".join(resources)
    environments = tree.answer_list("environments")
    if not environments:
        if not tree.glob("iam/**/policy.json"):
            yield Violation(f"resources are declared ({wanted}) but no IAM policy", "iam/")
        return
    for env in environments:
        path = f"iam/{env}/policy.json"
        if not tree.exists(path):
            yield Violation(f"resources are declared ({wanted}) but {env} has no IAM policy", path)


@make_rule(
    RULES,
    "PAVED-IAM-002",
    "IAM action is a bare or whole-service wildcard",
    "error",
    "list the exact actions the service calls (s3:GetObject, not s3:* or *)",
    reason=(
        "Least privilege: s3:* also grants s3:DeleteBucket and s3:PutBucketPolicy, so one bug or "
        "one stolen credential can destroy or open the data."
    ),
    refuses='{"Effect": "Allow", "Action": "s3:*", "Resource": "arn:aws:s3:::orders/*"}',
    passes='{"Effect": "Allow", "Action": ["s3:GetObject"], "Resource": "arn:aws:s3:::orders/*"}',
)
def wildcard_action(tree: ServiceTree) -> Iterator[Violation]:
    for doc in policy_documents(tree):
        for statement in doc.statements:
            if not statement.allows:
                continue
            for action in statement.actions:
                if action == "*" or action.endswith(":*"):
                    yield Violation(f"Allow on action '{action}'", doc.file, statement.line)
            if statement.not_actions:
                yield Violation(
                    "Allow with NotAction grants every other action", doc.file, statement.line
                )


def resource_too_wide(resource: str) -> bool:
    """Is ``resource`` wider than one named resource and its own path?

    ``arn:aws:s3:::bucket/*`` is one bucket's objects: fine. ``*``, ``arn:aws:s3:::*``,
    ``arn:aws:dynamodb:r:a:table/*`` and ``...:secret:name-*`` all reach other resources.
    A wildcard in the partition, service, region or account is too wide too.
    """
    if "*" not in resource:
        return False
    parts = resource.split(":", 5)
    if len(parts) < 6 or parts[0] != "arn":
        return True
    if any("*" in p for p in parts[1:5]):
        return True
    segments = re.split(r"[/:]", parts[5])
    name_index = 0 if parts[2] in _NAME_FIRST else 1
    if len(segments) <= name_index:
        return True
    first_star = next(i for i, s in enumerate(segments) if "*" in s)
    return first_star <= name_index or not segments[name_index]


@make_rule(
    RULES,
    "PAVED-IAM-003",
    "IAM resource wildcard wider than one named resource",
    "error",
    "name the exact ARN; a wildcard only inside one resource's own path (arn:aws:s3:::BUCKET/*)",
    reason=(
        "A wildcard over resource names reaches other services' tables, buckets and secrets; a "
        "policy should name the service's own resources."
    ),
    refuses=(
        '{"Effect": "Allow", "Action": "dynamodb:GetItem",\n'
        ' "Resource": "arn:aws:dynamodb:eu-west-1:123456789012:table/*"}'
    ),
    passes=(
        '{"Effect": "Allow", "Action": "dynamodb:GetItem",\n'
        ' "Resource": "arn:aws:dynamodb:eu-west-1:123456789012:table/orders"}'
    ),
)
def wildcard_resource(tree: ServiceTree) -> Iterator[Violation]:
    for doc in policy_documents(tree):
        if doc.is_trust:
            continue
        for statement in doc.statements:
            if not statement.allows:
                continue
            if statement.not_resources:
                yield Violation(
                    "Allow with NotResource reaches every other resource", doc.file, statement.line
                )
            star_only = statement.actions and all(
                a.lower() in STAR_ONLY_ACTIONS for a in statement.actions
            )
            for resource in statement.resources:
                if resource == "*" and star_only:
                    continue
                if resource_too_wide(resource):
                    yield Violation(f"Allow on resource '{resource}'", doc.file, statement.line)


def _open_principal(statement: Statement) -> str | None:
    for kind, identifiers in statement.principals.items():
        if "*" in identifiers:
            return "any principal" if kind == "*" else f"any {kind} principal"
    web_identity = any(
        a.lower() in ("sts:assumerolewithwebidentity", "sts:*", "*") for a in statement.actions
    )
    if "Federated" in statement.principals and web_identity:
        keys = {
            key.lower().rsplit(":", 1)[-1]
            for _op, key, values in statement.conditions
            if values and "*" not in values
        }
        missing = [k for k in ("sub", "aud") if k not in keys]
        if missing:
            return f"any web identity (no {' or '.join(missing)} condition)"
    return None


@make_rule(
    RULES,
    "PAVED-IAM-004",
    "IAM trust policy open to any principal",
    "error",
    "trust only the service's own service account: a web identity with sub and aud conditions",
    reason=(
        "A role that trusts any principal, or a web identity without sub and aud conditions, can "
        "be taken by any workload of the identity provider (any pod of the cluster)."
    ),
    refuses=(
        '{"Effect": "Allow", "Principal": {"Federated": '
        '"arn:aws:iam::1:oidc-provider/oidc.eks..."},\n'
        ' "Action": "sts:AssumeRoleWithWebIdentity"}'
    ),
    passes=(
        '{"Effect": "Allow", "Principal": {"Federated": '
        '"arn:aws:iam::1:oidc-provider/oidc.eks..."},\n'
        ' "Action": "sts:AssumeRoleWithWebIdentity",\n'
        ' "Condition": {"StringEquals": {"oidc.eks...:sub": '
        '"system:serviceaccount:payments:payments",\n'
        '                                "oidc.eks...:aud": "sts.amazonaws.com"}}}'
    ),
)
def open_trust(tree: ServiceTree) -> Iterator[Violation]:
    for doc in policy_documents(tree):
        for statement in doc.statements:
            if statement.allows and (who := _open_principal(statement)):
                yield Violation(f"the role can be assumed by {who}", doc.file, statement.line)
