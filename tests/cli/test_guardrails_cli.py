"""``paved guardrails list`` and ``check``: output shapes, JSON schema, exit codes."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest

from paved.errors import ExitCode
from paved.guardrails import BUILTIN_RULES
from tests.unit.test_guardrails import DEPLOYMENT, GOOD, write_tree

SCHEMA = json.loads(
    (Path(__file__).resolve().parents[2] / "docs/schemas/guardrails-check.schema.json").read_text()
)
UNPINNED = {"k8s/deployment.yaml": DEPLOYMENT.replace("svc@sha256:" + "0" * 64, "svc:1.2.3")}


@pytest.fixture
def service(pinned_env: Path) -> Path:
    return write_tree(pinned_env / "svc", dict(GOOD))


def test_list_prints_the_catalogue(paved) -> None:
    done = paved("guardrails", "list")
    assert done.exit_code == 0
    lines = done.stdout.splitlines()
    assert lines == [f"{r.id}\t{r.severity}\t{r.title}" for r in BUILTIN_RULES]


def test_list_json_follows_the_schema(paved) -> None:
    done = paved("guardrails", "list", "--json")
    assert done.exit_code == 0
    data = json.loads(done.stdout)
    jsonschema.validate(data, SCHEMA)
    assert [r["id"] for r in data["rules"]] == [r.id for r in BUILTIN_RULES]


def test_a_clean_service_exits_0(paved, service: Path) -> None:
    done = paved("guardrails", "check", "svc")
    assert (done.exit_code, done.stdout) == (0, "")
    assert "guardrails passed" in done.stderr


def test_an_unwaived_error_exits_3_with_one_line_per_finding(paved, service: Path) -> None:
    write_tree(service, {**UNPINNED, "settings.py": 'password = "hunter22"\n'})
    done = paved("guardrails", "check", str(service))
    assert done.exit_code == 3
    assert done.stdout.splitlines() == [
        "PAVED-K8S-007 error k8s/deployment.yaml:12 Deployment/svc container 'app' uses image "
        "'registry.example.com/svc:1.2.3' by a mutable tag, not by digest",
        "PAVED-SECRET-002 warning settings.py:1 a password is assigned a literal value",
    ]
    assert done.stderr.startswith("error: guardrails failed for ")
    assert "1 error(s), 1 warning(s), 0 waived" in done.stderr


def test_warnings_alone_exit_0(paved, service: Path) -> None:
    write_tree(service, {"settings.py": 'password = "hunter22"\n'})
    done = paved("guardrails", "check", "svc")
    assert done.exit_code == 0
    assert done.stdout.startswith("PAVED-SECRET-002 warning settings.py:1 ")


def test_check_json_follows_the_schema_with_waivers(paved, service: Path) -> None:
    waivers = (
        "- {rule: PAVED-K8S-007, path: 'k8s/**', reason: no digests yet, owner: team-a, "
        "expires: 2999-01-01}\n"
        "- {rule: PAVED-K8S-005, path: 'k8s/**', reason: old, owner: team-a, expires: 2000-01-01}\n"
    )
    write_tree(service, {**UNPINNED, ".paved/waivers.yaml": waivers})
    done = paved("guardrails", "check", "svc", "--json")
    assert done.exit_code == 0
    data = json.loads(done.stdout)
    jsonschema.validate(data, SCHEMA)
    assert data["passed"] is True
    assert data["summary"] == {"rules": len(BUILTIN_RULES), "errors": 0, "warnings": 1, "waived": 1}
    assert [(f["rule"], f["status"]) for f in data["findings"]] == [
        ("PAVED-K8S-007", "waived"),
        ("PAVED-REPO-003", "open"),
    ]
    assert [(w["rule"], w["status"], w["waived"]) for w in data["waivers"]] == [
        ("PAVED-K8S-007", "active", 1),
        ("PAVED-K8S-005", "expired", 0),
    ]
    assert "waiver PAVED-K8S-005 on 'k8s/**' (expired" in done.stderr


def test_check_json_exits_3_on_errors(paved, service: Path) -> None:
    write_tree(service, UNPINNED)
    done = paved("--json", "guardrails", "check", "svc")
    assert done.exit_code == 3
    data = json.loads(done.stdout)
    jsonschema.validate(data, SCHEMA)
    assert data["passed"] is False
    assert data["findings"][0]["line"] == 12


def test_waived_findings_are_marked_in_a_pipe(paved, service: Path) -> None:
    waiver = "- {rule: PAVED-K8S-007, path: k8s/*, reason: r, owner: team-a, expires: 2999-01-01}\n"
    write_tree(service, {**UNPINNED, ".paved/waivers.yaml": waiver})
    done = paved("guardrails", "check", "svc")
    assert done.exit_code == 0
    assert done.stdout.startswith("PAVED-K8S-007 waived k8s/deployment.yaml:12 ")


@pytest.mark.parametrize(
    ("files", "line"),
    [
        (
            {".paved/waivers.yaml": "- [x"},
            "PAVED-REPO-002 error .paved/waivers.yaml .paved/waivers.yaml does not parse: ",
        ),
        (
            {".paved/waivers.yaml": "- {rule: PAVED-K8S-007}"},
            "PAVED-REPO-005 error .paved/waivers.yaml:1 the waiver has no path, reason, owner, "
            "expires: this waiver waives nothing",
        ),
        (
            {
                ".paved/waivers.yaml": "- {rule: PAVED-K8S-007, path: ../x, reason: r, "
                "owner: team-a, expires: 2999-01-01}"
            },
            "PAVED-REPO-005 error .paved/waivers.yaml:1 path '../x' has a '..' component: ",
        ),
    ],
)
def test_a_bad_waivers_file_is_an_error_finding(paved, service: Path, files, line) -> None:
    write_tree(service, files)
    done = paved("guardrails", "check", "svc")
    assert done.exit_code == 3
    (found,) = done.stdout.splitlines()
    assert found.startswith(line)
    assert done.stderr.startswith("error: guardrails failed for ")


def test_conflicts_fail_the_check_and_cannot_be_waived(paved, service: Path) -> None:
    waiver = (
        "- {rule: PAVED-REPO-004, path: '**', reason: later, owner: team-a, expires: 2999-01-01}\n"
    )
    write_tree(
        service,
        {
            "docs/runbook.md": "# Runbook\n>>>>>>> 0.2.0\n",
            "src/svc/logs.py.rej": "@@ -1 +1 @@\n",
            ".paved/waivers.yaml": waiver,
        },
    )
    done = paved("guardrails", "check", "svc")
    assert done.exit_code == 3
    assert done.stdout.splitlines() == [
        "PAVED-REPO-004 error docs/runbook.md:2 unresolved conflict: 1 conflict marker "
        "line(s), the first here",
        "PAVED-REPO-004 error src/svc/logs.py.rej rejected changes: an update could not apply "
        "them (a .rej file)",
        "PAVED-REPO-005 error .paved/waivers.yaml:1 the waiver of PAVED-REPO-004 on '**' is "
        "ignored: PAVED-REPO-004 cannot be waived",
    ]


def test_the_cli_loads_no_parser_until_a_check_runs() -> None:
    probe = (
        "import sys, paved.cli.app; "
        "print([m for m in ('yaml', 'hcl2', 'lark', 'paved.guardrails') if m in sys.modules])"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"


def test_a_missing_path_exits_2(paved) -> None:
    done = paved("guardrails", "check", "nowhere")
    assert done.exit_code == 2
    assert "nowhere is not a folder" in done.stderr


@pytest.mark.slow
@pytest.mark.parametrize(
    "sets",
    [
        [],
        [
            "--set",
            "ci_provider=gitlab",
            "--set",
            "resources=s3-read,sqs-send,dynamodb-rw,secret-read",
        ],
    ],
    ids=["defaults", "every-option"],
)
def test_a_freshly_generated_service_passes_every_rule(paved, sets: list[str]) -> None:
    made = paved(
        "new", "service", "svc-x", "--owner", "team-a", "--no-push", "--no-register", *sets
    )
    assert made.exit_code == 0, made.stderr
    done = paved("guardrails", "check", "svc-x")
    assert done.stdout == ""
    assert done.exit_code == 0


@pytest.mark.parametrize("where", ["svc/k8s", "svc/k8s/overlays"])
def test_check_from_a_subfolder_checks_the_whole_service(
    paved, service: Path, monkeypatch: pytest.MonkeyPatch, where: str
) -> None:
    (service.parent / where).mkdir(parents=True, exist_ok=True)
    monkeypatch.chdir(service.parent / where)
    done = paved("guardrails", "check")
    assert (done.exit_code, done.stdout) == (0, ""), done.stderr
    assert "guardrails passed" in done.stderr
    as_json = paved("guardrails", "check", "--json")
    assert json.loads(as_json.stdout)["path"] == str(service)


def test_an_explicit_path_inside_a_service_checks_the_whole_service(paved, service: Path) -> None:
    (service / "k8s").mkdir(exist_ok=True)
    done = paved("guardrails", "check", "svc/k8s")
    assert (done.exit_code, done.stdout) == (0, ""), done.stderr
    write_tree(service, UNPINNED)
    failed = paved("guardrails", "check", "svc/k8s")
    assert failed.exit_code == 3
    assert failed.stderr.startswith(f"error: guardrails failed for {service} (")


@pytest.mark.parametrize("where", [None, "elsewhere"])
def test_outside_any_service_is_a_usage_error(paved, pinned_env: Path, where: str | None) -> None:
    (pinned_env / "elsewhere").mkdir()
    done = paved("guardrails", "check", *([where] if where else []))
    assert (done.exit_code, done.stdout) == (ExitCode.USAGE, "")
    (line,) = done.stderr.splitlines()
    shown = pinned_env / where if where else pinned_env
    assert line.startswith(f"error: {shown} is not inside a paved service (no ")
