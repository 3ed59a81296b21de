"""paved.models' resource-kind table is the road's: a real rendering of paved-road with every
resource declares exactly the Resources, and the entity refs, the table and the entry give."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from paved.models import RESOURCE_KINDS, CatalogEntry, DataResource
from paved.service.layout import read_answers
from tests.helpers import SCAFFOLDS


@pytest.mark.slow
def test_the_rendered_resources_are_the_tables(tmp_path: Path) -> None:
    import copier

    every = list(RESOURCE_KINDS)
    copier.run_copy(
        str(SCAFFOLDS / "paved-road"),
        tmp_path / "out",
        data={
            "service_name": "payments",
            "owner": "team-a",
            "system": "shop",
            "lifecycle": "production",
            "resources": every,
        },
        defaults=True,
        quiet=True,
    )
    text = (tmp_path / "out" / "catalog-info.yaml").read_text(encoding="utf-8")
    documents = list(yaml.safe_load_all(text))
    resources = [d for d in documents if d["kind"] == "Resource"]
    assert resources == [
        {
            "apiVersion": "backstage.io/v1alpha1",
            "kind": "Resource",
            "metadata": {
                "name": RESOURCE_KINDS[choice].name("payments"),
                "description": RESOURCE_KINDS[choice].description.format(service="payments"),
            },
            "spec": {
                "type": RESOURCE_KINDS[choice].type,
                "owner": "group:default/team-a",
                "system": "shop",
            },
        }
        for choice in every
    ]
    entry = CatalogEntry.from_answers(read_answers(tmp_path / "out"))
    assert entry.resources == tuple(every)
    assert entry.lifecycle == "production"
    assert entry.system == "shop"
    refs = [(d["kind"].lower(), "default", d["metadata"]["name"]) for d in documents]
    assert list(entry.entity_refs("payments")) == refs
    component = documents[0]
    assert component["spec"]["dependsOn"] == [
        f"resource:{name}" for kind, _, name in refs if kind == "resource"
    ]


@pytest.mark.slow
def test_the_rendered_data_resources_are_the_models(tmp_path: Path) -> None:
    """Every kind and option of paved add: the entities the road renders are those
    DataResource names and describes, in the order added, after the road's own."""
    made = [
        DataResource.make("database", "orders"),
        DataResource.make("database", "ledger", engine="mysql", size="large"),
        DataResource.make("bucket", "uploads"),
        DataResource.make("queue", "jobs", dead_letter=False),
    ]
    import copier

    copier.run_copy(
        str(SCAFFOLDS / "paved-road"),
        tmp_path / "out",
        data={
            "service_name": "payments",
            "owner": "team-a",
            "system": "shop",
            "resources": ["s3-read"],
            "data_resources": [x.to_answer() for x in made],
        },
        defaults=True,
        quiet=True,
    )
    documents = list(yaml.safe_load_all((tmp_path / "out/catalog-info.yaml").read_text("utf-8")))
    resources = [d for d in documents if d["kind"] == "Resource"][1:]
    assert resources == [
        {
            "apiVersion": "backstage.io/v1alpha1",
            "kind": "Resource",
            "metadata": {
                "name": x.entity_name("payments"),
                "description": x.description("payments"),
            },
            "spec": {"type": x.type, "owner": "group:default/team-a", "system": "shop"},
        }
        for x in made
    ]
    entry = CatalogEntry.from_answers(read_answers(tmp_path / "out"))
    assert entry.data_resources == tuple(made)
    refs = [(d["kind"].lower(), "default", d["metadata"]["name"]) for d in documents]
    assert list(entry.entity_refs("payments")) == refs
    assert documents[0]["spec"]["dependsOn"][1:] == [
        f"resource:{x.entity_name('payments')}" for x in made
    ]
