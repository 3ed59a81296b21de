"""Render an environment's overlay with the image set, through ``kubectl kustomize``.

The image is set by kustomize's own image transformer: a one-file kustomization in a temporary
folder takes the overlay as its resource and sets ``images:`` (what ``kustomize edit set image``
would write in a copy of the overlay). The service's files are never touched, and the output
is exactly ``kubectl kustomize k8s/overlays/ENV`` with the container image replaced.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from paved.deploy._image import ImageRef
from paved.deploy._source import ServiceSource
from paved.errors import InputError, PavedError

__all__ = ["KubectlMissing", "find_kubectl", "render"]


class KubectlMissing(PavedError):
    """kubectl is not installed: a local tool is missing (exit 1), not a remote failing."""


def find_kubectl(env: Mapping[str, str]) -> str:
    found = shutil.which("kubectl", path=env.get("PATH", os.defpath))
    if found is None:
        raise KubectlMissing(
            "kubectl is not installed or not on PATH (paved deploy renders with "
            "'kubectl kustomize')",
            hint="install kubectl (https://kubernetes.io/docs/tasks/tools/), then run it again",
        )
    return found


def _image_name(overlay: Path, source: ServiceSource) -> str:
    """The image name the overlay's ``images:`` sets (the one to replace)."""
    try:
        doc: Any = yaml.safe_load((overlay / "kustomization.yaml").read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError):
        doc = None
    names = [
        str(entry["name"])
        for entry in (doc or {}).get("images") or []
        if isinstance(entry, dict) and entry.get("name")
    ]
    for name in names:
        if name.rsplit("/", 1)[-1] == source.name:
            return name
    return names[0] if len(names) == 1 else source.image_name


def render(
    source: ServiceSource,
    environment: str,
    image: ImageRef,
    *,
    kubectl: str,
    env: Mapping[str, str],
) -> str:
    """The manifests of ``environment`` with ``image``, as ``kubectl kustomize`` prints them."""
    overlay = source.overlay(environment)
    if not (overlay / "kustomization.yaml").is_file():
        raise InputError(
            f"service '{source.name}' has no overlay for environment '{environment}' "
            f"(k8s/overlays/{environment}/kustomization.yaml)",
            hint="deploy to an environment the service was made for: "
            + (", ".join(source.environments) or "none"),
        )
    name = _image_name(overlay, source)
    entry: dict[str, str] = {"name": name, "newName": image.name}
    if image.tag:
        entry["newTag"] = image.tag
    if image.digest:
        entry["digest"] = image.digest
    with tempfile.TemporaryDirectory(prefix="paved-render-") as tmp:
        wrapper = Path(tmp)
        kustomization = {
            "apiVersion": "kustomize.config.k8s.io/v1beta1",
            "kind": "Kustomization",
            "resources": [os.path.relpath(overlay.resolve(), wrapper.resolve())],
            "images": [entry],
        }
        (wrapper / "kustomization.yaml").write_text(yaml.safe_dump(kustomization))
        try:
            done = subprocess.run(
                [kubectl, "kustomize", str(wrapper)],
                capture_output=True,
                text=True,
                timeout=120,
                env={**env, "KUBECONFIG": os.devnull},
                check=False,
            )
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise PavedError(
                f"kubectl kustomize k8s/overlays/{environment} failed ({exc})"
            ) from exc
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["no message"])[-1]
        raise PavedError(
            f"kubectl kustomize k8s/overlays/{environment} failed ({last})",
            hint="fix the overlay; 'kubectl kustomize' in the service shows the full error",
        )
    if f"image: {image}\n" not in done.stdout:
        raise PavedError(
            f"k8s/overlays/{environment} sets no image named {name}: --image cannot be set",
            hint=f"add an images: entry named {name} to the overlay",
        )
    return done.stdout
