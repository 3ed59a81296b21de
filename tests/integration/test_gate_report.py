"""``paved guardrails check --report``: the check's result sent to the real platform server on
loopback as the service's latest gate report; never a change of the check's exit code."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from paved.catalog.remote import RemoteCatalog
from paved.models import LayerRef, Service
from tests.helpers import git, run_paved
from tests.platform_helpers import platform_server

pytest.importorskip("fastapi", reason="the platform server needs the 'server' extra")
pytestmark = pytest.mark.slow


def _service_folder(root: Path, name: str) -> Path:
    """A folder paved takes for a service (its road answers), committed in git."""
    root.mkdir()
    (root / ".copier-answers.road.yml").write_text(
        f"service_name: {name}\nowner: team-a\n", encoding="utf-8"
    )
    git("init", "--quiet", "--initial-branch=main", str(root))
    git("add", ".", cwd=root)
    git("commit", "--quiet", "-m", "start", cwd=root)
    return root


def test_the_check_s_result_becomes_the_service_s_latest_gate_report(pinned_env: Path) -> None:
    service = _service_folder(pinned_env / "payments", "payments")
    plain = run_paved("guardrails", "check", str(service), "--json")
    found = json.loads(plain.stdout)
    errors = sorted(
        {f["rule"] for f in found["findings"] if f["status"] == "open" and f["severity"] == "error"}
    )
    opened = [f for f in found["findings"] if f["status"] == "open"]

    with platform_server(pinned_env / "platform.db") as server:
        token = server.token("ana", "team-a")
        reader = RemoteCatalog(server.url, token)
        reader.register(
            Service("payments", "team-a", "", "https://git.example.com/payments.git",
                    (LayerRef("road", "paved-road", "0.4.0"),), dt.datetime.now(dt.UTC))
        )  # fmt: skip
        assert reader.latest_gate_report("payments") is None

        # Without a login the report is one warning line; the exit code is the check's.
        unsent = run_paved("guardrails", "check", str(service), "--report")
        assert unsent.returncode == plain.returncode
        warnings = [line for line in unsent.stderr.splitlines() if "gate report" in line]
        assert warnings == [
            "warning: the gate report was not sent: this machine uses the local catalog "
            f"{pinned_env}/paved-home/data/catalog.db; log in to the platform first: "
            "paved login URL"
        ]

        assert run_paved("login", server.url, "--token", token).returncode == 0
        sent = run_paved("guardrails", "check", str(service), "--report", "--json")
        assert sent.returncode == plain.returncode, sent.stderr
        assert json.loads(sent.stdout) == found  # the document is the check's, unchanged
        report = reader.latest_gate_report("payments")
        assert report is not None
        assert report.commit == git("rev-parse", "HEAD", cwd=service)
        assert report.passed is found["passed"]
        assert list(report.rule_ids) == errors
        assert report.findings == len(opened)
        assert report.reported_by == "ana"
        assert (
            f"reported to {server.url}: payments at {report.commit[:12]} "
            f"{'passed' if report.passed else 'failed'}"
        ) in sent.stderr

        # The answers are input: a service name that breaks the rule is never sent.
        forged = _service_folder(pinned_env / "forged", "../v1/teams")
        refused = run_paved("guardrails", "check", str(forged), "--report")
        assert "warning: the gate report was not sent: service name '../v1/teams'" in (
            refused.stderr
        )
        # Another team's service: the platform refuses, one line, the check's exit code.
        server.token("bo", "team-b")  # makes team-b known
        admin = RemoteCatalog(server.url, server.token("root", admin=True))
        admin.register(
            Service("search", "team-b", "", "https://git.example.com/search.git", (),
                    dt.datetime.now(dt.UTC))
        )  # fmt: skip
        admin.close()
        other = _service_folder(pinned_env / "search", "search")
        theirs = run_paved("guardrails", "check", str(other), "--report")
        assert theirs.returncode == plain.returncode
        assert "warning: the gate report was not sent: platform" in theirs.stderr
        assert reader.latest_gate_report("search") is None
        reader.close()
