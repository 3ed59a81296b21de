"""Secrets: key and token patterns in the files git tracks or would commit, and in manifests.

There is no parser for "a secret", so PAVED-SECRET-001 and -002 read text: every listed file
that is not binary (no NUL byte in its first 8 KiB) and not over 1 MB. PAVED-SECRET-003 reads
the values of the Kubernetes objects each overlay renders (ConfigMap data, container env
values, Secret manifests). A finding never repeats the secret.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from pathlib import PurePosixPath
from typing import Any

from paved.guardrails._model import Rule, Violation
from paved.guardrails._rules._util import as_list, make_rule
from paved.guardrails._rules.k8s import pod_spec
from paved.guardrails._tree import K8sObject, ServiceTree
from paved.guardrails._yaml import line_of

__all__ = ["CONNECTION_STRING", "PASSWORD", "RULES", "SECRET_NAME", "SECRET_PATTERNS"]

RULES: list[Rule] = []

SECRET_PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("an AWS access key id", re.compile(r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b")),
    ("a private key", re.compile(r"-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----")),
    ("a GitHub token", re.compile(r"\bgh[pousr]_[A-Za-z0-9]{36,}\b")),
    ("a GitHub fine-grained token", re.compile(r"\bgithub_pat_[A-Za-z0-9_]{22,}")),
    ("a Slack token", re.compile(r"\bxox[abprs]-[A-Za-z0-9-]{10,}")),
)
PASSWORD = re.compile(
    r"""(?ix) \b(?:password|passwd|pwd)\b ["']? \s* [:=] \s* (["'])(?P<value>[^"'\s]+)\1"""
)
_PLACEHOLDER = re.compile(r"^(?:\$|\{\{|<|%\(|\*+$)")
#: A URL with a password: ``postgres://user:pass@host``.
CONNECTION_STRING = re.compile(r"\b[a-z][a-z0-9+.-]*://[^\s:/@]*:(?P<value>[^\s@/]+)@", re.I)
#: The name of a setting that holds a secret: its last words say so (``DB_PASSWORD``,
#: ``stripe.api-key``), not any word (``DB_SECRET_ARN`` names a secret, it does not hold one).
SECRET_NAME = re.compile(
    r"(?i)(?:^|[_.-])(?:password|passwd|pwd|passphrase|secret|token|api[_.-]?key|apikey|"
    r"secret[_.-]?key|private[_.-]?key|access[_.-]?key|client[_.-]?secret|credentials?)$"
)


def _is_test(path: str) -> bool:
    parts = PurePosixPath(path).parts
    name = parts[-1]
    return (
        any(p in ("test", "tests") for p in parts[:-1])
        or name.startswith("test_")
        or name.endswith("_test.py")
        or name == "conftest.py"
    )


def _lines(tree: ServiceTree, *, tests: bool = True) -> Iterator[tuple[str, int, str]]:
    for path in tree.files:
        if not tests and _is_test(path):
            continue
        text = tree.text(path)
        if text is None:
            continue
        for number, line in enumerate(text.splitlines(), start=1):
            yield path, number, line


@make_rule(
    RULES,
    "PAVED-SECRET-001",
    "committed secret",
    "error",
    "revoke the secret now, remove it from the history, and load it at run time (secret-read)",
    reason=(
        "A committed secret is readable by everyone with the repository, in every clone, forever: "
        "it must be revoked, not just deleted."
    ),
    refuses="AWS_ACCESS_KEY_ID=AKIAIOSFODNN7EXAMPLE",
    passes='AWS_ACCESS_KEY_ID = os.environ["AWS_ACCESS_KEY_ID"]   # given at run time',
)
def committed_secret(tree: ServiceTree) -> Iterator[Violation]:
    for path, number, line in _lines(tree):
        for what, pattern in SECRET_PATTERNS:
            if pattern.search(line):
                yield Violation(f"{what} is committed", path, number)


@make_rule(
    RULES,
    "PAVED-SECRET-002",
    "password assigned a literal value",
    "warning",
    "read the password from the environment or a secret store, not from a literal",
    reason=(
        "A password written in the code is shared with everyone who reads it and changes only with "
        "a commit."
    ),
    refuses='password = "hunter22"',
    passes='password = os.environ["DB_PASSWORD"]',
)
def literal_password(tree: ServiceTree) -> Iterator[Violation]:
    in_manifests = {(v.file, v.line) for v in manifest_secret(tree)}
    for path, number, line in _lines(tree, tests=False):
        if (path, number) in in_manifests:
            continue  # PAVED-SECRET-003 reports it, as the error it is in a manifest
        match = PASSWORD.search(line)
        if match and not _PLACEHOLDER.match(match["value"]):
            yield Violation("a password is assigned a literal value", path, number)


def _secret_value(name: str, value: Any) -> str | None:
    """What makes ``value`` (set as ``name``) a secret, or None.

    Keys and tokens SECRET_PATTERNS knows are PAVED-SECRET-001's: they are not reported again.
    """
    if not isinstance(value, str) or not value.strip():
        return None
    if any(pattern.search(value) for _what, pattern in SECRET_PATTERNS):
        return None
    match = CONNECTION_STRING.search(value)
    if match and not _PLACEHOLDER.match(match["value"]):
        return "a connection string with a password"
    if SECRET_NAME.search(name) and not _PLACEHOLDER.match(value.strip()):
        return "a literal secret"
    return None


def _env_line(obj: K8sObject, container: str, name: str) -> int | None:
    spec = pod_spec(obj.source) if obj.source is not None else None
    if spec is None:
        return None
    for key in ("containers", "initContainers"):
        for one in as_list(spec.get(key)):
            if isinstance(one, Mapping) and one.get("name") == container:
                for env in as_list(one.get("env")):
                    if isinstance(env, Mapping) and env.get("name") == name:
                        return line_of(env)
    return None


def _object_secrets(obj: K8sObject) -> Iterator[tuple[str, int | None]]:
    doc, source = obj.doc, obj.source
    if obj.kind == "ConfigMap":
        data = doc.get("data")
        own = source.get("data") if source is not None else None
        for key, value in data.items() if isinstance(data, Mapping) else ():
            what = _secret_value(str(key), value)
            if what:
                yield f"ConfigMap/{obj.name} key '{key}' holds {what}", line_of(own, key)
    elif obj.kind == "Secret" and source is not None:
        keys = [
            str(key)
            for field in ("data", "stringData")
            if isinstance(source.get(field), Mapping)
            for key in source[field]
        ]
        if keys:
            yield (
                f"Secret/{obj.name} holds its values in the manifest ({', '.join(keys)})",
                (line_of(source)),
            )
    spec = pod_spec(doc)
    if spec is None:
        return
    for key in ("initContainers", "containers"):
        for container in as_list(spec.get(key)):
            if not isinstance(container, Mapping):
                continue
            cname = str(container.get("name", "?"))
            for env in as_list(container.get("env")):
                if not isinstance(env, Mapping) or "value" not in env:
                    continue
                name = str(env.get("name", ""))
                what = _secret_value(name, env.get("value"))
                if what:
                    yield (
                        f"{obj.kind}/{obj.name} container '{cname}' env {name} holds {what}",
                        _env_line(obj, cname, name),
                    )


@make_rule(
    RULES,
    "PAVED-SECRET-003",
    "secret value in a Kubernetes manifest",
    "error",
    "keep the value in the secret store and reference it: env valueFrom.secretKeyRef (a Secret "
    "made by External Secrets or the platform), never a value in the manifest",
    reason=(
        "A value in a manifest is in git, in every rendered overlay, in kubectl describe and in "
        "the cluster's ConfigMaps for anyone who may read them; a secretKeyRef keeps it in one "
        "place that can be rotated and audited."
    ),
    refuses="env:\n  - name: DATABASE_URL\n    value: postgres://orders:hunter22@db:5432/orders",
    passes=(
        "env:\n  - name: DATABASE_PASSWORD\n"
        "    valueFrom: {secretKeyRef: {name: orders-db, key: password}}"
    ),
)
def manifest_secret(tree: ServiceTree) -> Iterator[Violation]:
    seen: set[tuple[str, int | None, str]] = set()
    for obj in tree.k8s_objects:
        for message, line in _object_secrets(obj):
            key = (obj.file, line, message)
            if key not in seen:  # the same source in several overlays: once
                seen.add(key)
                yield Violation(message, obj.file, line)
