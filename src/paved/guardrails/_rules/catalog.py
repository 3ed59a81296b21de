"""The catalog entry: ``catalog-info.yaml``, a Backstage entity with an owner."""

from __future__ import annotations

from collections.abc import Iterator, Mapping

from paved.guardrails._model import Rule, Violation
from paved.guardrails._rules._util import make_rule
from paved.guardrails._tree import ServiceTree
from paved.guardrails._yaml import line_of

__all__ = ["RULES"]

RULES: list[Rule] = []
_FILES = ("catalog-info.yaml", "catalog-info.yml")


def _catalog_file(tree: ServiceTree) -> str | None:
    return next((f for f in _FILES if tree.exists(f)), None)


@make_rule(
    RULES,
    "PAVED-CATALOG-001",
    "catalog-info.yaml missing",
    "error",
    "run paved update to get catalog-info.yaml (one deleted here stays deleted: restore it from "
    "git), or write a Backstage Component in catalog-info.yaml",
    reason=(
        "Without its catalog entry the service is invisible to the catalog, and its owners cannot "
        "be found in an incident."
    ),
    refuses="# no catalog-info.yaml",
    passes=(
        "# catalog-info.yaml\n"
        "kind: Component\n"
        "metadata: {name: payments}\n"
        "spec: {type: service, owner: team-checkout}"
    ),
)
def catalog_missing(tree: ServiceTree) -> Iterator[Violation]:
    if _catalog_file(tree) is None:
        yield Violation("the service has no catalog entry", "catalog-info.yaml")


@make_rule(
    RULES,
    "PAVED-CATALOG-002",
    "catalog entry without an owner",
    "error",
    "set spec.owner to the owning team in catalog-info.yaml",
    reason=(
        "An entry without an owner leaves nobody to page in an incident and nobody to ask about a "
        "change."
    ),
    refuses="kind: Component\nspec: {type: service, lifecycle: production}",
    passes="kind: Component\nspec: {type: service, lifecycle: production, owner: team-checkout}",
)
def owner_missing(tree: ServiceTree) -> Iterator[Violation]:
    path = _catalog_file(tree)
    if path is None:
        return
    docs = [d for d in tree.yaml(path) if isinstance(d, Mapping)]
    components = [d for d in docs if d.get("kind") == "Component"] or docs
    if not components and path not in tree.parse_errors:
        yield Violation("catalog-info.yaml holds no entity", path)
    for doc in components:
        spec = doc.get("spec")
        owner = spec.get("owner") if isinstance(spec, Mapping) else None
        if not isinstance(owner, str) or not owner.strip():
            yield Violation(
                f"{doc.get('kind', 'the entity')} has no spec.owner", path, line_of(doc, "spec")
            )
