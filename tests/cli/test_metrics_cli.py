"""``paved metrics delivery|onboarding|adoption`` against the real platform server on loopback:
the platform's own figures, in their documented JSON shape, and the rows in a pipe."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from paved.catalog.remote import RemoteCatalog
from paved.models import Deployment, LayerRef, Service
from tests.helpers import REPO_ROOT, run_paved
from tests.platform_helpers import platform_server

pytest.importorskip("fastapi", reason="the platform server needs the 'server' extra")
pytestmark = pytest.mark.slow

SCHEMAS = REPO_ROOT / "docs" / "schemas"


def _schema(name: str) -> Any:
    return json.loads((SCHEMAS / f"metrics-{name}.schema.json").read_text())


def test_the_metrics_are_the_platform_s_figures_in_their_documented_shape(
    pinned_env: Path,
) -> None:
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    with platform_server(pinned_env / "platform.db") as server:
        token = server.token("ana", "team-a")
        ana = RemoteCatalog(server.url, token)
        ana.register(
            Service("payments", "team-a", "", "https://git.example.com/payments.git",
                    (LayerRef("road", "paved-road", "0.4.0"),), now)
        )  # fmt: skip
        for hours, outcome in ((20, "succeeded"), (6, "failed"), (3, "succeeded")):
            at = now - dt.timedelta(hours=hours)
            ana.record_deployment(
                Deployment(
                    service="payments", environment="prod", target="gitops",
                    image="registry.example.com/payments@sha256:" + "a" * 64,
                    source_commit="a" * 40, source_time=at - dt.timedelta(hours=1),
                    actor="ana", started_at=at, finished_at=at + dt.timedelta(minutes=1),
                    outcome=outcome,  # type: ignore[arg-type]
                    change_started_at=at - dt.timedelta(hours=2),
                )
            )  # fmt: skip
        ana.open_incident("payments", "prod", "Card payments fail")
        ana.report_gate(
            "payments", commit="b" * 40, passed=False, rule_ids=["PAVED-K8S-001"], findings=2
        )
        ana.close()
        assert run_paved("login", server.url, "--token", token).returncode == 0

        def figures(*args: str) -> Any:
            done = run_paved("metrics", *args, "--json")
            assert done.returncode == 0, done.stderr
            return json.loads(done.stdout)

        delivery = figures("delivery", "--days", "7")
        jsonschema.validate(delivery, _schema("delivery"))
        assert delivery["schema"] == "paved/metrics-delivery/v1"
        payments = delivery["services"][0]
        assert (payments["service"], payments["owner"]) == ("payments", "team-a")
        assert payments["deployments"] == 3
        assert payments["failed_deployments"] == 1
        assert payments["incidents"] == 1
        assert payments["lead_time_seconds"] is not None
        assert sum(week["deployments"] for week in delivery["weeks"]) == 3
        onboarding = figures("onboarding")
        jsonschema.validate(onboarding, _schema("onboarding"))
        assert all(row["suppressed"] for row in onboarding["teams"])  # under 5 people: no times
        adoption = figures("adoption")
        jsonschema.validate(adoption, _schema("adoption"))
        assert adoption["gate"]["reported"] == 1
        assert adoption["gate"]["failing_rules"] == [{"rule_id": "PAVED-K8S-001", "services": 1}]

        rows = run_paved("metrics", "delivery", "--days", "7")  # in a pipe: the rows only
        assert rows.returncode == 0, rows.stderr
        assert rows.stdout.splitlines()[0].startswith("payments\tteam-a\t3\t")
        assert rows.stdout.splitlines()[1].startswith("(total)\t\t3\t")
        assert "Delivery to prod, every team" in rows.stderr
        refused = run_paved("metrics", "delivery", "--days", "400")
        assert refused.returncode == 2
        assert refused.stderr.endswith("error: --days 400 is not from 1 to 366\n")


def test_without_a_platform_the_metrics_say_they_need_one(pinned_env: Path) -> None:
    for which in ("delivery", "onboarding", "adoption"):
        done = run_paved("metrics", which)
        assert done.returncode == 2, done.stderr
        assert done.stderr == (
            f"error: paved metrics {which} reads the platform's records; this machine uses "
            f"the local catalog {pinned_env}/paved-home/data/catalog.db; log in to your "
            "organisation's platform first: paved login URL\n"
        )
