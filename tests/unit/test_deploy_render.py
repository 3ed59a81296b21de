"""The render sets the image in the gate's build exactly as kustomize's image transformer would,
byte for byte, checked against the real kubectl; where it cannot be sure, it says so (None) and
the render runs kustomize itself."""

from __future__ import annotations

import os
import shutil
import subprocess
import textwrap
from pathlib import Path

import pytest

from paved.deploy import ImageRef, parse_image
from paved.deploy._render import set_image

pytestmark = pytest.mark.skipif(shutil.which("kubectl") is None, reason="kubectl is not installed")

NAME = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/app"
DIGEST = "sha256:" + "ab" * 32
OLD_DIGEST = "sha256:" + "0" * 64
IMAGES = {
    "by digest": parse_image(f"registry.example.com/team/app@{DIGEST}"),
    "by tag": parse_image("registry.example.com/team/app:1.4.2"),
    "tag and digest": parse_image(f"registry.example.com:5000/team/app:1.4.2@{DIGEST}"),
}


def deployment(*containers: str, kind: str = "Deployment", field: str = "containers") -> str:
    body = textwrap.indent("\n".join(containers), " " * 8)
    return (
        f"apiVersion: apps/v1\nkind: {kind}\nmetadata:\n  name: app\nspec:\n  template:\n"
        f"    spec:\n      {field}:\n{body}\n"
    )


def container(name: str, image: str | None) -> str:
    return f"- name: {name}\n" + (f"  image: {image}\n" if image is not None else "  args: [x]\n")


CRONJOB = f"""\
apiVersion: batch/v1
kind: CronJob
metadata: {{name: job}}
spec:
  schedule: "0 * * * *"
  jobTemplate:
    spec:
      template:
        spec:
          initContainers:
            - {{name: migrate, image: "{NAME}:7"}}
          containers:
            - {{name: run, image: {NAME}@{OLD_DIGEST}}}
            - {{name: other, image: docker.io/library/busybox:1.36}}
"""
CUSTOM = f"""\
apiVersion: example.com/v1
kind: Thing
metadata: {{name: thing}}
spec:
  deep:
    list:
      - containers:
          - {{name: x, image: {NAME}}}
"""

#: label -> (resources, can paved set the image itself?)
CASES: dict[str, tuple[list[str], bool]] = {
    "a deployment by digest": ([deployment(container("app", f"{NAME}@{OLD_DIGEST}"))], True),
    "a deployment by tag": ([deployment(container("app", f"{NAME}:1.0"))], True),
    "a bare name": ([deployment(container("app", NAME))], True),
    "init containers and a cron job, quoted in the source": (
        [deployment(container("app", f"{NAME}:1"), field="initContainers"), CRONJOB],
        True,
    ),
    "containers deep in a custom resource": ([CUSTOM], True),
    "two containers, one of another image": (
        [
            deployment(
                container("app", f"{NAME}@{OLD_DIGEST}"),
                container("proxy", "docker.io/envoyproxy/envoy:v1.30.1"),
            )
        ],
        True,
    ),
    "a statefulset and a daemonset": (
        [
            deployment(container("a", f"{NAME}:2"), kind="StatefulSet"),
            deployment(container("b", f"{NAME}:3"), kind="DaemonSet").replace(
                "name: app\n", "name: app2\n", 1
            ),
        ],
        True,
    ),
    # Where paved leaves it to kustomize:
    "the name in an annotation": (
        [
            deployment(container("app", f"{NAME}:1")).replace(
                "  name: app\n", f"  name: app\n  annotations:\n    built-from: {NAME}:1\n", 1
            )
        ],
        False,
    ),
    "a longer image name": (
        [deployment(container("app", f"{NAME}:1"), container("side", f"{NAME}-sidecar:1"))],
        False,
    ),
    "a name kustomize's pattern would take": (
        [
            deployment(
                container("app", f"{NAME}:1"), container("x", f"{NAME.replace('.', 'X', 1)}:1")
            )
        ],
        False,
    ),
    "a container without an image": (
        [deployment(container("app", f"{NAME}:1"), container("bare", None))],
        False,
    ),
    "an ephemeral container": (
        [deployment(container("app", f"{NAME}:1"), field="ephemeralContainers")],
        False,
    ),
    "a tag and a digest already": ([deployment(container("app", f"{NAME}:1@{DIGEST}"))], False),
    "no container of that name": ([deployment(container("app", "docker.io/x/y:1"))], False),
}


def kustomize(folder: Path) -> str:
    return subprocess.run(
        ["kubectl", "kustomize", str(folder)],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "KUBECONFIG": os.devnull},
    ).stdout


def overlay(root: Path, resources: list[str]) -> Path:
    folder = root / "overlay"
    folder.mkdir(parents=True)
    names = []
    for number, text in enumerate(resources):
        (folder / f"r{number}.yaml").write_text(text, encoding="utf-8")
        names.append(f"r{number}.yaml")
    (folder / "kustomization.yaml").write_text(
        "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\n"
        f"resources: [{', '.join(names)}]\n",
        encoding="utf-8",
    )
    return folder


def with_image(root: Path, folder: Path, image: ImageRef) -> str:
    """What ``paved deploy`` renders through kustomize: the overlay, ``images:`` set."""
    wrapper = root / "wrapper"
    wrapper.mkdir(exist_ok=True)
    entry = f"  - name: {NAME}\n    newName: {image.name}\n"
    entry += f"    newTag: {image.tag}\n" if image.tag else ""
    entry += f"    digest: {image.digest}\n" if image.digest else ""
    (wrapper / "kustomization.yaml").write_text(
        "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\n"
        f"resources: [{os.path.relpath(folder, wrapper)}]\nimages:\n{entry}",
        encoding="utf-8",
    )
    return kustomize(wrapper)


@pytest.mark.slow
@pytest.mark.parametrize("label", sorted(CASES))
@pytest.mark.parametrize("ref", sorted(IMAGES))
def test_the_image_is_set_as_kustomize_sets_it(tmp_path: Path, label: str, ref: str) -> None:
    resources, exact = CASES[label]
    folder = overlay(tmp_path, resources)
    built = kustomize(folder)
    ours = set_image(built, NAME, IMAGES[ref])
    if not exact:
        assert ours is None
        return
    assert ours is not None
    assert ours == with_image(tmp_path, folder, IMAGES[ref])
    assert f"image: {IMAGES[ref]}\n" in ours


def test_text_that_is_not_plain_yaml_is_left_to_kustomize() -> None:
    image = IMAGES["by digest"]
    assert set_image("a: [\n", NAME, image) is None
    anchored = f"a: &x\n  containers:\n  - image: {NAME}:1\nb: *x\n"
    assert set_image(anchored, NAME, image) is None
    assert set_image(f"containers:\n- image: {NAME}:1\n", "reg/(a|b)", image) is None
    assert set_image(f"containers:\n- image: {NAME}:1  \n", NAME, image) is None
