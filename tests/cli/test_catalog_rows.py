"""A catalog.db row paved cannot read: one line naming the database and the row, exit 5."""

from __future__ import annotations

import datetime as dt
import sqlite3
from pathlib import Path

import pytest

from paved.catalog.sqlite import SqliteCatalog
from paved.errors import ExitCode
from paved.models import Deployment, LayerRef, Service
from tests.cli.test_new_bad_input import one_line_error

NOW = dt.datetime(2026, 11, 26, 10, 0, tzinfo=dt.UTC)


@pytest.fixture
def db(pinned_env: Path) -> Path:
    """A catalog with one service and one deployment, written by paved itself."""
    path = pinned_env / "paved-home" / "data" / "catalog.db"
    catalog = SqliteCatalog(path)
    layers = (LayerRef("app", "service-python", "0.1.0"), LayerRef("road", "paved-road", "0.1.0"))
    catalog.register(Service("payments", "team-a", "Pays.", "file:///r.git", layers, NOW))
    catalog.record_deployment(
        Deployment(
            "payments", "dev", "gitops", "registry.example.com/p@sha256:" + "a" * 64,
            "a" * 40, NOW, "Dev <dev@example.com>", NOW, NOW, "succeeded", revision="b" * 40,
        )
    )  # fmt: skip
    catalog.close()
    return path


def edit(path: Path, sql: str, *params: object) -> None:
    with sqlite3.connect(path) as connection:
        connection.execute("PRAGMA ignore_check_constraints = ON")  # as a hand edit can
        connection.execute(sql, params)
    connection.close()


CASES = [
    ("UPDATE services SET created_at = 'last tuesday'", "service 'payments'", "created_at"),
    ("UPDATE services SET owner = 'Team A'", "service 'payments'", "owner"),
    ("UPDATE services SET created_at = x'ff00'", "service 'payments'", "created_at"),
    ("UPDATE service_layers SET version = '0.1.0; rm -rf /'", "of service 'payments'", "version"),
    ("UPDATE service_layers SET version = ''", "of service 'payments'", "version"),
    ("UPDATE deployments SET started_at = 'yesterday'", "deployment 1", "started_at"),
    ("UPDATE deployments SET finished_at = 'soon'", "deployment 1", "finished_at"),
    ("UPDATE deployments SET outcome = 'exploded'", "deployment 1", "outcome"),
    ("UPDATE deployments SET findings = '[{'", "deployment 1", "findings"),
    ("UPDATE deployments SET findings = '\"none\"'", "deployment 1", "findings"),
    ("UPDATE deployments SET service = '../Payments'", "deployment 1", "service"),
]
READERS = {
    "service": [["services", "list"], ["services", "show", "payments"]],
    "deployment": [["deployments", "list"], ["deployments", "list", "--json"]],
}


@pytest.mark.parametrize(("sql", "row", "column"), CASES, ids=[c[0][7:40] for c in CASES])
def test_a_malformed_row_is_one_line_naming_the_database_and_the_row(
    paved, db: Path, sql: str, row: str, column: str
) -> None:
    edit(db, sql)
    table = "deployment" if row.startswith("deployment") else "service"
    for args in READERS[table]:
        done = paved(*args)
        assert done.exit_code == ExitCode.REMOTE, (args, done.stderr)
        line = one_line_error(done.stderr)
        assert line.startswith(f"error: catalog {db} holds a row paved cannot read: ")
        assert row in line
        assert f" has {column} " in line
        assert "restore it from a backup" in line
        assert done.stdout == ""


def test_the_rows_paved_writes_read_back(paved, db: Path) -> None:
    assert paved("services", "list").exit_code == 0
    assert paved("deployments", "list").exit_code == 0
