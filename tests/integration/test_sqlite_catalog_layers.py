"""The local catalog records a service's layers after an update: in a real SQLite file."""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from paved.catalog.sqlite import SqliteCatalog
from paved.errors import ExitCode, InputError
from paved.models import LayerRef, Service

NOW = dt.datetime(2026, 11, 26, 10, 0, tzinfo=dt.UTC)
REGISTERED = (LayerRef("app", "service-python", "0.1.0"), LayerRef("road", "paved-road", "0.1.0"))
UPDATED = (LayerRef("road", "paved-road", "0.2.0"), LayerRef("app", "service-python", "0.1.1"))


@pytest.fixture
def catalog(tmp_path: Path) -> Iterator[SqliteCatalog]:
    """A catalog file with one service, ``payments``, at its first layer versions."""
    opened = SqliteCatalog(tmp_path / "catalog.db")
    opened.register(Service("payments", "team-a", "Pays.", "file:///r.git", REGISTERED, NOW))
    yield opened
    opened.close()


def rows(path: Path) -> list[tuple[str, str, str, str]]:
    """The ``service_layers`` rows as they are in the file, read past paved."""
    with sqlite3.connect(path) as connection:
        found = connection.execute(
            "SELECT service, layer, scaffold, version FROM service_layers ORDER BY layer"
        ).fetchall()
    connection.close()
    return found


def test_record_layers_replaces_the_rows_of_the_service(catalog: SqliteCatalog) -> None:
    before = catalog.get("payments")
    assert before is not None
    done = catalog.record_layers("payments", UPDATED)
    ordered = (LayerRef("app", "service-python", "0.1.1"), LayerRef("road", "paved-road", "0.2.0"))
    assert done == dataclasses.replace(before, layers=ordered)
    assert rows(catalog.path) == [
        ("payments", "app", "service-python", "0.1.1"),
        ("payments", "road", "paved-road", "0.2.0"),
    ]
    # Replaced, not merged: a layer left out is gone.
    catalog.record_layers("payments", (LayerRef("app", "service-python", "v0.2.0+tree.3f2a"),))
    assert rows(catalog.path) == [("payments", "app", "service-python", "v0.2.0+tree.3f2a")]
    assert catalog.list(template="paved-road") == []
    reopened = SqliteCatalog(catalog.path)
    assert reopened.get("payments") == catalog.get("payments")
    reopened.close()


def test_a_dry_run_answers_as_the_record_would_and_stores_nothing(
    catalog: SqliteCatalog,
) -> None:
    before = rows(catalog.path)
    dry = catalog.record_layers("payments", UPDATED, dry_run=True)
    assert rows(catalog.path) == before
    assert catalog.get("payments") == dataclasses.replace(dry, layers=REGISTERED)
    assert catalog.record_layers("payments", UPDATED) == dry


def test_an_unknown_service_is_refused_with_what_to_do(tmp_path: Path) -> None:
    path = tmp_path / "catalog.db"
    catalog = SqliteCatalog(path)
    for dry_run in (True, False):
        with pytest.raises(InputError) as refused:
            catalog.record_layers("ghost", UPDATED, dry_run=dry_run)
        assert str(refused.value) == (
            f"service 'ghost' is not in the catalog {path}; paved doctor --fix registers it"
        )
        assert refused.value.exit_code == ExitCode.USAGE
    assert not path.exists()  # a refusal does not create the catalog
    catalog.register(Service("payments", "team-a", "", "file:///r.git", REGISTERED, NOW))
    with pytest.raises(InputError, match="service 'ghost' is not in the catalog"):
        catalog.record_layers("ghost", UPDATED)
    assert rows(path) == [
        ("payments", "app", "service-python", "0.1.0"),
        ("payments", "road", "paved-road", "0.1.0"),
    ]
    catalog.close()


@pytest.mark.parametrize(
    ("layers", "problem"),
    [
        ((LayerRef("app", "service-python", "latest"),), "version 'latest' of layer 'app'"),
        ((LayerRef("app", "service-python", "1.0.0; rm -rf /"),), "version '1.0.0; rm -rf /'"),
        ((LayerRef("app", "service-python", ""),), "version '' of layer 'app'"),
        ((LayerRef("app", "s", "1.0.0"), LayerRef("app", "s", "1.1.0")), "layer 'app' is given"),
        ((LayerRef("App", "service-python", "1.0.0"),), "layer name 'App' has upper-case"),
        ((LayerRef("app", "../x y", "1.0.0"),), "scaffold '../x y' of layer 'app' is not"),
        ((), "no layers given"),
    ],
)
def test_bad_layers_are_refused_and_nothing_is_stored(
    catalog: SqliteCatalog, layers: tuple[LayerRef, ...], problem: str
) -> None:
    before = rows(catalog.path)
    for dry_run in (True, False):
        with pytest.raises(InputError, match=re.escape(problem)) as refused:
            catalog.record_layers("payments", layers, dry_run=dry_run)
        assert str(refused.value).startswith("the layers of service 'payments' cannot be recorded")
    assert rows(catalog.path) == before


def test_a_bad_service_name_is_refused(catalog: SqliteCatalog) -> None:
    with pytest.raises(InputError, match=re.escape("service name '../payments'")):
        catalog.record_layers("../payments", UPDATED)


def test_a_catalog_before_the_entry_reads_the_default_and_a_bad_entry_is_refused(
    catalog: SqliteCatalog,
) -> None:
    from paved.errors import RemoteError
    from paved.models import CatalogEntry

    with sqlite3.connect(catalog.path) as connection:
        connection.execute("UPDATE services SET catalog = NULL")  # as the migration leaves it
    connection.close()
    assert catalog.get("payments").catalog == CatalogEntry()  # type: ignore[union-attr]
    with sqlite3.connect(catalog.path) as connection:
        connection.execute("""UPDATE services SET catalog = '{"lifecycle": "retired"}'""")
    connection.close()
    with pytest.raises(RemoteError, match=r"catalog entry.*lifecycle must be one of"):
        catalog.get("payments")
