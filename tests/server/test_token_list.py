"""``paved platform token list`` and ``token create --json``, on the server's host, against a real
database (SQLite and PostgreSQL): every field but the secret, which is never shown again."""

from __future__ import annotations

import json

import jsonschema

from tests.helpers import REPO_ROOT

SCHEMAS = REPO_ROOT / "docs" / "schemas"


def _schema(name: str) -> dict[str, object]:
    return json.loads((SCHEMAS / name).read_text(encoding="utf-8"))


def test_token_create_json_follows_its_schema_and_the_token_works_once_shown(
    paved, db_url: str
) -> None:
    made = paved(
        "platform", "token", "create", "--user", "alice", "--team", "team-b", "--team", "team-a",
        "--team", "team-a", "--expires", "12h", "--json", "--db", db_url,
    )  # fmt: skip
    assert made.exit_code == 0, made.stderr
    data = json.loads(made.stdout)
    jsonschema.validate(data, _schema("platform-token.schema.json"))
    assert (data["user"], data["teams"], data["role"]) == ("alice", ["team-a", "team-b"], "member")
    assert data["token"].split("_")[1] == data["id"]
    assert data["token"] not in made.stderr
    assert f"token {data['id']} for alice" in made.stderr


def test_token_list_shows_every_token_and_its_status_never_a_secret(paved, db_url: str) -> None:
    import sqlalchemy as sa

    from paved.server import connect, metadata

    def create(*args: str) -> dict[str, str]:
        done = paved("platform", "token", "create", *args, "--json", "--db", db_url)
        assert done.exit_code == 0, done.stderr
        return json.loads(done.stdout)

    empty = paved("platform", "token", "list", "--db", db_url)
    assert (empty.exit_code, empty.stdout) == (0, "")
    assert "No tokens yet" in empty.stderr

    alice = create("--user", "alice", "--team", "team-a")
    admin = create("--user", "root", "--admin", "--expires", "1h")
    gone = create("--user", "carol", "--team", "team-c")
    assert paved("platform", "token", "revoke", gone["id"], "--db", db_url).exit_code == 0
    engine = connect(db_url)
    tokens = metadata.tables["tokens"]
    with engine.begin() as conn:  # the admin token's lifetime has run out
        conn.execute(
            tokens.update().where(tokens.c.id == admin["id"]).values(expires_at=tokens.c.created_at)
        )
        hashes = [row.hash for row in conn.execute(sa.select(tokens.c.hash))]
    engine.dispose()

    listed = paved("platform", "token", "list", "--json", "--db", db_url)
    assert listed.exit_code == 0, listed.stderr
    data = json.loads(listed.stdout)
    jsonschema.validate(data, _schema("platform-tokens.schema.json"))
    status = {t["id"]: (t["user"], t["teams"], t["role"], t["status"]) for t in data["tokens"]}
    assert status == {
        alice["id"]: ("alice", ["team-a"], "member", "live"),
        admin["id"]: ("root", [], "platform-admin", "expired"),
        gone["id"]: ("carol", ["team-c"], "member", "revoked"),
    }
    revoked = next(t for t in data["tokens"] if t["id"] == gone["id"])
    assert revoked["revoked_at"] is not None

    plain = paved("platform", "token", "list", "--db", db_url)
    assert plain.exit_code == 0, plain.stderr
    rows = [line.split("\t") for line in plain.stdout.splitlines()]
    assert [(r[0], r[1], r[2], r[3], r[6]) for r in rows] == [
        (t["id"], t["user"], ",".join(t["teams"]) or "-", t["role"], t["status"])
        for t in data["tokens"]
    ]
    everything = listed.stdout + plain.stdout + listed.stderr + plain.stderr
    for secret in (alice["token"], admin["token"], gone["token"], *hashes):
        assert secret not in everything
    assert "pvd_" not in everything


def test_token_revoke_json_follows_its_schema_and_names_the_revoked_tokens(
    paved, db_url: str
) -> None:
    ids = []
    for _ in range(2):
        made = paved(
            "platform",
            "token",
            "create",
            "--user",
            "bob",
            "--team",
            "team-a",
            "--json",
            "--db",
            db_url,
        )
        assert made.exit_code == 0, made.stderr
        ids.append(json.loads(made.stdout)["id"])
    one = paved("platform", "token", "revoke", ids[0], "--json", "--db", db_url)
    assert one.exit_code == 0, one.stderr
    data = json.loads(one.stdout)
    jsonschema.validate(data, _schema("platform-token-revoke.schema.json"))
    assert data == {"schema": "paved/platform-token-revoke/v1", "revoked": [ids[0]]}
    every = paved("platform", "token", "revoke", "--user", "bob", "--json", "--db", db_url)
    assert every.exit_code == 0, every.stderr
    assert json.loads(every.stdout)["revoked"] == [ids[1]]
