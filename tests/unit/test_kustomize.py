"""``kubectl kustomize`` under limits (memory, time, output), against fakes and the real kubectl."""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

import pytest

from paved.kustomize import MIB, KustomizeFailed, Limits, kustomize

BOMB_LEVELS = 10


def fake_kubectl(tmp_path: Path, body: str) -> str:
    """An executable standing in for kubectl: a shell script with ``body``."""
    path = tmp_path / "bin" / "kubectl"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("#!/bin/sh\n" + body)
    path.chmod(0o755)
    return str(path)


def running(pid: int) -> bool:
    """Is ``pid`` alive? A killed orphan may stay a zombie until init reaps it: not running."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    stat = Path(f"/proc/{pid}/stat")
    try:
        return stat.read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return True


def alias_bomb(name: str = "lol") -> str:
    """A ConfigMap whose annotations are a "billion laughs": 10**10 strings once expanded."""
    lines = ["apiVersion: v1", "kind: ConfigMap", "metadata:", f"  name: {name}", "  annotations:"]
    lines.append("    a0: &a0 [" + ",".join(['"lol"'] * 10) + "]")
    for level in range(1, BOMB_LEVELS):
        lines.append(f"    a{level}: &a{level} [" + ",".join([f"*a{level - 1}"] * 10) + "]")
    return "\n".join(lines) + "\n"


def bomb_overlay(root: Path) -> Path:
    overlay = root / "k8s" / "overlays" / "dev"
    overlay.mkdir(parents=True)
    (overlay / "bomb.yaml").write_text(alias_bomb())
    (overlay / "kustomization.yaml").write_text(
        "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources: [bomb.yaml]\n"
    )
    return overlay


def test_it_runs_without_cluster_configuration_and_with_the_limits_set_in_the_child(
    tmp_path: Path,
) -> None:
    kubectl = fake_kubectl(
        tmp_path,
        'echo "args=$*"; echo "KUBECONFIG=$KUBECONFIG"; echo "GOMEMLIMIT=$GOMEMLIMIT"\n'
        'echo "data=$(ulimit -d)"; echo "fsize=$(ulimit -f)"\n',
    )
    out = kustomize(
        tmp_path / "overlay",
        kubectl=kubectl,
        env={"PATH": os.defpath, "KUBECONFIG": "/home/dev/.kube/config"},
        limits=Limits(memory=512 * MIB, output=8 * MIB),
    )
    assert out.splitlines() == [
        f"args=kustomize {tmp_path / 'overlay'}",
        f"KUBECONFIG={os.devnull}",
        "GOMEMLIMIT=384MiB",
        f"data={512 * 1024}",  # ulimit reports KiB
        f"fsize={8 * 1024 * 2}",  # ... and 512-byte blocks for files
    ]


def test_an_overlay_that_takes_too_long_is_stopped_with_everything_it_started(
    tmp_path: Path,
) -> None:
    pids = tmp_path / "pids"
    kubectl = fake_kubectl(tmp_path, f"sleep 300 &\necho $! > {pids}\nwait\n")
    started = time.monotonic()
    with pytest.raises(KustomizeFailed) as caught:
        kustomize(tmp_path, kubectl=kubectl, env={"PATH": os.defpath}, limits=Limits(timeout=1))
    assert time.monotonic() - started < 120  # stopped after 1 s, not after the 300 s sleep
    assert caught.value.reason == "took longer than 1 s"
    assert str(caught.value) == f"kubectl kustomize {tmp_path} failed (took longer than 1 s)"
    sleeper = int(pids.read_text())
    deadline = time.monotonic() + 120
    while running(sleeper):
        if time.monotonic() > deadline:
            pytest.fail("the child of the timed-out kubectl is still running")
        time.sleep(0.1)


def test_output_over_the_limit_is_refused(tmp_path: Path) -> None:
    kubectl = fake_kubectl(tmp_path, "head -c 3000000 /dev/zero\n")
    with pytest.raises(KustomizeFailed, match=r"printed more than the output limit of 1 MiB"):
        kustomize(tmp_path, kubectl=kubectl, env={"PATH": os.defpath}, limits=Limits(output=MIB))


def test_a_failing_build_gives_its_last_error_line_escaped(tmp_path: Path) -> None:
    kubectl = fake_kubectl(
        tmp_path, "echo 'some detail' >&2\nprintf 'bad \\033[31mthing\\n' >&2\nexit 1\n"
    )
    with pytest.raises(KustomizeFailed) as caught:
        kustomize(tmp_path, kubectl=kubectl, env={"PATH": os.defpath})
    assert caught.value.reason == "bad \\u001b[31mthing"


def test_an_out_of_memory_go_runtime_is_named(tmp_path: Path) -> None:
    kubectl = fake_kubectl(
        tmp_path, "echo 'fatal error: runtime: out of memory' >&2\necho 'goroutine 1' >&2\nexit 2\n"
    )
    with pytest.raises(KustomizeFailed, match=r"\(exceeded the memory limit of 1024 MiB\)$"):
        kustomize(tmp_path, kubectl=kubectl, env={"PATH": os.defpath})


def test_a_kubectl_that_cannot_start_is_a_one_line_failure(tmp_path: Path) -> None:
    with pytest.raises(KustomizeFailed, match="cannot run"):
        kustomize(tmp_path, kubectl=str(tmp_path / "nowhere"), env={})


needs_kubectl = pytest.mark.skipif(
    shutil.which("kubectl") is None, reason="kubectl is not installed"
)


@needs_kubectl
@pytest.mark.slow
def test_a_real_alias_bomb_stops_at_the_memory_limit(tmp_path: Path) -> None:
    overlay = bomb_overlay(tmp_path)
    kubectl = shutil.which("kubectl")
    assert kubectl is not None
    started = time.monotonic()
    with pytest.raises(KustomizeFailed) as caught:
        kustomize(overlay, kubectl=kubectl, env=os.environ)
    assert caught.value.reason == "exceeded the memory limit of 1024 MiB"
    assert time.monotonic() - started < 100


@needs_kubectl
def test_a_normal_overlay_builds_well_under_the_limits(tmp_path: Path) -> None:
    overlay = tmp_path / "k8s"
    overlay.mkdir()
    (overlay / "cm.yaml").write_text("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: cm}\n")
    (overlay / "kustomization.yaml").write_text("resources: [cm.yaml]\n")
    kubectl = shutil.which("kubectl")
    assert kubectl is not None
    out = kustomize(overlay, kubectl=kubectl, env=os.environ, limits=Limits(memory=256 * MIB))
    assert "name: cm" in out
