"""docs/deploy.md: its Argo CD and Flux manifests parse and match the repository layout."""

from __future__ import annotations

import re

import yaml

from paved.deploy import kustomization_for, service_path
from tests.helpers import REPO_ROOT

DOC = (REPO_ROOT / "docs" / "deploy.md").read_text(encoding="utf-8")


def _yaml_blocks() -> list[dict[str, object]]:
    docs = []
    for block in re.findall(r"```yaml\n(.*?)```", DOC, re.S):
        docs += [d for d in yaml.safe_load_all(block) if isinstance(d, dict)]
    return docs


def test_the_applicationset_generates_one_application_per_service_folder() -> None:
    (appset,) = [d for d in _yaml_blocks() if d.get("kind") == "ApplicationSet"]
    spec = appset["spec"]
    assert isinstance(spec, dict)
    (generator,) = spec["generators"]
    assert generator["git"]["directories"] == [{"path": "envs/*/*"}]
    assert spec["template"]["spec"]["source"]["path"] == "{{.path.path}}"
    assert service_path("dev", "payments").count("/") == 2  # envs/<env>/<service>


def test_the_flux_kustomization_reads_an_environment_folder() -> None:
    blocks = _yaml_blocks()
    kinds = {d.get("kind") for d in blocks}
    assert {"GitRepository", "Kustomization"} <= kinds
    (flux,) = [
        d for d in blocks
        if d.get("kind") == "Kustomization"
        and str(d.get("apiVersion", "")).startswith("kustomize.toolkit.fluxcd.io/")
    ]  # fmt: skip
    assert flux["spec"]["path"] == "./envs/prod"  # type: ignore[index]
    assert flux["spec"]["prune"] is True  # type: ignore[index]


def test_the_service_kustomization_lists_the_manifests() -> None:
    doc = yaml.safe_load(kustomization_for("prod", "payments"))
    assert doc == {
        "apiVersion": "kustomize.config.k8s.io/v1beta1",
        "kind": "Kustomization",
        "resources": ["manifests.yaml"],
    }
