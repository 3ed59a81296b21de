"""paved.models' resource-kind table is the road's: a real rendering of paved-road with every
resource declares exactly the Resources, and the entity refs, the table and the entry give."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from paved.models import RESOURCE_KINDS, CatalogEntry
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
