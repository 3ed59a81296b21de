"""Each guardrail fires on a minimal bad tree and is silent on a good one; waivers; plug-ins."""

from __future__ import annotations

import datetime as dt
import json
import shutil
import subprocess
from importlib import metadata
from pathlib import Path

import pytest

from paved.errors import InputError
from paved.guardrails import Rule, Violation, all_rules, check, plugin_rules
from paved.guardrails._rules import BUILTIN_RULES
from paved.guardrails._rules.iam import resource_too_wide
from paved.guardrails._tree import kubectl_kustomize

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


def write_tree(root: Path, files: dict[str, str | None]) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    for path, text in files.items():
        if text is not None:
            (root / path).parent.mkdir(parents=True, exist_ok=True)
            (root / path).write_text(text, encoding="utf-8")
    return root


def run(tmp_path: Path, changes: dict[str, str | None] | None = None, today: dt.date = TODAY):
    files = {**GOOD, **(changes or {})}
    return check(write_tree(tmp_path / "svc", files), today=today, rules=BUILTIN_RULES)


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
]


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


def test_every_builtin_rule_has_a_bad_example_and_a_docs_section() -> None:
    docs = (Path(__file__).resolve().parents[2] / "docs" / "guardrails.md").read_text()
    assert {r.id for r in BUILTIN_RULES} - {"PAVED-REPO-003", "PAVED-K8S-009"} == {
        b[0] for b in BAD
    }
    for rule in BUILTIN_RULES:
        assert f"### {rule.id}\n" in docs, rule.id
        assert rule.docs == f"docs/guardrails.md#{rule.id.lower()}"


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
        return kubectl_kustomize(directory)

    root = write_tree(tmp_path / "svc", {**GOOD, **changes})
    report = check(root, today=TODAY, rules=BUILTIN_RULES, kustomize=counting)
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


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("waivers: [1, 2", ".paved/waivers.yaml:2 is not valid YAML"),
        ("waivers: {rule: x}", ".paved/waivers.yaml must hold a list of waivers"),
        (
            "- rule: PAVED-K8S-007\n  path: x\n",
            ".paved/waivers.yaml:1: the waiver has no reason, owner, expires",
        ),
        (
            "- {rule: nope, path: x, reason: r, owner: o, expires: 2030-01-01}",
            "'nope' is not a rule id",
        ),
        (
            "- {rule: PAVED-K8S-007, path: x, reason: r, owner: o, expires: soon}",
            "expires 'soon' is not a date",
        ),
        (
            "- {rule: PAVED-K8S-007, path: x, reason: r, owner: o, expires: 2030-01-01, by: me}",
            "unknown waiver field by",
        ),
    ],
)
def test_bad_waiver_files_are_one_line_input_errors(
    tmp_path: Path, text: str, message: str
) -> None:
    with pytest.raises(InputError) as caught:
        run(tmp_path, {".paved/waivers.yaml": text})
    assert message in str(caught.value)
    assert "\n" not in str(caught.value)


# -- the engine ----------------------------------------------------------------------------


def test_a_broken_rule_is_reported_not_skipped(tmp_path: Path) -> None:
    def broken(_tree: object) -> list[Violation]:
        raise RuntimeError("boom")

    rule = Rule("ACME-K8S-001", "broken", "warning", broken, "fix it")
    report = check(write_tree(tmp_path / "svc", GOOD), today=TODAY, rules=[rule])
    assert [(f.rule, f.message) for f in report.findings] == [
        ("ACME-K8S-001", "the rule could not run: RuntimeError: boom")
    ]


def test_files_ignored_by_git_are_not_scanned(tmp_path: Path) -> None:
    root = write_tree(
        tmp_path / "svc", {**GOOD, ".gitignore": "local.env\n", "local.env": "AKIAIOSFODNN7EXAMPLE"}
    )
    subprocess.run(["git", "init", "-q", str(root)], check=True)
    assert check(root, today=TODAY, rules=BUILTIN_RULES).findings == ()


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
    report = check(write_tree(tmp_path / "svc", GOOD), today=TODAY, rules=rules)
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
