"""The onboarding script of docs/doctor.md, run as its reader would: it makes a valid service name
from any user name, and stops at the first failure."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from paved.names import name_problem
from tests.docs.markdown import shell_blocks
from tests.helpers import REPO_ROOT

DOCTOR_MD = REPO_ROOT / "docs" / "doctor.md"

# A stand-in for paved that logs each call; `new service NAME` makes the folder NAME, and
# STUB_FAIL names a subcommand ("doctor", "new") that exits with 6 instead.
STUB = """#!/usr/bin/env bash
printf '%s\\n' "$*" >> "$STUB_LOG"
if [ "${STUB_FAIL:-}" = "$1" ]; then echo "error: $1 failed" >&2; exit 6; fi
if [ "$1" = new ]; then mkdir -p "$3"; fi
if [ "$1" = doctor ]; then printf 'ok\\tenv.python\\tPython 3\\t\\n'; fi
"""


def _script() -> str:
    (block,) = [b for b in shell_blocks(DOCTOR_MD) if b.text.startswith("#!")]
    return block.text


def _run(
    tmp_path: Path, user: str | None, *, stub: bool = True, fail: str = ""
) -> tuple[subprocess.CompletedProcess[str], list[str]]:
    script = tmp_path / "onboard.sh"
    script.write_text(_script(), encoding="utf-8")
    work = tmp_path / "work"
    work.mkdir()
    env = {k: v for k, v in os.environ.items() if k != "USER"}
    log = tmp_path / "calls.log"
    if stub:
        bin_dir = tmp_path / "bin"
        bin_dir.mkdir()
        (bin_dir / "paved").write_text(STUB, encoding="utf-8")
        (bin_dir / "paved").chmod(0o755)
        env |= {"PATH": f"{bin_dir}{os.pathsep}{env['PATH']}", "STUB_LOG": str(log)}
        env |= {"STUB_FAIL": fail}
    else:
        env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env['PATH']}"
    if user is not None:
        env["USER"] = user
    result = subprocess.run(
        ["bash", str(script)], cwd=work, env=env, capture_output=True, text=True, check=False
    )
    calls = log.read_text(encoding="utf-8").splitlines() if log.exists() else []
    return result, calls


@pytest.mark.parametrize(
    ("user", "name"),
    [
        ("Jane.Smith", "hello-jane-smith"),
        ("...", "hello-newcomer"),
        ("@#$%^&*()", "hello-newcomer"),
        ("", "hello-newcomer"),
        (None, "hello-newcomer"),
        ("-jo--ann-", "hello-jo-ann"),
        ("José Ñúñez", "hello-jos-ez"),
        ("o'brien_2", "hello-o-brien-2"),
        ("A" * 60, "hello-" + "a" * 34),
        ("a" * 33 + ".b", "hello-" + "a" * 33),  # cut at 40, then the trailing '-' dropped
    ],
)
def test_the_service_name_follows_the_naming_rule_whatever_the_user_name(
    tmp_path: Path, user: str | None, name: str
) -> None:
    result, calls = _run(tmp_path, user)
    assert result.returncode == 0, result.stderr
    assert calls == [
        "doctor --fix",
        f"new service {name} --owner team-onboarding",
        "doctor",
    ]
    assert name_problem(name) is None
    assert result.stdout.startswith("machine ready\n")


def test_a_failing_step_stops_the_script(tmp_path: Path) -> None:
    result, calls = _run(tmp_path, "Jane.Smith", fail="new")
    assert result.returncode == 6
    assert calls == ["doctor --fix", "new service hello-jane-smith --owner team-onboarding"]


def test_a_failing_doctor_lists_the_failures_and_stops(tmp_path: Path) -> None:
    result, calls = _run(tmp_path, "Jane.Smith", fail="doctor")
    assert result.returncode == 1
    assert calls == ["doctor --fix"]
    assert result.stdout.startswith("fix these first:\n")


@pytest.mark.slow
def test_jane_smith_gets_a_service_and_a_clean_doctor(tmp_path: Path) -> None:
    """With paved itself (the suite's pinned HOME and PAVED_HOME: a fresh machine)."""
    result, _calls = _run(tmp_path, "Jane.Smith", stub=False)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.startswith("machine ready\n")
    service = tmp_path / "work" / "hello-jane-smith"
    assert (service / ".copier-answers.road.yml").is_file()
    assert f"doctor for {service}: ok" in result.stderr
