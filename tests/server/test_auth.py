"""Who may do what: the authorization matrix, tokens on the command line, no secret leaked."""

from __future__ import annotations

import logging
import re

import pytest

from tests.server.conftest import Platform, deployment_body, service_body

REFUSED = {"none": 401, "expired": 401, "revoked": 401}

STARTED = deployment_body("billing", outcome="started", finished_at=None)
FINISH = {"outcome": "succeeded", "finished_at": "2025-03-01T11:05:00Z", "message": "deployed"}
LAYERS = {"layers": [{"layer": "road", "scaffold": "paved-road", "version": "1.2.0"}]}
#: Roll-out 1 is alice's (the owner's), started before each test; roll-out 2 is new.
ROLLOUT_1, ROLLOUT_2 = "/v1/rollouts/road-1-2-0-rollout-1", "/v1/rollouts/road-1-3-0-rollout-2"
RELEASE_1 = {"layer": "road", "scaffold": "paved-road", "version": "1.2.0", "mode": "branch"}
RELEASE_2 = {**RELEASE_1, "version": "1.3.0"}
RESULT = {"status": "ready", "detail": "branch pushed", "branch": "paved/update-road-1.2.0"}
#: Resource request 1 is alice's (the owner's), of billing's database orders, opened before
#: each test; the bucket is new.
RESOURCES, REQUEST_1 = "/v1/services/billing/resources", "/v1/services/billing/resources/1"
DATABASE = {"kind": "database", "name": "orders", "options": {"engine": "postgres"}}
BUCKET = {"kind": "bucket", "name": "uploads", "branch": "paved/add-uploads"}
COMMITTED = {"state": "committed", "commit": "abc1234", "detail": "committed on main"}

# (method, path, body, expected status for another team's token, for the owner's token).
# Deployment 1 is a started deployment of billing (team-checkout's), made by an admin.
ENDPOINTS = [
    ("POST", "/v1/services", service_body(), 403, 201),
    ("POST", "/v1/services?dry_run=true", service_body(), 403, 201),
    ("POST", "/v1/services/billing/archive", None, 403, 200),
    ("PUT", "/v1/services/billing/layers", LAYERS, 403, 200),
    ("PUT", "/v1/services/billing/layers?dry_run=true", LAYERS, 403, 200),
    ("POST", "/v1/deployments", deployment_body("billing"), 403, 201),
    ("POST", "/v1/deployments", STARTED, 403, 201),
    ("POST", "/v1/deployments/1/finish", FINISH, 403, 200),
    ("PUT", ROLLOUT_2, RELEASE_2, 201, 201),
    ("PUT", ROLLOUT_1, RELEASE_1, 200, 200),
    ("PUT", ROLLOUT_1, RELEASE_2, 409, 409),
    ("PUT", f"{ROLLOUT_1}/services/billing", RESULT, 403, 200),
    ("POST", f"{ROLLOUT_1}/finish", None, 403, 200),
    ("POST", RESOURCES, BUCKET, 403, 201),
    ("POST", f"{RESOURCES}?dry_run=true", BUCKET, 403, 200),
    ("PATCH", REQUEST_1, COMMITTED, 403, 200),
    ("GET", "/v1/whoami", None, 200, 200),
    ("GET", "/v1/services", None, 200, 200),
    ("GET", "/v1/services/billing", None, 200, 200),
    ("GET", "/v1/deployments", None, 200, 200),
    ("GET", "/v1/scaffolds", None, 200, 200),
    ("GET", "/v1/settings", None, 200, 200),
    ("GET", "/v1/metrics", None, 200, 200),
    ("GET", "/v1/metrics/patching?layer=road", None, 200, 200),
    ("GET", "/v1/rollouts", None, 200, 200),
    ("GET", ROLLOUT_1, None, 200, 200),
    ("GET", RESOURCES, None, 200, 200),
    ("GET", "/v1/audit", None, 403, 403),
]


@pytest.mark.parametrize(
    ("method", "path", "body", "other", "owner"),
    ENDPOINTS,
    ids=[
        f"{m} {p}{' started' if b is STARTED else ''}{' other' if b is RELEASE_2 else ''}"
        for m, p, b, *_ in ENDPOINTS
    ],
)
@pytest.mark.parametrize("who", ["none", "expired", "revoked", "other", "owner", "admin"])
def test_authorization_matrix(
    platform: Platform,
    who: str,
    method: str,
    path: str,
    body: dict[str, object] | None,
    other: int,
    owner: int,
) -> None:
    admin = platform.auth("admin")
    billing = service_body("billing")
    assert platform.client.post("/v1/services", json=billing, headers=admin).is_success
    started = platform.client.post("/v1/deployments", json=STARTED, headers=admin)
    assert started.json()["id"] == 1, started.text
    rollout = platform.client.put(ROLLOUT_1, json=RELEASE_1, headers=platform.auth("owner"))
    assert rollout.status_code == 201, rollout.text
    asked = platform.client.post(RESOURCES, json=DATABASE, headers=platform.auth("owner"))
    assert asked.status_code == 201, asked.text
    assert asked.json()["id"] == 1

    def audited() -> list[dict[str, str]]:
        events: list[dict[str, str]] = platform.client.get("/v1/audit", headers=admin).json()[
            "events"
        ]
        return events

    before = len(audited())
    expected = {**REFUSED, "other": other, "owner": owner, "admin": 200 if owner == 403 else owner}
    got = platform.client.request(method, path, json=body, headers=platform.auth(who))
    assert got.status_code == expected[who], got.text
    if got.status_code >= 400:
        assert set(got.json()) == {"error", "message"}
    if method in ("POST", "PUT", "PATCH"):
        events = audited()[before:]
        if "dry_run" in path and got.is_success:
            assert events == []  # a dry run that passes leaves no trace
            return
        assert len(events) == 1, events
        action = {
            "/v1/services": "service.register",
            "/v1/services?dry_run=true": "service.register",
            "/v1/services/billing/archive": "service.archive",
            "/v1/services/billing/layers": "service.layers",
            "/v1/services/billing/layers?dry_run=true": "service.layers",
            "/v1/deployments": "deployment.record",
            "/v1/deployments/1/finish": "deployment.finish",
            ROLLOUT_1: "rollout.start",
            ROLLOUT_2: "rollout.start",
            f"{ROLLOUT_1}/services/billing": "rollout.service",
            f"{ROLLOUT_1}/finish": "rollout.finish",
            RESOURCES: "resource.request",
            f"{RESOURCES}?dry_run=true": "resource.request",
            REQUEST_1: "resource.close",
        }[path]
        assert events[0]["action"] == action
        assert (
            events[0]["outcome"]
            == {
                401: "unauthenticated",
                403: "forbidden",
                409: "conflict",
                200: {
                    "service.archive": "archived",
                    "service.layers": "recorded",
                    "rollout.start": "unchanged",
                    "rollout.service": "recorded",
                    "resource.close": "committed",
                }.get(action, "finished"),
                201: {
                    "service.register": "created",
                    "rollout.start": "created",
                    "resource.request": "started",
                }.get(action, "recorded"),
            }[got.status_code]
        )


def test_no_token_or_hash_in_any_response_or_log_line(
    platform: Platform, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    bodies = []
    for who in ("none", "expired", "revoked", "other", "owner", "admin"):
        for method, path, body, *_ in ENDPOINTS:
            got = platform.client.request(method, path, json=body, headers=platform.auth(who))
            bodies.append(got.text)
    bodies.append(platform.client.get("/openapi.json").text)
    everything = "\n".join(bodies) + "\n".join(r.getMessage() for r in caplog.records)
    from paved.server import token_hash

    for token in platform.tokens.values():
        secret = token.split("_", 2)[2]  # pvd_<id>_<secret>; the secret may hold "_" itself
        assert secret not in everything
        assert token_hash(token) not in everything
    assert "pvd_" not in everything


def test_token_create_and_revoke_on_the_command_line(paved, db_url: str) -> None:
    import sqlalchemy as sa

    from paved.server import connect, metadata

    tokens = metadata.tables["tokens"]

    db = db_url
    made = paved("platform", "token", "create", "--user", "alice", "--team", "team-a", "--db", db)
    assert made.exit_code == 0, made.stderr
    token = made.stdout.strip()
    assert re.fullmatch(r"pvd_[0-9a-f]{16}_[A-Za-z0-9_-]{43}", token)
    token_id = token.split("_")[1]
    assert f"token {token_id} for alice" in made.stderr
    assert token not in made.stderr
    engine = connect(db)
    with engine.connect() as conn:
        row = conn.execute(sa.select(tokens)).one()
    assert token not in repr(tuple(row))
    assert row.teams == ["team-a"]
    assert row.admin is False
    assert (row.expires_at - row.created_at).days == 90

    bad = paved("platform", "token", "create", "--user", "x", "--team", "Team A", "--db", db)
    assert bad.exit_code == 2
    assert "team name 'Team A'" in bad.stderr
    assert paved("platform", "token", "create", "--user", "x", "--db", db).exit_code == 2
    assert (
        paved(
            "platform", "token", "create", "--user", "x", "--admin", "--expires", "soon", "--db", db
        ).exit_code
        == 2
    )

    gone = paved("platform", "token", "revoke", token_id, "--db", db)
    assert gone.exit_code == 0, gone.stderr
    assert gone.stdout == f"{token_id}\n"
    assert paved("platform", "token", "revoke", token_id, "--db", db).exit_code == 2
    with engine.connect() as conn:
        assert conn.execute(sa.select(tokens.c.revoked_at)).scalar() is not None
    engine.dispose()
