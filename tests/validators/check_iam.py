"""Every sample's IAM policies pass parliament and paved's own least-privilege rules.

    python tests/validators/check_iam.py SAMPLES

For each sample service and environment, ``iam/ENV/policy.json`` (present exactly when resources
or data resources are declared) and ``iam/ENV/trust-policy.json`` go through
``parliament --include-community-auditors --json`` on stdin (its ``--file`` fails without a
terminal); trust policies with the sample's ``iam/parliament-trust-policy.yaml``, which says
why two rules do not apply to them. Then, as parliament does not flag a bare ``*``:

* no ``*`` or ``service:*`` action (no wildcard in an action at all), no ``Not*`` element;
* no ``*`` resource, and a wildcard only inside one named resource's own path
  (``arn:aws:s3:::BUCKET/*``, ``...:table/NAME/index/*``) or as a secret's ``-??????`` suffix;
* actions only of the services whose resources or data resources were declared;
* parliament's every rule, but for what it says of ``rds-db:connect`` alone (see _EXPECTED);
* the trust policy lets only the service's Kubernetes service account in, by web identity.
"""

from __future__ import annotations

import importlib.util
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import yaml
from _common import check_all

ANSWERS = ".copier-answers.road.yml"
TRUST_CONFIG = "iam/parliament-trust-policy.yaml"
SERVICES = {
    "s3-read": "s3",
    "sqs-send": "sqs",
    "dynamodb-rw": "dynamodb",
    "secret-read": "secretsmanager",
}
#: The services a data resource of each kind (the data_resources answer) is used through.
DATA_SERVICES = {
    "database": {"rds-db", "secretsmanager", "kms"},
    "bucket": {"s3", "kms"},
    "queue": {"sqs", "kms"},
}

# parliament 1.6.4 imports pkg_resources for one function; setuptools >= 81 no longer ships it
# (and virtualenvs made by uv have no setuptools). Without it, run parliament's own CLI with that
# one function provided.
_PARLIAMENT_SHIM = """
import importlib.resources, sys, types
shim = types.ModuleType("pkg_resources")
shim.resource_filename = lambda package, name: str(importlib.resources.files(package) / name)
sys.modules["pkg_resources"] = shim
from parliament.cli import main
sys.exit(main(sys.argv))
"""


def parliament_command() -> list[str]:
    path = shutil.which("parliament")
    if path is None:
        sys.exit("parliament is not installed")
    if importlib.util.find_spec("pkg_resources") is not None:
        return [path]
    return [sys.executable, "-c", _PARLIAMENT_SHIM]


#: What parliament says of ``rds-db:connect`` alone, the one action that lets the role log in
#: to its own database as its own user (IAM database authentication): it returns a credential,
#: the login token, and parliament files it under permissions management. Granting exactly that
#: is the point; whether it names one database user is asserted below (no wildcard), and every
#: other action still meets every parliament rule.
_EXPECTED = {
    ("CREDENTIALS_EXPOSURE", ("rds-db:connect",)),
    ("PERMISSIONS_MANAGEMENT_ACTIONS", ("rds-db:connect",)),
}


def _expected(line: str) -> bool:
    try:
        finding = json.loads(line)
        actions = tuple(finding["location"]["actions"])
        return (finding["issue"], actions) in _EXPECTED
    except (ValueError, KeyError, TypeError):
        return False


def parliament(policy: Path, config: Path | None) -> list[str]:
    command = [*parliament_command(), "--include-community-auditors", "--json"]
    if config is not None:
        command += ["--config", str(config)]
    with policy.open() as stdin:
        done = subprocess.run(command, stdin=stdin, capture_output=True, text=True)
    lines = [line for line in done.stdout.splitlines() if line]
    findings = [f"{policy}: parliament: {line}" for line in lines if not _expected(line)]
    if done.returncode != 0 and not findings and len(lines) == 0:
        findings.append(f"{policy}: parliament exited {done.returncode}: {done.stderr.strip()}")
    return findings


def as_list(value: object) -> list[str]:
    return value if isinstance(value, list) else [value]  # type: ignore[return-value]


def resource_problem(arn: str) -> str | None:
    """Why ``arn`` is too broad, or None: wildcards only inside one named resource's path."""
    if arn == "*":
        return "Resource '*'"
    if "*" not in arn and "?" not in arn:
        return None
    if re.fullmatch(r"arn:aws:secretsmanager:[a-z0-9-]+:\d{12}:secret:[\w/+=.@-]+-\?{6}", arn):
        return None
    parts = arn.split(":", 5)
    if len(parts) != 6 or any(c in ":".join(parts[:5]) for c in "*?"):
        return f"wildcard outside the resource path in {arn}"
    service, path = parts[2], parts[5]
    before = re.split(r"[*?]", path, maxsplit=1)[0]
    named = [segment for segment in before.split("/") if segment]
    # A bucket is named by its first segment; other resources by "type/name".
    if not before.endswith("/") or len(named) < (1 if service == "s3" else 2):
        return f"wildcard not inside one named resource: {arn}"
    return None


def statement_problems(policy: Path, statements: list[dict], services: set[str]) -> list[str]:
    problems = []
    for number, statement in enumerate(statements, 1):
        where = f"{policy}: statement {statement.get('Sid', number)}"
        problems += [
            f"{where}: {key} is not allowed"
            for key in ("NotAction", "NotResource", "NotPrincipal")
            if key in statement
        ]
        for action in as_list(statement.get("Action", [])):
            if "*" in action or "?" in action:
                problems.append(f"{where}: wildcard action {action!r}")
            elif services and action.split(":")[0] not in services:
                problems.append(f"{where}: {action} is not for a declared resource")
        for arn in as_list(statement.get("Resource", [])):
            if (problem := resource_problem(arn)) is not None:
                problems.append(f"{where}: {problem}")
    return problems


def trust_problems(policy: Path, document: dict, answers: dict, env: str) -> list[str]:
    service, account = answers["service_name"], answers["aws_account_id"]
    [statement] = document["Statement"] if len(document["Statement"]) == 1 else [{}]
    federated = statement.get("Principal", {}).get("Federated", "")
    provider = federated.removeprefix(f"arn:aws:iam::{account}:oidc-provider/")
    expected = {
        "Effect": "Allow",
        "Action": "sts:AssumeRoleWithWebIdentity",
        "Principal": {"Federated": federated},
        "Condition": {
            "StringEquals": {
                f"{provider}:sub": f"system:serviceaccount:{service}-{env}:{service}",
                f"{provider}:aud": "sts.amazonaws.com",
            }
        },
    }
    problems = []
    if not provider.startswith("oidc.eks.") or provider == federated:
        problems.append(
            f"{policy}: principal is not an EKS OIDC provider of {account}: {federated}"
        )
    if {key: value for key, value in statement.items() if key != "Sid"} != expected:
        problems.append(f"{policy}: expected exactly {json.dumps(expected)}")
    return problems


def check_sample(sample: Path) -> list[str]:
    answers = yaml.safe_load((sample / ANSWERS).read_text())
    services = {SERVICES[resource] for resource in answers["resources"]}
    for resource in answers.get("data_resources", []):
        services |= DATA_SERVICES[resource["kind"]]
    config = sample / TRUST_CONFIG
    problems = [] if config.is_file() else [f"{config}: missing"]
    for env in answers["environments"]:
        trust, policy = (
            sample / "iam" / env / "trust-policy.json",
            sample / "iam" / env / "policy.json",
        )
        if not trust.is_file():
            problems.append(f"{trust}: missing")
        else:
            problems += parliament(trust, config if config.is_file() else None)
            document = json.loads(trust.read_text())
            problems += statement_problems(trust, document["Statement"], {"sts"})
            problems += trust_problems(trust, document, answers, env)
        if policy.is_file() != bool(services):
            problems.append(
                f"{policy}: {'missing' if services else 'present, but no resources are declared'}"
            )
        if policy.is_file():
            problems += parliament(policy, None)
            statements = json.loads(policy.read_text())["Statement"]
            problems += statement_problems(policy, statements, services)
            used = {
                action.split(":")[0] for s in statements for action in as_list(s.get("Action", []))
            }
            problems += [
                f"{policy}: no statement for declared {name}" for name in sorted(services - used)
            ]
        print(f"checked {sample / 'iam' / env}", file=sys.stderr)
    return problems


def main(samples: Path) -> int:
    return check_all("iam", samples, check_sample)


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1])))
