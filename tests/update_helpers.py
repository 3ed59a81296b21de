"""Real road releases for the update tests and benchmark: 0.1.0 as the road is bundled, 0.2.0
with a security fix, 0.3.0 with a moved file; and a service made at 0.1.0.

Each release is a scaffolds folder of its own (both scaffolds, the road at that version), put
into the template store the way paved stores a bundled scaffold. Every edit a release makes
is checked to have happened, so a change to the road's files fails here, loudly, rather than
leaving a release that changes nothing.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path

from paved.cli.runtime import Runtime
from paved.scaffold.registry import bundled_root

ROAD = "paved-road"
GITHUB_CI = "{% if ci_provider == 'github' %}.github{% endif %}/workflows/ci.yml.jinja"
OLD_CHECKOUT = "actions/checkout@08c6903cd8c0fde910a37f88322edcfb5dd907a8 # v5.0.0"
NEW_CHECKOUT = "actions/checkout@1af3b93b6815bc44a9784bd300feb67ff0d1eeb3 # v5.0.1"
OLD_CIDR = "cidr: 10.0.0.0/8"
NEW_CIDR = "cidr: 10.0.0.0/16"
PDB = "k8s/base/poddisruptionbudget.yaml"
MOVED_PDB = "k8s/base/policy/poddisruptionbudget.yaml"
LIMITS = "k8s/base/limitrange.yaml"
SECURITY_OLD = "## Reporting a vulnerability"
SECURITY_NEW = "## Reporting a vulnerability (within one working day)"


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, f"{old!r} is no longer in {path}: the test releases need updating"
    path.write_text(text.replace(old, new), encoding="utf-8")


def _version(road: Path, version: str) -> None:
    meta = road / "scaffold.yml"
    lines = meta.read_text(encoding="utf-8").splitlines()
    assert any(line.startswith("version: ") for line in lines)
    meta.write_text(
        "\n".join(f"version: {version}" if line.startswith("version: ") else line for line in lines)
        + "\n",
        encoding="utf-8",
    )


def release_0_2_0(road: Path) -> None:
    """A security fix: a tightened NetworkPolicy, a bumped action SHA, a new required file;
    and a file the road no longer ships."""
    template = road / "template"
    _edit(template / "k8s/base/networkpolicy.yaml.jinja", OLD_CIDR, NEW_CIDR)
    _edit(template / GITHUB_CI, OLD_CHECKOUT, NEW_CHECKOUT)
    _edit(
        template / "k8s/base/kustomization.yaml.jinja",
        "  - networkpolicy.yaml\n",
        "  - networkpolicy.yaml\n  - limitrange.yaml\n",
    )
    (template / f"{LIMITS}.jinja").write_text(
        "# Every container gets limits, even one whose manifest forgets them.\n"
        'apiVersion: v1\nkind: LimitRange\nmetadata:\n  name: "{{ service_name }}"\n'
        "spec:\n  limits:\n    - type: Container\n      default:\n        memory: 256Mi\n",
        encoding="utf-8",
    )
    _edit(template / "SECURITY.md.jinja", SECURITY_OLD, SECURITY_NEW)
    (template / ".yamllint.yml").unlink()
    _version(road, "0.2.0")


def release_0_3_0(road: Path) -> None:
    """A file moved (declared in scaffold.yml, so local edits follow it)."""
    template = road / "template"
    (template / "k8s/base/policy").mkdir()
    (template / f"{PDB}.jinja").rename(template / f"{MOVED_PDB}.jinja")
    _edit(
        template / "k8s/base/kustomization.yaml.jinja",
        "  - poddisruptionbudget.yaml\n",
        "  - policy/poddisruptionbudget.yaml\n",
    )
    with (road / "scaffold.yml").open("a", encoding="utf-8") as handle:
        handle.write(f"moved:\n  - version: 0.3.0\n    from: {PDB}\n    to: {MOVED_PDB}\n")
    _version(road, "0.3.0")


RELEASES: dict[str, Callable[[Path], None]] = {
    "0.2.0": release_0_2_0,
    "0.3.0": release_0_3_0,
}


def build_releases(folder: Path) -> dict[str, Path]:
    """Scaffolds folders for road 0.1.0, 0.2.0 and 0.3.0, each release built on the one
    before; returns {version: folder}."""
    roots = {}
    previous: Path | None = None
    for version in ("0.1.0", *RELEASES):
        root = folder / f"scaffolds-{version}"
        if previous is None:
            root.mkdir(parents=True)
            for name in ("paved-road", "service-python"):
                shutil.copytree(bundled_root() / name, root / name)
            _version(root / ROAD, "0.1.0")
        else:
            shutil.copytree(previous, root)
            RELEASES[version](root / ROAD)
        roots[version] = root
        previous = root
    return roots


def runtime_at(root: Path) -> Runtime:
    """A runtime whose bundled scaffolds are those in ``root``."""
    runtime = Runtime.from_process()
    runtime.scaffolds_root = root
    return runtime


def store_releases(roots: dict[str, Path]) -> None:
    """Put every release into this environment's template store (as paved stores one)."""
    for root in roots.values():
        runtime = runtime_at(root)
        for scaffold in runtime.registry.all():
            runtime.store.ensure(scaffold)


def git(root: Path, *args: str) -> str:
    done = subprocess.run(["git", *args], cwd=root, capture_output=True, text=True, check=True)
    return done.stdout


def snapshot(root: Path, *, raw_index: bool = False) -> dict[str, bytes]:
    """HEAD, the index and every file of the work tree (the .git folder's objects aside).

    The index is its entries (mode, blob, stage and path of each), or with ``raw_index`` the
    file byte for byte, the times git caches in it included.
    """
    index = (
        (root / ".git/index").read_bytes()
        if raw_index
        else git(root, "ls-files", "--stage").encode()
    )
    state = {
        ":HEAD": git(root, "rev-parse", "HEAD").encode(),
        ":index": index,
        ":status": git(
            root, "--no-optional-locks", "status", "--porcelain=v1", "--untracked-files=all"
        ).encode(),
    }
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root).as_posix()
        if rel == ".git" or rel.startswith(".git/"):
            continue
        state[rel] = path.read_bytes() if path.is_file() else b"<dir>"
    return state


#: paved's console script with the bundled scaffolds read from argv[1], for a test or a
#: benchmark that runs paved as its own process (the CLI has no option for that folder).
LAUNCHER = """\
import sys
from pathlib import Path

from paved.cli.app import main
from paved.cli.runtime import Runtime

runtime = Runtime.from_process()
runtime.scaffolds_root = Path(sys.argv[1])
main(sys.argv[2:], obj=runtime)
"""


def write_launcher(folder: Path) -> Path:
    """The launcher in a folder of its own (argv[0]'s folder is put on sys.path)."""
    folder.mkdir(parents=True, exist_ok=True)
    launcher = folder / "paved-at.py"
    launcher.write_text(LAUNCHER, encoding="utf-8")
    return launcher


@contextlib.contextmanager
def environ(values: Mapping[str, str]) -> Iterator[None]:
    """``os.environ`` updated with ``values`` for the block."""
    saved = {key: os.environ.get(key) for key in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, old in saved.items():
            if old is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = old
