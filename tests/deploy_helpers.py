"""Helpers the deploy tests share: services, the environment repository, a fake kubectl."""

from __future__ import annotations

import atexit
import contextlib
import json
import os
import shutil
import sqlite3
import subprocess
import tempfile
import textwrap
from pathlib import Path
from typing import Any

import jsonschema

from paved.cli.runtime import Runtime
from paved.config import Paths, load_settings
from paved.deploy import DeployDeps
from tests.helpers import REPO_ROOT, git

DIGEST_1 = "sha256:" + "1" * 64
DIGEST_2 = "sha256:" + "2" * 64
DEFAULT_IMAGE = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/{name}@sha256:" + "0" * 64
SCHEMAS = REPO_ROOT / "docs" / "schemas"
DEPLOY_SCHEMA = json.loads((SCHEMAS / "deploy.schema.json").read_text())
DEPLOYMENTS_SCHEMA = json.loads((SCHEMAS / "deployments.schema.json").read_text())
REAL_KUBECTL = shutil.which("kubectl")


def image(name: str, digest: str = DIGEST_1) -> str:
    return f"registry.example.com/team/{name}@{digest}"


#: Services rendered this session: (name, arguments, settings) -> (snapshot, its root).
_RENDERED: dict[tuple[str, ...], tuple[Path, Path]] = {}
_SNAPSHOTS = Path(tempfile.mkdtemp(prefix="paved-rendered-"))
atexit.register(shutil.rmtree, _SNAPSHOTS, True)


def make_service(paved: Any, root: Path, name: str, *args: str) -> Path:
    """``paved new service NAME --owner team-a ARGS`` in ``root``, registered and pushed.

    The first service of a test is rendered for real once per session (per name, arguments
    and ``PAVED_*`` settings) and copied after: the service, and the home with its catalog
    entry and bare remote, moved to this test's folder (the only two places that name the
    folder are the remote's URL and the catalog's repository). Anything else renders anew.
    """
    home = root / "paved-home"
    settings = sorted(f"{k}={v}" for k, v in os.environ.items() if k.startswith("PAVED_"))
    key = (name, *args, *(s for s in settings if not s.startswith("PAVED_HOME=")))
    first = not home.exists() and not (root / name).exists()
    if first and key in _RENDERED:
        snapshot, rendered_in = _RENDERED[key]
        for part in ("paved-home", name):
            shutil.copytree(snapshot / part, root / part, symlinks=True)
        _move(root / name, home, str(rendered_in), str(root))
        return root / name
    done = paved("new", "service", name, "--owner", "team-a", *args)
    assert done.exit_code == 0, done.stderr
    if first:
        snapshot = _SNAPSHOTS / str(len(_RENDERED))
        for part in ("paved-home", name):
            shutil.copytree(root / part, snapshot / part, symlinks=True)
        _RENDERED[key] = (snapshot, root)
    return root / name


def _move(service: Path, home: Path, old: str, new: str) -> None:
    url = git("remote", "get-url", "origin", cwd=service)
    git("remote", "set-url", "origin", url.replace(old, new), cwd=service)
    with contextlib.closing(sqlite3.connect(home / "data" / "catalog.db")) as db, db:
        db.execute("UPDATE services SET repository = replace(repository, ?, ?)", (old, new))


def env_repo(root: Path) -> Path:
    return root / "paved-home" / "data" / "environments.git"


def show(repo: Path, revision: str, path: str) -> bytes:
    """A file's exact bytes at ``revision`` of a (bare) repository."""
    return subprocess.run(
        ["git", "--git-dir", str(repo), "show", f"{revision}:{path}"],
        capture_output=True,
        check=True,
    ).stdout


def rendered(service: Path, env: str, ref: str) -> bytes:
    """``kubectl kustomize k8s/overlays/ENV`` as a person runs it, with the image replaced."""
    assert REAL_KUBECTL is not None
    out = subprocess.run(
        [REAL_KUBECTL, "kustomize", str(service / "k8s" / "overlays" / env)],
        capture_output=True,
        check=True,
        env={**os.environ, "KUBECONFIG": os.devnull},
    ).stdout
    default = DEFAULT_IMAGE.format(name=service.name).encode()
    assert out.count(default) == 1
    return out.replace(default, ref.encode())


def records(paved: Any, *args: str) -> list[dict[str, Any]]:
    done = paved("deployments", "list", "--json", *args)
    assert done.exit_code == 0, done.stderr
    data = json.loads(done.stdout)
    jsonschema.validate(data, DEPLOYMENTS_SCHEMA)
    return list(data["deployments"])


def break_guardrail(service: Path) -> None:
    """Make the service run privileged (a guardrail error), committed."""
    deployment = service / "k8s" / "base" / "deployment.yaml"
    text = deployment.read_text()
    assert "privileged: false" in text
    deployment.write_text(text.replace("privileged: false", "privileged: true"))
    git("commit", "--quiet", "-am", "Run privileged", cwd=service)


def repo_state(repo: Path) -> str:
    """Every ref and its commit: to show that nothing was pushed."""
    if not repo.exists():
        return "absent"
    return git("--git-dir", str(repo), "for-each-ref", "--format=%(refname) %(objectname)")


def fake_kubectl(folder: Path, *, fail: str = "") -> Path:
    """A kubectl that records every call; ``kustomize`` runs the real one. Returns its log."""
    assert REAL_KUBECTL is not None
    folder.mkdir(parents=True, exist_ok=True)
    log = folder / "calls.log"
    script = folder / "kubectl"
    script.write_text(
        textwrap.dedent(
            f"""\
            #!/bin/sh
            if [ "$1" = kustomize ]; then exec {REAL_KUBECTL} "$@"; fi
            printf '%s\\n' "$*" >> {log}
            if [ "$1" = apply ]; then cat > {folder}/applied.yaml; fi
            if [ -n "{fail}" ] && [ "$1" = "{fail}" ]; then
              echo "error: {fail} timed out waiting for the condition" >&2; exit 1
            fi
            exit 0
            """
        )
    )
    script.chmod(0o755)
    return log


def deploy_deps(pinned_env: Path, **extra: object) -> DeployDeps:
    """What ``paved deploy`` works with, built from the pinned environment, for in-process runs."""
    runtime = Runtime.from_process()
    paths = Paths.from_env(runtime.env, runtime.home)
    fields: dict[str, Any] = {
        "settings": load_settings(paths, runtime.env),
        "data_dir": paths.data_dir,
        "catalog": runtime.catalog,
        "clock": runtime.clock,
        "env": runtime.env,
    }
    return DeployDeps(**(fields | extra))
