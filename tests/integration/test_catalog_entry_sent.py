"""paved new service registers the road answers' catalog entry, and paved update records the
entry the updated road answers file holds: with the local catalog, in a real SQLite file."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from paved.catalog.sqlite import SqliteCatalog
from paved.models import CatalogEntry
from paved.service.layout import read_answers

pytestmark = pytest.mark.slow


def _stored(pinned_env: Path) -> CatalogEntry:
    catalog = SqliteCatalog(pinned_env / "paved-home" / "data" / "catalog.db")
    stored = catalog.get("payments")
    catalog.close()
    assert stored is not None
    return stored.catalog


def test_new_service_registers_the_entry_its_road_answers_hold(paved, pinned_env: Path) -> None:
    result = paved(
        "new", "service", "payments", "--owner", "team-checkout", "--no-push",
        "--set", "lifecycle=production", "--set", "system=shop",
        "--set", "resources=s3-read,sqs-send",
    )  # fmt: skip
    assert result.exit_code == 0, result.stderr
    answers = read_answers(pinned_env / "payments")
    entry = _stored(pinned_env)
    assert entry == CatalogEntry.from_answers(answers)
    assert (entry.lifecycle, entry.system) == ("production", "shop")
    assert entry.resources == ("s3-read", "sqs-send")


def test_update_records_the_entry_of_the_road_answers_file(paved, pinned_env: Path) -> None:
    result = paved("new", "service", "payments", "--owner", "team-checkout", "--no-push")
    assert result.exit_code == 0, result.stderr
    first = _stored(pinned_env)
    assert first == CatalogEntry.from_answers(read_answers(pinned_env / "payments"))
    # The stored entry goes stale (as a registration from an older paved would be) ...
    catalog = SqliteCatalog(pinned_env / "paved-home" / "data" / "catalog.db")
    service = catalog.get("payments")
    assert service is not None
    catalog.record_layers(
        "payments", service.layers, catalog=dataclasses.replace(first, system="x")
    )
    catalog.close()
    # ... and paved update, even with nothing to move, records the file's entry again.
    result = paved("update", str(pinned_env / "payments"))
    assert result.exit_code == 0, result.stderr
    assert _stored(pinned_env) == first
