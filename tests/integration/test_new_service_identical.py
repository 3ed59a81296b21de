"""``paved new service`` writes the same bytes as plain ``copier copy`` of each layer.

paved renders with copier, but keeps the code Jinja compiles from the templates on disk for
the commands that follow (decision 0011) and renders the layers in two processes (decision
0005). Neither may change a byte: each service here is compared, file by file and with its
executable bits, with both layers rendered by plain ``copier copy`` from the same template
store, at the versions and with the answers the service's answers files record. The second
service is rendered from the code the first one kept.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from paved.scaffold.registry import ScaffoldRegistry, bundled_root
from paved.scaffold.store import STABLE_URL_PREFIX
from tests.helpers import run_paved, tree_files

pytestmark = pytest.mark.slow

LAYERS = ("service-python", "paved-road")


def modes(root: Path) -> dict[str, bool]:
    """Whether each file under ``root`` (outside .git) is executable."""
    return {
        p.relative_to(root).as_posix(): os.access(p, os.X_OK)
        for p in sorted(root.rglob("*"))
        if p.is_file() and ".git" not in p.relative_to(root).parts
    }


def copier_copy_like(service: Path, destination: Path, home: Path, cache: Path) -> None:
    """Both layers of ``service`` rendered again by plain ``copier copy`` into ``destination``,
    from the source, version and answers each layer's answers file records."""
    registry = ScaffoldRegistry(bundled_root())
    env = {
        **os.environ,
        "COPIER_CACHE_DIR": str(cache),
        # the stable URL the answers record, mapped to this machine's store (decision 0002)
        "GIT_CONFIG_COUNT": "1",
        "GIT_CONFIG_KEY_0": f"url.{(home / 'data' / 'templates').as_posix()}/.insteadOf",
        "GIT_CONFIG_VALUE_0": STABLE_URL_PREFIX,
    }
    for layer in LAYERS:
        recorded = yaml.safe_load((service / registry.get(layer).answers_file).read_text())
        assert recorded["_src_path"].startswith(STABLE_URL_PREFIX)
        data = destination.parent / f"{destination.name}-{layer}.yml"
        data.write_text(
            yaml.safe_dump({k: v for k, v in recorded.items() if not k.startswith("_")}),
            encoding="utf-8",
        )
        subprocess.run(
            [
                sys.executable, "-m", "copier", "copy", "--quiet", "--defaults",
                "--data-file", str(data), "--vcs-ref", str(recorded["_commit"]),
                recorded["_src_path"], str(destination),
            ],
            check=True, capture_output=True, text=True, env=env,
        )  # fmt: skip


def test_new_service_writes_what_plain_copier_copy_writes(pinned_env: Path) -> None:
    home = pinned_env / "paved-home"
    code_cache = home / "cache" / "copier" / "jinja-code"
    for name in ("payments", "ledger"):  # the second renders from the code the first kept
        result = run_paved(
            "new", "service", name, "--owner", "team-a", "--description", "Takes money.",
            cwd=pinned_env,
        )  # fmt: skip
        assert result.returncode == 0, result.stderr
        assert any(p.is_file() for p in code_cache.rglob("*"))
        service = pinned_env / name
        by_hand = pinned_env / f"{name}-by-copier"
        copier_copy_like(service, by_hand, home, pinned_env / "copier-cache")
        paved_files, copier_files = tree_files(service), tree_files(by_hand)
        assert sorted(paved_files) == sorted(copier_files)
        for path, content in copier_files.items():
            assert paved_files[path] == content, path
        assert modes(service) == modes(by_hand)


def test_a_damaged_code_cache_is_compiled_again(pinned_env: Path) -> None:
    """A file of the code cache that cannot be read (cut short, not code) costs a compile,
    never a wrong render or an error."""
    home = pinned_env / "paved-home"
    first = run_paved("new", "service", "payments", "--owner", "team-a", cwd=pinned_env)
    assert first.returncode == 0, first.stderr
    kept = sorted(p for p in (home / "cache" / "copier" / "jinja-code").rglob("*") if p.is_file())
    assert kept
    for index, path in enumerate(kept):
        path.write_bytes(b"" if index % 2 else path.read_bytes()[:7])
    second = run_paved("new", "service", "ledger", "--owner", "team-a", cwd=pinned_env)
    assert second.returncode == 0, second.stderr
    by_hand = pinned_env / "ledger-by-copier"
    copier_copy_like(pinned_env / "ledger", by_hand, home, pinned_env / "copier-cache")
    assert tree_files(pinned_env / "ledger") == tree_files(by_hand)
