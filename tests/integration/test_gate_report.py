"""``paved guardrails check --report``: the check's result sent to the real platform server on
loopback as the service's latest gate report; never a change of the check's exit code. The
road's pipelines (GitHub and GitLab) run it on the default branch: their own step, run here."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from paved.catalog.remote import RemoteCatalog
from paved.models import LayerRef, Service
from tests.helpers import git, run_paved
from tests.platform_helpers import Platform, platform_server

pytest.importorskip("fastapi", reason="the platform server needs the 'server' extra")
pytestmark = pytest.mark.slow


def _ana_with_payments(server: Platform, road: str) -> tuple[str, RemoteCatalog]:
    """ana's token (team-a) and her client, with payments registered on the road version."""
    token = server.token("ana", "team-a")
    reader = RemoteCatalog(server.url, token)
    reader.register(
        Service("payments", "team-a", "", "https://git.example.com/payments.git",
                (LayerRef("road", "paved-road", road),), dt.datetime.now(dt.UTC))
    )  # fmt: skip
    return token, reader


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
        token, reader = _ana_with_payments(server, "0.4.0")
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


def _gate_scripts(service: Path, provider: str) -> tuple[str, str, dict[str, str]]:
    """The road pipeline's gate commands for the default branch and for a change, and the
    variables the default branch's step gets from the organisation."""
    if provider == "github":
        workflow: Any = yaml.safe_load((service / ".github/workflows/ci.yml").read_text())
        jobs = workflow["jobs"]
        assert "gate" in jobs["image"]["needs"]  # no image is built past a failing gate
        steps = {step.get("if"): step for step in jobs["gate"]["steps"] if "run" in step}
        on_main, on_change = (
            steps["github.event_name == 'push'"],
            steps["github.event_name != 'push'"],
        )
        assert on_main["env"] == {
            "PAVED_CATALOG_URL": "${{ vars.PAVED_CATALOG_URL }}",
            "PAVED_TOKEN": "${{ secrets.PAVED_TOKEN }}",
        }
        assert "env" not in on_change  # a pull request's run never holds the token
        return on_main["run"], on_change["run"], {}
    pipeline: Any = yaml.safe_load((service / ".gitlab-ci.yml").read_text())
    gate = pipeline["gate"]
    assert gate["stage"] == "test"  # before the build stage
    script = gate["script"][-1]
    return script, script, {"CI_DEFAULT_BRANCH": "main"}


@pytest.mark.parametrize("provider", ["github", "gitlab"])
def test_the_road_s_pipeline_reports_the_gate_from_the_default_branch_only(
    paved, pinned_env: Path, provider: str
) -> None:
    made = paved(
        "new", "service", "payments", "--owner", "team-a", "--no-push", "--no-register",
        "--set", f"ci_provider={provider}",
    )  # fmt: skip
    assert made.exit_code == 0, made.stderr
    service = pinned_env / "payments"
    on_main, on_change, ci = _gate_scripts(service, provider)

    with platform_server(pinned_env / "platform.db") as server:
        token, reader = _ana_with_payments(server, "0.5.0")
        # The runner's environment: paved installed, the organisation's variables set.
        env = {
            **os.environ,
            "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
            "PAVED_CATALOG_URL": server.url,
            "PAVED_TOKEN": token,
            **ci,
        }

        def run(script: str, **more: str) -> subprocess.CompletedProcess[str]:
            return subprocess.run(
                ["bash", "-euo", "pipefail", "-c", script], cwd=service,
                env={**env, **more}, capture_output=True, text=True, check=False, timeout=120,
            )  # fmt: skip

        change = run(on_change, CI_COMMIT_BRANCH="add-cache")
        assert change.returncode == 0, change.stderr  # the road as rendered passes its gate
        assert reader.latest_gate_report("payments") is None
        main = run(on_main, CI_COMMIT_BRANCH="main")
        assert main.returncode == 0, main.stderr
        report = reader.latest_gate_report("payments")
        assert report is not None
        assert (report.commit, report.passed, report.reported_by) == (
            git("rev-parse", "HEAD", cwd=service), True, "ana",
        )  # fmt: skip
        reader.close()
