"""Migration 0008: when a change began, and the web console's sessions, on both backends."""

from __future__ import annotations

import datetime as dt
import hashlib

from paved.server import issue_token, revoke
from tests.server.conftest import NOW, Platform, deployment_body, service_body


def test_a_database_at_0007_moves_forward_with_its_deployments(db_url: str) -> None:
    import sqlalchemy as sa
    from alembic import command
    from alembic.config import Config

    from paved.server import connect, metadata, migrate, writer

    deployments = metadata.tables["deployments"]
    engine = connect(db_url)
    config = Config()
    config.set_main_option("script_location", "paved.server:migrations")
    naive = NOW.replace(tzinfo=None)
    with writer(engine).begin() as conn:
        config.attributes["connection"] = conn
        command.upgrade(config, "0007")
        conn.execute(
            sa.text(
                "INSERT INTO deployments (service, environment, target, image, actor,"
                " started_at, finished_at, outcome, message, findings, recorded_by,"
                " source_time)"
                " VALUES ('abc', 'prod', 'gitops', '', 'alice', :now, :now, 'succeeded', '',"
                " '[]', 'alice', :now)"
            ),
            {"now": naive},
        )
    migrate(engine)
    with engine.connect() as conn:
        row = conn.execute(
            sa.select(deployments.c.id, deployments.c.source_time, deployments.c.change_started_at)
        ).one()
        for name in ("incidents", "gate_reports", "onboarding_events", "console_sessions"):
            assert (
                conn.execute(sa.select(sa.func.count()).select_from(metadata.tables[name])).scalar()
                == 0
            )
    # A deployment from before keeps its times; its change has no start of its own.
    assert tuple(row) == (1, NOW, None)
    engine.dispose()


def _registered(platform: Platform) -> None:
    response = platform.client.post(
        "/v1/services", json=service_body(), headers=platform.auth("owner")
    )
    assert response.status_code == 201, response.text


def test_a_deployment_keeps_when_its_change_began(platform: Platform) -> None:
    _registered(platform)
    began = "2025-03-01T08:30:00Z"
    body = deployment_body(change_started_at=began)
    response = platform.client.post("/v1/deployments", json=body, headers=platform.auth("owner"))
    assert response.status_code == 201, response.text
    assert response.json()["change_started_at"] == "2025-03-01T08:30:00Z"
    listed = platform.client.get("/v1/deployments", headers=platform.auth("owner")).json()
    assert [d["change_started_at"] for d in listed["deployments"]] == ["2025-03-01T08:30:00Z"]
    # Without it (an older client), there is none.
    response = platform.client.post(
        "/v1/deployments", json=deployment_body(), headers=platform.auth("owner")
    )
    assert response.json()["change_started_at"] is None


def test_a_change_cannot_begin_after_it_was_committed_or_deployed(platform: Platform) -> None:
    _registered(platform)
    auth = platform.auth("owner")
    # source_time is 10:00, started_at 11:00 (deployment_body).
    after_commit = deployment_body(change_started_at="2025-03-01T10:00:01Z")
    response = platform.client.post("/v1/deployments", json=after_commit, headers=auth)
    assert response.status_code == 422
    assert "change_started_at" in response.text
    assert "source_time" in response.text
    no_commit_time = deployment_body(source_time=None, change_started_at="2025-03-01T11:00:01Z")
    response = platform.client.post("/v1/deployments", json=no_commit_time, headers=auth)
    assert response.status_code == 422
    assert "started_at" in response.text
    # Equal to the commit's time is the commit itself: fine.
    same = deployment_body(change_started_at="2025-03-01T10:00:00Z")
    assert platform.client.post("/v1/deployments", json=same, headers=auth).status_code == 201
    listed = platform.client.get("/v1/deployments", headers=auth).json()["deployments"]
    assert len(listed) == 1


def _digest(cookie: str) -> str:
    return hashlib.sha256(cookie.encode()).hexdigest()


def test_a_console_session_stands_for_its_token_until_it_ends(platform: Platform) -> None:
    store = platform.client.app.state.store  # type: ignore[attr-defined]
    engine = platform.client.app.state.engine  # type: ignore[attr-defined]
    issued = issue_token(
        engine,
        user="erin",
        teams=["team-checkout"],
        admin=False,
        lifetime=dt.timedelta(hours=5),
        now=NOW,
        actor="test",
    )
    digest = _digest("cookie-one")
    # Asked for 12 hours, it lasts only as long as its token (5 hours).
    store.start_console_session(digest, issued.id, NOW, NOW + dt.timedelta(hours=12))
    found = store.console_session(digest, NOW + dt.timedelta(hours=1))
    assert found is not None
    assert (found.id, found.user, list(found.teams), bool(found.admin)) == (
        issued.id,
        "erin",
        ["team-checkout"],
        False,
    )
    assert store.console_session(digest, NOW + dt.timedelta(hours=5)) is None
    assert store.console_session(_digest("cookie-two"), NOW) is None
    # Ended once: not live any more, and a second end changes nothing.
    assert store.end_console_session(digest, NOW + dt.timedelta(minutes=5)) is True
    assert store.console_session(digest, NOW + dt.timedelta(minutes=6)) is None
    assert store.end_console_session(digest, NOW + dt.timedelta(minutes=7)) is False


def test_a_console_session_ends_with_its_token(platform: Platform) -> None:
    store = platform.client.app.state.store  # type: ignore[attr-defined]
    engine = platform.client.app.state.engine  # type: ignore[attr-defined]
    issued = issue_token(
        engine,
        user="erin",
        teams=["team-checkout"],
        admin=False,
        lifetime=dt.timedelta(days=30),
        now=NOW,
        actor="test",
    )
    digest = _digest("cookie-three")
    store.start_console_session(digest, issued.id, NOW, NOW + dt.timedelta(hours=12))
    assert store.console_session(digest, NOW + dt.timedelta(hours=11)) is not None
    assert store.console_session(digest, NOW + dt.timedelta(hours=12)) is None
    revoke(engine, token_id=issued.id, user=None, now=NOW, actor="test")
    assert store.console_session(digest, NOW + dt.timedelta(minutes=1)) is None


def test_a_database_at_0008_moves_forward_with_an_empty_sign_in_record(db_url: str) -> None:
    """Migration 0009: the console's failed sign-ins move from each process's memory to a
    table; a database at 0008 keeps its rows and gains the table, empty."""
    import sqlalchemy as sa
    from alembic import command
    from alembic.config import Config

    from paved.server import connect, metadata, migrate, writer

    engine = connect(db_url)
    config = Config()
    config.set_main_option("script_location", "paved.server:migrations")
    with writer(engine).begin() as conn:
        config.attributes["connection"] = conn
        command.upgrade(config, "0008")
        conn.execute(
            sa.text(
                "INSERT INTO teams (name, description, created_by, created_at)"
                " VALUES ('team-a', '', 'root', :now)"
            ),
            {"now": NOW.replace(tzinfo=None)},
        )
    assert "console_sign_in_failures" not in sa.inspect(engine).get_table_names()
    migrate(engine)
    failures = metadata.tables["console_sign_in_failures"]
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalar() == "0009"
        assert conn.execute(sa.select(sa.func.count()).select_from(failures)).scalar() == 0
        assert conn.execute(sa.text("SELECT name FROM teams")).scalars().all() == ["team-a"]
    indexes = {i["name"] for i in sa.inspect(engine).get_indexes("console_sign_in_failures")}
    assert indexes == {"console_sign_in_failures_address", "console_sign_in_failures_failed"}
    engine.dispose()
