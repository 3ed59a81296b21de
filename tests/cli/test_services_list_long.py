"""A long ``paved services list --json``: the same data as ``Service.to_json`` gives, one
compact service per line inside the array, still one JSON document; a short answer is
indented exactly as ``json.dumps(indent=2)`` writes it; a long catalog reads the same as each
service read alone, and a bad row in it is still the same one-line error."""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from paved.catalog.sqlite import SqliteCatalog
from paved.cli.output import ROWS_INLINE, json_chunks
from paved.cli.services import services_json
from paved.errors import ExitCode
from paved.models import CatalogEntry, DataResource, LayerRef, Service

NOW = dt.datetime(2026, 11, 26, 10, 0, tzinfo=dt.UTC)
COUNT = ROWS_INLINE * 3 // 2


def service(number: int) -> Service:
    entries = [
        CatalogEntry(),
        CatalogEntry(resources=("s3-read", "sqs-send"), system="payments"),
        CatalogEntry(
            lifecycle="experimental",
            api_definition="openapi.json",
            data_resources=(DataResource("queue", "jobs", (("dead_letter", True),)),),
        ),
    ]
    layers = (
        LayerRef("app", "service-python", f"0.{number % 3}.0"),
        LayerRef("road", "paved-road", "0.5.0"),
    )
    return Service(
        name=f"svc-{number:04d}",
        owner=f"team-{'abc'[number % 3]}",
        description=f"Service number {number}, été \u2603",
        repository=f"ssh://git@git.example.com/team/svc-{number:04d}.git",
        layers=layers if number % 5 else layers[1:],
        created_at=NOW + dt.timedelta(minutes=number),
        catalog=entries[number % 3],
    )


@pytest.fixture
def catalog(pinned_env: Path) -> Path:
    path = pinned_env / "paved-home" / "data" / "catalog.db"
    db = SqliteCatalog(path)
    for number in range(COUNT):
        db.register(service(number))
    db.close()
    return path


def test_services_json_is_what_each_service_says(catalog: Path) -> None:
    services = SqliteCatalog(catalog).list()
    assert services_json(services) == [s.to_json() for s in services]
    made = [service(n) for n in range(COUNT)]  # each its own objects, nothing shared
    assert services_json(made) == [s.to_json() for s in made]


def test_a_long_catalog_reads_as_each_service_alone(catalog: Path) -> None:
    db = SqliteCatalog(catalog)
    listed = db.list()
    assert [s.name for s in listed] == [f"svc-{n:04d}" for n in range(COUNT)]
    assert listed == [db.get(s.name) for s in listed]
    assert listed == [service(n) for n in range(COUNT)]
    team_b = db.list(owner="team-b")
    assert team_b == [s for s in listed if s.owner == "team-b"]
    assert db.list(template="service-python") == [s for s in listed if len(s.layers) == 2]


def test_a_long_answer_is_one_service_per_line(paved: Any, catalog: Path) -> None:
    done = paved("services", "list", "--json")
    assert done.exit_code == 0, done.stderr
    data = json.loads(done.stdout)
    assert data == {"schema": "paved/services/v1", "services": [s.to_json() for s in (
        service(n) for n in range(COUNT))]}  # fmt: skip
    lines = done.stdout.splitlines()
    assert lines[:3] == ["{", '  "schema": "paved/services/v1",', '  "services": [']
    assert lines[-2:] == ["  ]", "}"]
    rows = lines[3:-2]
    assert len(rows) == COUNT
    for number, row in enumerate(rows):
        assert row.startswith("    {")
        assert json.loads(row.strip().removesuffix(",")) == service(number).to_json()
    assert "été \u2603" in done.stdout  # as it is, not escaped


@pytest.mark.parametrize(
    "data",
    [
        {},
        [],
        {"schema": "x", "services": []},
        {"a": [1, 2, {"b": "é\n", "c": [None, True, 1.5]}], "d": {"e": {}}},
        [{"n": n} for n in range(ROWS_INLINE)],
    ],
)
def test_a_short_answer_is_indented_as_before(data: Any) -> None:
    assert "".join(json_chunks(data)) == json.dumps(data, indent=2, ensure_ascii=False)


def test_long_lists_at_any_depth_are_one_item_per_line() -> None:
    data = {"a": {"b": [{"n": n, "t": "é"} for n in range(ROWS_INLINE + 1)]}, "c": [[1] * 200]}
    text = "".join(json_chunks(data))
    assert json.loads(text) == data
    assert '      {"n": 0, "t": "é"},' in text.splitlines()
    assert text.splitlines().count("      1,") == 199  # the inner list, inside a short one
    assert text.splitlines()[-4:] == ["      1", "    ]", "  ]", "}"]


def test_a_bad_row_in_a_long_catalog_is_the_same_error(paved: Any, catalog: Path) -> None:
    with sqlite3.connect(catalog) as connection:
        connection.execute("PRAGMA ignore_check_constraints = ON")
        connection.execute("UPDATE services SET owner = 'Team B' WHERE name = 'svc-0101'")
        connection.execute(
            "UPDATE service_layers SET version = '' WHERE service = 'svc-0120' AND layer = 'road'"
        )
    connection.close()
    done = paved("services", "list", "--json")
    assert done.exit_code == ExitCode.REMOTE
    assert "service 'svc-0101' has owner 'Team B'" in done.stderr
    with sqlite3.connect(catalog) as connection:
        connection.execute("UPDATE services SET owner = 'team-b' WHERE name = 'svc-0101'")
    connection.close()
    done = paved("services", "list", "--json")
    assert done.exit_code == ExitCode.REMOTE
    assert "layer 'road' of service 'svc-0120' has version ''" in done.stderr
