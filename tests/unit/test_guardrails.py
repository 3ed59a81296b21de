"""Each guardrail fires on a minimal bad tree and is silent on a good one; waivers; plug-ins."""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import shutil
import subprocess
import time
from collections.abc import Mapping
from importlib import metadata
from pathlib import Path

import pytest

from paved.deploy import Environment, gate, parse_image
from paved.errors import InputError
from paved.guardrails import (
    BUILTIN_RULES,
    Rule,
    ServiceTree,
    Violation,
    all_rules,
    check,
    conflict_markers,
    parse_waivers,
    plugin_rules,
)
from paved.guardrails._rules.iam import resource_too_wide
from paved.guardrails._yaml import YamlError, load_all
from paved.kustomize import Limits
from paved.kustomize import builder as kustomize_builder
from tests.unit.test_guardrails_data import DATA_BAD
from tests.unit.test_kustomize import alias_bomb, bomb_overlay

TODAY = dt.date(2026, 3, 1)
SHA = "8e5e7e5ab8b370d6c329ec480221332ada57f0ab"

POLICY = {
    "Version": "2012-10-17",
    "Statement": [
        {"Effect": "Allow", "Action": ["s3:GetObject"], "Resource": "arn:aws:s3:::svc-bucket/*"},
        {"Effect": "Allow", "Action": "s3:ListBucket", "Resource": "arn:aws:s3:::svc-bucket"},
    ],
}
OIDC = "oidc.eks.eu-west-1.amazonaws.com/id/ABC"
TRUST = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Principal": {"Federated": f"arn:aws:iam::123456789012:oidc-provider/{OIDC}"},
            "Action": "sts:AssumeRoleWithWebIdentity",
            "Condition": {
                "StringEquals": {
                    f"{OIDC}:sub": "system:serviceaccount:svc:svc",
                    f"{OIDC}:aud": "sts.amazonaws.com",
                }
            },
        }
    ],
}
MANAGED = {
    "ManagedRuleGroupStatement": {"VendorName": "AWS", "Name": "AWSManagedRulesCommonRuleSet"}
}
WEB_ACL = {
    "Name": "svc-prod",
    "Scope": "REGIONAL",
    "DefaultAction": {"Allow": {}},
    "Rules": [
        {"Name": "common", "Priority": 0, "Statement": MANAGED, "OverrideAction": {"None": {}}},
        {
            "Name": "rate",
            "Priority": 1,
            "Statement": {"RateBasedStatement": {"Limit": 1000, "AggregateKeyType": "IP"}},
            "Action": {"Block": {}},
        },
    ],
}
DEPLOYMENT = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: svc
spec:
  template:
    spec:
      securityContext:
        runAsNonRoot: true
        runAsUser: 10001
      containers:
        - name: app
          image: registry.example.com/svc@sha256:{digest}
          securityContext:
            allowPrivilegeEscalation: false
            readOnlyRootFilesystem: true
          resources:
            limits: {{cpu: 500m, memory: 256Mi}}
          livenessProbe: {{httpGet: {{path: /healthz, port: 8080}}}}
          readinessProbe: {{httpGet: {{path: /readyz, port: 8080}}}}
""".format(digest="0" * 64)
NETWORK = """\
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: svc
spec:
  podSelector: {}
  policyTypes: [Ingress, Egress]
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: svc
  annotations:
    alb.ingress.kubernetes.io/wafv2-acl-arn: arn:aws:wafv2:eu-west-1:1:regional/webacl/svc/1
spec: {}
"""
LOGGING = """\
import json
import logging


class JsonFormatter(logging.Formatter):
    def format(self, record):
        return json.dumps({
            "timestamp": self.formatTime(record), "level": record.levelname,
            "message": record.getMessage(), "logger": record.name, "service": "svc",
            "version": "1.0", "environment": "prod",
            "request_id": getattr(record, "request_id", None),
        })
"""
WORKFLOW = f"""\
name: ci
on: [push]
permissions: {{}}
jobs:
  test:
    runs-on: ubuntu-latest
    permissions: {{contents: read}}
    steps:
      - uses: actions/checkout@{SHA}
      - run: python -m pytest
  sast:
    runs-on: ubuntu-latest
    steps:
      - run: semgrep scan --error
  dependency-audit:
    runs-on: ubuntu-latest
    steps:
      - run: pip-audit --strict
  image:
    runs-on: ubuntu-latest
    steps:
      - name: Scan the image
        uses: aquasecurity/trivy-action@{SHA}
"""
GITLAB = """\
stages: [test, scan]
include:
  - template: Security/SAST.gitlab-ci.yml
test:
  stage: test
  script: [python -m pytest]
dependency-audit:
  stage: scan
  script: [pip-audit]
image-scan:
  stage: scan
  image: {name: aquasec/trivy}
  script: [trivy image svc]
"""

GOOD: dict[str, str] = {
    ".copier-answers.road.yml": (
        "exposure: public\nresources: [s3-read]\nenvironments: [prod]\nowner: team-a\n"
    ),
    "iam/prod/policy.json": json.dumps(POLICY, indent=2),
    "iam/prod/trust-policy.json": json.dumps(TRUST, indent=2),
    "waf/prod/web-acl.json": json.dumps(WEB_ACL, indent=2),
    "k8s/deployment.yaml": DEPLOYMENT,
    "k8s/network.yaml": NETWORK,
    "src/svc/logs.py": LOGGING,
    ".github/workflows/ci.yml": WORKFLOW,
    "catalog-info.yaml": (
        "apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata: {name: svc}\n"
        "spec: {type: service, lifecycle: production, owner: team-a}\n"
    ),
    "CODEOWNERS": "* @team-a\n",
}


def write_tree(root: Path, files: Mapping[str, str | None]) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    for path, text in files.items():
        if text is not None:
            (root / path).parent.mkdir(parents=True, exist_ok=True)
            (root / path).write_text(text, encoding="utf-8")
    return root


def run(tmp_path: Path, changes: Mapping[str, str | None] | None = None, today: dt.date = TODAY):
    files = {**GOOD, **(changes or {})}
    return check(
        write_tree(tmp_path / "svc", files), today=today, env=os.environ, rules=BUILTIN_RULES
    )


def deployment(old: str, new: str) -> dict[str, str | None]:
    assert old in DEPLOYMENT
    return {"k8s/deployment.yaml": DEPLOYMENT.replace(old, new)}


def policy(statement: dict[str, object]) -> dict[str, str | None]:
    return {"iam/prod/policy.json": json.dumps({"Version": "2012-10-17", "Statement": [statement]})}


def trust(statement: dict[str, object]) -> dict[str, str | None]:
    return {"iam/prod/trust-policy.json": json.dumps({"Statement": [statement]}, indent=2)}


def web_acl(**changes: object) -> dict[str, str | None]:
    return {"waf/prod/web-acl.json": json.dumps({**WEB_ACL, **changes})}


ALLOW = {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::svc-bucket/*"}
FED = {"Federated": f"arn:aws:iam::1:oidc-provider/{OIDC}"}
WEB_ID = "sts:AssumeRoleWithWebIdentity"

# (rule id, changes to the good tree, expected file, expected line or None)
BAD: list[tuple[str, dict[str, str | None], str, int | None]] = [
    ("PAVED-IAM-001", {"iam/prod/policy.json": None}, "iam/prod/policy.json", None),
    ("PAVED-IAM-002", policy({**ALLOW, "Action": "*"}), "iam/prod/policy.json", 1),
    (
        "PAVED-IAM-002",
        policy({**ALLOW, "Action": ["s3:GetObject", "s3:*"]}),
        "iam/prod/policy.json",
        1,
    ),
    ("PAVED-IAM-003", policy({**ALLOW, "Resource": "*"}), "iam/prod/policy.json", 1),
    (
        "PAVED-IAM-003",
        policy({**ALLOW, "Resource": "arn:aws:s3:::svc-*"}),
        "iam/prod/policy.json",
        1,
    ),
    (
        "PAVED-IAM-004",
        trust({"Effect": "Allow", "Principal": "*", "Action": "sts:AssumeRole"}),
        "iam/prod/trust-policy.json",
        3,
    ),
    (
        "PAVED-IAM-004",
        trust({"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "sts:AssumeRole"}),
        "iam/prod/trust-policy.json",
        3,
    ),
    (
        "PAVED-IAM-004",
        trust({"Effect": "Allow", "Principal": FED, "Action": WEB_ID}),
        "iam/prod/trust-policy.json",
        3,
    ),
    ("PAVED-WAF-001", {"waf/prod/web-acl.json": None}, "waf/", None),
    ("PAVED-WAF-002", web_acl(Rules=[]), "waf/prod/web-acl.json", 1),
    ("PAVED-WAF-002", {"k8s/network.yaml": NETWORK.split("---")[0]}, "waf/prod/web-acl.json", 1),
    ("PAVED-WAF-003", web_acl(Rules=WEB_ACL["Rules"][1:]), "waf/prod/web-acl.json", 1),  # type: ignore[index]
    ("PAVED-WAF-004", web_acl(Rules=WEB_ACL["Rules"][:1]), "waf/prod/web-acl.json", 1),  # type: ignore[index]
    (
        "PAVED-K8S-001",
        deployment("runAsNonRoot: true\n        runAsUser: 10001", "runAsGroup: 10001"),
        "k8s/deployment.yaml",
        11,
    ),
    ("PAVED-K8S-001", deployment("runAsUser: 10001", "runAsUser: 0"), "k8s/deployment.yaml", 12),
    (
        "PAVED-K8S-002",
        deployment(
            "readOnlyRootFilesystem: true",
            "readOnlyRootFilesystem: true\n            privileged: true",
        ),
        "k8s/deployment.yaml",
        12,
    ),
    (
        "PAVED-K8S-003",
        deployment("allowPrivilegeEscalation: false", "allowPrivilegeEscalation: true"),
        "k8s/deployment.yaml",
        12,
    ),
    (
        "PAVED-K8S-004",
        deployment("readOnlyRootFilesystem: true", "readOnlyRootFilesystem: false"),
        "k8s/deployment.yaml",
        12,
    ),
    (
        "PAVED-K8S-005",
        deployment("limits: {cpu: 500m, memory: 256Mi}", "requests: {cpu: 1m}"),
        "k8s/deployment.yaml",
        12,
    ),
    ("PAVED-K8S-006", deployment("readinessProbe", "startupProbe"), "k8s/deployment.yaml", 12),
    ("PAVED-K8S-007", deployment("svc@sha256:" + "0" * 64, "svc:1.2.3"), "k8s/deployment.yaml", 12),
    ("PAVED-K8S-008", {"k8s/network.yaml": NETWORK.split("---")[1]}, "k8s/", None),
    ("PAVED-LOG-001", {"src/svc/logs.py": "import logging\nlogging.basicConfig()\n"}, "src/", None),
    (
        "PAVED-LOG-002",
        {"src/svc/logs.py": LOGGING.replace('"request_id"', '"rid"')},
        "src/svc/logs.py",
        5,
    ),
    ("PAVED-CI-001", {".github/workflows/ci.yml": None}, ".github/workflows/", None),
    (
        "PAVED-CI-002",
        {
            ".github/workflows/ci.yml": WORKFLOW.replace("pip-audit", "pip-install").replace(
                "dependency-audit", "build"
            )
        },
        ".github/workflows/",
        None,
    ),
    (
        "PAVED-CI-002",
        {
            ".github/workflows/ci.yml": None,
            ".gitlab-ci.yml": GITLAB.replace(
                "  - template: Security/SAST.gitlab-ci.yml\n", "  - local: other.yml\n"
            ),
        },
        ".gitlab-ci.yml",
        None,
    ),
    (
        "PAVED-CI-003",
        {".github/workflows/ci.yml": WORKFLOW.replace(f"checkout@{SHA}", "checkout@v4")},
        ".github/workflows/ci.yml",
        9,
    ),
    (
        "PAVED-CI-004",
        {".github/workflows/ci.yml": WORKFLOW.replace("permissions: {}", "permissions: write-all")},
        ".github/workflows/ci.yml",
        3,
    ),
    (
        "PAVED-CI-005",
        {".github/workflows/ci.yml": WORKFLOW.replace("permissions: {}\n", "")},
        ".github/workflows/ci.yml",
        1,
    ),
    (
        "PAVED-SECRET-001",
        {"config.env": "AWS_ACCESS_KEY_ID=AKIAIOSFODNN7EXAMPLE\n"},
        "config.env",
        1,
    ),
    ("PAVED-SECRET-001", {"id_rsa": "x\n-----BEGIN RSA PRIVATE KEY-----\nMIIE\n"}, "id_rsa", 2),
    ("PAVED-SECRET-001", {"a.py": "TOKEN = 'ghp_" + "a" * 36 + "'\n"}, "a.py", 1),
    ("PAVED-SECRET-001", {"a.py": "T = 'github_pat_" + "A1" * 20 + "'\n"}, "a.py", 1),
    ("PAVED-SECRET-001", {"a.txt": "slack: xoxb-123456789012-abcdefghij\n"}, "a.txt", 1),
    ("PAVED-SECRET-002", {"settings.py": 'password = "hunter22"\n'}, "settings.py", 1),
    ("PAVED-SECRET-002", {"conf.yaml": 'db: {password: "hunter22"}\n'}, "conf.yaml", 1),
    ("PAVED-CATALOG-001", {"catalog-info.yaml": None}, "catalog-info.yaml", None),
    (
        "PAVED-CATALOG-002",
        {"catalog-info.yaml": "kind: Component\nmetadata: {name: svc}\nspec: {type: service}\n"},
        "catalog-info.yaml",
        3,
    ),
    ("PAVED-REPO-001", {"CODEOWNERS": None}, "CODEOWNERS", None),
    ("PAVED-REPO-001", {"CODEOWNERS": "# nobody\n"}, "CODEOWNERS", None),
    ("PAVED-REPO-002", {"k8s/broken.yaml": "a: [1, 2\n"}, "k8s/broken.yaml", None),
    (
        "PAVED-REPO-004",
        {"README.md": "# svc\n<<<<<<< HEAD\nmine\n=======\ntheirs\n>>>>>>> 0.2.0\n"},
        "README.md",
        2,
    ),
    (
        "PAVED-REPO-004",
        {"k8s/deployment.yaml.rej": "@@ -1 +1 @@\n"},
        "k8s/deployment.yaml.rej",
        None,
    ),
    (
        "PAVED-REPO-005",
        {
            ".paved/waivers.yaml": (
                "- rule: PAVED-K8S-007\n  path: /etc/passwd\n  reason: no digests yet\n"
                "  owner: team-a\n  expires: 2030-01-01\n"
            )
        },
        ".paved/waivers.yaml",
        2,
    ),
]

BAD += DATA_BAD  # the data rules' cases, over the hardened Terraform (test_guardrails_data.py)


def test_the_good_tree_passes_every_rule(tmp_path: Path) -> None:
    report = run(tmp_path)
    assert [(f.rule, f.location, f.message) for f in report.findings] == []
    assert report.passed


@pytest.mark.parametrize(("rule", "changes", "file", "line"), BAD, ids=[b[0] for b in BAD])
def test_each_rule_fires_on_its_bad_example(
    tmp_path: Path, rule: str, changes: dict[str, str | None], file: str, line: int | None
) -> None:
    report = run(tmp_path, changes)
    fired = [f for f in report.findings if f.rule == rule]
    assert fired, [(f.rule, f.message) for f in report.findings]
    assert (fired[0].file, fired[0].line) == (file, line)
    also = {"PAVED-WAF-003", "PAVED-WAF-004"} if changes == web_acl(Rules=[]) else set()
    assert {f.rule for f in report.findings} - also == {rule}  # nothing else fires here


#: Rules whose bad examples need more than file contents: each has tests of its own below.
TESTED_APART = {"PAVED-REPO-003", "PAVED-K8S-009", "PAVED-REPO-006"}


def test_every_builtin_rule_has_a_bad_example_and_a_docs_section() -> None:
    docs = (Path(__file__).resolve().parents[2] / "docs" / "guardrails.md").read_text()
    assert {r.id for r in BUILTIN_RULES} - TESTED_APART == {b[0] for b in BAD}
    for rule in BUILTIN_RULES:
        assert f"### {rule.id}\n" in docs, rule.id
        assert rule.docs == f"docs/guardrails.md#{rule.id.lower()}"


def test_the_docs_say_which_rules_cannot_be_waived() -> None:
    docs = (Path(__file__).resolve().parents[2] / "docs" / "guardrails.md").read_text()
    unwaivable = sorted(r.id for r in BUILTIN_RULES if not r.waivable)
    assert unwaivable == [
        "PAVED-K8S-009",
        "PAVED-REPO-003",
        "PAVED-REPO-004",
        "PAVED-REPO-005",
        "PAVED-REPO-006",
    ]
    section = docs.split("### Rules that cannot be waived\n", 1)[1].split("\n#", 1)[0]
    assert sorted(set(re.findall(r"`(PAVED-[A-Z0-9]+-\d{3})`", section))) == unwaivable
    for rule_id in unwaivable:
        entry = docs.split(f"### {rule_id}\n", 1)[1].split("\n### ", 1)[0]
        assert "never waived" in entry, rule_id


@pytest.mark.parametrize(
    ("resource", "too_wide"),
    [
        ("*", True),
        ("arn:aws:s3:::bucket", False),
        ("arn:aws:s3:::bucket/*", False),
        ("arn:aws:s3:::bucket*", True),
        ("arn:aws:s3:::*", True),
        ("arn:aws:dynamodb:eu-west-1:123456789012:table/orders", False),
        ("arn:aws:dynamodb:eu-west-1:123456789012:table/orders/index/*", False),
        ("arn:aws:dynamodb:eu-west-1:123456789012:table/*", True),
        ("arn:aws:dynamodb:*:123456789012:table/orders", True),
        ("arn:aws:secretsmanager:eu-west-1:123456789012:secret:svc/prod-??????", False),
        ("arn:aws:secretsmanager:eu-west-1:123456789012:secret:svc-*", True),
        ("arn:aws:sqs:eu-west-1:123456789012:svc-queue", False),
        ("arn:aws:sqs:eu-west-1:123456789012:*", True),
    ],
)
def test_resource_wildcards(resource: str, too_wide: bool) -> None:
    assert resource_too_wide(resource) is too_wide


def test_passwords_in_test_code_are_fixtures_but_keys_are_still_secrets(tmp_path: Path) -> None:
    line = 'login(password="hunter22", key="AKIAIOSFODNN7EXAMPLE")\n'
    report = run(tmp_path, {"tests/test_login.py": line, "src/svc/conftest.py": line})
    assert [(f.rule, f.file) for f in report.findings] == [
        ("PAVED-SECRET-001", "src/svc/conftest.py"),
        ("PAVED-SECRET-001", "tests/test_login.py"),
    ]


def test_log_fields_set_through_update_are_seen(tmp_path: Path) -> None:
    logs = """\
import json, logging
class JsonFormatter(logging.Formatter):
    def format(self, record):
        line = {}
        line.update(timestamp=1, level=2, message=3, logger=4, service=5, version=6)
        line.setdefault("environment", "dev")
        line["request_id"] = None
        return json.dumps(line)
"""
    assert run(tmp_path, {"src/svc/logs.py": logs}).findings == ()


def test_internal_services_need_no_waf(tmp_path: Path) -> None:
    answers = GOOD[".copier-answers.road.yml"].replace("public", "internal")
    report = run(tmp_path, {".copier-answers.road.yml": answers, "waf/prod/web-acl.json": None})
    assert report.findings == ()


def test_no_declared_resources_need_no_policy(tmp_path: Path) -> None:
    answers = GOOD[".copier-answers.road.yml"].replace("[s3-read]", "[]")
    report = run(tmp_path, {".copier-answers.road.yml": answers, "iam/prod/policy.json": None})
    assert report.findings == ()


def test_terraform_is_read_with_a_real_hcl_parser(tmp_path: Path) -> None:
    tf = """
data "aws_iam_policy_document" "app" {
  statement {
    actions   = ["s3:*"]
    resources = ["arn:aws:s3:::svc-bucket/*"]
  }
}
data "aws_iam_policy_document" "trust" {
  statement {
    actions = ["sts:AssumeRoleWithWebIdentity"]
    principals {
      type        = "Federated"
      identifiers = ["arn:aws:iam::1:oidc-provider/x"]
    }
  }
}
resource "aws_wafv2_web_acl" "this" {
  name  = "svc"
  scope = "REGIONAL"
  default_action {
    allow {}
  }
}
"""
    report = run(tmp_path, {"terraform/main.tf": tf})
    assert sorted((f.rule, f.file) for f in report.findings) == [
        ("PAVED-IAM-002", "terraform/main.tf"),
        ("PAVED-IAM-004", "terraform/main.tf"),
        ("PAVED-WAF-002", "terraform/main.tf"),
        ("PAVED-WAF-003", "terraform/main.tf"),
        ("PAVED-WAF-004", "terraform/main.tf"),
    ]


@pytest.mark.skipif(shutil.which("kubectl") is None, reason="kubectl is not installed")
def test_overlays_are_built_with_kustomize_and_traced_to_their_source(tmp_path: Path) -> None:
    kustomization = "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\n"
    changes: dict[str, str | None] = {
        "k8s/deployment.yaml": None,
        "k8s/network.yaml": None,
        "k8s/base/deployment.yaml": DEPLOYMENT.replace("svc@sha256:" + "0" * 64, "svc:latest"),
        "k8s/base/network.yaml": NETWORK,
        "k8s/base/kustomization.yaml": kustomization
        + "resources: [deployment.yaml, network.yaml]\n",
        "k8s/overlays/dev/kustomization.yaml": kustomization
        + "resources: [../../base]\nnamePrefix: dev-\n",
        "k8s/overlays/prod/kustomization.yaml": kustomization + "resources: [../../base]\n",
        "k8s/overlays/bad/kustomization.yaml": kustomization + "resources: [../../nowhere]\n",
    }
    calls: list[Path] = []

    def counting(directory: Path) -> tuple[str, str | None]:
        calls.append(directory)
        return kustomize_builder(os.environ)(directory)

    root = write_tree(tmp_path / "svc", {**GOOD, **changes})
    report = check(root, today=TODAY, env=os.environ, rules=BUILTIN_RULES, kustomize=counting)
    assert sorted(p.name for p in calls) == ["bad", "dev", "prod"]  # one build per overlay
    found = sorted((f.rule, f.location, f.message) for f in report.findings)
    assert found[0][:2] == ("PAVED-K8S-007", "k8s/base/deployment.yaml:12")
    assert found[0][2].endswith("(overlays: dev, prod)")
    assert [f[:2] for f in found[1:]] == [("PAVED-K8S-009", "k8s/overlays/bad")]


# -- waivers -----------------------------------------------------------------------------

UNPINNED = deployment("svc@sha256:" + "0" * 64, "svc:1.2.3")


def waivers(expires: str, path: str = "k8s/*.yaml") -> dict[str, str | None]:
    return {
        ".paved/waivers.yaml": (
            "waivers:\n"
            "  - rule: PAVED-K8S-007\n"
            f"    path: {path}\n"
            "    reason: the registry has no digests yet\n"
            "    owner: team-a\n"
            f"    expires: {expires}\n"
        )
    }


def test_a_waiver_until_a_future_date_waives(tmp_path: Path) -> None:
    report = run(tmp_path, {**UNPINNED, **waivers("2026-03-01")})
    assert report.passed
    (finding,) = report.findings
    assert (finding.rule, finding.status, finding.waiver) == (
        "PAVED-K8S-007",
        "waived",
        report.waivers[0],
    )
    assert report.to_json()["waivers"][0]["status"] == "active"
    assert report.to_json()["waivers"][0]["waived"] == 1


def test_an_expired_waiver_waives_nothing_and_is_reported(tmp_path: Path) -> None:
    report = run(tmp_path, {**UNPINNED, **waivers("2026-02-28")})
    assert not report.passed
    assert [(f.rule, f.severity, f.status, f.location) for f in report.findings] == [
        ("PAVED-K8S-007", "error", "open", "k8s/deployment.yaml:12"),
        ("PAVED-REPO-003", "warning", "open", ".paved/waivers.yaml:2"),
    ]
    assert report.to_json()["waivers"][0]["status"] == "expired"


def test_a_waiver_on_other_files_waives_nothing_but_is_listed(tmp_path: Path) -> None:
    report = run(tmp_path, {**UNPINNED, **waivers("2030-01-01", "k8s/other/**")})
    assert [f.status for f in report.findings] == ["open"]
    assert len(report.waivers) == 1


def waiver_entry(**fields: str) -> str:
    entry = {
        "rule": "PAVED-K8S-007",
        "path": "k8s/*.yaml",
        "reason": "the registry has no digests yet",
        "owner": "team-a",
        "expires": "2030-01-01",
        **fields,
    }
    return "- " + "\n  ".join(f"{key}: {value}" for key, value in entry.items()) + "\n"


# (entry, the line of the finding (the entry starts on line 2), what the message says)
BAD_WAIVERS: list[tuple[str, int, str]] = [
    (waiver_entry(path="/etc/passwd"), 3, "path '/etc/passwd' is absolute"),
    (waiver_entry(path="'C:/svc/k8s/*'"), 3, "is absolute"),
    (waiver_entry(path="k8s/../../other-svc/**"), 3, "has a '..' component"),
    (waiver_entry(path="'..'"), 3, "has a '..' component"),
    (
        waiver_entry(path='"k8s/\\0x"'),
        3,
        "path 'k8s/\\u0000x' contains the control character U+0000",
    ),
    (waiver_entry(path='"k8s/a\\tb"'), 3, "contains the control character U+0009"),
    (waiver_entry(path="'k8s\\deploy.yaml'"), 3, "has a backslash"),
    (waiver_entry(path="[k8s, src]"), 3, "path must be text, not LineList"),
    (waiver_entry(owner="o"), 5, "owner 'o' is shorter than 2 characters"),
    (waiver_entry(owner="Team_A"), 5, "owner 'Team_A' has upper-case letters"),
    (waiver_entry(owner='"team-a\\u202e"'), 5, "owner 'team-a\\u202e' has characters outside"),
    (
        waiver_entry(reason='"line one\\nline two"'),
        4,
        "reason contains the control character U+000A",
    ),
    (waiver_entry(reason='"\\e[2J wiped"'), 4, "reason contains the control character U+001B"),
    (waiver_entry(reason="'   '"), 4, "reason is blank"),
    (waiver_entry(reason="x" * 501), 4, "reason is longer than 500 characters (501)"),
    (waiver_entry(rule="nope"), 2, "'nope' is not a rule id"),
    (waiver_entry(expires="soon"), 6, "expires 'soon' is not a date"),
    (waiver_entry(by="me"), 2, "unknown waiver field by"),
    ("- rule: PAVED-K8S-007\n  path: x\n", 2, "the waiver has no reason, owner, expires"),
    ("- just a string\n", 2, "a waiver must be a mapping"),
]


@pytest.mark.parametrize(("entry", "line", "message"), BAD_WAIVERS)
def test_a_bad_waiver_is_a_finding_and_the_others_still_waive(
    tmp_path: Path, entry: str, line: int, message: str
) -> None:
    other = waiver_entry(rule="PAVED-K8S-005")  # a valid waiver, further down the file
    text = "waivers:\n" + entry + other
    report = run(tmp_path, {**UNPINNED, ".paved/waivers.yaml": text})
    bad = [f for f in report.findings if f.rule == "PAVED-REPO-005"]
    assert [(f.severity, f.status, f.location) for f in bad] == [
        ("error", "open", f".paved/waivers.yaml:{line}")
    ]
    assert message in bad[0].message
    assert bad[0].message.endswith(": this waiver waives nothing")
    assert "\n" not in bad[0].message
    assert [w.rule for w in report.waivers] == ["PAVED-K8S-005"]  # the bad one waives nothing
    assert not report.passed


def test_a_waivers_file_that_is_not_a_list_is_a_finding(tmp_path: Path) -> None:
    report = run(tmp_path, {".paved/waivers.yaml": "waivers: {rule: x}\n"})
    assert [(f.rule, f.location, f.message) for f in report.findings] == [
        (
            "PAVED-REPO-005",
            ".paved/waivers.yaml:1",
            "the file must hold a list of waivers: this waiver waives nothing",
        )
    ]


def test_a_waivers_file_that_does_not_parse_is_a_parse_finding(tmp_path: Path) -> None:
    report = run(tmp_path, {**UNPINNED, ".paved/waivers.yaml": "waivers: [1, 2"})
    assert [(f.rule, f.file) for f in report.findings] == [
        ("PAVED-K8S-007", "k8s/deployment.yaml"),
        ("PAVED-REPO-002", ".paved/waivers.yaml"),
    ]


def test_parse_waivers_still_raises_one_line_input_errors() -> None:
    with pytest.raises(InputError, match=r"^\.paved/waivers\.yaml:2: path '/x' is absolute"):
        parse_waivers(waiver_entry(path="/x"), ".paved/waivers.yaml")
    with pytest.raises(InputError, match=r"^\.paved/waivers\.yaml:2 is not valid YAML"):
        parse_waivers("- [x", ".paved/waivers.yaml")
    (waiver,) = parse_waivers(waiver_entry(), ".paved/waivers.yaml")
    assert (waiver.rule, waiver.path, waiver.owner, waiver.line) == (
        "PAVED-K8S-007",
        "k8s/*.yaml",
        "team-a",
        1,
    )


def test_a_waiver_of_a_rule_that_cannot_be_waived_is_ignored_and_reported(tmp_path: Path) -> None:
    conflicted = {"docs/notes.md": "<<<<<<< HEAD\na = 1\n=======\na = 2\n>>>>>>> 0.2.0\n"}
    waiver = waiver_entry(rule="PAVED-REPO-004", path="'**'", reason="we will fix it later")
    report = run(tmp_path, {**conflicted, ".paved/waivers.yaml": waiver})
    assert [(f.rule, f.status, f.location) for f in report.findings] == [
        ("PAVED-REPO-004", "open", "docs/notes.md:1"),
        ("PAVED-REPO-005", "open", ".paved/waivers.yaml:1"),
    ]
    assert report.findings[1].message == (
        "the waiver of PAVED-REPO-004 on '**' is ignored: PAVED-REPO-004 cannot be waived"
    )
    assert not report.passed


def test_a_plugin_rule_can_be_unwaivable(tmp_path: Path) -> None:
    rule = Rule("ACME-REPO-001", "no ACME.md", "error", _acme_check, "add it", waivable=False)
    waiver = waiver_entry(rule="ACME-REPO-001", path="ACME.md")
    root = write_tree(tmp_path / "svc", {**GOOD, ".paved/waivers.yaml": waiver})
    report = check(
        root,
        today=TODAY,
        env=os.environ,
        rules=[rule, *(r for r in BUILTIN_RULES if r.id.startswith("PAVED-REPO-"))],
    )
    assert [(f.rule, f.status) for f in report.findings] == [
        ("ACME-REPO-001", "open"),
        ("PAVED-REPO-005", "open"),
    ]


# -- conflicts -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "lines"),
    [
        ("a\n<<<<<<< HEAD\nmine\n=======\ntheirs\n>>>>>>> 0.2.0\nb\n", [2, 4, 6]),
        ("<<<<<<< before updating\nonly the start\n", [1]),
        ("the end only\n>>>>>>> after updating\n", [2]),
        ("<<<<<<<\nx\n=======\ny\n>>>>>>>\n", [1, 3, 5]),
        ("<<<<<<< ours\nx\n||||||| base\nb\n=======\ny\n>>>>>>> theirs\n", [1, 3, 5, 7]),
        ("<<<<<<< HEAD\r\nx\r\n=======\r\ny\r\n>>>>>>> 1\r\n", [1, 3, 5]),
        ("Title\n=======\n", []),  # a heading underline, not in a conflict
        ("<<<<<<< HEAD\nx\n=======\n", [1]),  # '=======' only counts inside a closed block
        ("<<<<<<<< eight\n>>>>>>>>\n", []),
        ("  <<<<<<< indented\n", []),
        ("x = a <<<<<<< b\n", []),
    ],
)
def test_conflict_markers(text: str, lines: list[int]) -> None:
    assert conflict_markers(text) == lines


def test_a_conflict_is_one_finding_per_file_naming_its_first_marker(tmp_path: Path) -> None:
    block = "<<<<<<< HEAD\nmine\n=======\ntheirs\n>>>>>>> 0.2.0\n"
    report = run(tmp_path, {"docs/notes.md": "# notes\n\n" + block + "between\n" + block})
    assert [(f.rule, f.severity, f.location, f.message) for f in report.findings] == [
        (
            "PAVED-REPO-004",
            "error",
            "docs/notes.md:3",
            "unresolved conflict: 6 conflict marker line(s), the first here",
        )
    ]


def commit_all(root: Path) -> None:
    subprocess.run(["git", "init", "-q", str(root)], check=True)
    subprocess.run(["git", "-C", str(root), "add", "-A"], check=True)
    subprocess.run(
        ["git", "-C", str(root), "-c", "user.name=T", "-c", "user.email=t@example.com",
         "commit", "-q", "-m", "init"],
        check=True,
    )  # fmt: skip


def test_untracked_rej_files_count_but_ignored_ones_do_not(tmp_path: Path) -> None:
    root = write_tree(tmp_path / "svc", {**GOOD, ".gitignore": "*.orig\nscratch/\n"})
    commit_all(root)
    write_tree(
        root,
        {
            "k8s/deployment.yaml.rej": "@@ -1 +1 @@\n-a\n+b\n",  # copier leaves it untracked
            "scratch/old.yaml.rej": "@@ -1 +1 @@\n",  # ignored
            "k8s/deployment.yaml.orig": "<<<<<<< HEAD\n",  # ignored
        },
    )
    report = check(root, today=TODAY, env=os.environ, rules=BUILTIN_RULES)
    assert [(f.rule, f.location) for f in report.findings] == [
        ("PAVED-REPO-004", "k8s/deployment.yaml.rej")
    ]


def test_the_deploy_gate_refuses_a_conflict_even_with_a_waiver(tmp_path: Path) -> None:
    conflicted = {
        "k8s/deployment.yaml.rej": "@@ -1 +1 @@\n",
        ".paved/waivers.yaml": waiver_entry(rule="PAVED-REPO-004", path="'**'"),
    }
    report = run(tmp_path, conflicted)
    result = gate(
        report,
        Environment("dev", target="gitops", protected=False, repository="envs.git"),
        service="svc",
        registered=True,
        road_version="1.0.0",
        min_road_version="",
        image=parse_image("registry.example.com/svc@sha256:" + "1" * 64),
        break_glass=None,
    )
    assert not result.passed
    assert [r.split()[:3] for r in result.refusals] == [
        ["PAVED-REPO-004", "error", "k8s/deployment.yaml.rej"],
        ["PAVED-REPO-005", "error", ".paved/waivers.yaml:1"],
    ]


# -- symbolic links ------------------------------------------------------------------------


def test_a_tracked_link_out_of_the_service_is_never_read(tmp_path: Path) -> None:
    write_tree(tmp_path / "other-service", {"secret.env": "AKIAIOSFODNN7EXAMPLE\n"})
    root = write_tree(tmp_path / "svc", {key: v for key, v in GOOD.items() if key != "CODEOWNERS"})
    os.symlink("/etc/passwd", root / "CODEOWNERS")  # would be read by PAVED-REPO-001
    os.symlink("../other-service/secret.env", root / "config.env")
    os.symlink("src/svc/logs.py", root / "logs.py")  # inside the service: fine
    commit_all(root)
    report = check(root, today=TODAY, env=os.environ, rules=BUILTIN_RULES)
    assert [(f.rule, f.location, f.message) for f in report.findings] == [
        ("PAVED-REPO-001", "CODEOWNERS", "CODEOWNERS names no owner"),
        (
            "PAVED-REPO-006",
            "CODEOWNERS",
            "links outside the service, to /etc/passwd: paved does not read it",
        ),
        (
            "PAVED-REPO-006",
            "config.env",
            "links outside the service, to ../other-service/secret.env: paved does not read it",
        ),
    ]  # and no PAVED-SECRET-001: the key behind the link was never read
    assert all(
        f.rule in {r.id for r in BUILTIN_RULES if not r.waivable} for f in report.findings[1:]
    )


def test_links_out_are_found_without_git_and_through_linked_folders(tmp_path: Path) -> None:
    write_tree(tmp_path / "elsewhere", {"deployment.yaml": "kind: Deployment\n"})
    root = write_tree(tmp_path / "svc", GOOD)
    os.symlink(tmp_path / "elsewhere", root / "k8s" / "base", target_is_directory=True)
    tree = ServiceTree(root, today=TODAY, env=os.environ)
    assert "k8s/base" in tree.files
    assert tree.links_outside == {"k8s/base": str(tmp_path / "elsewhere")}
    assert tree.text("k8s/base/deployment.yaml") is None
    assert tree.text("../elsewhere/deployment.yaml") is None
    assert tree.text("/etc/passwd") is None
    assert tree.text("CODEOWNERS") == GOOD["CODEOWNERS"]


def test_an_overlay_whose_kustomization_links_out_is_not_built(tmp_path: Path) -> None:
    write_tree(tmp_path / "elsewhere", {"kustomization.yaml": "resources: [/etc/passwd]\n"})
    root = write_tree(tmp_path / "svc", GOOD)
    (root / "k8s" / "overlays" / "dev").mkdir(parents=True)
    os.symlink(
        tmp_path / "elsewhere" / "kustomization.yaml",
        root / "k8s" / "overlays" / "dev" / "kustomization.yaml",
    )
    built: list[Path] = []

    def builder(directory: Path) -> tuple[str, str | None]:
        built.append(directory)
        return "", None

    report = check(root, today=TODAY, env=os.environ, rules=BUILTIN_RULES, kustomize=builder)
    assert built == []
    assert [(f.rule, f.file) for f in report.findings] == [
        ("PAVED-REPO-006", "k8s/overlays/dev/kustomization.yaml")
    ]


def test_a_waivers_file_linked_out_of_the_service_waives_nothing(tmp_path: Path) -> None:
    write_tree(tmp_path / "shared", {"waivers.yaml": waiver_entry()})
    root = write_tree(tmp_path / "svc", {**GOOD, **UNPINNED})
    (root / ".paved").mkdir()
    os.symlink(tmp_path / "shared" / "waivers.yaml", root / ".paved" / "waivers.yaml")
    report = check(root, today=TODAY, env=os.environ, rules=BUILTIN_RULES)
    assert report.waivers == ()
    assert [(f.rule, f.status, f.file) for f in report.findings] == [
        ("PAVED-K8S-007", "open", "k8s/deployment.yaml"),
        ("PAVED-REPO-006", "open", ".paved/waivers.yaml"),
    ]


# -- alias bombs and limits ------------------------------------------------------------------


def test_paved_refuses_a_yaml_alias_bomb_as_a_file_that_does_not_parse(tmp_path: Path) -> None:
    started = time.monotonic()
    report = run(tmp_path, {".gitlab-ci.yml": alias_bomb("ci")})
    assert time.monotonic() - started < 100
    assert [(f.rule, f.file) for f in report.findings] == [("PAVED-REPO-002", ".gitlab-ci.yml")]
    assert "aliases expand to more than 200000 nodes" in report.findings[0].message


def test_ordinary_aliases_are_read_and_abusive_ones_refused() -> None:
    ci = ".defaults: &defaults\n  image: python:3.12\n  tags: [docker]\n" + "".join(
        f"job{n}:\n  <<: *defaults\n  script: [pytest]\n" for n in range(50)
    )
    assert load_all(ci)[0]["job49"]["image"] == "python:3.12"
    with pytest.raises(YamlError, match="refers to itself"):
        load_all("a: &a [1, *a]\n")
    with pytest.raises(YamlError, match="more than 10000 aliases"):
        load_all("a: &a 1\nb: [" + ", ".join(["*a"] * 10_001) + "]\n")
    with pytest.raises(YamlError, match="nested too deeply"):
        load_all("[" * 990 + "]" * 990)


@pytest.mark.skipif(shutil.which("kubectl") is None, reason="kubectl is not installed")
@pytest.mark.slow
def test_an_overlay_alias_bomb_ends_quickly_as_an_overlay_that_does_not_build(
    tmp_path: Path,
) -> None:
    root = write_tree(tmp_path / "svc", GOOD)
    bomb_overlay(root)
    started = time.monotonic()
    report = check(root, today=TODAY, env=os.environ, rules=BUILTIN_RULES)
    assert time.monotonic() - started < 100
    rules = ("PAVED-K8S-009", "PAVED-REPO-002")  # an overlay hides the plain manifests: others fire
    assert [(f.rule, f.file, f.message) for f in report.findings if f.rule in rules] == [
        (
            "PAVED-K8S-009",
            "k8s/overlays/dev",
            "kubectl kustomize k8s/overlays/dev failed: exceeded the memory limit of 1024 MiB",
        ),
        (
            "PAVED-REPO-002",
            "k8s/overlays/dev/bomb.yaml",
            "k8s/overlays/dev/bomb.yaml does not parse: line 10: its aliases expand to more "
            "than 200000 nodes (an alias bomb?)",
        ),
    ]


def test_an_overlay_that_takes_too_long_is_an_overlay_that_does_not_build(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "kubectl").write_text("#!/bin/sh\nexec sleep 300\n")
    (bin_dir / "kubectl").chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    root = write_tree(tmp_path / "svc", GOOD)
    bomb_overlay(root)
    report = check(
        root,
        today=TODAY,
        env=os.environ,
        rules=BUILTIN_RULES,
        kustomize=kustomize_builder(os.environ, limits=Limits(timeout=1)),
    )
    assert [(f.rule, f.message) for f in report.findings if f.rule == "PAVED-K8S-009"] == [
        ("PAVED-K8S-009", "kubectl kustomize k8s/overlays/dev failed: took longer than 1 s")
    ]


# -- the engine ----------------------------------------------------------------------------


def test_a_broken_rule_is_reported_not_skipped(tmp_path: Path) -> None:
    def broken(_tree: object) -> list[Violation]:
        raise RuntimeError("boom")

    rule = Rule("ACME-K8S-001", "broken", "warning", broken, "fix it")
    report = check(write_tree(tmp_path / "svc", GOOD), today=TODAY, env=os.environ, rules=[rule])
    assert [(f.rule, f.message) for f in report.findings] == [
        ("ACME-K8S-001", "the rule could not run: RuntimeError: boom")
    ]


def test_files_ignored_by_git_are_not_scanned(tmp_path: Path) -> None:
    root = write_tree(
        tmp_path / "svc", {**GOOD, ".gitignore": "local.env\n", "local.env": "AKIAIOSFODNN7EXAMPLE"}
    )
    subprocess.run(["git", "init", "-q", str(root)], check=True)
    assert check(root, today=TODAY, env=os.environ, rules=BUILTIN_RULES).findings == ()


def test_rule_ids_are_checked() -> None:
    with pytest.raises(ValueError, match="not of the form"):
        Rule("iam-1", "t", "error", lambda tree: [], "fix")


# -- plug-ins ------------------------------------------------------------------------------


def _acme_check(tree: object) -> list[Violation]:
    return [Violation("no ACME.md", "ACME.md")]


ACME_RULE = Rule("ACME-REPO-001", "ACME.md missing", "warning", _acme_check, "add ACME.md")


def acme_rules() -> list[Rule]:
    return [ACME_RULE]


def test_entry_points_add_rules(tmp_path: Path) -> None:
    group = "paved.guardrails"
    points = [metadata.EntryPoint("acme", f"{__name__}:acme_rules", group)]
    rules = all_rules(lambda: points)
    assert rules[-1].id == "ACME-REPO-001"
    assert rules[-1].source == "plug-in acme"
    report = check(write_tree(tmp_path / "svc", GOOD), today=TODAY, env=os.environ, rules=rules)
    assert [(f.rule, f.severity) for f in report.findings] == [("ACME-REPO-001", "warning")]


DIST = "acme_guardrails-1.0.dist-info"


def test_a_plugin_from_an_installed_distribution(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    site = tmp_path / "site"
    write_tree(
        site,
        {
            "acme_guardrails.py": (
                "from paved.guardrails import Rule, Violation\n"
                "RULE = Rule('ACME-CI-001', 'no Jenkinsfile', 'error',\n"
                "            lambda tree: [Violation('Jenkinsfile', 'Jenkinsfile')]\n"
                "            if tree.exists('Jenkinsfile') else [], 'use the paved pipeline')\n"
            ),
            f"{DIST}/METADATA": "Metadata-Version: 2.1\nName: acme-guardrails\nVersion: 1.0\n",
            f"{DIST}/entry_points.txt": "[paved.guardrails]\njenkins = acme_guardrails:RULE\n",
        },
    )
    monkeypatch.syspath_prepend(str(site))
    (rule,) = plugin_rules()
    assert (rule.id, rule.source) == ("ACME-CI-001", "plug-in jenkins")


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (f"{__name__}:ACME_RULE_MISSING", "failed to load: AttributeError"),
        (f"{__name__}:TODAY", "gave date, not a Rule or a list of Rules"),
    ],
)
def test_a_bad_plugin_is_a_one_line_error(value: str, message: str) -> None:
    points = [metadata.EntryPoint("acme", value, "paved.guardrails")]
    with pytest.raises(InputError, match=message):
        plugin_rules(lambda: points)


def test_a_plugin_cannot_reuse_a_builtin_id() -> None:
    clash = Rule("PAVED-IAM-001", "clash", "error", _acme_check, "x")
    globals()["CLASH"] = clash
    points = [metadata.EntryPoint("clash", f"{__name__}:CLASH", "paved.guardrails")]
    with pytest.raises(InputError, match="PAVED-IAM-001 is defined twice"):
        all_rules(lambda: points)
