"""The road's data_resources answer (paved-road 0.4.0): copier's own validator refuses every
shape but the contract's with one line, and each kind's files exist only when it is present."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from paved.errors import InputError
from paved.scaffold.paths import planned_files
from paved.scaffold.registry import Question, ScaffoldRegistry
from tests.helpers import SCAFFOLDS, tree_files

pytestmark = pytest.mark.slow

BASE = {"service_name": "payments-api", "owner": "team-a", "description": "Takes money."}
DATABASE = {"kind": "database", "name": "orders", "engine": "postgres", "size": "small"}
BUCKET = {"kind": "bucket", "name": "uploads"}
QUEUE = {"kind": "queue", "name": "jobs", "dead_letter": True}

#: A bad answer -> the words its one-line refusal must hold.
BAD = {
    "a mapping": ({"kind": "bucket", "name": "uploads"}, "must be a list of data resources"),
    "text": ("uploads", "must be a list of data resources"),
    "an entry not a mapping": ([BUCKET, "queue"], "entry 2 is not a mapping"),
    "an unknown kind": ([{"kind": "table", "name": "items"}], "entry 1: kind must be"),
    "an unknown key": ([{**BUCKET, "public": True}], "entry 1 (a bucket): unknown key"),
    "a missing key": ([{"kind": "queue", "name": "jobs"}], "dead_letter is missing"),
    "an upper-case name": ([{**BUCKET, "name": "Uploads"}], "entry 1: name must be 2-20"),
    "a name too long": ([{**BUCKET, "name": "u" * 21}], "entry 1: name must be 2-20"),
    "a name with a newline": ([{**BUCKET, "name": "uploads\n"}], "entry 1: name must be 2-20"),
    "a taken name": ([{**BUCKET, "name": "s3"}], "name s3 is taken"),
    "a dead-letter name": ([{**QUEUE, "name": "jobs-dlq"}], "must not end in -dlq"),
    "a duplicate name": ([BUCKET, {**QUEUE, "name": "uploads"}], "entry 2: name uploads is"),
    "a bad engine": ([{**DATABASE, "engine": "oracle"}], "engine must be postgres or mysql"),
    "a bad size": ([{**DATABASE, "size": "huge"}], "size must be small, medium or large"),
    "a text dead_letter": ([{**QUEUE, "dead_letter": "yes"}], "dead_letter must be true or false"),
    "a number dead_letter": ([{**QUEUE, "dead_letter": 1}], "dead_letter must be true or false"),
}


def _copier(destination: Path, answers: dict[str, object]) -> subprocess.CompletedProcess[str]:
    data = destination.parent / "answers.yml"
    data.write_text(yaml.safe_dump(answers), encoding="utf-8")
    return subprocess.run(
        [sys.executable, "-m", "copier", "copy", "--quiet", "--defaults",
         "--data-file", str(data), str(SCAFFOLDS / "paved-road"), str(destination)],
        capture_output=True,
        text=True,
        check=False,
    )  # fmt: skip


def _question() -> Question:
    road = ScaffoldRegistry(SCAFFOLDS).get("paved-road")
    return next(q for q in road.questions if q.name == "data_resources")


@pytest.mark.parametrize("case", sorted(BAD))
def test_paved_refuses_each_bad_shape_with_one_line(case: str) -> None:
    value, words = BAD[case]
    with pytest.raises(InputError) as raised:
        _question().check(value, shown="data_resources")
    message = str(raised.value)
    assert words in message
    assert "\n" not in message.strip()


@pytest.mark.parametrize("case", ["an unknown kind", "a duplicate name", "a text dead_letter"])
def test_copier_refuses_a_bad_shape_and_writes_nothing(tmp_path: Path, case: str) -> None:
    value, words = BAD[case]
    done = _copier(tmp_path / "out", {**BASE, "data_resources": value})
    assert done.returncode != 0
    assert words in done.stderr
    assert not (tmp_path / "out" / "terraform").exists()


def test_every_kind_is_accepted_as_the_contract_writes_it() -> None:
    value = [DATABASE, {**DATABASE, "name": "ledger-db", "engine": "mysql", "size": "large"},
             BUCKET, QUEUE, {**QUEUE, "name": "audit-log", "dead_letter": False}]  # fmt: skip
    assert _question().check(value, shown="data_resources") == value


@pytest.mark.parametrize(
    ("resources", "files"),
    [
        ([], set()),
        ([DATABASE], {"databases.tf"}),
        ([BUCKET], {"buckets.tf"}),
        ([QUEUE, BUCKET], {"queues.tf", "buckets.tf"}),
        ([QUEUE, DATABASE, BUCKET], {"databases.tf", "buckets.tf", "queues.tf"}),
    ],
)
def test_each_kind_has_its_terraform_file_only_when_present(
    tmp_path: Path, resources: list[dict[str, object]], files: set[str]
) -> None:
    out = tmp_path / "out"
    done = _copier(out, {**BASE, "data_resources": resources, "environments": ["dev", "prod"]})
    assert done.returncode == 0, done.stderr
    # paved's dry-run file list follows copier's own rules for these names too
    road = ScaffoldRegistry(SCAFFOLDS).get("paved-road")
    answers = {**BASE, "data_resources": resources, "environments": ["dev", "prod"]}
    assert planned_files(road, answers) == sorted(tree_files(out))
    data_files = {"databases.tf", "buckets.tf", "queues.tf"}
    assert {p.name for p in (out / "terraform").iterdir()} & data_files == files
    assert (out / "iam" / "prod" / "policy.json").is_file() == bool(resources)
    overlay = (out / "k8s" / "overlays" / "prod" / "kustomization.yaml").read_text()
    assert ("payments-api-resources" in overlay) == bool(resources)
    entities = list(yaml.safe_load_all((out / "catalog-info.yaml").read_text()))
    names = [e["metadata"]["name"] for e in entities if e["kind"] == "Resource"]
    assert names == [f"payments-api-{r['name']}" for r in resources]
    component = next(e for e in entities if e["kind"] == "Component")
    assert component["spec"].get("dependsOn", []) == [f"resource:{n}" for n in names]


def test_the_names_agree_across_terraform_iam_and_the_overlay(tmp_path: Path) -> None:
    out = tmp_path / "out"
    resources = [DATABASE, BUCKET, QUEUE]
    done = _copier(out, {**BASE, "data_resources": resources, "environments": ["prod"]})
    assert done.returncode == 0, done.stderr
    overlay = yaml.safe_load((out / "k8s/overlays/prod/kustomization.yaml").read_text())
    [generator] = overlay["configMapGenerator"]
    settings = dict(literal.split("=", 1) for literal in generator["literals"])
    assert settings == {
        "DATABASE_ORDERS_HOST": "orders.payments-api.prod.paved.internal",
        "DATABASE_ORDERS_PORT": "5432",
        "DATABASE_ORDERS_NAME": "orders",
        "DATABASE_ORDERS_USER": "payments_api",
        "DATABASE_ORDERS_ENGINE": "postgres",
        "DATABASE_ORDERS_SECRET": "<database_master_secret_arns.orders.prod>",
        "BUCKET_UPLOADS_NAME": "payments-api-prod-uploads-123456789012",
        "BUCKET_UPLOADS_REGION": "eu-west-1",
        "QUEUE_JOBS_URL": "https://sqs.eu-west-1.amazonaws.com/123456789012/payments-api-prod-jobs",
        "QUEUE_JOBS_NAME": "payments-api-prod-jobs",
        "QUEUE_JOBS_DLQ_URL": (
            "https://sqs.eu-west-1.amazonaws.com/123456789012/payments-api-prod-jobs-dlq"
        ),
    }
    terraform = {p.name: p.read_text() for p in (out / "terraform").glob("*.tf")}
    assert '"orders.${local.service}.${each.key}.paved.internal"' in terraform["databases.tf"]
    assert 'identifier     = "${local.service}-${each.key}-orders"' in terraform["databases.tf"]
    assert '"${local.service}-${each.key}-uploads-${var.aws_account_id}"' in terraform["buckets.tf"]
    assert (
        'name                              = "${local.service}-${each.key}-jobs-dlq"'
        in (terraform["queues.tf"])
    )
    policy = json.loads((out / "iam/prod/policy.json").read_text())
    text = json.dumps([statement["Resource"] for statement in policy["Statement"]])
    assert "dbuser:db-PROD_ORDERS_RESOURCE_ID/payments_api" in text
    assert "arn:aws:s3:::payments-api-prod-uploads-123456789012/*" in text
    assert "arn:aws:sqs:eu-west-1:123456789012:payments-api-prod-jobs-dlq" in text
    assert "*" not in text.replace("uploads-123456789012/*", "")
