"""Render an environment's overlay with the image set, through ``kubectl kustomize``.

The image is set by kustomize's own image transformer: a one-file kustomization in a temporary
folder takes the overlay as its resource and sets ``images:`` (what ``kustomize edit set image``
would write in a copy of the overlay). The service's files are never touched, and the output
is exactly ``kubectl kustomize k8s/overlays/ENV`` with the container image replaced.
"""

from __future__ import annotations

import os
import re
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from paved.deploy._image import ImageRef
from paved.deploy._source import ServiceSource
from paved.errors import InputError, PavedError
from paved.gitcmd import Git
from paved.kustomize import KustomizeFailed, kustomize
from paved.kustomize import find_kubectl as kubectl_on_path

__all__ = ["KubectlMissing", "find_kubectl", "render"]


class KubectlMissing(PavedError):
    """kubectl is not installed: a local tool is missing (exit 1), not a remote failing."""


def find_kubectl(env: Mapping[str, str]) -> str:
    """The kubectl a deploy needs; :class:`KubectlMissing` when there is none."""
    found = kubectl_on_path(env)
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


#: A resource kustomize would fetch from elsewhere: a URL, git's scp form, a hosting shortcut.
_REMOTE = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*://|[^/\s]+@[^/\s]+:|(github|gitlab|bitbucket)\.)")
#: The fields of a kustomization that name other files or kustomizations.
_PATH_FIELDS = ("resources", "bases", "components", "crds", "configurations", "transformers",
                "generators", "validators")  # fmt: skip
_KUSTOMIZATIONS = ("kustomization.yaml", "kustomization.yml", "Kustomization")


def _entries(doc: Any) -> list[str]:
    if not isinstance(doc, dict):
        return []
    found = [e for f in _PATH_FIELDS for e in doc.get(f) or [] if isinstance(e, str)]
    for field in ("patches", "patchesJson6902"):
        found += [e["path"] for e in doc.get(field) or [] if isinstance(e, dict) and "path" in e]
    found += [
        e for e in doc.get("patchesStrategicMerge") or [] if isinstance(e, str) and "\n" not in e
    ]
    return found


def _check_local(directory: Path, root: Path, seen: set[Path]) -> None:
    """Every kustomization reachable from ``directory`` names only files inside the service.

    The manifests must be built from the service's committed files and nothing else: a URL
    would be fetched with the deployer's credentials (and could answer the gate one thing
    and the render another), a path outside the service would read the deployer's files.
    """
    directory = directory.resolve()
    if directory in seen:
        return
    seen.add(directory)
    file = next((directory / n for n in _KUSTOMIZATIONS if (directory / n).is_file()), None)
    if file is None:
        return
    try:
        doc: Any = yaml.safe_load(file.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        return  # kustomize reports it, and the gate's PAVED-REPO-002 does
    for entry in _entries(doc):
        where = file.relative_to(root)
        if _REMOTE.match(entry):
            raise InputError(
                f"{where} names the remote resource '{entry[:80]}'",
                hint="deploy only what the service's repository holds: vendor it into k8s/",
            )
        target = (directory / entry).resolve()
        if not target.is_relative_to(root):
            raise InputError(
                f"{where} names '{entry[:80]}', outside the service",
                hint="deploy only what the service's repository holds",
            )
        if target.is_dir():
            _check_local(target, root, seen)


def check_overlay(source: ServiceSource, environment: str) -> None:
    """The overlay is the service's own, committed: inside it, no link out, nothing remote,
    nothing git does not track. What the gate checked is then what is rendered."""
    root = source.root.resolve()
    for relative in ("k8s", "k8s/overlays", f"k8s/overlays/{environment}"):
        if (source.root / relative).is_symlink():
            raise InputError(
                f"service '{source.name}': {relative} is a symbolic link",
                hint="keep the overlays as folders of the service (the gate checks those)",
            )
    untracked = Git(source.root)("ls-files", "--others", "--", "k8s", check=False).split("\n")
    untracked = [line for line in untracked if line]
    if untracked:
        raise InputError(
            f"service '{source.name}' has files under k8s/ that git does not track "
            f"({', '.join(untracked[:3])})",
            hint="commit them or remove them: a deploy ships committed work only",
        )
    _check_local(source.overlay(environment), root, set())


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
            manifests = kustomize(wrapper, kubectl=kubectl, env=env)
        except KustomizeFailed as exc:
            raise PavedError(
                f"kubectl kustomize k8s/overlays/{environment} failed ({exc.reason})",
                hint="fix the overlay; 'kubectl kustomize' in the service shows the full error",
            ) from None
    if f"image: {image}\n" not in manifests:
        raise PavedError(
            f"k8s/overlays/{environment} sets no image named {name}: --image cannot be set",
            hint=f"add an images: entry named {name} to the overlay",
        )
    return manifests
