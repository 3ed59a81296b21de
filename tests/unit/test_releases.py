"""The shipped releases of a scaffold: made with real git into temporary scaffold roots."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from paved.errors import InputError, PavedError
from paved.scaffold.releases import (
    Release,
    add_release,
    bundle_path,
    main,
    problems,
    released,
    tree_of,
)
from tests.helpers import git

SCAFFOLD_YML = "name: demo\nlayer: road\nversion: {version}\ndescription: A demo.\n"


def make_scaffold(root: Path, version: str = "0.1.0", name: str = "demo") -> Path:
    """A small scaffold folder under ``root``, with an executable file and a cache to skip."""
    folder = root / name
    (folder / "template" / "bin").mkdir(parents=True)
    (folder / "scaffold.yml").write_text(
        SCAFFOLD_YML.format(version=version).replace("demo", name), encoding="utf-8"
    )
    (folder / "copier.yml").write_text("_subdirectory: template\nowner: team-a\n")
    (folder / "template" / "README.md.jinja").write_text("# {{ owner }}\r\n")
    script = folder / "template" / "bin" / "run.sh"
    script.write_text("#!/bin/sh\necho run\n")
    script.chmod(0o755)
    (folder / "__pycache__").mkdir()
    (folder / "__pycache__" / "x.pyc").write_bytes(b"\0cache")
    return folder


def bump(folder: Path, version: str) -> None:
    text = (folder / "scaffold.yml").read_text()
    current = text.split("version: ", 1)[1].split("\n", 1)[0]
    (folder / "scaffold.yml").write_text(text.replace(f"version: {current}", f"version: {version}"))


def bundle_tags(bundle: Path, into: Path) -> dict[str, tuple[str, str]]:
    """``{tag: (commit, tree)}`` of a bundle, read by git alone."""
    git("init", "--quiet", "--bare", str(into))
    git("--git-dir", str(into), "fetch", "--quiet", str(bundle), "refs/tags/*:refs/tags/*")
    tags = git("--git-dir", str(into), "tag").split()
    return {
        tag: (
            git("--git-dir", str(into), "rev-parse", f"{tag}^{{commit}}"),
            git("--git-dir", str(into), "rev-parse", f"{tag}^{{tree}}"),
        )
        for tag in tags
    }


@pytest.fixture
def root(tmp_path: Path) -> Path:
    root = tmp_path / "scaffolds"
    make_scaffold(root)
    return root


def test_a_release_is_a_tag_in_the_bundle_and_a_line_in_the_index(root: Path, tmp_path: Path):
    release = add_release(root, "demo")

    assert release == Release("demo", "0.1.0", tree_of(root / "demo"))
    assert released(root) == [release]
    tags = bundle_tags(bundle_path(root, "demo"), tmp_path / "read.git")
    assert list(tags) == ["0.1.0"]
    assert tags["0.1.0"][1] == release.tree
    assert problems(root) == []


def test_the_tree_is_gits_own_tree_of_the_folder(root: Path, tmp_path: Path) -> None:
    # bytes as they are (the CRLF stays), the executable bit kept, caches left out
    repo = tmp_path / "work"
    git("init", "--quiet", str(repo))
    folder = repo / "demo"
    (root / "demo").rename(folder)
    git("-c", "core.autocrlf=false", "add", "demo", ":!demo/__pycache__", cwd=repo)
    git("commit", "--quiet", "-m", "demo", cwd=repo)

    assert tree_of(folder) == git("rev-parse", "HEAD:demo", cwd=repo)
    assert "100755 blob" in git("ls-tree", "-r", "HEAD:demo", "template/bin", cwd=repo)


def test_releasing_a_released_version_again_changes_nothing(root: Path) -> None:
    first = add_release(root, "demo")
    before = {p.name: p.read_bytes() for p in (root / "releases").iterdir()}

    assert add_release(root, "demo") == first
    assert {p.name: p.read_bytes() for p in (root / "releases").iterdir()} == before


def test_an_edit_without_a_version_bump_is_refused(root: Path) -> None:
    first = add_release(root, "demo")
    before = {p.name: p.read_bytes() for p in (root / "releases").iterdir()}
    (root / "demo" / "template" / "README.md.jinja").write_text("# changed\n")

    with pytest.raises(
        InputError, match=r"demo 0\.1\.0 is released already with other content"
    ) as refused:
        add_release(root, "demo")
    assert str(refused.value.hint).startswith("bump the version in ")
    assert {p.name: p.read_bytes() for p in (root / "releases").iterdir()} == before
    tree = tree_of(root / "demo")
    assert problems(root) == [
        f"demo changed since its release 0.1.0 (tree {tree[:12]}, released {first.tree[:12]}): "
        f"bump the version in {root / 'demo' / 'scaffold.yml'}, then run "
        "`nox -s release -- demo` and commit scaffolds/releases/"
    ]


def test_a_new_version_is_released_on_top_of_the_last(root: Path, tmp_path: Path) -> None:
    first = add_release(root, "demo")
    (root / "demo" / "template" / "README.md.jinja").write_text("# changed\n")
    bump(root / "demo", "0.2.0")
    assert problems(root) == [
        "demo 0.2.0 is not released: run `nox -s release -- demo` and commit scaffolds/releases/"
    ]

    second = add_release(root, "demo")

    assert released(root) == [first, second]
    assert second.tree != first.tree
    tags = bundle_tags(bundle_path(root, "demo"), tmp_path / "read.git")
    assert {tag: tree for tag, (_, tree) in tags.items()} == {
        "0.1.0": first.tree,
        "0.2.0": second.tree,
    }
    parent = git("--git-dir", str(tmp_path / "read.git"), "rev-parse", "0.2.0^")
    assert parent == tags["0.1.0"][0]
    assert problems(root) == []


def test_the_same_release_made_twice_is_the_same_commit(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    commits = []
    for at, who in enumerate(["Ann", "Bob"]):
        # another person, another clock, another place: the release is the same commit
        monkeypatch.setenv("GIT_AUTHOR_NAME", who)
        monkeypatch.setenv("GIT_COMMITTER_DATE", f"{1_600_000_000 + at * 86400} +0200")
        root = tmp_path / f"machine-{at}" / "scaffolds"
        folder = make_scaffold(root)
        add_release(root, "demo")
        (folder / "template" / "README.md.jinja").write_text("# changed\n")
        bump(folder, "0.2.0")
        add_release(root, "demo")
        tags = bundle_tags(bundle_path(root, "demo"), tmp_path / f"read-{at}.git")
        commits.append(tags)
    assert commits[0] == commits[1]


def test_the_check_finds_a_tag_missing_from_the_bundle(root: Path) -> None:
    add_release(root, "demo")
    bundle = bundle_path(root, "demo")
    first_bundle = bundle.read_bytes()
    (root / "demo" / "template" / "README.md.jinja").write_text("# changed\n")
    bump(root / "demo", "0.2.0")
    add_release(root, "demo")
    bundle.write_bytes(first_bundle)

    assert problems(root) == [f"release bundle {bundle} lacks demo 0.2.0"]
    bump(root / "demo", "0.3.0")
    with pytest.raises(InputError, match="does not hold the releases of demo"):
        add_release(root, "demo")


def test_the_check_finds_a_changed_tree(root: Path) -> None:
    release = add_release(root, "demo")
    index = root / "releases" / "index.toml"
    other = "0" * 40
    index.write_text(index.read_text().replace(release.tree, other))

    assert problems(root) == [
        f"release bundle {bundle_path(root, 'demo')}: demo 0.1.0 holds tree {release.tree}, "
        f"the index {other}",
        f"demo changed since its release 0.1.0 (tree {release.tree[:12]}, released "
        f"{other[:12]}): bump the version in {root / 'demo' / 'scaffold.yml'}, then run "
        "`nox -s release -- demo` and commit scaffolds/releases/",
    ]


def test_the_check_finds_a_tag_the_index_lacks(root: Path) -> None:
    add_release(root, "demo")
    (root / "releases" / "index.toml").write_text("")

    assert problems(root) == [
        f"release bundle {bundle_path(root, 'demo')} holds demo 0.1.0, which "
        f"{root / 'releases' / 'index.toml'} lacks",
        "demo 0.1.0 is not released: run `nox -s release -- demo` and commit scaffolds/releases/",
    ]


def test_the_check_finds_a_missing_bundle_and_an_unreleased_scaffold(root: Path) -> None:
    add_release(root, "demo")
    bundle_path(root, "demo").unlink()
    make_scaffold(root, name="other")

    assert problems(root) == [
        f"release bundle {bundle_path(root, 'demo')} is missing (demo has 1 release(s) listed)",
        "other 0.1.0 is not released: run `nox -s release -- other` and commit scaffolds/releases/",
    ]


def test_a_bundle_holds_only_version_tags(root: Path, tmp_path: Path) -> None:
    add_release(root, "demo")
    repo = tmp_path / "other.git"
    bundle_tags(bundle_path(root, "demo"), repo)
    git("--git-dir", str(repo), "update-ref", "refs/heads/main", "0.1.0")
    bundle = bundle_path(root, "demo")
    git("--git-dir", str(repo), "bundle", "create", "--quiet", str(bundle), "--all")

    assert problems(root) == [
        f"release bundle {bundle} holds 'refs/heads/main', which is not a tag; a release bundle "
        "holds only version tags: make it again from the index"
    ]


TREE = "a" * 40


@pytest.mark.parametrize(
    ("index", "says"),
    [
        ('[[release]]\nscaffold = "Demo"\nversion = "0.1.0"\ntree = "%s"\n', "scaffold name"),
        ('[[release]]\nscaffold = "demo"\nversion = "latest"\ntree = "%s"\n', "is not a version"),
        ('[[release]]\nscaffold = "demo"\nversion = "0.1.0+x"\ntree = "%s"\n', "+LOCAL"),
        ('[[release]]\nscaffold = "demo"\nversion = "0.1.0-a..b"\ntree = "%s"\n', "git tag"),
        ('[[release]]\nscaffold = "demo"\nversion = "0.1.0"\ntree = "%s0"\n', "40 hex"),
        ('[[release]]\nscaffold = "demo"\nversion = "0.1.0"\ntree = "x%s"\n', "40 hex"),
        ('[[release]]\nscaffold = "demo"\nversion = 1\ntree = "%s"\n', "must be strings"),
        ('[[release]]\nscaffold = "demo"\nversion = "0.1.0"\n', "exactly the keys"),
        ('[[release]]\nscaffold = "demo"\nversion = "0.1"\ntree = "%s"\nx = 1\n', "exactly"),
        ('title = "x"\n', "only [[release]] tables"),
        ("release = 3\n", "only [[release]] tables"),
        ("[[release]\n", "cannot be read"),
        (
            '[[release]]\nscaffold = "demo"\nversion = "0.1.0"\ntree = "%s"\n'
            '[[release]]\nscaffold = "demo"\nversion = "v0.1.0"\ntree = "%s"\n',
            "twice",
        ),
    ],
)
def test_the_index_is_input(root: Path, index: str, says: str) -> None:
    (root / "releases").mkdir()
    (root / "releases" / "index.toml").write_text(index.replace("%s", TREE))

    with pytest.raises(InputError, match="release index .*" + re.escape(says)):
        released(root)
    found = problems(root)
    assert len(found) == 1
    assert says in found[0]


def test_a_folder_version_that_cannot_be_a_tag_is_refused(root: Path) -> None:
    bump(root / "demo", "0.1.0+local")
    with pytest.raises(InputError, match=r"version '0\.1\.0\+local' has a \+LOCAL part"):
        add_release(root, "demo")
    assert problems(root) == [
        f"{root / 'demo' / 'scaffold.yml'}: version '0.1.0+local' has a +LOCAL part "
        "(the template store's mark for unreleased content)"
    ]


def test_an_unknown_scaffold_is_refused(root: Path) -> None:
    with pytest.raises(InputError, match="unknown template 'nope'"):
        add_release(root, "nope")


def test_the_entry_point(root: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", "--root", str(root)]) == 1
    assert capsys.readouterr().err == (
        "problem: demo 0.1.0 is not released: run `nox -s release -- demo` and commit "
        "scaffolds/releases/\n"
    )
    assert main(["add", "demo", "--root", str(root)]) == 0
    tree = released(root)[0].tree
    assert capsys.readouterr().out == f"demo 0.1.0 released (tree {tree})\n"
    assert main(["add", "demo", "--root", str(root)]) == 0
    assert capsys.readouterr().out == f"demo 0.1.0 released already (tree {tree})\n"
    assert main(["check", "--root", str(root)]) == 0
    assert capsys.readouterr().out == (
        f"ok: 1 release(s) under {root / 'releases'}, every scaffold released\n"
    )
    (root / "demo" / "copier.yml").write_text("_subdirectory: template\nowner: team-b\n")
    assert main(["add", "demo", "--root", str(root)]) == 2
    assert capsys.readouterr().err.startswith(
        "error: demo 0.1.0 is released already with other content"
    )


def test_a_damaged_bundle_is_a_problem_not_a_crash(root: Path) -> None:
    add_release(root, "demo")
    bundle = bundle_path(root, "demo")
    bundle.write_bytes(b"not a bundle\n")

    found = problems(root)
    assert len(found) == 1
    assert found[0].startswith(f"release bundle {bundle} cannot be read")
    bump(root / "demo", "0.2.0")
    with pytest.raises(PavedError, match="cannot be read"):
        add_release(root, "demo")


def test_the_index_is_only_ever_appended_to(root: Path) -> None:
    add_release(root, "demo")
    index = root / "releases" / "index.toml"
    first = index.read_text()
    (root / "demo" / "template" / "README.md.jinja").write_text("# changed\n")
    bump(root / "demo", "0.2.0")
    add_release(root, "demo")
    assert index.read_text().startswith(first)
