"""The data rules (PAVED-DATA-*, PAVED-SECRET-003): silent on the hardened defaults, each firing
when one setting is taken back; per-environment settings; no finding reported twice.

The hardened defaults are the files under tests/unit/hardened/, put into the service's
``terraform/`` folder. ``DATA_BAD`` joins the table of tests/unit/test_guardrails.py, which runs
each case over its good tree and checks that nothing else fires.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path

import pytest

from paved.guardrails import BUILTIN_RULES, Report

HARDENED_DIR = Path(__file__).resolve().parent / "hardened"
#: The hardened examples, where the road keeps a service's Terraform.
HARDENED: dict[str, str | None] = {
    f"terraform/{p.name}": p.read_text(encoding="utf-8") for p in sorted(HARDENED_DIR.glob("*.tf"))
}
HARDENED["k8s/database-config.yaml"] = (HARDENED_DIR / "manifest.yaml").read_text(encoding="utf-8")
DATA_RULES = sorted(r.id for r in BUILTIN_RULES if r.id.startswith("PAVED-DATA-"))


def changed(name: str, old: str, new: str) -> dict[str, str | None]:
    """The hardened files with one setting of ``terraform/NAME`` taken back."""
    path = f"terraform/{name}"
    text = HARDENED[path]
    assert text is not None
    assert old in text, (name, old)
    return {**HARDENED, path: text.replace(old, new, 1)}


def added(path: str, text: str) -> dict[str, str | None]:
    return {**HARDENED, path: text}


PUBLIC_READ = """
resource "aws_s3_bucket_acl" "bucket" {
  for_each = var.environments
  bucket   = aws_s3_bucket.bucket[each.key].id
  acl      = "public-read"
}
"""
OPEN_POLICY = """policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Effect    = "Allow"
      Principal = "*"
      Action    = "%s"
      Resource  = "*"
    }]
  })"""
BUCKET_POLICY = "policy = data.aws_iam_policy_document.bucket_tls_only[each.key].json"
QUEUE_POLICY = "policy    = data.aws_iam_policy_document.queue_tls_only[each.key].json"
GET_STAR = {
    "Version": "2012-10-17",
    "Statement": [
        {"Effect": "Allow", "Action": "s3:Get*", "Resource": "arn:aws:s3:::svc-bucket/*"}
    ],
}

# (rule id, changes to the good tree, expected file, expected line)
DATA_BAD: list[tuple[str, dict[str, str | None], str, int | None]] = [
    (
        "PAVED-DATA-001",
        changed("database.tf", "  storage_encrypted     = true\n", ""),
        "terraform/database.tf",
        None,
    ),
    (
        "PAVED-DATA-001",
        changed("aurora.tf", "storage_encrypted = true", "storage_encrypted = false"),
        "terraform/aurora.tf",
        None,
    ),
    (
        "PAVED-DATA-001",
        changed(
            "queue.tf",
            "kms_master_key_id                 = aws_kms_key.queue[each.key].arn",
            "sqs_managed_sse_enabled           = false",
        ),
        "terraform/queue.tf",
        None,
    ),
    (
        "PAVED-DATA-002",
        changed(
            "database.tf", "  kms_key_id            = aws_kms_key.database[each.key].arn\n", ""
        ),
        "terraform/database.tf",
        None,
    ),
    (
        "PAVED-DATA-002",
        changed("bucket.tf", 'sse_algorithm     = "aws:kms"', 'sse_algorithm     = "AES256"'),
        "terraform/bucket.tf",
        None,
    ),
    (
        "PAVED-DATA-002",
        changed(
            "queue.tf",
            "kms_master_key_id                 = aws_kms_key.queue[each.key].arn",
            'kms_master_key_id                 = "alias/aws/sqs"',
        ),
        "terraform/queue.tf",
        None,
    ),
    (
        "PAVED-DATA-003",
        changed("database.tf", "publicly_accessible    = false", "publicly_accessible    = true"),
        "terraform/database.tf",
        None,
    ),
    (
        "PAVED-DATA-003",
        changed("aurora.tf", "publicly_accessible  = false", "publicly_accessible  = true"),
        "terraform/aurora.tf",
        None,
    ),
    (
        "PAVED-DATA-003",
        changed("bucket.tf", "block_public_policy     = true", "block_public_policy     = false"),
        "terraform/bucket.tf",
        None,
    ),
    (
        "PAVED-DATA-003",
        changed(
            "bucket.tf", 'resource "aws_s3_bucket_public_access_block"', 'resource "null_resource"'
        ),
        "terraform/bucket.tf",
        None,
    ),
    (
        "PAVED-DATA-003",
        added("terraform/acl.tf", PUBLIC_READ),
        "terraform/bucket.tf",
        None,
    ),
    (
        "PAVED-DATA-003",
        changed("bucket.tf", BUCKET_POLICY, OPEN_POLICY % "s3:GetObject"),
        "terraform/bucket.tf",
        None,
    ),
    (
        "PAVED-DATA-003",
        changed("queue.tf", QUEUE_POLICY, OPEN_POLICY % "sqs:SendMessage"),
        "terraform/queue.tf",
        None,
    ),
    (
        "PAVED-DATA-004",
        changed(
            "database.tf",
            "backup_retention_period = var.backup_retention_days[each.key]",
            "backup_retention_period = 0",
        ),
        "terraform/database.tf",
        None,
    ),
    (
        "PAVED-DATA-004",
        changed(
            "aurora.tf", "  backup_retention_period = var.backup_retention_days[each.key]\n", ""
        ),
        "terraform/aurora.tf",
        None,
    ),
    (
        "PAVED-DATA-005",
        changed(
            "database.tf",
            "deletion_protection     = true",
            'deletion_protection     = each.key == "dev"',
        ),
        "terraform/database.tf",
        None,
    ),
    (
        "PAVED-DATA-005",
        changed("aurora.tf", "skip_final_snapshot     = false", "skip_final_snapshot     = true"),
        "terraform/aurora.tf",
        None,
    ),
    (
        "PAVED-DATA-005",
        changed("bucket.tf", "force_destroy = false", "force_destroy = true"),
        "terraform/bucket.tf",
        None,
    ),
    (
        "PAVED-DATA-006",
        changed("database.tf", ".resource_id}/orders_app", ".resource_id}/*"),
        "terraform/database.tf",
        None,
    ),
    (
        "PAVED-DATA-006",
        {**HARDENED, "iam/prod/policy.json": json.dumps(GET_STAR)},
        "iam/prod/policy.json",
        1,
    ),
    (
        "PAVED-SECRET-003",
        added(
            "k8s/database-config.yaml",
            HARDENED["k8s/database-config.yaml"].replace(  # type: ignore[union-attr]
                "postgresql://orders_app@", "postgresql://orders_app:hunter22@"
            ),
        ),
        "k8s/database-config.yaml",
        11,
    ),
    (
        "PAVED-SECRET-003",
        added(
            "k8s/database-config.yaml",
            HARDENED["k8s/database-config.yaml"]  # type: ignore[operator]
            + '  password: "hunter22"\n',
        ),
        "k8s/database-config.yaml",
        12,
    ),
]


def run(tmp_path: Path, changes: Mapping[str, str | None]) -> Report:
    from tests.unit.test_guardrails import run as run_good

    return run_good(tmp_path, changes)


def found(report: Report) -> list[tuple[str, str, str]]:
    return sorted((f.rule, f.location, f.message) for f in report.findings)


def test_the_hardened_defaults_pass_every_rule(tmp_path: Path) -> None:
    assert found(run(tmp_path, HARDENED)) == []


def test_every_data_rule_has_a_bad_example_here() -> None:
    assert {b[0] for b in DATA_BAD} == {*DATA_RULES, "PAVED-SECRET-003"}
    assert len(DATA_RULES) == 6


@pytest.mark.parametrize("rule", [*DATA_RULES, "PAVED-SECRET-003"])
def test_explain_shows_each_data_rule(paved, rule: str) -> None:
    done = paved("guardrails", "explain", rule.lower())
    assert done.exit_code == 0, done.stderr
    entry = next(r for r in BUILTIN_RULES if r.id == rule)
    assert done.stdout.startswith(f"{rule}: {entry.title}\n{entry.severity} · paved\n")
    assert "Refused:" in done.stdout
    assert "Passes:" in done.stdout


def test_each_environment_is_checked_with_its_own_settings(tmp_path: Path) -> None:
    changes = changed("variables.tf", "default     = { dev = 7,", "default     = { dev = 1,")
    # no environments in the answers: the environments variable's default says which
    changes[".copier-answers.road.yml"] = "exposure: public\nresources: [s3-read]\nowner: team-a\n"
    assert found(run(tmp_path, changes)) == [
        (
            "PAVED-DATA-004",
            "terraform/aurora.tf",
            'aws_rds_cluster.aurora["dev"] keeps backups 1 day(s) (at least 7)',
        ),
        (
            "PAVED-DATA-004",
            "terraform/database.tf",
            'aws_db_instance.database["dev"] keeps backups 1 day(s) (at least 7)',
        ),
    ]


@pytest.mark.parametrize(
    ("name", "text"),
    [
        ("terraform.tfvars", "backup_retention_days = { dev = 1, staging = 7, prod = 35 }\n"),
        (
            "terraform.tfvars.json",
            '{"backup_retention_days": {"dev": 1, "staging": 7, "prod": 35}}',
        ),
        ("short.auto.tfvars", "backup_retention_days = { dev = 1, staging = 7, prod = 35 }\n"),
        ("x.auto.tfvars.json", '{"backup_retention_days": {"dev": 1, "staging": 7, "prod": 35}}'),
    ],
)
def test_a_variable_set_in_a_tfvars_file_terraform_loads_is_read_from_it(
    tmp_path: Path, name: str, text: str
) -> None:
    """Terraform loads terraform.tfvars(.json) and *.auto.tfvars(.json) over the variables'
    defaults: a hardened default taken back there is found, not read from variables.tf."""
    changes = added(f"terraform/{name}", text)
    changes[".copier-answers.road.yml"] = "exposure: public\nresources: [s3-read]\nowner: team-a\n"
    assert found(run(tmp_path, changes)) == [
        (
            "PAVED-DATA-004",
            "terraform/aurora.tf",
            'aws_rds_cluster.aurora["dev"] keeps backups 1 day(s) (at least 7)',
        ),
        (
            "PAVED-DATA-004",
            "terraform/database.tf",
            'aws_db_instance.database["dev"] keeps backups 1 day(s) (at least 7)',
        ),
    ]


def test_deletion_protection_is_required_in_prod_only(tmp_path: Path) -> None:
    prod_only = changed(
        "database.tf",
        "deletion_protection     = true",
        'deletion_protection     = each.key == "prod"',
    )
    assert found(run(tmp_path / "a", prod_only)) == []
    dev_only = changed(
        "database.tf",
        "deletion_protection     = true",
        'deletion_protection     = each.key != "prod"',
    )
    assert found(run(tmp_path / "b", dev_only)) == [
        (
            "PAVED-DATA-005",
            "terraform/database.tf",
            'aws_db_instance.database["prod"] in prod has no deletion protection '
            '(deletion_protection = ${each.key != "prod"})',
        )
    ]


MINIMAL_DB = """
resource "aws_db_instance" "db" {
  storage_encrypted       = true
  kms_key_id              = "arn:aws:kms:eu-west-1:123456789012:key/1"
  backup_retention_period = 14
}
"""


def test_a_folder_named_for_an_environment_says_where_a_database_runs(tmp_path: Path) -> None:
    report = run(tmp_path, {"infra/dev/db.tf": MINIMAL_DB, "infra/prod/db.tf": MINIMAL_DB})
    assert found(report) == [
        (
            "PAVED-DATA-005",
            "infra/prod/db.tf",
            "aws_db_instance.db in prod has no deletion protection "
            "(deletion_protection is not set)",
        )
    ]


def test_a_module_without_environments_counts_as_prod_when_the_service_deploys_there(
    tmp_path: Path,
) -> None:
    report = run(tmp_path, {"terraform/db.tf": MINIMAL_DB})
    assert [f.rule for f in report.findings] == ["PAVED-DATA-005"]
    no_prod = {
        ".copier-answers.road.yml": "exposure: internal\nenvironments: [dev]\nresources: []\n"
    }
    assert found(run(tmp_path / "dev", {"terraform/db.tf": MINIMAL_DB, **no_prod})) == []


def test_a_setting_that_cannot_be_read_is_not_taken_as_true(tmp_path: Path) -> None:
    changes = changed(
        "database.tf", "storage_encrypted     = true", "storage_encrypted     = local.encrypted"
    )
    messages = [f.message for f in run(tmp_path, changes).findings]
    assert messages == [
        f'aws_db_instance.database["{env}"] is not encrypted at rest '
        "(storage_encrypted = ${local.encrypted})"
        for env in ("prod",)  # the environments of the answers
    ]


def test_whole_service_and_resource_wildcards_stay_the_iam_rules_findings(tmp_path: Path) -> None:
    policy = {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Action": "s3:*", "Resource": "arn:aws:s3:::svc-bucket/*"},
            {"Effect": "Allow", "Action": ["dynamodb:*Item"], "Resource": "*"},
        ],
    }
    report = run(tmp_path, {"iam/prod/policy.json": json.dumps(policy, indent=2)})
    assert [(f.rule, f.location, f.message) for f in report.findings] == [
        ("PAVED-IAM-002", "iam/prod/policy.json:4", "Allow on action 's3:*'"),
        ("PAVED-IAM-003", "iam/prod/policy.json:9", "Allow on resource '*'"),
        ("PAVED-DATA-006", "iam/prod/policy.json:9", "Allow on data actions 'dynamodb:*Item'"),
    ]


def test_a_public_bucket_policy_document_is_reported_once_by_the_trust_rule(tmp_path: Path) -> None:
    changes = changed(
        "bucket.tf",
        'sid     = "DenyInsecureTransport"\n    effect  = "Deny"',
        'sid     = "DenyInsecureTransport"\n    effect  = "Allow"',
    )
    rules = [f.rule for f in run(tmp_path, changes).findings]
    assert rules == ["PAVED-IAM-002", "PAVED-IAM-004"]  # s3:* allowed to anyone; no DATA-003


def test_a_policy_allowing_any_principal_of_one_source_is_not_public(tmp_path: Path) -> None:
    narrowed = OPEN_POLICY.replace(
        'Resource  = "*"',
        'Resource  = "*"\n'
        '      Condition = { StringEquals = { "aws:SourceAccount" = "123456789012" } }',
    )
    changes = changed("queue.tf", QUEUE_POLICY, narrowed % "sqs:SendMessage")
    assert found(run(tmp_path, changes)) == []


DEPLOYMENT_ENV = """\
          env:
            - name: DATABASE_HOST
              value: orders-prod.abcdefghijkl.eu-west-1.rds.amazonaws.com
            - name: DATABASE_PASSWORD
              value: hunter22
            - name: STRIPE_API_KEY
              valueFrom: {secretKeyRef: {name: stripe, key: api-key}}
            - name: DATABASE_SECRET_ARN
              value: arn:aws:secretsmanager:eu-west-1:123456789012:secret:orders-db-AbCdEf
"""


def test_a_container_env_value_holding_a_password_is_found_at_its_line(tmp_path: Path) -> None:
    from tests.unit.test_guardrails import deployment

    changes = deployment("          livenessProbe", DEPLOYMENT_ENV + "          livenessProbe")
    report = run(tmp_path, changes)
    assert found(report) == [
        (
            "PAVED-SECRET-003",
            "k8s/deployment.yaml:22",
            "Deployment/svc container 'app' env DATABASE_PASSWORD holds a literal secret",
        )
    ]


def test_keys_in_a_manifest_stay_the_committed_secret_rules_finding(tmp_path: Path) -> None:
    text = HARDENED["k8s/database-config.yaml"]
    assert text is not None
    report = run(
        tmp_path, added("k8s/database-config.yaml", text + "  AWS_KEY: AKIAIOSFODNN7EXAMPLE\n")
    )
    assert [(f.rule, f.location) for f in report.findings] == [
        ("PAVED-SECRET-001", "k8s/database-config.yaml:12")
    ]


def test_a_secret_manifest_with_values_is_found_and_a_reference_is_not(tmp_path: Path) -> None:
    secret = (
        "apiVersion: v1\nkind: Secret\nmetadata: {name: orders-db}\nstringData:\n  password: x\n"
    )
    assert found(run(tmp_path, added("k8s/secret.yaml", secret))) == [
        (
            "PAVED-SECRET-003",
            "k8s/secret.yaml:1",
            "Secret/orders-db holds its values in the manifest (password)",
        )
    ]
    empty = "apiVersion: v1\nkind: Secret\nmetadata: {name: orders-db}\ntype: Opaque\n"
    assert found(run(tmp_path / "empty", added("k8s/secret.yaml", empty))) == []


# -- Terraform is input: whatever a repository holds, the gate ends with findings ---------


def test_a_malformed_tf_file_is_a_parse_finding_and_the_other_files_are_still_read(
    tmp_path: Path,
) -> None:
    changes = changed("bucket.tf", "force_destroy = false", "force_destroy = true")
    changes["terraform/broken.tf"] = 'resource "aws_db_instance" "x" {\n  storage_encrypted = \n'
    assert [(f.rule, f.file) for f in run(tmp_path, changes).findings] == [
        ("PAVED-DATA-005", "terraform/bucket.tf"),
        ("PAVED-REPO-002", "terraform/broken.tf"),
    ]


def test_odd_but_valid_terraform_does_not_break_the_rules(tmp_path: Path) -> None:
    odd = """
resource "aws_db_instance" {
}
resource "aws_s3_bucket_policy" "p" {
  bucket = aws_s3_bucket.bucket["prod"].id
  policy = jsonencode([1, 2])
}
resource "aws_sqs_queue_policy" "p" {
  queue_url = aws_sqs_queue.queue["prod"].id
  policy    = "{not json"
}
resource "aws_db_instance" "weird" {
  storage_encrypted       = ((((true))))
  kms_key_id              = "arn:aws:kms:eu-west-1:1:key/1"
  backup_retention_period = true ? 7 : "x" ? 1 : 2
  deletion_protection     = [true]
}
"""
    report = run(tmp_path, added("terraform/odd.tf", odd))
    assert [(f.rule, f.file) for f in report.findings if f.rule != "PAVED-REPO-002"] == [
        ("PAVED-DATA-005", "terraform/odd.tf"),
    ], found(report)
    assert not [f for f in report.findings if "could not run" in f.message]


def test_a_huge_tf_file_is_not_read_and_says_so(tmp_path: Path) -> None:
    huge = 'resource "aws_db_instance" "db" {\n  publicly_accessible = true\n}\n' + "#" * 1_100_000
    report = run(tmp_path, added("terraform/huge.tf", huge))
    assert found(report) == [
        (
            "PAVED-REPO-002",
            "terraform/huge.tf",
            "terraform/huge.tf cannot be read (binary, or over 1 MB): no rule checks it",
        )
    ]


def test_terraform_written_as_json_is_not_a_way_around_the_rules(tmp_path: Path) -> None:
    """Terraform reads ``*.tf.json`` as configuration too; the rules read only ``.tf``, so such
    a file (here a public, unencrypted database) is reported instead of passing unchecked."""
    database = {"publicly_accessible": True, "storage_encrypted": False}
    text = json.dumps({"resource": {"aws_db_instance": {"db": database}}})
    report = run(tmp_path, added("terraform/db.tf.json", text))
    assert found(report) == [
        (
            "PAVED-REPO-002",
            "terraform/db.tf.json",
            "terraform/db.tf.json is Terraform written as JSON, which no rule reads: write it"
            " as a .tf file",
        )
    ]


def test_a_tf_file_linked_out_of_the_service_is_never_read(tmp_path: Path) -> None:
    outside = tmp_path / "elsewhere.tf"
    outside.write_text('resource "aws_db_instance" "db" {\n  publicly_accessible = true\n}\n')
    from tests.unit.test_guardrails import GOOD, write_tree

    root = write_tree(tmp_path / "svc", {**GOOD, **HARDENED})
    os.symlink(outside, root / "terraform" / "linked.tf")
    from paved.guardrails import check
    from tests.unit.test_guardrails import TODAY

    report = check(root, today=TODAY, env=os.environ, rules=BUILTIN_RULES)
    assert [(f.rule, f.file) for f in report.findings] == [
        ("PAVED-REPO-006", "terraform/linked.tf")
    ]
