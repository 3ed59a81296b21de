"""``paved incident open|resolve|list`` as a person runs them, against the real platform server
on loopback: recorded there, refused where the team rules say, one line on every failure."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from paved.catalog.remote import RemoteCatalog
from paved.models import Deployment, LayerRef, Service
from tests.helpers import REPO_ROOT, run_paved
from tests.platform_helpers import Platform, platform_server

pytest.importorskip("fastapi", reason="the platform server needs the 'server' extra")
pytestmark = pytest.mark.slow

SCHEMAS = REPO_ROOT / "docs" / "schemas"
INCIDENT_SCHEMA = json.loads((SCHEMAS / "incident.schema.json").read_text())
INCIDENTS_SCHEMA = json.loads((SCHEMAS / "incidents.schema.json").read_text())
#: Two hours ago: the platform records a deployment within 24 hours of its clock.
T0 = dt.datetime.now(dt.UTC).replace(microsecond=0) - dt.timedelta(hours=2)


def _service(name: str, owner: str) -> Service:
    return Service(
        name=name,
        owner=owner,
        description="",
        repository=f"https://git.example.com/{name}.git",
        layers=(LayerRef("road", "paved-road", "0.4.0"),),
        created_at=T0,
    )


def _deployment(service: str, environment: str) -> Deployment:
    return Deployment(
        service=service,
        environment=environment,
        target="gitops",
        image=f"registry.example.com/{service}@sha256:" + "a" * 64,
        source_commit="a" * 40,
        source_time=T0,
        actor="ana",
        started_at=T0 + dt.timedelta(minutes=1),
        finished_at=T0 + dt.timedelta(minutes=2),
        outcome="succeeded",
    )


@dataclasses.dataclass(frozen=True)
class _Setup:
    server: Platform
    #: Each user's token: ana of team-a, bo of team-b.
    tokens: dict[str, str]
    #: A deployment of each service to prod.
    deployed: dict[str, int]


@pytest.fixture
def platform(pinned_env: Path) -> Iterator[_Setup]:
    """The platform with payments (team-a) and search (team-b), a deployment of each."""
    with platform_server(pinned_env / "platform.db") as server:
        tokens = {"ana": server.token("ana", "team-a"), "bo": server.token("bo", "team-b")}
        admin = RemoteCatalog(server.url, server.token("root", admin=True))
        try:
            admin.register(_service("payments", "team-a"))
            admin.register(_service("search", "team-b"))
            deployed = {
                name: admin.record_deployment(_deployment(name, "prod")).id or 0
                for name in ("payments", "search")
            }
        finally:
            admin.close()
        yield _Setup(server, tokens, deployed)


def _login(setup: _Setup, user: str) -> None:
    done = run_paved("login", setup.server.url, "--token", setup.tokens[user])
    assert done.returncode == 0, done.stderr


def _json(*args: str) -> Any:
    done = run_paved(*args, "--json")
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def _stored(server: Platform) -> list[tuple[Any, ...]]:
    with sqlite3.connect(server.database) as db:
        return db.execute(
            "SELECT id, service, environment, severity, deployment_id, opened_by, resolved_by "
            "FROM incidents ORDER BY id"
        ).fetchall()


def test_an_incident_is_opened_listed_and_resolved_on_the_platform(platform: _Setup) -> None:
    server, deployed = platform.server, platform.deployed
    _login(platform, "ana")

    dry = _json("incident", "open", "payments", "--title", "Card payments fail", "--dry-run")
    jsonschema.validate(dry, INCIDENT_SCHEMA)
    assert (dry["id"], dry["dry_run"], dry["opened_by"]) == (None, True, "ana")
    assert _stored(server) == []

    made = _json(
        "incident", "open", "payments", "--title", "Card payments fail",
        "--severity", "sev1", "--deployment", str(deployed["payments"]),
    )  # fmt: skip
    jsonschema.validate(made, INCIDENT_SCHEMA)
    assert made["dry_run"] is False
    assert made["title"] == "Card payments fail"
    assert _stored(server) == [
        (made["id"], "payments", "prod", "sev1", deployed["payments"], "ana", None)
    ]

    listed = _json("incident", "list")
    jsonschema.validate(listed, INCIDENTS_SCHEMA)
    assert [i["id"] for i in listed["incidents"]] == [made["id"]]
    table = run_paved("incident", "list")  # in a pipe: the rows, tab-separated
    assert table.returncode == 0, table.stderr
    assert table.stdout.split("\t")[:4] == [str(made["id"]), "payments", "prod", "sev1"]
    assert table.stdout.rstrip("\n").endswith("\tCard payments fail")

    resolved = run_paved("incident", "resolve", str(made["id"]))
    assert resolved.returncode == 0, resolved.stderr
    assert resolved.stdout == ""
    assert resolved.stderr.splitlines()[-1] == (
        f"resolved incident {made['id']} of payments in prod (sev1): Card payments fail"
    )
    assert _stored(server)[0][-1] == "ana"

    again = run_paved("incident", "resolve", str(made["id"]))
    assert again.returncode == 6, again.stderr
    assert again.stderr.count("\n") == 1
    assert again.stderr.startswith("error: ")

    nothing_open = run_paved("incident", "list")
    assert nothing_open.returncode == 0
    assert nothing_open.stdout == ""
    assert nothing_open.stderr.splitlines()[-1] == "No open incidents on the platform."
    every = _json("incident", "list", "--all", "--service", "payments")
    assert [i["resolved_by"] for i in every["incidents"]] == ["ana"]
    assert _json("incident", "list", "--all", "--team", "team-b")["incidents"] == []


#: Refused before or by the platform: the arguments, the exit code and what the line says.
REFUSED = [
    (["open", "search", "--title", "Down"], 4, "error: platform"),  # team-b's service
    (["open", "nowhere", "--title", "Down"], 2, "error: platform"),  # not in the catalog
    (["open", "payments", "--title", "a\x1b[2Jb"], 2, "control character"),
    (["open", "payments", "--title", "Down", "--severity", "p1"], 2, "--severity 'p1'"),
    (["open", "Payments", "--title", "Down"], 2, "service name 'Payments'"),
    (["open", "payments", "--title", "Down", "--deployment", "{search}"], 2, "error: platform"),
    (["resolve", "999"], 2, "error: platform"),
    (["resolve", "0"], 2, "not a positive number"),
]


def test_a_refused_incident_is_one_line_with_its_code_and_nothing_recorded(
    platform: _Setup,
) -> None:
    """Each case against one platform (one server for all: each start costs seconds)."""
    _login(platform, "ana")
    for args, code, said in REFUSED:
        argv = [a.format(search=platform.deployed["search"]) for a in args]
        done = run_paved("incident", *argv)
        shown = f"paved incident {argv}: exit {done.returncode}: {done.stderr}"
        assert done.returncode == code, shown
        assert done.stdout == "", shown
        assert done.stderr.count("\n") == 1, shown
        assert said in done.stderr, shown
        assert "\x1b" not in done.stderr, shown
    # another team's member cannot resolve team-a's incident either
    made = _json("incident", "open", "payments", "--title", "Down")
    _login(platform, "bo")
    refused = run_paved("incident", "resolve", str(made["id"]))
    assert refused.returncode == 4, refused.stderr
    assert [row[0] for row in _stored(platform.server)] == [made["id"]]
    assert _stored(platform.server)[0][-1] is None  # still open


def test_without_a_platform_the_incident_commands_say_they_need_one(pinned_env: Path) -> None:
    for args in (["open", "payments", "--title", "Down"], ["resolve", "1"], ["list"]):
        done = run_paved("incident", *args)
        assert done.returncode == 2, done.stderr
        assert done.stderr == (
            f"error: paved incident {args[0]} reads the platform's records; this machine uses "
            f"the local catalog {pinned_env}/paved-home/data/catalog.db; log in to your "
            "organisation's platform first: paved login URL\n"
        )
    assert not (pinned_env / "paved-home" / "data" / "catalog.db").exists()
