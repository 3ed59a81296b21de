"""``paved doctor`` through the command line: exit codes, output shapes, a fresh machine."""

from __future__ import annotations

import json
import os
import socket
import sys
from pathlib import Path
from typing import Any

import jsonschema

from tests.helpers import REPO_ROOT, run_paved

SCHEMA = json.loads((REPO_ROOT / "docs" / "schemas" / "doctor.schema.json").read_text())


def doctor_json(paved: Any, *args: str) -> tuple[int, dict[str, Any]]:
    done = paved("doctor", "--json", *args)
    data = json.loads(done.stdout)
    jsonschema.validate(data, SCHEMA)
    return done.exit_code, data


def statuses(data: dict[str, Any]) -> dict[str, str]:
    return {c["id"]: c["status"] for c in data["checks"]}


def test_a_fresh_machine_gets_warnings_and_fixes_not_a_crash(paved, pinned_env: Path) -> None:
    code, data = doctor_json(paved)
    assert code == 2
    assert data["status"] == "warn"
    assert data["service"] is None
    found = statuses(data)
    assert found["env.data-dir"] == "warn"
    assert found["env.template-store"] == "warn"
    assert found["env.catalog"] == "ok"
    assert all(found[c] == "skip" for c in found if c.startswith("service."))
    service_checks = [c for c in data["checks"] if c["group"] == "service"]
    assert {c["message"] for c in service_checks} == {
        "not inside a service repository (use --path)"
    }
    assert not (pinned_env / "paved-home").exists()  # doctor alone writes nothing


def test_fix_creates_the_data_dir_and_builds_the_template_store(paved, pinned_env: Path) -> None:
    code, data = doctor_json(paved, "--fix")
    assert code == 0, data
    assert {f["check"] for f in data["fixed"]} == {"env.data-dir", "env.template-store"}
    assert (pinned_env / "paved-home" / "data" / "templates" / "paved-road.git").is_dir()
    assert statuses(data)["env.template-store"] == "ok"
    code, again = doctor_json(paved, "--fix")
    assert (code, again["fixed"]) == (0, [])


def test_a_corrupt_catalog_and_a_missing_identity_are_both_reported(
    paved, pinned_env: Path
) -> None:
    data_dir = pinned_env / "paved-home" / "data"
    data_dir.mkdir(parents=True)
    (data_dir / "catalog.db").write_bytes(b"this is not a database" * 100)
    (pinned_env / "home" / ".gitconfig").write_text("[init]\n\tdefaultBranch = main\n")
    code, data = doctor_json(paved)
    assert code == 1
    found = statuses(data)
    assert found["env.catalog"] == "fail"
    assert found["env.git-identity"] == "fail"
    assert found["env.git"] == "ok"
    assert len(data["checks"]) == 17
    identity = next(c for c in data["checks"] if c["id"] == "env.git-identity")
    assert "git config --global user.name" in identity["fix"]


def test_bad_settings_fail_one_check_and_the_others_still_run(paved, pinned_env: Path) -> None:
    config = pinned_env / "paved-home" / "config" / "config.toml"
    config.parent.mkdir(parents=True)
    config.write_text("catalog = [broken\n")
    code, data = doctor_json(paved)
    assert code == 1
    found = statuses(data)
    assert found["env.config"] == "fail"
    assert found["env.catalog"] == "skip"
    assert found["env.git"] == "ok"


def test_an_unreachable_platform_catalog_fails_its_check(paved, monkeypatch) -> None:
    with socket.socket() as sock:  # a loopback port nothing listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    monkeypatch.setenv("PAVED_CATALOG_URL", f"http://127.0.0.1:{port}")
    code, data = doctor_json(paved)
    assert code == 1
    catalog = next(c for c in data["checks"] if c["id"] == "env.catalog")
    assert catalog["status"] == "fail"
    assert f"127.0.0.1:{port}" in catalog["message"]
    assert "paved login" in catalog["fix"]


def test_a_path_that_is_not_a_service_is_a_usage_error(paved, pinned_env: Path) -> None:
    done = paved("doctor", "--path", str(pinned_env))
    assert done.exit_code == 2
    assert done.stdout == ""
    assert done.stderr.startswith(f"error: {pinned_env} is not a service repository")
    assert len(done.stderr.strip().splitlines()) == 1


def test_plain_lines_in_a_pipe_and_a_summary_on_stderr(paved) -> None:
    done = paved("doctor")
    lines = done.stdout.splitlines()
    assert len(lines) == 17
    assert all(len(line.split("\t")) == 4 for line in lines)
    assert lines[0].startswith("ok\tenv.python\tPython ")
    assert done.stderr.strip().splitlines()[-1].startswith("doctor (no service here): warn (")


def test_git_absent_from_path_is_a_failed_check_not_a_crash(tmp_path: Path) -> None:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "python").symlink_to(sys.executable)
    env = {
        "PATH": str(bin_dir),
        "HOME": os.environ["HOME"],
        "PAVED_HOME": os.environ["PAVED_HOME"],
        "PYTHONPATH": os.pathsep.join(p for p in sys.path if p),
        "NO_COLOR": "1",
    }
    done = run_paved("doctor", "--json", env=env, cwd=tmp_path)
    assert done.returncode == 1, done.stderr
    assert "Traceback" not in done.stderr
    data = json.loads(done.stdout)
    jsonschema.validate(data, SCHEMA)
    checks = {c["id"]: c for c in data["checks"]}
    assert checks["env.git"]["status"] == "fail"
    assert "install git" in checks["env.git"]["fix"]
    for dependent in ("env.git-identity", "env.template-store"):
        assert checks[dependent]["status"] == "skip"
        assert "git is not installed" in checks[dependent]["message"]
    assert "kubectl is not on PATH" in checks["env.kubectl"]["message"]
