"""``paved doctor`` on real services made by ``paved new service``: real git, copier, catalog."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import os
from pathlib import Path
from typing import Any

import jsonschema

from paved.cli.runtime import Runtime
from paved.service.declines import DECLINES_FILE, Decline, with_decline
from tests.helpers import REPO_ROOT, git

SCHEMA = json.loads((REPO_ROOT / "docs" / "schemas" / "doctor.schema.json").read_text())


def make_service(paved: Any, name: str, *flags: str) -> Path:
    done = paved("new", "service", name, "--owner", "team-a", *flags)
    assert done.exit_code == 0, done.stderr
    return Path.cwd() / name


def doctor(
    paved: Any, service: Path, *args: str, runtime: Runtime | None = None
) -> tuple[int, dict[str, Any]]:
    done = paved("doctor", "--json", "--path", str(service), *args, runtime=runtime)
    data = json.loads(done.stdout)
    jsonschema.validate(data, SCHEMA)
    return done.exit_code, data


def check(data: dict[str, Any], check_id: str) -> dict[str, Any]:
    return next(c for c in data["checks"] if c["id"] == check_id)


def test_a_fresh_service_passes_every_check(paved, monkeypatch) -> None:
    service = make_service(paved, "payments")
    code, data = doctor(paved, service)
    assert code == 0, [c for c in data["checks"] if c["status"] not in ("ok", "skip")]
    assert data["service"] == str(service)
    assert {c["status"] for c in data["checks"]} <= {"ok", "skip"}
    assert check(data, "service.content-drift")["message"].startswith("all ")
    # found from a folder inside the service, too; and a second run reads the render cache
    monkeypatch.chdir(service / "k8s")
    done = paved("doctor", "--json")
    assert done.exit_code == 0
    assert json.loads(done.stdout)["service"] == str(service)


def test_edited_road_layer_files_are_content_drift(paved) -> None:
    service = make_service(paved, "ledger")
    with (service / "SECURITY.md").open("a") as handle:
        handle.write("\nReport issues by carrier pigeon.\n")
    deployment = service / "k8s" / "base" / "deployment.yaml"
    deployment.write_text(deployment.read_text() + "# edited by hand\n")
    (service / "CODEOWNERS").unlink()
    code, data = doctor(paved, service)
    drift = check(data, "service.content-drift")
    assert drift["status"] == "warn"
    assert "edited: SECURITY.md" in drift["details"]
    assert "edited: k8s/base/deployment.yaml" in drift["details"]
    assert "deleted: CODEOWNERS" in drift["details"]
    assert check(data, "service.uncommitted")["status"] == "warn"
    assert check(data, "service.guardrails")["status"] == "fail"  # CODEOWNERS is a guardrail
    assert any(d.startswith("PAVED-") for d in check(data, "service.guardrails")["details"])
    assert code == 1


def test_only_warnings_exit_2(paved) -> None:
    service = make_service(paved, "billing")
    (service / "notes.txt").write_text("work in progress\n")
    code, data = doctor(paved, service)
    assert check(data, "service.uncommitted")["status"] == "warn"
    assert check(data, "service.content-drift")["status"] == "ok"
    assert (code, data["status"]) == (2, "warn")


def test_conflict_markers_and_rej_files_fail_once_each(paved) -> None:
    service = make_service(paved, "orders")
    readme = service / "README.md"
    block = "<<<<<<< HEAD\nmine\n=======\ntheirs\n>>>>>>> 0.2.0\n"
    first = len(readme.read_text().splitlines()) + 1
    readme.write_text(readme.read_text() + block + "between\n" + block)
    (service / "k8s" / "base" / "deployment.yaml.rej").write_text("@@ -1 +1 @@\n")
    code, data = doctor(paved, service)
    conflicts = check(data, "service.conflicts")
    assert conflicts["status"] == "fail"
    assert conflicts["details"] == [  # one line per file, whatever the number of blocks
        f"README.md:{first}: conflict markers",
        "k8s/base/deployment.yaml.rej: rejected changes",
    ]
    guardrails = check(data, "service.guardrails")  # runs PAVED-REPO-004, does not repeat it
    assert (guardrails["status"], guardrails["details"]) == ("ok", [])
    assert guardrails["message"].endswith("(PAVED-REPO-004: see service.conflicts)")
    assert code == 1


def test_fix_registers_a_service_made_without_registering(paved) -> None:
    service = make_service(paved, "refunds", "--no-register", "--no-push")
    code, data = doctor(paved, service)
    registered = check(data, "service.registered")
    assert registered["status"] == "fail"
    assert registered["fix"] == "paved doctor --fix registers it"
    assert check(data, "service.unpushed")["status"] == "warn"
    assert code == 1

    code, data = doctor(paved, service, "--fix")
    assert [f["check"] for f in data["fixed"]] == ["service.registered"]
    assert check(data, "service.registered")["status"] == "ok"
    assert code == 2  # still unpushed: --fix never pushes the user's work
    shown = json.loads(paved("services", "show", "refunds", "--json").stdout)
    assert shown["owner"] == "team-a"
    assert shown["repository"] == service.as_uri()
    assert [(ref["layer"], ref["scaffold"]) for ref in shown["layers"]] == [
        ("app", "service-python"),
        ("road", "paved-road"),
    ]


def test_fix_registers_with_the_origin_url(paved, pinned_env: Path) -> None:
    service = make_service(paved, "invoices", "--no-register")
    origin = git("remote", "get-url", "origin", cwd=service)
    code, data = doctor(paved, service, "--fix")
    assert code == 0, data
    assert "repository " + origin in data["fixed"][0]["change"]


def test_unpushed_commits_warn(paved) -> None:
    service = make_service(paved, "shipping")
    (service / "notes.txt").write_text("x\n")
    git("add", "notes.txt", cwd=service)
    git("commit", "-q", "-m", "notes", cwd=service)
    _, data = doctor(paved, service)
    unpushed = check(data, "service.unpushed")
    assert (unpushed["status"], unpushed["fix"]) == ("warn", "git push")
    assert unpushed["message"] == "1 commit(s) on main not pushed to origin/main"
    assert os.environ["PAVED_HOME"]


def on(day: dt.date) -> Runtime:
    moment = dt.datetime.combine(day, dt.time(9), tzinfo=dt.UTC)
    return dataclasses.replace(Runtime.from_process(), clock=lambda: moment)


def recorded(answers: Path) -> str:
    """The version an answers file records (``_commit``)."""
    lines = answers.read_text().splitlines()
    return next(line.split(":", 1)[1].strip() for line in lines if line.startswith("_commit:"))


def test_a_declined_version_is_not_drift_until_the_decline_expires(paved) -> None:
    service = make_service(paved, "catalogue")
    answers = service / ".copier-answers.road.yml"  # made older than the newest road below
    app, newest = recorded(service / ".copier-answers.app.yml"), recorded(answers)
    answers.write_text(answers.read_text().replace(f"_commit: {newest}", "_commit: 0.0.9"))
    until = dt.date(2030, 3, 31)
    decline = Decline("paved-road", newest, "waiting for the new ingress controller", until)
    (service / DECLINES_FILE).parent.mkdir()
    (service / DECLINES_FILE).write_text(with_decline([], decline))
    detail = f"paved-road {newest} declined until {until}: waiting for the new ingress controller"

    for day in (dt.date(2030, 3, 1), until):
        _, data = doctor(paved, service, runtime=on(day))
        drift = check(data, "service.version-drift")
        assert drift == {
            "id": "service.version-drift",
            "group": "service",
            "status": "ok",
            "message": f"app layer service-python {app}: the newest; "
            f"road layer paved-road 0.0.9: {newest} declined until {until}",
            "fix": None,
            "details": [detail],
        }

    _, data = doctor(paved, service, runtime=on(until + dt.timedelta(days=1)))
    drift = check(data, "service.version-drift")
    assert drift["status"] == "warn"
    assert drift["fix"].startswith("run paved update (paved update --dry-run shows")
    assert drift["details"] == [
        f"road layer paved-road 0.0.9: {newest} is the newest "
        f"(the decline of {newest} ran until {until} and has expired)"
    ]

    (service / DECLINES_FILE).write_text(
        (service / DECLINES_FILE).read_text().replace(f"until: '{until}'", "until: someday")
    )
    code, data = doctor(paved, service, runtime=on(dt.date(2030, 3, 1)))
    drift = check(data, "service.version-drift")
    assert (drift["status"], drift["message"]) == (
        "fail",
        f"{service / DECLINES_FILE}: decline 1: until 'someday' is not a date (YYYY-MM-DD)",
    )
    assert "paved docs update#declining-a-version" in drift["fix"]
    assert code == 1
