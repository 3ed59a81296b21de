"""Walking python-hcl2's output (``explicit_blocks=False``): blocks are lists of mappings."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from paved.guardrails._tree import ServiceTree

__all__ = ["blocks", "first", "terraform_blocks"]


def blocks(value: Any) -> list[Mapping[str, Any]]:
    """A nested block (or attribute) as a list of mappings, whichever way it was written."""
    if isinstance(value, Mapping):
        return [value]
    if isinstance(value, list):
        return [v for v in value if isinstance(v, Mapping)]
    return []


def first(value: Any) -> Mapping[str, Any]:
    found = blocks(value)
    return found[0] if found else {}


def terraform_blocks(
    tree: ServiceTree, kind: str, type_: str
) -> Iterator[tuple[str, str, Mapping[str, Any]]]:
    """Each ``kind "type_" "name" {...}`` block (kind: resource or data) in every .tf file."""
    for path in tree.glob("**/*.tf"):
        for top in blocks(tree.hcl(path).get(kind)):
            if type_ not in top:
                continue
            for named in blocks(top[type_]):
                for name, body in named.items():
                    for one in blocks(body):
                        yield path, str(name), one
