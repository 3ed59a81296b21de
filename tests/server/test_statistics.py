"""The database's statistics: a server keeps SQLite's up to date, so its planner picks the
index a query needs (one team's metrics read the team's services, not every deployment)."""

from __future__ import annotations

import datetime as dt
import time
from pathlib import Path

import sqlalchemy as sa

from paved.server import connect, metadata, migrate, refresh_statistics, writer
from tests.server.conftest import serving

TEAM_QUERY = (
    "EXPLAIN QUERY PLAN SELECT d.id, s.owner FROM deployments d "
    "JOIN services s ON s.name = d.service "
    "WHERE d.environment = 'prod' AND d.finished_at >= '2026-11-01' AND s.owner = 'team-07' "
    "ORDER BY d.id"
)


def _seed(engine: sa.Engine, services: int) -> None:
    now = dt.datetime(2026, 12, 1, tzinfo=dt.UTC)
    names = [f"svc-{i:05d}" for i in range(services)]
    with writer(engine).begin() as conn:
        conn.execute(
            metadata.tables["services"].insert(),
            [
                {"name": n, "owner": f"team-{i % 50:02d}", "repository": f"https://g.example/{n}",
                 "created_at": now}
                for i, n in enumerate(names)
            ],
        )  # fmt: skip
        conn.execute(
            metadata.tables["deployments"].insert(),
            [
                {"service": n, "environment": "prod", "target": "gitops", "image": "",
                 "actor": "seed", "started_at": now, "finished_at": now - dt.timedelta(hours=i),
                 "outcome": "succeeded", "message": "", "findings": [], "recorded_by": "seed"}
                for i, n in enumerate(names)
            ],
        )  # fmt: skip


def _plan(engine: sa.Engine) -> str:
    with engine.connect() as conn:
        return " | ".join(str(row[-1]) for row in conn.exec_driver_sql(TEAM_QUERY))


def test_with_statistics_one_team_s_deployments_are_found_through_its_services(
    tmp_path: Path,
) -> None:
    engine = connect(f"sqlite:///{tmp_path / 'platform.db'}")
    try:
        migrate(engine)
        _seed(engine, 5000)
        refresh_statistics(engine)
        with engine.connect() as conn:
            analysed = {row[0] for row in conn.exec_driver_sql("SELECT tbl FROM sqlite_stat1")}
        assert {"services", "deployments"} <= analysed
        plan = _plan(engine)
        assert "SEARCH s USING INDEX ix_services_owner (owner=?)" in plan, plan
        assert "deployments_service_environment (service=? AND environment=?)" in plan, plan
    finally:
        engine.dispose()


def test_a_server_refreshes_the_statistics_when_it_starts(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'platform.db'}"
    engine = connect(url)
    try:
        migrate(engine)
        _seed(engine, 200)
        with serving(url):
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                with engine.connect() as conn:
                    if conn.exec_driver_sql(
                        "SELECT count(*) FROM sqlite_master WHERE name = 'sqlite_stat1'"
                    ).scalar():
                        break
                time.sleep(0.1)
            else:
                raise AssertionError("no statistics 60 s after the server started")
    finally:
        engine.dispose()
