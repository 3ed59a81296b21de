"""Render an environment's overlay with the image set, through ``kubectl kustomize``.

The image is set by kustomize's own image transformer: a one-file kustomization in a temporary
folder takes the overlay as its resource and sets ``images:`` (what ``kustomize edit set image``
would write in a copy of the overlay). The service's files are never touched, and the output
is exactly ``kubectl kustomize k8s/overlays/ENV`` with the container image replaced.

The gate has built the same overlay a moment before (every guardrail reads what each overlay
deploys), so a deploy hands that build to :func:`render`, which then sets the image the way
kustomize's transformer does (:func:`set_image`) instead of running kustomize a second time:
one build of the overlay per deploy, checked by the gate, rendered, diffed and applied. Where
the build holds anything that transform is not known to treat exactly that way, the image is
set by kustomize itself, as before.
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

__all__ = ["KubectlMissing", "find_kubectl", "render", "set_image"]


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
    built: str | None = None,
) -> str:
    """The manifests of ``environment`` with ``image``, as ``kubectl kustomize`` prints them.

    ``built``: what ``kubectl kustomize k8s/overlays/ENVIRONMENT`` printed in this run (the
    gate's build); the image is then set in it without building the overlay again, whenever
    :func:`set_image` can do exactly what kustomize would.
    """
    overlay = source.overlay(environment)
    if not (overlay / "kustomization.yaml").is_file():
        raise InputError(
            f"service '{source.name}' has no overlay for environment '{environment}' "
            f"(k8s/overlays/{environment}/kustomization.yaml)",
            hint="deploy to an environment the service was made for: "
            + (", ".join(source.environments) or "none"),
        )
    name = _image_name(overlay, source)
    manifests = set_image(built, name, image) if built is not None else None
    if manifests is None:
        manifests = _kustomize_with_image(overlay, environment, name, image, kubectl, env)
    if f"image: {image}\n" not in manifests:
        raise PavedError(
            f"k8s/overlays/{environment} sets no image named {name}: --image cannot be set",
            hint=f"add an images: entry named {name} to the overlay",
        )
    return manifests


def _kustomize_with_image(
    overlay: Path,
    environment: str,
    name: str,
    image: ImageRef,
    kubectl: str,
    env: Mapping[str, str],
) -> str:
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
            return kustomize(wrapper, kubectl=kubectl, env=env)
        except KustomizeFailed as exc:
            raise PavedError(
                f"kubectl kustomize k8s/overlays/{environment} failed ({exc.reason})",
                hint="fix the overlay; 'kubectl kustomize' in the service shows the full error",
            ) from None


# -- kustomize's image transform, where it is known exactly ---------------------------------

#: A manifests text paved sets the image in itself at most this long (else kustomize does).
_MAX_MANIFESTS = 4 << 20
#: The fields kustomize's image transformer looks in, in any mapping at any depth.
_CONTAINER_FIELDS = ("containers", "initContainers")
_TAG = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}")
_DIGEST = re.compile(r"sha256:[a-f0-9]{64}")
_PLAIN_IMAGE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._/:@-]*")
_PLAIN_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._/:-]*")


def set_image(manifests: str, name: str, image: ImageRef) -> str | None:
    """``manifests`` with every container image named ``name`` set to ``image``, byte for byte
    what kustomize's image transformer (``images:`` with ``newName``, ``newTag``, ``digest``)
    would print; ``None`` when the text holds anything it is not known to treat that way.

    kustomize replaces the ``image`` of each entry of a ``containers`` or ``initContainers``
    list found in any mapping, at any depth, whose value is the name alone, the name with a
    tag, or the name with a digest; the new value is the new name with the new tag and digest
    (``str(image)``). This is done only where that is unambiguous: the name appears nowhere
    else in the text (an annotation, an environment variable, an ``ephemeralContainers``
    entry, a longer name), every matching value is written plain on a line of its own, and no
    container image would match the name read as kustomize's pattern without matching it as
    text. Anything else is left to kustomize (``None``).
    """
    new = str(image)
    if len(manifests) > _MAX_MANIFESTS or not _PLAIN_IMAGE.fullmatch(new):
        return None
    if not _PLAIN_NAME.fullmatch(name):
        return None  # kustomize reads the name as a pattern: only plain names are read here
    images = _container_images(manifests)
    if images is None:
        return None
    # kustomize matches a value against "^" + name + a tag or digest pattern, its dots
    # matching any character: a value that pattern might take, and the text does not, is
    # kustomize's to decide
    loose = re.compile("^" + re.escape(name).replace(r"\.", ".") + r"[:@]?")
    lines = manifests.split("\n")
    matched: dict[int, str] = {}
    for line, value, plain in images:
        if _exact_match(value, name):
            if not plain or line in matched:
                return None
            matched[line] = value
        elif loose.match(value):
            return None
    if not matched:
        return None
    if any(name in text for at, text in enumerate(lines) if at not in matched):
        return None
    for at, value in matched.items():
        text = lines[at]
        indent = len(text) - len(text.lstrip(" "))
        body = text[indent:]
        prefix = "- image: " if body.startswith("- ") else "image: "
        if body != prefix + value:
            return None
        lines[at] = text[:indent] + prefix + new
    return "\n".join(lines)


def _exact_match(value: str, name: str) -> bool:
    """Is ``value`` the image ``name`` alone, with one tag, or with one digest?"""
    if value == name:
        return True
    rest = value[len(name) :] if value.startswith(name) else ""
    if rest.startswith(":"):
        return bool(_TAG.fullmatch(rest[1:]))
    if rest.startswith("@"):
        return bool(_DIGEST.fullmatch(rest[1:]))
    return False


def _container_images(manifests: str) -> list[tuple[int, str, bool]] | None:
    """(line, value, written plain) of each container's image in ``manifests``; ``None`` when
    the text does not read as YAML or a container has no image written as text."""
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    try:
        documents = list(yaml.compose_all(manifests, Loader=loader))
    except yaml.YAMLError:
        return None
    found: list[tuple[int, str, bool]] = []
    seen: set[int] = set()
    stack: list[yaml.Node] = [d for d in documents if d is not None]
    while stack:
        node = stack.pop()
        if id(node) in seen:
            return None  # an alias: kustomize never prints one
        seen.add(id(node))
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                if isinstance(key, yaml.ScalarNode) and key.value in _CONTAINER_FIELDS:
                    if not isinstance(value, yaml.SequenceNode):
                        return None
                    for container in value.value:
                        image = _field(container, "image")
                        if not isinstance(image, yaml.ScalarNode):
                            return None
                        plain = not image.style and image.tag.endswith(":str")
                        found.append((image.start_mark.line, image.value, plain))
                stack.append(value)
        elif isinstance(node, yaml.SequenceNode):
            stack.extend(node.value)
    return found


def _field(node: yaml.Node, name: str) -> yaml.Node | None:
    if not isinstance(node, yaml.MappingNode):
        return None
    return next(
        (v for k, v in node.value if isinstance(k, yaml.ScalarNode) and k.value == name), None
    )
