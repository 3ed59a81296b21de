"""Kubernetes: hardened containers and a NetworkPolicy, in what each overlay really deploys.

Reads the output of ``kubectl kustomize`` for each overlay under ``k8s/overlays/`` (or, without
overlays, each kustomize folder under ``k8s/``; without any, the plain YAML under ``k8s/``).
A finding names the source file and container line when the object can be traced back to a
file under ``k8s/`` (by kind and name), else the overlay folder. A finding shared by several
overlays is reported once, naming them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from pathlib import PurePosixPath
from typing import Any

from paved.guardrails._model import Rule, Violation
from paved.guardrails._rules._util import as_list, make_rule
from paved.guardrails._tree import K8sObject, ServiceTree
from paved.guardrails._yaml import line_of

__all__ = ["RULES", "pod_spec"]

RULES: list[Rule] = []
_TEMPLATED = {
    "Deployment",
    "StatefulSet",
    "DaemonSet",
    "ReplicaSet",
    "ReplicationController",
    "Job",
}
_BATCH = {"Job", "CronJob"}


def pod_spec(doc: Mapping[str, Any]) -> Mapping[str, Any] | None:
    """The pod spec of a Pod or of any workload that templates pods."""
    kind, spec = doc.get("kind"), doc.get("spec")
    if not isinstance(spec, Mapping):
        return None
    if kind == "Pod":
        return spec
    if kind == "CronJob":
        spec = (spec.get("jobTemplate") or {}).get("spec") or {}
        kind = "Job"
    if kind in _TEMPLATED:
        inner = (spec.get("template") or {}).get("spec")
        return inner if isinstance(inner, Mapping) else None
    return None


#: A container check: (object, pod spec, container, is_init) -> problem or None
ContainerCheck = Callable[[K8sObject, Mapping[str, Any], Mapping[str, Any], bool], str | None]


def _container_line(obj: K8sObject, name: str) -> int | None:
    if obj.source is None:
        return None
    spec = pod_spec(obj.source)
    if spec is not None:
        for key in ("containers", "initContainers"):
            for container in as_list(spec.get(key)):
                if isinstance(container, Mapping) and container.get("name") == name:
                    return line_of(container)
    return line_of(obj.source)


def _grouped(found: Iterable[tuple[K8sObject, str, int | None]]) -> Iterator[Violation]:
    """One violation per (file, line, problem), naming the overlays it appears in."""
    overlays: dict[tuple[str, int | None, str], list[str]] = {}
    for obj, message, line in found:
        names = overlays.setdefault((obj.file, line, message), [])
        if obj.overlay and obj.file != obj.overlay:
            names.append(PurePosixPath(obj.overlay).name)
    for (file, line, message), names in overlays.items():
        where = f" (overlays: {', '.join(sorted(set(names)))})" if names else ""
        yield Violation(message + where, file, line)


def _containers(tree: ServiceTree, check: ContainerCheck) -> Iterator[Violation]:
    def found() -> Iterator[tuple[K8sObject, str, int | None]]:
        for obj in tree.k8s_objects:
            spec = pod_spec(obj.doc)
            if spec is None:
                continue
            for key in ("initContainers", "containers"):
                for container in as_list(spec.get(key)):
                    if not isinstance(container, Mapping):
                        continue
                    problem = check(obj, spec, container, key == "initContainers")
                    if problem:
                        name = str(container.get("name", "?"))
                        shown = _name(obj.source) if obj.source else obj.name
                        yield (
                            obj,
                            f"{obj.kind}/{shown} container '{name}' {problem}",
                            _container_line(obj, name),
                        )

    return _grouped(found())


def _name(doc: Mapping[str, Any]) -> str:
    meta = doc.get("metadata")
    return str(meta.get("name", "")) if isinstance(meta, Mapping) else ""


def _security(spec: Mapping[str, Any], container: Mapping[str, Any], key: str) -> Any:
    """A security setting as it takes effect: the container's, else the pod's."""
    own = container.get("securityContext") or {}
    if key in own:
        return own[key]
    return (spec.get("securityContext") or {}).get(key)


def _root(
    _obj: K8sObject, spec: Mapping[str, Any], c: Mapping[str, Any], _init: bool
) -> str | None:
    if _security(spec, c, "runAsUser") == 0:
        return "runs as uid 0 (root)"
    if _security(spec, c, "runAsNonRoot") is not True and _security(spec, c, "runAsUser") is None:
        return "may run as root (no runAsNonRoot: true, no runAsUser)"
    return None


def _privileged(
    _obj: K8sObject, _spec: Mapping[str, Any], c: Mapping[str, Any], _init: bool
) -> str | None:
    return "is privileged" if (c.get("securityContext") or {}).get("privileged") is True else None


def _escalation(
    _obj: K8sObject, _spec: Mapping[str, Any], c: Mapping[str, Any], _init: bool
) -> str | None:
    context = c.get("securityContext") or {}
    if context.get("allowPrivilegeEscalation") is not False:
        return "may escalate privileges (allowPrivilegeEscalation is not false)"
    return None


def _writable(
    _obj: K8sObject, _spec: Mapping[str, Any], c: Mapping[str, Any], _init: bool
) -> str | None:
    if (c.get("securityContext") or {}).get("readOnlyRootFilesystem") is not True:
        return "has a writable root filesystem (readOnlyRootFilesystem is not true)"
    return None


def _limits(
    _obj: K8sObject, _spec: Mapping[str, Any], c: Mapping[str, Any], _init: bool
) -> str | None:
    limits = (c.get("resources") or {}).get("limits") or {}
    missing = [k for k in ("cpu", "memory") if not limits.get(k)]
    return f"has no {' or '.join(missing)} limit" if missing else None


def _probes(
    obj: K8sObject, _spec: Mapping[str, Any], c: Mapping[str, Any], init: bool
) -> str | None:
    if init or obj.kind in _BATCH:
        return None
    missing = [k for k in ("livenessProbe", "readinessProbe") if not c.get(k)]
    return f"has no {' or '.join(missing)}" if missing else None


def _tag(
    _obj: K8sObject, _spec: Mapping[str, Any], c: Mapping[str, Any], _init: bool
) -> str | None:
    image = str(c.get("image", ""))
    if "@sha256:" not in image:
        return f"uses image '{image}' by a mutable tag, not by digest"
    return None


#: id, title, fix, reason, an example refused, one that passes, and the check of each container.
_CHECKS: list[tuple[str, str, str, str, str, str, ContainerCheck]] = [
    (
        "PAVED-K8S-001",
        "container may run as root",
        "set runAsNonRoot: true and a non-zero runAsUser in the pod's securityContext",
        (
            "A process that runs as root inside the container is one kernel bug away from root on "
            "the node."
        ),
        "containers:\n  - name: app    # no securityContext: runs as the image's user, often root",
        "securityContext: {runAsNonRoot: true, runAsUser: 10001}",
        _root,
    ),
    (
        "PAVED-K8S-002",
        "privileged container",
        "remove privileged: true; grant a single capability if one is really needed",
        (
            "A privileged container is root on the node: it sees every device and can leave the "
            "container."
        ),
        "securityContext: {privileged: true}",
        "securityContext: {privileged: false}",
        _privileged,
    ),
    (
        "PAVED-K8S-003",
        "container may escalate privileges",
        "set allowPrivilegeEscalation: false in the container's securityContext",
        (
            "Unless it is turned off, a process can gain more privileges than its parent (setuid "
            "binaries), undoing the other settings."
        ),
        "securityContext: {allowPrivilegeEscalation: true}",
        "securityContext: {allowPrivilegeEscalation: false}",
        _escalation,
    ),
    (
        "PAVED-K8S-004",
        "container with a writable root filesystem",
        "set readOnlyRootFilesystem: true; mount an emptyDir where the app must write",
        "A writable image lets an attacker drop tools into the container and persist there.",
        "securityContext: {readOnlyRootFilesystem: false}",
        (
            "securityContext: {readOnlyRootFilesystem: true}\n"
            "# plus an emptyDir mounted where the app must write"
        ),
        _writable,
    ),
    (
        "PAVED-K8S-005",
        "container without resource limits",
        "set resources.limits.cpu and resources.limits.memory",
        "One runaway pod without limits starves every other pod on its node.",
        "resources: {requests: {cpu: 100m}}",
        "resources: {requests: {cpu: 100m}, limits: {cpu: 500m, memory: 256Mi}}",
        _limits,
    ),
    (
        "PAVED-K8S-006",
        "container without liveness and readiness probes",
        "add livenessProbe and readinessProbe (the scaffold's /healthz and /readyz)",
        (
            "Without probes traffic reaches pods that cannot serve yet, and hung pods are never "
            "restarted."
        ),
        "- name: app\n  image: registry.example.com/svc@sha256:...   # no probes",
        (
            "- name: app\n"
            "  livenessProbe: {httpGet: {path: /healthz, port: 8080}}\n"
            "  readinessProbe: {httpGet: {path: /readyz, port: 8080}}"
        ),
        _probes,
    ),
    (
        "PAVED-K8S-007",
        "container image by mutable tag instead of digest",
        "pin the image by digest: registry/name@sha256:...",
        (
            "A tag can be moved to other bits after review; a digest names exactly the image that "
            "was built and scanned."
        ),
        "image: registry.example.com/svc:1.2.3",
        "image: registry.example.com/svc@sha256:9f86d08...",
        _tag,
    ),
]


def _container_rule(check: ContainerCheck) -> Callable[[ServiceTree], Iterator[Violation]]:
    def run(tree: ServiceTree) -> Iterator[Violation]:
        return _containers(tree, check)

    run.__name__ = check.__name__.strip("_")
    return run


for _id, _title, _fix, _reason, _refuses, _passes, _check in _CHECKS:
    make_rule(RULES, _id, _title, "error", _fix, reason=_reason, refuses=_refuses, passes=_passes)(
        _container_rule(_check)
    )


@make_rule(
    RULES,
    "PAVED-K8S-008",
    "no NetworkPolicy for the service's pods",
    "error",
    "add a NetworkPolicy that denies by default and allows only what the service needs",
    reason=(
        "Without a NetworkPolicy every pod in the cluster can reach the service, and the service "
        "can reach everything."
    ),
    refuses="# k8s/base/kustomization.yaml\nresources: [deployment.yaml, service.yaml]",
    passes=(
        "# k8s/base/kustomization.yaml\n"
        "resources: [deployment.yaml, service.yaml, networkpolicy.yaml]"
    ),
)
def network_policy_missing(tree: ServiceTree) -> Iterator[Violation]:
    by_overlay: dict[str, list[K8sObject]] = {}
    for obj in tree.k8s_objects:
        by_overlay.setdefault(obj.overlay, []).append(obj)
    for overlay, objects in sorted(by_overlay.items()):
        workloads = [o for o in objects if pod_spec(o.doc) is not None]
        if workloads and not any(o.kind == "NetworkPolicy" for o in objects):
            where = overlay or "k8s/"
            yield Violation(f"deploys {len(workloads)} workload(s) and no NetworkPolicy", where)


@make_rule(
    RULES,
    "PAVED-K8S-009",
    "kustomize overlay does not build",
    "error",
    "run 'kubectl kustomize DIR' and fix what it reports",
    reason=(
        "What an overlay that does not build would deploy cannot be checked, by the other K8S "
        "rules or by paved deploy."
    ),
    refuses="# k8s/overlays/prod/kustomization.yaml\nresources: [../../nowhere]",
    passes="# k8s/overlays/prod/kustomization.yaml\nresources: [../../base]",
    waivable=False,  # waiving it would silence every other K8S rule on that overlay
)
def overlay_build_fails(tree: ServiceTree) -> Iterator[Violation]:
    for overlay in tree.overlays:
        if overlay.error:
            yield Violation(
                f"kubectl kustomize {overlay.path} failed: {overlay.error}", overlay.path
            )
