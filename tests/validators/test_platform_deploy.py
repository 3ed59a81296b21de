"""The platform's own deployment files (deploy/platform/) keep what makes them safe to run.

The validators (hadolint, kubernetes-validate --strict, checkov) run in ``nox -s
validate-platform``; these tests check what no validator knows: that there are enough replicas
for the disruption budget, that the budget, the Service and the network policies select the
server's pods, that the database URL only ever comes from a Secret, that the migration Job runs
``paved platform migrate``, that the probes hit /livez and /readyz, that every flag the image
and the manifests pass exists in the real ``paved platform serve``, and that paved's own
Kubernetes and secret guardrails pass on them. Each reads what ``kubectl kustomize`` renders.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
from collections.abc import Iterator, Mapping
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml

from paved.guardrails import all_rules, check

REPO = Path(__file__).resolve().parents[2]
PLATFORM = REPO / "deploy" / "platform"
DOCKERFILE = PLATFORM / "Dockerfile"
ROAD_DOCKERFILE = REPO / "scaffolds" / "service-python" / "template" / "Dockerfile.jinja"
DOCS = REPO / "docs" / "platform.md"
KUSTOMIZE_FOLDERS = sorted(
    str(p.parent.relative_to(PLATFORM)) for p in (PLATFORM / "k8s").rglob("kustomization.yaml")
)
SERVER = {"app.kubernetes.io/name": "paved-platform", "app.kubernetes.io/component": "server"}
MIGRATION = {"app.kubernetes.io/name": "paved-platform", "app.kubernetes.io/component": "migration"}
PORT = 8420
DB_VARIABLE = "PAVED_PLATFORM_DB"
WORKLOADS = {"Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job", "CronJob", "Pod"}

#: The flags of ``paved platform serve`` and the ``paved platform migrate`` command, as the
#: server's process contract gives them (docs/platform.md).
SERVE_FLAGS = {
    "--host",
    "--port",
    "--workers",
    "--no-migrate",
    "--db",
    "--settings",
    "--secure-cookies",
    "--log-format",
    "--max-concurrency",
    "--max-per-token",
}

needs_kubectl = pytest.mark.skipif(shutil.which("kubectl") is None, reason="kubectl is missing")


# -- reading the files ----------------------------------------------------------------------


@cache
def rendered(folder: str) -> tuple[Mapping[str, Any], ...]:
    """What ``kubectl kustomize`` renders for one folder under deploy/platform/."""
    done = subprocess.run(
        ["kubectl", "kustomize", str(PLATFORM / folder)],
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "KUBECONFIG": os.devnull},
    )
    assert done.returncode == 0, f"kubectl kustomize {folder}: {done.stderr}"
    return tuple(d for d in yaml.safe_load_all(done.stdout) if isinstance(d, Mapping))


def one(objects: tuple[Mapping[str, Any], ...], kind: str, name: str) -> Mapping[str, Any]:
    found = [o for o in objects if o["kind"] == kind and o["metadata"]["name"] == name]
    assert len(found) == 1, f"{len(found)} {kind} named {name}"
    return found[0]


def pod_spec(workload: Mapping[str, Any]) -> Mapping[str, Any]:
    spec = workload["spec"]
    if workload["kind"] == "Pod":
        return spec
    if workload["kind"] == "CronJob":
        spec = spec["jobTemplate"]["spec"]
    return spec["template"]["spec"]


def pod_labels(workload: Mapping[str, Any]) -> Mapping[str, str]:
    if workload["kind"] == "Pod":
        return workload["metadata"].get("labels", {})
    spec = workload["spec"]
    if workload["kind"] == "CronJob":
        spec = spec["jobTemplate"]["spec"]
    return spec["template"]["metadata"].get("labels", {})


def containers(workload: Mapping[str, Any]) -> Iterator[Mapping[str, Any]]:
    spec = pod_spec(workload)
    yield from spec.get("initContainers", [])
    yield from spec["containers"]


def selects(selector: Mapping[str, Any], labels: Mapping[str, str]) -> bool:
    """A label selector with matchLabels (and no matchExpressions) matches ``labels``."""
    assert not selector.get("matchExpressions"), "the tests read matchLabels only"
    wanted = selector.get("matchLabels", selector)
    return all(labels.get(k) == v for k, v in wanted.items())


def instructions() -> list[tuple[str, str]]:
    """The Dockerfile's instructions (continuation lines joined, comments dropped)."""
    found: list[tuple[str, str]] = []
    pending = ""
    for line in DOCKERFILE.read_text().splitlines():
        if not pending and (not line.strip() or line.lstrip().startswith("#")):
            continue
        pending += line.rstrip().removesuffix("\\") + " "
        if not line.rstrip().endswith("\\"):
            keyword, _, rest = pending.strip().partition(" ")
            found.append((keyword.upper(), rest.strip()))
            pending = ""
    return found


def exec_form(keyword: str) -> list[str]:
    """The last ENTRYPOINT or CMD, which must be in exec (JSON) form."""
    values = [rest for kw, rest in instructions() if kw == keyword]
    assert values, f"the Dockerfile has no {keyword}"
    parsed = json.loads(values[-1])
    assert isinstance(parsed, list), f"{keyword} is not in exec form: {values[-1]}"
    return [str(part) for part in parsed]


def argv(container: Mapping[str, Any]) -> list[str]:
    """The process a container runs: its command (else the image's ENTRYPOINT), then its args
    (else the image's CMD when it keeps the ENTRYPOINT)."""
    if "command" in container:
        return [*container["command"], *container.get("args", [])]
    return [*exec_form("ENTRYPOINT"), *container.get("args", exec_form("CMD"))]


@cache
def help_text(*command: str) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "paved", *command, "--help"],
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "COLUMNS": "200"},
    )
    assert done.returncode == 0, f"paved {' '.join(command)} --help: {done.stdout}{done.stderr}"
    return done.stdout


def flags_of(command: list[str]) -> set[str]:
    return {part.partition("=")[0] for part in command if part.startswith("--")}


# -- the image --------------------------------------------------------------------------------


def test_the_image_is_built_like_the_roads_services() -> None:
    steps = instructions()
    bases = [rest.split()[0] for kw, rest in steps if kw == "FROM"]
    road_digests = set(re.findall(r"sha256:[0-9a-f]{64}", ROAD_DOCKERFILE.read_text()))
    assert len(bases) >= 2, "a builder stage and a runtime stage"
    for base in bases:
        # One of the road's python:<version>-slim digests: Renovate updates them together.
        name, _, digest = base.partition("@")
        assert re.fullmatch(r"python:3\.\d+-slim", name), base
        assert digest in road_digests, f"{base} is not pinned to a digest the road uses"
    users = [rest for kw, rest in steps if kw == "USER"]
    assert users, "no USER: the server would run as root"
    uid, _, gid = users[-1].partition(":")
    assert uid.isdigit()
    assert int(uid) >= 10000
    assert gid.isdigit()
    assert int(gid) != 0
    assert not any(kw == "ADD" for kw, _ in steps), "COPY, never ADD"
    assert ".[server]" in next(rest for kw, rest in steps if kw == "RUN" and "pip install" in rest)
    assert exec_form("ENTRYPOINT") == ["paved"]
    assert exec_form("CMD")[:2] == ["platform", "serve"]
    assert f"{PORT}" in [rest for kw, rest in steps if kw == "EXPOSE"]


def test_the_build_context_lets_in_only_what_the_wheel_is_built_from() -> None:
    lines = [
        line
        for line in (PLATFORM / "Dockerfile.dockerignore").read_text().splitlines()
        if line and not line.startswith("#")
    ]
    assert lines[0] == "*", "everything is left out first"
    allowed = {line.removeprefix("!").rstrip("/") for line in lines if line.startswith("!")}
    copied = {
        part.rstrip("/")
        for kw, rest in instructions()
        if kw == "COPY" and "--from=" not in rest
        for part in rest.split()[:-1]
    }
    assert copied <= allowed, f"COPY of {copied - allowed}, which the build context leaves out"


# -- the manifests ----------------------------------------------------------------------------


@needs_kubectl
@pytest.mark.parametrize("folder", KUSTOMIZE_FOLDERS)
def test_enough_replicas_for_the_disruption_budget(folder: str) -> None:
    objects = rendered(folder)
    replicas = one(objects, "Deployment", "paved-platform")["spec"]["replicas"]
    budget = one(objects, "PodDisruptionBudget", "paved-platform")["spec"]
    assert replicas >= 2
    if "maxUnavailable" in budget:
        # A drain may proceed, and at least one server keeps serving while it does.
        assert 1 <= budget["maxUnavailable"] < replicas
    else:
        assert 1 <= budget["minAvailable"] < replicas
    assert not any(o["kind"] == "HorizontalPodAutoscaler" for o in objects), (
        "an autoscaler would own the replica count: check its minReplicas instead"
    )


@needs_kubectl
@pytest.mark.parametrize("folder", KUSTOMIZE_FOLDERS)
def test_the_budget_service_and_policies_select_the_servers(folder: str) -> None:
    objects = rendered(folder)
    deployment = one(objects, "Deployment", "paved-platform")
    job = one(objects, "Job", "paved-platform-migrate")
    servers, migration = pod_labels(deployment), pod_labels(job)
    assert selects(deployment["spec"]["selector"], servers)
    assert selects(SERVER, servers)
    assert selects(MIGRATION, migration)
    budget = one(objects, "PodDisruptionBudget", "paved-platform")["spec"]["selector"]
    service = one(objects, "Service", "paved-platform")["spec"]
    assert selects(budget, servers)
    assert not selects(budget, migration)
    assert selects(service["selector"], servers)
    assert not selects(service["selector"], migration)
    port = next(p for p in service["ports"] if p["name"] == "http")
    assert port["targetPort"] in ("http", PORT)
    namespaces = {o["metadata"].get("namespace") for o in objects if o["kind"] != "Namespace"}
    assert len(namespaces) == 1
    assert None not in namespaces
    assert "default" not in namespaces


@needs_kubectl
@pytest.mark.parametrize("folder", KUSTOMIZE_FOLDERS)
def test_the_network_policies_deny_all_but_the_api_port_dns_and_postgres(folder: str) -> None:
    objects = rendered(folder)
    policies = [o for o in objects if o["kind"] == "NetworkPolicy"]
    deny = [p for p in policies if p["spec"]["podSelector"] == {}]
    assert deny, "no deny-by-default policy"
    assert all(not p["spec"].get("ingress") and not p["spec"].get("egress") for p in deny)
    assert all(set(p["spec"]["policyTypes"]) == {"Ingress", "Egress"} for p in deny)
    for labels, ingress_ports in ((SERVER, {PORT}), (MIGRATION, set())):
        mine = [p for p in policies if p not in deny and selects(p["spec"]["podSelector"], labels)]
        assert mine, f"no NetworkPolicy selects the pods labelled {labels}"
        for policy in mine:
            spec = policy["spec"]
            assert set(spec["policyTypes"]) == {"Ingress", "Egress"}
            ingress = {
                (p.get("protocol", "TCP"), p["port"])
                for rule in spec.get("ingress", [])
                for p in rule.get("ports") or [{"port": "any"}]
            }
            assert ingress <= {("TCP", port) for port in ingress_ports}, ingress
            egress = {
                (p.get("protocol", "TCP"), p["port"])
                for rule in spec.get("egress", [])
                for p in rule.get("ports") or [{"port": "any"}]
            }
            assert egress <= {("UDP", 53), ("TCP", 53), ("TCP", 5432)}, egress
            assert ("TCP", 5432) in egress
            assert ("UDP", 53) in egress
            for rule in spec.get("egress", []):
                assert rule.get("to"), f"{policy['metadata']['name']}: egress to anywhere"
                for peer in rule["to"]:
                    cidr = peer.get("ipBlock", {}).get("cidr", "")
                    assert cidr not in ("0.0.0.0/0", "::/0"), "PostgreSQL is not the internet"


@needs_kubectl
@pytest.mark.parametrize("folder", KUSTOMIZE_FOLDERS)
def test_the_database_url_only_ever_comes_from_a_secret(folder: str) -> None:
    objects = rendered(folder)
    workloads = [o for o in objects if o["kind"] in WORKLOADS]
    assert {o["kind"] for o in workloads} == {"Deployment", "Job"}
    for workload in workloads:
        for container in containers(workload):
            env = {e["name"]: e for e in container.get("env", [])}
            ref = env[DB_VARIABLE]["valueFrom"]["secretKeyRef"]
            assert "value" not in env[DB_VARIABLE]
            assert ref == {"name": "paved-platform-db", "key": "url"}
            assert not ref.get("optional"), "a server without a database must not start"
            for entry in container.get("env", []):
                assert "postgres" not in str(entry.get("value", "")).lower(), entry["name"]
            assert "--db" not in flags_of(argv(container)), "a URL in argv is in the process list"
            assert not container.get("envFrom"), "only the variables named here"
    # The Secret is created on the cluster (docs/platform.md), never committed with a value.
    for document in objects:
        if document["kind"] == "Secret":
            assert not document.get("data")
            assert not document.get("stringData")
    for path in PLATFORM.rglob("*"):
        if path.is_file():
            assert not re.search(r"postgres(ql)?(\+\w+)?://[^\s/:@]+:[^\s/@]+@", path.read_text())


@needs_kubectl
@pytest.mark.parametrize("folder", KUSTOMIZE_FOLDERS)
def test_the_migration_job_runs_paved_platform_migrate_and_the_servers_do_not(folder: str) -> None:
    objects = rendered(folder)
    job = one(objects, "Job", "paved-platform-migrate")
    (migrate,) = containers(job)
    assert argv(migrate)[:3] == ["paved", "platform", "migrate"]
    assert pod_spec(job)["restartPolicy"] in ("Never", "OnFailure")
    assert job["spec"]["backoffLimit"] >= 1
    assert job["spec"]["activeDeadlineSeconds"] > 0
    (server,) = containers(one(objects, "Deployment", "paved-platform"))
    command = argv(server)
    assert command[:3] == ["paved", "platform", "serve"]
    assert "--no-migrate" in command, "the servers leave the migration to the Job"
    assert server["image"] == migrate["image"], "the Job migrates for the image it serves"


@needs_kubectl
@pytest.mark.parametrize("folder", KUSTOMIZE_FOLDERS)
def test_the_probes_hit_livez_and_readyz_on_the_api_port(folder: str) -> None:
    objects = rendered(folder)
    (server,) = containers(one(objects, "Deployment", "paved-platform"))
    ports = {p["name"]: p["containerPort"] for p in server["ports"]}
    assert ports == {"http": PORT}
    paths = {}
    for probe in ("startupProbe", "livenessProbe", "readinessProbe"):
        http = server[probe]["httpGet"]
        assert ports.get(http["port"], http["port"]) == PORT, probe
        paths[probe] = http["path"]
    # A replica that loses the database leaves the Service (readiness) but is not restarted.
    assert paths == {
        "startupProbe": "/livez",
        "livenessProbe": "/livez",
        "readinessProbe": "/readyz",
    }
    command = argv(server)
    assert command[command.index("--port") + 1] == str(PORT)
    assert command[command.index("--host") + 1] == "0.0.0.0"  # noqa: S104 - a pod's own address
    # The grace period covers the preStop sleep and the requests in flight after SIGTERM.
    sleep = server["lifecycle"]["preStop"]["sleep"]["seconds"]
    assert (
        pod_spec(one(objects, "Deployment", "paved-platform"))["terminationGracePeriodSeconds"]
        > sleep + 10
    )


@needs_kubectl
@pytest.mark.parametrize("folder", KUSTOMIZE_FOLDERS)
def test_every_pod_is_hardened_like_the_roads_services(folder: str) -> None:
    objects = rendered(folder)
    namespace = next(o for o in objects if o["kind"] == "Namespace")
    assert namespace["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "restricted"
    account = one(objects, "ServiceAccount", "paved-platform")
    assert account["automountServiceAccountToken"] is False
    uid = int(next(rest for kw, rest in reversed(instructions()) if kw == "USER").split(":")[0])
    for workload in (o for o in objects if o["kind"] in WORKLOADS):
        pod = pod_spec(workload)
        assert pod["serviceAccountName"] == "paved-platform"
        assert pod["automountServiceAccountToken"] is False
        assert pod["securityContext"]["runAsNonRoot"] is True
        assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
        mounts: set[str] = set()
        for container in containers(workload):
            context = container["securityContext"]
            assert context["runAsNonRoot"] is True
            assert context["runAsUser"] == uid
            assert context["readOnlyRootFilesystem"] is True
            assert context["allowPrivilegeEscalation"] is False
            assert context.get("privileged", False) is False
            assert context["capabilities"] == {"drop": ["ALL"]}
            assert context["seccompProfile"] == {"type": "RuntimeDefault"}
            assert {"cpu", "memory"} <= set(container["resources"]["limits"])
            assert {"cpu", "memory"} <= set(container["resources"]["requests"])
            assert re.fullmatch(r"[^@:\s]+(:\d+)?/[^@\s]+@sha256:[0-9a-f]{64}", container["image"])
            mounts |= {m["mountPath"] for m in container.get("volumeMounts", [])}
        assert "/tmp" in mounts, "paved writes only under /tmp (PAVED_HOME)"
        volumes = {v["name"]: v for v in pod.get("volumes", [])}
        assert all("emptyDir" in v for v in volumes.values()), "no host paths, no other volumes"


@needs_kubectl
def test_the_servers_spread_over_nodes() -> None:
    for folder in KUSTOMIZE_FOLDERS:
        pod = pod_spec(one(rendered(folder), "Deployment", "paved-platform"))
        keys = {
            c["topologyKey"]
            for c in pod.get("topologySpreadConstraints", [])
            if selects(c["labelSelector"], SERVER)
        }
        terms = pod.get("affinity", {}).get("podAntiAffinity", {})
        keys |= {
            t.get("podAffinityTerm", t)["topologyKey"]
            for kind in terms.values()
            for t in kind
            if selects(t.get("podAffinityTerm", t)["labelSelector"], SERVER)
        }
        assert "kubernetes.io/hostname" in keys, f"{folder}: replicas may share one node"


# -- the command line the files run -----------------------------------------------------------


@needs_kubectl
def test_every_flag_the_files_pass_exists_in_paved_platform_serve() -> None:
    serve = help_text("platform", "serve")
    passed = flags_of(exec_form("CMD"))
    for folder in KUSTOMIZE_FOLDERS:
        (server,) = containers(one(rendered(folder), "Deployment", "paved-platform"))
        passed |= flags_of(argv(server))
    assert passed <= SERVE_FLAGS, f"not in the server's process contract: {passed - SERVE_FLAGS}"
    missing = {flag for flag in passed if not re.search(rf"(^|\s){re.escape(flag)}\b", serve)}
    assert not missing, f"paved platform serve --help has no {sorted(missing)}"


def test_paved_platform_migrate_exists() -> None:
    assert "Usage: paved platform migrate" in " ".join(help_text("platform", "migrate").split())


# -- paved's own guardrails -------------------------------------------------------------------


@needs_kubectl
def test_the_manifests_pass_paveds_own_kubernetes_and_secret_guardrails() -> None:
    """deploy/platform/ is laid out as a service's k8s/ is, so the rules that read manifests
    apply as they are. The others need a service (answers, CI, catalog entry) and do not."""
    rules = [r for r in all_rules() if r.id.startswith(("PAVED-K8S-", "PAVED-SECRET-"))]
    assert len(rules) >= 12
    report = check(PLATFORM, today=dt.date.today(), env=os.environ, rules=rules)
    assert [f"{f.rule} {f.location} {f.message}" for f in report.findings] == []


# -- the documentation ------------------------------------------------------------------------


def test_the_docs_run_the_files_that_are_here() -> None:
    text = DOCS.read_text()
    assert "## Running the platform on Kubernetes" in text
    section = text.split("## Running the platform on Kubernetes", 1)[1].split("\n## ", 1)[0]
    commands = [
        line.strip()
        for block in re.findall(r"```(?:sh|bash|console)?\n(.*?)```", section, re.S)
        for line in block.replace("\\\n", " ").splitlines()
        if line.strip() and not line.lstrip().startswith("#")
    ]
    joined = "\n".join(commands)
    assert "docker build -f deploy/platform/Dockerfile" in joined
    assert re.search(
        r"kubectl .*create secret generic paved-platform-db\b.*--from-\w+=url\b", joined
    )
    for command in commands:
        for word in shlex.split(command, comments=True):
            if word.startswith("deploy/platform/"):
                assert (REPO / word).exists(), f"the docs name {word}, which is not there"
    assert re.search(r"wait .*job/paved-platform-migrate", joined)
    assert "kubectl scale" in joined or "replicas" in section
