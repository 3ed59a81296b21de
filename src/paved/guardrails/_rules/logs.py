"""Logging: one JSON object per line with the platform's required fields.

Reads the Python AST of every module under ``src/`` (not the text). JSON logging is configured
when a module has a ``logging.Formatter`` subclass whose code calls ``json.dumps`` (or
``orjson.dumps``), or uses ``pythonjsonlogger``'s ``JsonFormatter`` or structlog's
``JSONRenderer``. The fields are the string keys that module puts in a dict (dict displays,
``dict(key=...)``, ``line.update(key=...)``, ``line.setdefault("key", ...)``,
``line["key"] = ...``). Services without Python code under ``src/`` are not
checked.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator

from paved.guardrails._model import Rule, Violation
from paved.guardrails._rules._util import make_rule
from paved.guardrails._tree import ServiceTree

__all__ = ["REQUIRED_FIELDS", "RULES", "json_logging"]

RULES: list[Rule] = []
REQUIRED_FIELDS = (
    "timestamp", "level", "message", "logger", "service", "version", "environment", "request_id",
)  # fmt: skip
_JSON_LIBRARY_NAMES = {"JsonFormatter", "JSONRenderer"}


def _name(node: ast.expr) -> str:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    return ""


def _dumps_json(node: ast.AST) -> bool:
    for call in ast.walk(node):
        if isinstance(call, ast.Call) and isinstance(call.func, ast.Attribute):
            base = call.func.value
            if (
                call.func.attr == "dumps"
                and isinstance(base, ast.Name)
                and base.id in ("json", "orjson")
            ):
                return True
    return False


def _json_formatter(module: ast.Module) -> ast.AST | None:
    """The node that makes this module's logs JSON, or None."""
    for node in ast.walk(module):
        if isinstance(node, ast.ClassDef):
            bases = {_name(b) for b in node.bases}
            if bases & _JSON_LIBRARY_NAMES:
                return node
            if any(b.endswith("Formatter") for b in bases) and _dumps_json(node):
                return node
        if isinstance(node, ast.Call) and _name(node.func) in _JSON_LIBRARY_NAMES:
            return node
    return None


def _fields(module: ast.Module) -> set[str]:
    fields: set[str] = set()
    for node in ast.walk(module):
        if isinstance(node, ast.Dict):
            fields.update(
                k.value
                for k in node.keys
                if isinstance(k, ast.Constant) and isinstance(k.value, str)
            )
        elif isinstance(node, ast.Call) and _name(node.func) in ("dict", "update"):
            fields.update(k.arg for k in node.keywords if k.arg)
        elif isinstance(node, ast.Call) and _name(node.func) == "setdefault" and node.args:
            key = node.args[0]
            if isinstance(key, ast.Constant) and isinstance(key.value, str):
                fields.add(key.value)
        elif (
            isinstance(node, ast.Subscript)
            and isinstance(node.ctx, ast.Store)
            and isinstance(node.slice, ast.Constant)
            and isinstance(node.slice.value, str)
        ):
            fields.add(node.slice.value)
    return fields


def json_logging(tree: ServiceTree) -> tuple[list[str], list[tuple[str, ast.AST, set[str]]]]:
    """The service's Python modules, and those configuring JSON logs with their fields."""
    modules = [p for p in tree.glob("src/**/*.py")]
    found = []
    for path in modules:
        module = tree.python(path)
        if isinstance(module, ast.Module) and (node := _json_formatter(module)) is not None:
            found.append((path, node, _fields(module)))
    return modules, found


@make_rule(
    RULES,
    "PAVED-LOG-001",
    "logging not configured as JSON",
    "error",
    "log through a logging.Formatter that writes one JSON object per line (see the scaffold)",
    reason=(
        "The platform's log collector parses one JSON object per line; plain text lines cannot be "
        "searched or alerted on."
    ),
    refuses='logging.basicConfig(level="INFO")   # plain text lines',
    passes=(
        "class JsonFormatter(logging.Formatter):\n"
        "    def format(self, record):\n"
        "        return json.dumps({...})"
    ),
)
def not_json(tree: ServiceTree) -> Iterator[Violation]:
    modules, found = json_logging(tree)
    if modules and not found:
        yield Violation("no module under src/ configures JSON logs", "src/")


@make_rule(
    RULES,
    "PAVED-LOG-002",
    "JSON logs missing required fields",
    "error",
    "emit every required field: " + ", ".join(REQUIRED_FIELDS),
    reason=(
        "Dashboards, alerts and incident searches key on these fields; a log line without them "
        "cannot be traced to a service, version or request."
    ),
    refuses='return json.dumps({"time": ..., "msg": record.getMessage()})',
    passes=(
        'return json.dumps({"timestamp": ..., "level": ..., "message": ..., "logger": ...,\n'
        '                   "service": ..., "version": ..., "environment": ..., "request_id": ...})'
    ),
)
def missing_fields(tree: ServiceTree) -> Iterator[Violation]:
    _modules, found = json_logging(tree)
    if not found:
        return
    best = max(found, key=lambda item: len(item[2] & set(REQUIRED_FIELDS)))
    path, node, fields = best
    missing = [f for f in REQUIRED_FIELDS if f not in fields]
    if missing:
        yield Violation(
            f"JSON log lines lack {', '.join(missing)}", path, getattr(node, "lineno", None)
        )
