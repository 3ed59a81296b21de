"""Data stores: encrypted, private, backed up, hard to delete in prod, reached by exact actions.

Reads the Terraform of every ``.tf`` file: the ``aws_db_instance``, ``aws_rds_cluster`` and
``aws_rds_cluster_instance`` databases, the ``aws_s3_bucket`` buckets with the resources that
configure them (``aws_s3_bucket_server_side_encryption_configuration``,
``aws_s3_bucket_public_access_block``, ``aws_s3_bucket_acl``, ``aws_s3_bucket_policy``), and the
``aws_sqs_queue`` queues with their ``aws_sqs_queue_policy``. A bucket's resources are matched to
it by reference (``bucket = aws_s3_bucket.NAME.id``) within the same folder.

Settings are often expressions. A resource with ``for_each`` over the environments
(``var.environments``, as the road's Terraform does) is checked once per environment with
``each.key`` set to it; a resource in a folder named for an environment (``prod/``) belongs to
that one; any other resource to every environment the service deploys to. The expressions this
understands are literals, ``each.key``, ``var.NAME`` (its default), ``var.NAME[each.key]``,
``==``, ``!=``, ``contains([...], each.key)`` and ``COND ? A : B``; a setting that must be true
and is anything else is reported as not shown to be true.
"""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Iterator, Mapping
from pathlib import PurePosixPath
from typing import Any

from paved.guardrails._model import Rule, Violation
from paved.guardrails._rules._hcl import blocks, first, terraform_blocks
from paved.guardrails._rules._util import as_list, make_rule
from paved.guardrails._rules.iam import (
    Statement,
    _json_statement,
    policy_documents,
    resource_too_wide,
)
from paved.guardrails._tree import ServiceTree

__all__ = [
    "DATA_SERVICES",
    "RULES",
    "Instance",
    "evaluate",
    "in_prod",
    "instances",
]

RULES: list[Rule] = []

DATABASES = ("aws_db_instance", "aws_rds_cluster")
#: The services whose actions read or change data (PAVED-DATA-006).
DATA_SERVICES = frozenset({"s3", "sqs", "rds", "rds-db", "dynamodb", "secretsmanager"})
PROD = frozenset({"prod", "production", "prd"})
ENVIRONMENT_FOLDERS = PROD | {"dev", "development", "test", "qa", "staging", "stage", "uat"}
MIN_BACKUP_DAYS = 7
PUBLIC_ACLS = frozenset({"public-read", "public-read-write", "authenticated-read"})
PUBLIC_GRANTEES = ("acs.amazonaws.com/groups/global/AllUsers", "/AuthenticatedUsers")
BLOCK_FLAGS = (
    "block_public_acls",
    "block_public_policy",
    "ignore_public_acls",
    "restrict_public_buckets",
)
#: Condition keys that, with fixed values, keep an ``Allow`` to ``*`` from being public (the
#: keys S3 itself treats so when it decides whether a bucket policy is public).
NARROWING_KEYS = frozenset(
    {
        "aws:sourcearn",
        "aws:sourceaccount",
        "aws:sourceowner",
        "aws:sourcevpc",
        "aws:sourcevpce",
        "aws:principalorgid",
        "aws:principalaccount",
        "aws:principalarn",
        "aws:userid",
    }
)
_UNKNOWN = object()


@dataclasses.dataclass(frozen=True)
class Instance:
    """One copy of a resource as an environment gets it."""

    path: str
    type: str
    name: str
    body: Mapping[str, Any]
    #: The environment, when the resource says which; None: every environment that applies it.
    env: str | None
    #: What ``each.key`` is in this copy, when it is an environment name.
    each_key: str | None

    @property
    def label(self) -> str:
        where = f'["{self.each_key}"]' if self.each_key else ""
        return f"{self.type}.{self.name}{where}"

    @property
    def folder(self) -> str:
        return str(PurePosixPath(self.path).parent)


def _service_environments(tree: ServiceTree) -> list[str]:
    return tree.answer_list("environments")


def _deploys_to_prod(tree: ServiceTree) -> bool:
    environments = _service_environments(tree)
    return not environments or any(e in PROD for e in environments)


def in_prod(tree: ServiceTree, instance: Instance) -> bool:
    if instance.env is None:
        return _deploys_to_prod(tree)
    return instance.env in PROD


def _tfvars_order(path: str) -> tuple[int, str] | None:
    """Where Terraform loads ``path`` among a folder's variable files on its own (after the
    defaults: terraform.tfvars, terraform.tfvars.json, then *.auto.tfvars(.json) by name),
    or ``None`` for any other file."""
    name = PurePosixPath(path).name
    if name in ("terraform.tfvars", "terraform.tfvars.json"):
        return (0, name)
    if name.endswith((".auto.tfvars", ".auto.tfvars.json")):
        return (1, name)
    return None


def _variables(tree: ServiceTree, folder: str) -> dict[str, Any]:
    """The values of the variables declared in ``folder``'s .tf files: their defaults, and
    over them what the variable files Terraform loads on its own set (a hardened default
    taken back in terraform.tfvars is what is deployed)."""
    found: dict[str, Any] = {}
    in_folder = [p for p in tree.files if str(PurePosixPath(p).parent) == folder]
    for path in in_folder:
        if not path.endswith(".tf"):
            continue
        for top in blocks(tree.hcl(path).get("variable")):
            for name, body in top.items():
                default = first(body).get("default", _UNKNOWN)
                if default is not _UNKNOWN:
                    found[str(name)] = default
    loaded = sorted((o, p) for p in in_folder if (o := _tfvars_order(p)) is not None)
    for _order, path in loaded:
        values = tree.json(path) if path.endswith(".json") else tree.hcl(path)
        if isinstance(values, Mapping):
            found.update((str(name), value) for name, value in values.items())
    return found


def instances(tree: ServiceTree, type_: str) -> Iterator[Instance]:
    """Each copy of every ``resource "type_"``: one per environment when it says so."""
    for path, name, body in terraform_blocks(tree, "resource", type_):
        folders = PurePosixPath(path).parts[:-1]
        named = [f for f in folders if f.lower() in ENVIRONMENT_FOLDERS]
        if named:
            yield Instance(path, type_, name, body, named[-1].lower(), None)
            continue
        over = str(body.get("for_each", ""))
        if "environments" in over:
            environments = _service_environments(tree)
            if not environments:
                default = _variables(tree, str(PurePosixPath(path).parent)).get("environments")
                environments = [str(e) for e in as_list(default)]
            if environments:
                for env in environments:
                    yield Instance(path, type_, name, body, env, env)
                continue
        yield Instance(path, type_, name, body, None, None)


# -- a small evaluator for the expressions data settings are written with ------------------

_STRING = re.compile(r'^"((?:[^"\\]|\\.)*)"$')
_NUMBER = re.compile(r"^-?\d+$")
_VAR = re.compile(r"^var\.([A-Za-z_][A-Za-z0-9_-]*)$")
_VAR_KEY = re.compile(r'^var\.([A-Za-z_][A-Za-z0-9_-]*)\[(each\.key|"[^"]*")\]$')
_CONTAINS = re.compile(r"^contains\(\s*\[(?P<items>[^\]]*)\]\s*,\s*(?P<value>[^)]+)\)$")


def _split_top(expr: str, token: str) -> tuple[str, str] | None:
    """``expr`` split at the first ``token`` outside brackets and strings."""
    depth, quoted, i = 0, False, 0
    while i < len(expr):
        char = expr[i]
        if quoted:
            if char == "\\":
                i += 1
            elif char == '"':
                quoted = False
        elif char == '"':
            quoted = True
        elif char in "([{":
            depth += 1
        elif char in ")]}":
            depth -= 1
        elif depth == 0 and expr.startswith(token, i):
            return expr[:i].strip(), expr[i + len(token) :].strip()
        i += 1
    return None


def _atom(expr: str, variables: Mapping[str, Any], each_key: str | None) -> Any:
    expr = expr.strip()
    while expr.startswith("(") and expr.endswith(")"):
        expr = expr[1:-1].strip()
    if expr.lower() in ("true", "false"):  # python-hcl2 writes True inside expressions
        return expr.lower() == "true"
    if _NUMBER.match(expr):
        return int(expr)
    if match := _STRING.match(expr):
        return match[1]
    if expr in ("each.key", "each.value"):
        return each_key if each_key is not None else _UNKNOWN
    if match := _VAR.match(expr):
        return variables.get(match[1], _UNKNOWN)
    if match := _VAR_KEY.match(expr):
        table = variables.get(match[1])
        key = each_key if match[2] == "each.key" else match[2].strip('"')
        if isinstance(table, Mapping) and key is not None and key in table:
            return table[key]
        return _UNKNOWN
    if match := _CONTAINS.match(expr):
        value = _atom(match["value"], variables, each_key)
        items = [_atom(i, variables, each_key) for i in match["items"].split(",") if i.strip()]
        if value is _UNKNOWN or _UNKNOWN in items:
            return _UNKNOWN
        return value in items
    return _expression(expr, variables, each_key) if ("?" in expr or "=" in expr) else _UNKNOWN


def _expression(expr: str, variables: Mapping[str, Any], each_key: str | None) -> Any:
    if (cond := _split_top(expr, "?")) is not None:
        branches = _split_top(cond[1], ":")
        if branches is None:
            return _UNKNOWN
        test = _atom(cond[0], variables, each_key)
        if not isinstance(test, bool):
            return _UNKNOWN
        return _atom(branches[0] if test else branches[1], variables, each_key)
    for operator in ("==", "!="):
        if (sides := _split_top(expr, operator)) is not None:
            left, right = (_atom(s, variables, each_key) for s in sides)
            if left is _UNKNOWN or right is _UNKNOWN:
                return _UNKNOWN
            return (left == right) if operator == "==" else (left != right)
    return _UNKNOWN


def evaluate(value: Any, variables: Mapping[str, Any], each_key: str | None) -> Any:
    """A setting's value in one copy of a resource, or ``_UNKNOWN``."""
    if isinstance(value, bool | int) or value is None:
        return value
    if not isinstance(value, str):
        return _UNKNOWN
    text = value.strip()
    if text.startswith("${") and text.endswith("}") and text.count("${") == 1:
        return _atom(text[2:-1], variables, each_key)
    if "${" in text:
        return _UNKNOWN
    if text in ("true", "false"):
        return text == "true"
    return int(text) if _NUMBER.match(text) else text


class _Settings:
    """Reads one copy's settings, with the variables of its folder."""

    def __init__(self, tree: ServiceTree) -> None:
        self._tree = tree
        self._variables: dict[str, dict[str, Any]] = {}

    def get(self, instance: Instance, key: str, body: Mapping[str, Any] | None = None) -> Any:
        source = instance.body if body is None else body
        if key not in source:
            return None
        if instance.folder not in self._variables:
            self._variables[instance.folder] = _variables(self._tree, instance.folder)
        return evaluate(source[key], self._variables[instance.folder], instance.each_key)

    def shown(self, instance: Instance, key: str, body: Mapping[str, Any] | None = None) -> str:
        """How a setting reads in a message: its expression, or 'not set'."""
        source = instance.body if body is None else body
        if key not in source:
            return f"{key} is not set"
        value = source[key]
        shown = json.dumps(value) if not isinstance(value, str) else value
        return f"{key} = {shown[:80]}"


def _is_true(value: Any) -> bool:
    return value is True


def _aws_managed(key: Any) -> bool:
    """No key, or one of the ``alias/aws/...`` keys AWS manages for a service."""
    return not key or (isinstance(key, str) and "alias/aws/" in key)


# -- the resources around a bucket or a queue ---------------------------------------------

_REF = "{kind}\\.([A-Za-z0-9_-]+)"


def _referenced(value: Any, kind: str) -> set[str]:
    return set(re.findall(_REF.format(kind=re.escape(kind)), str(value)))


def _companions(tree: ServiceTree, kind: str, folder: str, key: str) -> dict[str, list[Any]]:
    found: dict[str, list[Any]] = {}
    for path, _name, body in terraform_blocks(tree, "resource", kind):
        if str(PurePosixPath(path).parent) != folder:
            continue
        target = "aws_s3_bucket" if kind.startswith("aws_s3") else "aws_sqs_queue"
        for bucket in _referenced(body.get(key, ""), target):
            found.setdefault(bucket, []).append((path, body))
    return found


def _policy_statements(tree: ServiceTree, path: str, policy: Any) -> list[Statement]:
    """The statements of a ``policy`` written in place (``jsonencode`` or JSON text).

    A policy from an ``aws_iam_policy_document`` is not read here: the IAM rules read those,
    and PAVED-IAM-004 reports an ``Allow`` to any principal in them.
    """
    text = str(policy).strip()
    if text.startswith("${jsonencode(") and text.endswith(")}"):
        value, error = tree.parse_hcl(f"v = {text[len('${jsonencode(') : -2]}\n")
        if error is not None:
            return []
        document = _unquoted(value.get("v"))
    else:
        try:
            document = json.loads(text)
        except ValueError:
            return []
    if not isinstance(document, Mapping):
        return []
    raw = [s for s in as_list(document.get("Statement")) if isinstance(s, Mapping)]
    return [_json_statement(path, s) for s in raw]


def _unquoted(value: Any) -> Any:
    """python-hcl2 keeps the quotes of quoted object keys: ``{"\\"Effect\\"": ...}``."""
    if isinstance(value, Mapping):
        return {str(k).strip('"'): _unquoted(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_unquoted(v) for v in value]
    return value


def _public_statement(statement: Statement) -> bool:
    if not statement.allows:
        return False
    if not any("*" in ids for ids in statement.principals.values()):
        return False
    return not any(
        key.lower() in NARROWING_KEYS and values and not any("*" in v for v in values)
        for _op, key, values in statement.conditions
    )


# -- the rules ------------------------------------------------------------------------------


def _unencrypted(tree: ServiceTree) -> Iterator[tuple[Instance, str, bool]]:
    """(copy, problem, encrypted at all) for each data store without a customer-managed key."""
    settings = _Settings(tree)
    for type_ in DATABASES:
        for db in instances(tree, type_):
            if type_ == "aws_rds_cluster" and settings.get(db, "engine_mode") == "serverless":
                continue  # Aurora Serverless v1 is always encrypted
            if not _is_true(settings.get(db, "storage_encrypted")):
                yield (
                    db,
                    f"is not encrypted at rest ({settings.shown(db, 'storage_encrypted')})",
                    False,
                )
            elif _aws_managed(settings.get(db, "kms_key_id")):
                yield db, "is encrypted with the AWS-managed key (no kms_key_id)", True
    for bucket in instances(tree, "aws_s3_bucket"):
        configs = _companions(
            tree, "aws_s3_bucket_server_side_encryption_configuration", bucket.folder, "bucket"
        ).get(bucket.name, [])
        bodies = [body for _path, body in configs]
        bodies += blocks(bucket.body.get("server_side_encryption_configuration"))
        kms = False
        for body in bodies:
            for rule in blocks(body.get("rule")):
                default = first(rule.get("apply_server_side_encryption_by_default"))
                algorithm = settings.get(bucket, "sse_algorithm", default)
                key = settings.get(bucket, "kms_master_key_id", default)
                if isinstance(algorithm, str) and algorithm.startswith("aws:kms"):
                    kms = kms or not _aws_managed(key)
        if not kms:
            yield (
                bucket,
                "is encrypted only with an AWS-managed key (no aws:kms encryption configuration "
                "with a kms_master_key_id)",
                True,
            )
    for queue in instances(tree, "aws_sqs_queue"):
        key = settings.get(queue, "kms_master_key_id")
        if key:
            if _aws_managed(key):
                yield queue, "is encrypted with the AWS-managed key alias/aws/sqs", True
        elif settings.get(queue, "sqs_managed_sse_enabled") is False:
            yield queue, "is not encrypted at rest (sqs_managed_sse_enabled = false)", False
        else:
            yield queue, "is encrypted with SQS-owned keys (SSE-SQS), not a KMS key", True


@make_rule(
    RULES,
    "PAVED-DATA-001",
    "data store not encrypted at rest",
    "error",
    "set storage_encrypted = true and kms_key_id to the service's own KMS key (databases); set "
    "kms_master_key_id (queues)",
    reason=(
        "An unencrypted database or queue is readable by anyone who gets hold of its disks, "
        "snapshots or backups; encryption cannot be added later without copying the data."
    ),
    refuses=(
        'resource "aws_db_instance" "orders" {\n  engine = "postgres"\n  # no storage_encrypted\n}'
    ),
    passes=(
        'resource "aws_db_instance" "orders" {\n  engine            = "postgres"\n'
        "  storage_encrypted = true\n  kms_key_id        = aws_kms_key.orders.arn\n}"
    ),
)
def unencrypted(tree: ServiceTree) -> Iterator[Violation]:
    for found, problem, encrypted in _unencrypted(tree):
        if not encrypted:
            yield Violation(f"{found.label} {problem}", found.path)


@make_rule(
    RULES,
    "PAVED-DATA-002",
    "data store not encrypted with a customer-managed KMS key",
    "warning",
    "encrypt with the service's own aws_kms_key (kms_key_id, kms_master_key_id, or an "
    'aws_s3_bucket_server_side_encryption_configuration with sse_algorithm = "aws:kms")',
    reason=(
        "With an AWS-managed or service-owned key anyone the account lets read the store reads "
        "the data: no key policy of its own, no separate audit trail of decryptions, no way to "
        "revoke access by disabling the key."
    ),
    refuses='resource "aws_sqs_queue" "orders" {\n  name = "orders"   # SSE-SQS by default\n}',
    passes=(
        'resource "aws_sqs_queue" "orders" {\n  name              = "orders"\n'
        "  kms_master_key_id = aws_kms_key.orders.arn\n}"
    ),
)
def aws_managed_key(tree: ServiceTree) -> Iterator[Violation]:
    for found, problem, encrypted in _unencrypted(tree):
        if encrypted:
            yield Violation(f"{found.label} {problem}", found.path)


def _bucket_public(tree: ServiceTree, settings: _Settings) -> Iterator[tuple[Instance, str]]:
    account_block = any(
        all(_is_true(body.get(flag)) for flag in BLOCK_FLAGS)
        for _p, _n, body in terraform_blocks(tree, "resource", "aws_s3_account_public_access_block")
    )
    for bucket in instances(tree, "aws_s3_bucket"):
        folder = bucket.folder
        blocks_found = _companions(tree, "aws_s3_bucket_public_access_block", folder, "bucket").get(
            bucket.name, []
        )
        if not account_block:
            if not blocks_found:
                yield bucket, "has no aws_s3_bucket_public_access_block"
            else:
                off = sorted(
                    {
                        flag
                        for _path, body in blocks_found
                        for flag in BLOCK_FLAGS
                        if not _is_true(settings.get(bucket, flag, body))
                    }
                )
                if off:
                    yield bucket, f"public access block does not set {', '.join(off)} to true"
        acls = [bucket.body] + [
            body
            for _path, body in _companions(tree, "aws_s3_bucket_acl", folder, "bucket").get(
                bucket.name, []
            )
        ]
        for body in acls:
            acl = settings.get(bucket, "acl", body)
            if isinstance(acl, str) and acl in PUBLIC_ACLS:
                yield bucket, f"has the public ACL '{acl}'"
            for policy in blocks(body.get("access_control_policy")):
                for grant in blocks(policy.get("grant")):
                    uri = str(first(grant.get("grantee")).get("uri", ""))
                    if any(g in uri for g in PUBLIC_GRANTEES):
                        yield bucket, "has an ACL grant to all (authenticated) AWS users"
        inline = [bucket.body] if "policy" in bucket.body else []
        policies = [
            body
            for _path, body in _companions(tree, "aws_s3_bucket_policy", folder, "bucket").get(
                bucket.name, []
            )
        ]
        for body in inline + policies:
            statements = _policy_statements(tree, bucket.path, body.get("policy", ""))
            if any(_public_statement(s) for s in statements):
                yield bucket, "has a bucket policy that allows any principal ('*')"


def _queue_public(tree: ServiceTree) -> Iterator[tuple[Instance, str]]:
    for queue in instances(tree, "aws_sqs_queue"):
        policies = _companions(tree, "aws_sqs_queue_policy", queue.folder, "queue_url").get(
            queue.name, []
        )
        bodies = [queue.body] if "policy" in queue.body else []
        bodies += [body for _path, body in policies]
        for body in bodies:
            statements = _policy_statements(tree, queue.path, body.get("policy", ""))
            if any(_public_statement(s) for s in statements):
                yield queue, "has a queue policy that allows any principal ('*')"


@make_rule(
    RULES,
    "PAVED-DATA-003",
    "data store open to the public",
    "error",
    "set publicly_accessible = false; give each bucket an aws_s3_bucket_public_access_block with "
    "all four flags true; grant bucket and queue access to named principals only",
    reason=(
        "A database with a public address, or a bucket or queue anyone may read, is found by "
        "internet scanners within hours; most data leaks start this way."
    ),
    refuses='resource "aws_db_instance" "orders" {\n  publicly_accessible = true\n}',
    passes='resource "aws_db_instance" "orders" {\n  publicly_accessible = false\n}',
)
def public_access(tree: ServiceTree) -> Iterator[Violation]:
    settings = _Settings(tree)
    for type_ in ("aws_db_instance", "aws_rds_cluster_instance"):
        for db in instances(tree, type_):
            if _is_true(settings.get(db, "publicly_accessible")):
                yield Violation(
                    f"{db.label} is reachable from the internet (publicly_accessible)", db.path
                )
    for found, problem in [*_bucket_public(tree, settings), *_queue_public(tree)]:
        yield Violation(f"{found.label} {problem}", found.path)


@make_rule(
    RULES,
    "PAVED-DATA-004",
    "database without enough automated backups",
    "error",
    f"set backup_retention_period to at least {MIN_BACKUP_DAYS} days (longer in prod)",
    reason=(
        "Without automated backups a bad migration, a bug or ransomware loses the data for good; "
        "RDS keeps one day by default, too short to notice most of them."
    ),
    refuses='resource "aws_db_instance" "orders" {\n  backup_retention_period = 0\n}',
    passes='resource "aws_db_instance" "orders" {\n  backup_retention_period = 14\n}',
)
def no_backups(tree: ServiceTree) -> Iterator[Violation]:
    settings = _Settings(tree)
    for type_ in DATABASES:
        for db in instances(tree, type_):
            if type_ == "aws_db_instance" and "replicate_source_db" in db.body:
                continue  # a read replica: its source holds the backups
            days = settings.get(db, "backup_retention_period")
            if days is None:
                yield Violation(
                    f"{db.label} sets no backup_retention_period: RDS keeps 1 day by default",
                    db.path,
                )
            elif not isinstance(days, int) or isinstance(days, bool):
                yield Violation(
                    f"{db.label}: cannot tell how long backups are kept "
                    f"({settings.shown(db, 'backup_retention_period')})",
                    db.path,
                )
            elif days < MIN_BACKUP_DAYS:
                what = "has automated backups off" if days == 0 else f"keeps backups {days} day(s)"
                yield Violation(f"{db.label} {what} (at least {MIN_BACKUP_DAYS})", db.path)


@make_rule(
    RULES,
    "PAVED-DATA-005",
    "production data store without deletion protection",
    "error",
    "in prod set deletion_protection = true and keep skip_final_snapshot false; no force_destroy "
    "on a bucket",
    reason=(
        "One mistaken terraform destroy, or a rename that replaces the resource, deletes the "
        "production data; deletion protection and a final snapshot make that take two deliberate "
        "steps."
    ),
    refuses=(
        'resource "aws_db_instance" "orders" {      # in prod\n'
        "  skip_final_snapshot = true   # and no deletion_protection\n}"
    ),
    passes=(
        'resource "aws_db_instance" "orders" {\n'
        '  deletion_protection       = true\n  final_snapshot_identifier = "orders-final"\n}'
    ),
)
def deletable_in_prod(tree: ServiceTree) -> Iterator[Violation]:
    settings = _Settings(tree)
    for type_ in DATABASES:
        for db in instances(tree, type_):
            if not in_prod(tree, db):
                continue
            if not _is_true(settings.get(db, "deletion_protection")):
                shown = settings.shown(db, "deletion_protection")
                yield Violation(f"{db.label} in prod has no deletion protection ({shown})", db.path)
            if _is_true(settings.get(db, "skip_final_snapshot")):
                yield Violation(
                    f"{db.label} in prod is deleted without a final snapshot "
                    "(skip_final_snapshot = true)",
                    db.path,
                )
    for bucket in instances(tree, "aws_s3_bucket"):
        if in_prod(tree, bucket) and _is_true(settings.get(bucket, "force_destroy")):
            yield Violation(
                f"{bucket.label} in prod is emptied on destroy (force_destroy = true)", bucket.path
            )


def _data_action_wildcard(action: str) -> bool:
    """A partial wildcard on a data service's actions (``s3:Get*``, ``dynamodb:*Item``).

    ``*`` and ``service:*`` are PAVED-IAM-002's findings, not this rule's.
    """
    service, _, name = action.lower().partition(":")
    return service in DATA_SERVICES and "*" in name and name != "*"


def _any_database_user(resource: str) -> bool:
    """``arn:aws:rds-db:R:A:dbuser:DB/*``: every user of a database (IAM-003 allows the path)."""
    parts = resource.split(":", 6)
    if len(parts) < 7 or parts[2] != "rds-db" or resource_too_wide(resource):
        return False
    return "*" in parts[6].partition("/")[2]


@make_rule(
    RULES,
    "PAVED-DATA-006",
    "IAM wildcard on a data service",
    "error",
    "list the exact data actions (s3:GetObject, dynamodb:GetItem) and the one database user "
    "(rds-db:connect on dbuser:DB_RESOURCE_ID/USER)",
    reason=(
        "s3:Put* includes s3:PutBucketPolicy, dynamodb:*Item includes DeleteItem, and "
        "dbuser:ID/* lets the role log in as any database user, the admin included."
    ),
    refuses='{"Effect": "Allow", "Action": "s3:Put*", "Resource": "arn:aws:s3:::orders/*"}',
    passes='{"Effect": "Allow", "Action": "s3:PutObject", "Resource": "arn:aws:s3:::orders/*"}',
)
def data_wildcard(tree: ServiceTree) -> Iterator[Violation]:
    for doc in policy_documents(tree):
        if doc.is_trust:
            continue
        for statement in doc.statements:
            if not statement.allows:
                continue
            for action in statement.actions:
                if _data_action_wildcard(action):
                    yield Violation(f"Allow on data actions '{action}'", doc.file, statement.line)
            if any(a.lower() in ("rds-db:connect", "rds-db:*") for a in statement.actions):
                for resource in statement.resources:
                    if _any_database_user(resource):
                        yield Violation(
                            f"Allow rds-db:connect as any database user '{resource}'",
                            doc.file,
                            statement.line,
                        )
