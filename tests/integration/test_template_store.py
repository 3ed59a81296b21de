"""The template store holds every shipped release of a scaffold, so an old version renders.

Real git, real copier, and a scaffold root of the test's own: ``service-python`` released at
0.1.0, then changed and released at 0.2.0, with the folder at 0.2.0.
"""

from __future__ import annotations

import hashlib
import os
import shutil
from pathlib import Path

import pytest
import yaml

from paved.config import Paths
from paved.scaffold.engine import render
from paved.scaffold.registry import Scaffold, ScaffoldRegistry
from paved.scaffold.releases import add_release, bundle_path, released
from paved.scaffold.store import TemplateSource, TemplateStore
from tests.helpers import SCAFFOLDS, git

NAME = "service-python"
CHANGE = "# changed in 0.2.0\n"


def change(root: Path, version: str, line: str = CHANGE) -> None:
    """Edit the scaffold under ``root`` and set its version."""
    folder = root / NAME
    with (folder / "template" / "pyproject.toml.jinja").open("a", encoding="utf-8") as f:
        f.write(line)
    meta = folder / "scaffold.yml"
    text = meta.read_text(encoding="utf-8")
    current = yaml.safe_load(text)["version"]
    meta.write_text(text.replace(f"version: {current}", f"version: {version}"), encoding="utf-8")


def copy_scaffold(root: Path) -> None:
    """The bundled scaffold, at 0.1.0 whatever version it is at in paved's own releases."""
    shutil.copytree(SCAFFOLDS / NAME, root / NAME, ignore=shutil.ignore_patterns("__pycache__"))
    meta = root / NAME / "scaffold.yml"
    text = meta.read_text(encoding="utf-8")
    current = yaml.safe_load(text)["version"]
    meta.write_text(text.replace(f"version: {current}", "version: 0.1.0"), encoding="utf-8")


@pytest.fixture
def root(tmp_path: Path) -> Path:
    root = tmp_path / "scaffolds"
    copy_scaffold(root)
    add_release(root, NAME)
    change(root, "0.2.0")
    add_release(root, NAME)
    return root


@pytest.fixture
def store() -> TemplateStore:
    """The store of the pinned, empty PAVED_HOME."""
    paths = Paths.from_env(os.environ, Path.home())
    assert not paths.data_dir.exists()
    return TemplateStore(paths.templates_dir, os.environ)


def scaffold(root: Path) -> Scaffold:
    return ScaffoldRegistry(root).get(NAME)


def store_git(store: TemplateStore, *args: str) -> str:
    return git("-C", str(store.repository(NAME)), *args)


def bundle_commits(root: Path) -> dict[str, str]:
    heads = git("bundle", "list-heads", str(bundle_path(root, NAME))).splitlines()
    return {ref.removeprefix("refs/tags/"): sha for sha, ref in (h.split() for h in heads)}


def releases(root: Path) -> dict[str, str]:
    return {r.version: r.tree for r in released(root)}


def test_a_fresh_store_holds_every_shipped_release(root: Path, store: TemplateStore) -> None:
    assert store.versions(NAME) == []

    assert store.ensure(scaffold(root)) == "0.2.0"

    trees = releases(root)
    assert store_git(store, "rev-parse", "0.1.0^{tree}") == trees["0.1.0"]
    assert store_git(store, "rev-parse", "0.2.0^{tree}") == trees["0.2.0"]
    # the bundled folder is the 0.2.0 release: the store made no commit of its own
    assert {tag: store_git(store, "rev-parse", tag) for tag in ("0.1.0", "0.2.0")} == (
        bundle_commits(root)
    )
    assert store.versions(NAME) == ["0.1.0", "0.2.0"]
    digest = hashlib.sha256(bundle_path(root, NAME).read_bytes()).hexdigest()
    marker = store.repository(NAME) / "paved-digests" / f"releases-{digest}"
    assert marker.read_text() == "0.1.0\n0.2.0\n"


@pytest.mark.slow
def test_copier_renders_an_old_release_from_the_store(
    root: Path, store: TemplateStore, tmp_path: Path
) -> None:
    current = store.source(scaffold(root))
    assert current.ref == "0.2.0"
    old = TemplateSource(current.scaffold, current.url, "0.1.0", current.git_env)
    answers = {"service_name": "payments", "owner": "team-a", "description": "Takes money."}

    render(old, tmp_path / "old", answers, cache_dir=tmp_path / "copier-cache")

    recorded = yaml.safe_load((tmp_path / "old" / ".copier-answers.app.yml").read_text())
    assert (recorded["_commit"], recorded["_src_path"]) == ("0.1.0", store.stable_url(NAME))
    pyproject = (tmp_path / "old" / "pyproject.toml").read_text()
    assert "payments" in pyproject
    assert CHANGE not in pyproject


def test_a_tag_the_store_holds_is_never_moved(
    root: Path, store: TemplateStore, tmp_path: Path
) -> None:
    # an older paved stored its own 0.1.0, edited without a bump, before releases shipped
    older = tmp_path / "older"
    copy_scaffold(older)
    change(older, "0.1.0", "# a local edit\n")
    assert store.ensure(scaffold(older)) == "0.1.0"
    local = store_git(store, "rev-parse", "0.1.0")

    assert store.ensure(scaffold(root)) == "0.2.0"

    assert store_git(store, "rev-parse", "0.1.0") == local
    assert store_git(store, "rev-parse", "0.1.0^{tree}") != releases(root)["0.1.0"]
    assert store_git(store, "rev-parse", "0.2.0^{tree}") == releases(root)["0.2.0"]
    assert store.versions(NAME) == ["0.1.0", "0.2.0"]


def test_a_bundle_is_fetched_once_per_digest(root: Path, store: TemplateStore) -> None:
    store.ensure(scaffold(root))
    store_git(store, "tag", "--delete", "0.1.0")

    store.ensure(scaffold(root))  # the same bundle: remembered, not fetched again
    assert store.versions(NAME) == ["0.2.0"]

    change(root, "0.3.0", "# changed in 0.3.0\n")
    add_release(root, NAME)
    assert store.ensure(scaffold(root)) == "0.3.0"
    assert store.versions(NAME) == ["0.1.0", "0.2.0", "0.3.0"]
    assert len(list((store.repository(NAME) / "paved-digests").glob("releases-*"))) == 2


def test_the_persons_git_configuration_does_not_change_a_tree(
    tmp_path: Path, store: TemplateStore
) -> None:
    root = tmp_path / "scaffolds"
    copy_scaffold(root)
    (root / NAME / "template" / "notes.txt").write_bytes(b"line one\r\nline two\r\n")
    release = add_release(root, NAME)
    with (Path.home() / ".gitconfig").open("a", encoding="utf-8") as config:
        config.write("[core]\n\tautocrlf = true\n")

    assert store.ensure(scaffold(root)) == "0.1.0"  # not 0.1.0+TREE: the same tree

    assert store_git(store, "rev-parse", "0.1.0^{tree}") == release.tree
    assert store.versions(NAME) == ["0.1.0"]
