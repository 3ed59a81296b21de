"""``paved add``, ``paved remove`` and ``paved resources list`` on real services: real copier
renders of the road, real git, the real local catalog; killed runs finished by running again."""

from __future__ import annotations

import json
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from paved.catalog.sqlite import SqliteCatalog
from paved.errors import ExitCode
from tests.helpers import git, run_paved, snapshot

pytestmark = pytest.mark.slow

SCHEMA = json.loads(
    (Path(__file__).parents[2] / "docs/schemas/resource.schema.json").read_text(encoding="utf-8")
)


def _service(pinned_env: Path, *sets: str, name: str = "payments") -> Path:
    args = [arg for answer in sets for arg in ("--set", answer)]
    made = run_paved(
        "new", "service", name, "--owner", "team-a", "--description", "Takes payments.",
        "--no-push", *args,
    )  # fmt: skip
    assert made.returncode == 0, made.stderr
    return pinned_env / name


def _answers(root: Path) -> dict[str, Any]:
    return yaml.safe_load((root / ".copier-answers.road.yml").read_text(encoding="utf-8"))


def _stored(pinned_env: Path) -> list[dict[str, Any]]:
    record = SqliteCatalog(pinned_env / "paved-home" / "data" / "catalog.db").get("payments")
    assert record is not None
    return [x.to_answer() for x in record.catalog.data_resources]


def _commits(root: Path) -> int:
    return int(git("rev-list", "--count", "HEAD", cwd=root))


def test_add_commits_one_reviewed_change_and_records_the_catalog(pinned_env: Path) -> None:
    root = _service(pinned_env)
    added = run_paved("add", "database", "orders", "--engine", "mysql", "--json", cwd=root)
    assert added.returncode == 0, added.stderr
    result = json.loads(added.stdout)
    jsonschema.validate(result, SCHEMA)
    assert result["status"] == "added"
    assert result["resource"] == {"kind": "database", "name": "orders", "engine": "mysql",
                                  "size": "small"}  # fmt: skip
    assert result["commit"] == git("rev-parse", "HEAD", cwd=root)
    assert result["catalog"] == "recorded"
    assert _commits(root) == 2
    assert git("status", "--porcelain", cwd=root) == ""
    message = git("log", "-1", "--format=%B", cwd=root)
    assert message.startswith("Add the database orders to payments\n")
    assert "Paved-Resource: add database orders" in message.splitlines()
    assert _answers(root)["data_resources"] == [result["resource"]]
    assert _stored(pinned_env) == [result["resource"]]
    changed = git("show", "--name-only", "--format=", "HEAD", cwd=root).splitlines()
    assert ".copier-answers.road.yml" in changed
    assert {f["path"] for f in result["files"] if f["change"] != "unchanged"} == set(changed)

    queue = run_paved("add", "queue", "jobs", "--no-dead-letter", cwd=root)
    assert queue.returncode == 0, queue.stderr
    assert [x["name"] for x in _answers(root)["data_resources"]] == ["orders", "jobs"]
    assert _answers(root)["data_resources"][1] == {"kind": "queue", "name": "jobs",
                                                   "dead_letter": False}  # fmt: skip

    listed = run_paved("resources", "list", "--json", cwd=root)
    assert listed.returncode == 0, listed.stderr
    rows = json.loads(listed.stdout)["resources"]
    assert [(r["name"], r["kind"], r["in"], r["entity"]) for r in rows] == [
        ("orders", "database", "both", "resource:payments-orders"),
        ("jobs", "queue", "both", "resource:payments-jobs"),
    ]


def test_the_same_add_again_does_nothing_and_another_kind_of_the_name_is_a_conflict(
    pinned_env: Path,
) -> None:
    root = _service(pinned_env)
    assert run_paved("add", "bucket", "uploads", cwd=root).returncode == 0
    before = snapshot(root)
    again = run_paved("add", "bucket", "uploads", "--json", cwd=root)
    assert again.returncode == 0, again.stderr
    assert json.loads(again.stdout)["status"] == "unchanged"
    for args in (("queue", "uploads"), ("database", "uploads")):
        taken = run_paved("add", *args, cwd=root)
        assert taken.returncode == ExitCode.CONFLICT, taken.stderr
        assert "payments has a bucket named uploads already" in taken.stderr
    assert snapshot(root) == before


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("bucket", "Uploads"), "has upper-case letters"),
        (("bucket", "a"), "is shorter than 2 characters"),
        (("bucket", "api"), "is taken by the road's own entities"),
        (("queue", "jobs--dlq"), "must not contain '--'"),
        (("queue", "x" * 21), "is longer than 20 characters"),
        (("bucket", "jobs-dlq"), "must not end with -dlq"),
        (("database", "orders", "--engine", "oracle"), "--engine 'oracle' is not one of"),
        (("database", "orders", "--size", "huge"), "--size 'huge' is not one of"),
        (("bucket", "uploads", "--branch", "-x"), "is not a branch name"),
        (("bucket", "uploads", "--branch", "a..b"), "is not a branch name"),
    ],
)
def test_bad_input_is_one_line_exit_2_and_nothing_written(
    pinned_env: Path, args: tuple[str, ...], message: str
) -> None:
    root = _service(pinned_env)
    before = snapshot(root)
    refused = run_paved("add", *args, cwd=root)
    assert refused.returncode == ExitCode.USAGE, refused.stderr
    assert message in refused.stderr
    assert "Traceback" not in refused.stderr
    assert snapshot(root) == before


def test_a_name_too_long_for_a_provider_is_refused_naming_the_identifier(
    pinned_env: Path,
) -> None:
    service = "payments-and-refunds-ledger"
    root = _service(pinned_env, "environments=dev,staging", name=service)
    long = "b" * 20  # SERVICE-staging-NAME-ACCOUNT is 27 + 9 + 20 + 13 = 69 characters
    before = snapshot(root)
    refused = run_paved("add", "bucket", long, cwd=root)
    assert refused.returncode == ExitCode.USAGE, refused.stderr
    bucket = f"{service}-staging-{long}-123456789012"
    assert f"makes the S3 bucket name {bucket} (69 characters; at most 63)" in refused.stderr
    assert snapshot(root) == before
    fits = run_paved("add", "bucket", "b" * 14, cwd=root)  # 63 characters: the limit
    assert fits.returncode == 0, fits.stderr
    assert "choose a shorter name" in refused.stderr


def test_a_mysql_database_needs_a_service_name_its_user_can_take(pinned_env: Path) -> None:
    service = "payments-settlement-reconciliation"  # 34 characters: too long a MySQL user
    root = _service(pinned_env, name=service)
    before = snapshot(root)
    refused = run_paved("add", "database", "ledger", "--engine", "mysql", cwd=root)
    assert refused.returncode == ExitCode.USAGE, refused.stderr
    assert "MySQL takes at most 32: use --engine postgres" in refused.stderr
    assert snapshot(root) == before
    assert run_paved("add", "database", "ledger", cwd=root).returncode == 0


def test_a_folder_without_the_road_layer_is_refused(pinned_env: Path) -> None:
    plain = pinned_env / "plain"
    plain.mkdir()
    git("init", "--quiet", cwd=plain)
    refused = run_paved("add", "bucket", "uploads", cwd=plain)
    assert refused.returncode == ExitCode.USAGE
    assert "has no road layer (.copier-answers.road.yml is missing" in refused.stderr
    assert list(plain.iterdir()) == [plain / ".git"]


def test_a_dry_run_says_what_would_change_and_changes_nothing(pinned_env: Path) -> None:
    root = _service(pinned_env)
    before = snapshot(root)
    planned = run_paved("add", "database", "orders", "--dry-run", "--json", "--diff", cwd=root)
    assert planned.returncode == 0, planned.stderr
    result = json.loads(planned.stdout)
    jsonschema.validate(result, SCHEMA)
    assert result["status"] == "planned"
    assert result["commit"] is None
    assert "+data_resources:" in result["diff"] or "data_resources:" in result["diff"]
    assert snapshot(root) == before
    assert _stored(pinned_env) == []


def test_a_branch_takes_the_commit_and_a_rerun_finds_it_there(pinned_env: Path) -> None:
    root = _service(pinned_env)
    main = git("rev-parse", "HEAD", cwd=root)
    added = run_paved("add", "queue", "jobs", "--branch", "add-jobs", "--json", cwd=root)
    assert added.returncode == 0, added.stderr
    result = json.loads(added.stdout)
    assert result["branch"] == "add-jobs"
    assert result["catalog"] == "skipped"  # the catalog learns it when it is merged
    assert git("rev-parse", "refs/heads/main", cwd=root) == main
    assert git("rev-parse", "refs/heads/add-jobs", cwd=root) == result["commit"]
    assert git("rev-parse", "--abbrev-ref", "HEAD", cwd=root) == "add-jobs"
    assert _stored(pinned_env) == []

    git("switch", "--quiet", "main", cwd=root)
    again = run_paved("add", "queue", "jobs", "--branch", "add-jobs", "--json", cwd=root)
    assert again.returncode == 0, again.stderr
    assert json.loads(again.stdout)["status"] == "unchanged"
    other = run_paved("add", "bucket", "files", "--branch", "add-jobs", cwd=root)
    assert other.returncode == ExitCode.CONFLICT, other.stderr
    assert "the branch add-jobs exists already" in other.stderr
    assert git("rev-parse", "HEAD", cwd=root) == main


def test_remove_needs_yes_and_break_glass_in_prod_and_says_so_in_the_commit(
    pinned_env: Path,
) -> None:
    root = _service(pinned_env)
    assert run_paved("add", "database", "orders", cwd=root).returncode == 0
    before = snapshot(root)
    unconfirmed = run_paved("remove", "database", "orders", cwd=root)
    assert unconfirmed.returncode == ExitCode.USAGE
    assert "needs confirmation" in unconfirmed.stderr
    assert "--yes" in unconfirmed.stderr
    in_prod = run_paved("remove", "database", "orders", "--yes", cwd=root)
    assert in_prod.returncode == ExitCode.USAGE
    assert "deletes it in prod, a protected environment" in in_prod.stderr
    wrong_kind = run_paved("remove", "bucket", "orders", "--yes", cwd=root)
    assert wrong_kind.returncode == ExitCode.USAGE
    assert "orders in payments is a database, not a bucket" in wrong_kind.stderr
    no_reason = run_paved("remove", "database", "orders", "--yes", "--break-glass", cwd=root)
    assert no_reason.returncode == ExitCode.USAGE
    assert snapshot(root) == before

    removed = run_paved(
        "remove", "database", "orders", "--yes", "--break-glass", "--reason", "INC-42 cleanup",
        "--json", cwd=root,
    )  # fmt: skip
    assert removed.returncode == 0, removed.stderr
    assert json.loads(removed.stdout)["status"] == "removed"
    message = git("log", "-1", "--format=%B", cwd=root).splitlines()
    assert "Paved-Resource: remove database orders" in message
    assert "Paved-Break-Glass: INC-42 cleanup" in message
    assert _answers(root)["data_resources"] == []
    assert _stored(pinned_env) == []
    again = run_paved("remove", "database", "orders", "--yes", "--json", cwd=root)
    assert again.returncode == 0, again.stderr
    assert json.loads(again.stdout)["status"] == "unchanged"
    unknown = run_paved("remove", "queue", "never", "--yes", cwd=root)
    assert unknown.returncode == ExitCode.USAGE
    assert "payments has no queue named never" in unknown.stderr


def test_remove_outside_protected_environments_needs_only_yes(pinned_env: Path) -> None:
    root = _service(pinned_env, "environments=dev,staging")
    assert run_paved("add", "bucket", "scratch", cwd=root).returncode == 0
    removed = run_paved("remove", "bucket", "scratch", "--yes", cwd=root)
    assert removed.returncode == 0, removed.stderr
    assert _answers(root)["data_resources"] == []


def test_names_that_would_share_an_iam_statement_id_are_a_conflict(pinned_env: Path) -> None:
    root = _service(pinned_env, "environments=dev")
    assert run_paved("add", "bucket", "logs-2", cwd=root).returncode == 0
    before = snapshot(root)
    clash = run_paved("add", "queue", "logs2", cwd=root)
    assert clash.returncode == ExitCode.CONFLICT, clash.stderr
    assert "logs-2 and logs2 would share the IAM statement id Logs2" in clash.stderr
    assert snapshot(root) == before


def test_an_environment_taken_out_of_the_answers_still_needs_break_glass(
    pinned_env: Path,
) -> None:
    root = _service(pinned_env)
    assert run_paved("add", "database", "orders", cwd=root).returncode == 0
    answers = root / ".copier-answers.road.yml"
    text = answers.read_text(encoding="utf-8")
    assert "- prod\n" in text
    answers.write_text(text.replace("- prod\n", ""), encoding="utf-8")
    git("commit", "--quiet", "-am", "tidy the environments", cwd=root)
    before = snapshot(root)
    refused = run_paved("remove", "database", "orders", "--yes", cwd=root)
    assert refused.returncode == ExitCode.USAGE, refused.stderr
    assert "deletes it in prod, a protected environment" in refused.stderr  # k8s/overlays/prod
    assert snapshot(root) == before


def test_a_state_file_of_another_change_is_never_committed_by_add(pinned_env: Path) -> None:
    """.git/paved-update.json is input: one that is not exactly this add's, for this
    service at HEAD, is not resumed: the add stops at the changed tree and commits nothing."""
    root = _service(pinned_env)
    head = git("rev-parse", "HEAD", cwd=root)
    policy = root / "k8s/base/networkpolicy.yaml"
    policy.write_text("# opened wide\n", encoding="utf-8")
    git("add", "k8s/base/networkpolicy.yaml", cwd=root)
    message = (
        "Add the database orders to payments\n\nPaved-Layer: road\nPaved-Scaffold: paved-road\n"
        "Paved-From: 0.4.0\nPaved-To: 0.4.0\nPaved-Resource: add database orders\n"
    )
    for service, text in (
        ("billing", message),  # another service
        ("payments", message.replace("add database orders", "add database other")),
        ("payments", message + "Paved-Break-Glass: forged\n"),
    ):
        state = {
            "head": head, "service": service, "message": text, "conflicts": [],
            "paths": ["k8s/base/networkpolicy.yaml"], "layers": [], "recorded": [],
        }  # fmt: skip
        (root / ".git/paved-update.json").write_text(json.dumps(state), encoding="utf-8")
        refused = run_paved("add", "database", "orders", cwd=root)
        assert refused.returncode == ExitCode.USAGE, refused.stderr
        assert "has uncommitted changes: k8s/base/networkpolicy.yaml" in refused.stderr
        assert git("rev-parse", "HEAD", cwd=root) == head


@pytest.mark.parametrize("trigger", ["rendering road layer", "merging", "writing the merge"])
def test_killed_at_any_moment_then_run_again_gives_one_commit(
    pinned_env: Path, trigger: str
) -> None:
    root = _service(pinned_env)
    process = subprocess.Popen(
        [sys.executable, "-m", "paved", "add", "database", "orders"],
        cwd=root, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True,
    )  # fmt: skip
    assert process.stderr is not None
    for line in process.stderr:
        if trigger in line:
            break
    process.send_signal(signal.SIGKILL)
    process.communicate(timeout=120)

    again = run_paved("add", "database", "orders", "--json", cwd=root)
    assert again.returncode == 0, again.stderr
    assert json.loads(again.stdout)["status"] in ("added", "resumed", "unchanged")
    assert _commits(root) == 2
    assert git("status", "--porcelain", cwd=root) == ""
    assert "Paved-Resource: add database orders" in git("log", "-1", "--format=%B", cwd=root)
    assert [x["name"] for x in _answers(root)["data_resources"]] == ["orders"]
    assert not (root / ".git" / "paved-update.json").exists()


# -- with the platform: the request is opened before anything changes, closed after -------


def test_logged_in_the_platform_decides_first_and_keeps_the_request(pinned_env: Path) -> None:
    pytest.importorskip("fastapi", reason="the platform server needs the 'server' extra")
    from tests.platform_helpers import git_daemon, platform_server

    with (
        git_daemon(pinned_env / "githost") as githost,
        platform_server(pinned_env / "platform.db") as platform,
    ):
        githost.create("payments")
        ours, theirs = platform.token("ana", "team-a"), platform.token("bo", "team-b")
        assert run_paved("login", platform.url, "--token", ours).returncode == 0
        made = run_paved(
            "new", "service", "payments", "--owner", "team-a", "--remote",
            githost.url("payments"),
        )  # fmt: skip
        assert made.returncode == 0, made.stderr
        root = pinned_env / "payments"
        before = snapshot(root)

        assert run_paved("login", platform.url, "--token", theirs).returncode == 0
        refused = run_paved("add", "database", "orders", cwd=root)
        assert refused.returncode == ExitCode.AUTH, refused.stderr
        planned = run_paved("add", "database", "orders", "--dry-run", cwd=root)
        assert planned.returncode == ExitCode.AUTH, planned.stderr  # a dry run asks too
        assert snapshot(root) == before  # refused before the render: nothing changed

        assert run_paved("login", platform.url, "--token", ours).returncode == 0
        assert run_paved("add", "bucket", "scratch", cwd=root).returncode == 0
        assert run_paved("login", platform.url, "--token", theirs).returncode == 0
        kept = snapshot(root)
        removal = run_paved(
            "remove", "bucket", "scratch", "--yes", "--break-glass", "--reason", "x", cwd=root
        )
        assert removal.returncode == ExitCode.AUTH, removal.stderr  # asked before the commit
        assert snapshot(root) == kept

        assert run_paved("login", platform.url, "--token", ours).returncode == 0
        dry = run_paved("add", "database", "orders", "--dry-run", cwd=root)
        assert dry.returncode == 0, dry.stderr
        added = run_paved("add", "database", "orders", "--json", cwd=root)
        assert added.returncode == 0, added.stderr
        commit = json.loads(added.stdout)["commit"]
        with sqlite3.connect(platform.database) as db:
            requests = db.execute(
                'SELECT kind, name, state, requested_by, "commit" FROM resource_requests'
            ).fetchall()
            audited = db.execute(
                "SELECT action, actor, outcome FROM audit_events WHERE action LIKE 'resource.%'"
                " ORDER BY id"
            ).fetchall()
        assert requests[-1] == ("database", "orders", "committed", "ana", commit)
        assert [row for row in audited if row[1] == "ana"] == [
            ("resource.request", "ana", "started"),
            ("resource.close", "ana", "committed"),
        ] * 2  # the bucket, then the database
        refusals = [row for row in audited if row[1] == "bo"]
        assert refusals  # the other team's attempt is on the record, and was refused
        assert all(outcome != "started" for _, _, outcome in refusals)
        listed = run_paved("resources", "list", "--json", cwd=root)
        assert [r["in"] for r in json.loads(listed.stdout)["resources"]] == ["both", "both"]
