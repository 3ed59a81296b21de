"""A fleet for the roll-out tests and benchmark: many real services, each in a bare repository
of its own, registered in a real catalog, at road 0.1.0 or 0.2.0.

One service per version is made by ``paved new service``; the others are that render with
the name changed (every file's text and path), which gives the bytes a render of that name
gives: ``test_a_renamed_render_is_what_copier_renders`` checks it.
"""

from __future__ import annotations

import datetime as dt
import shutil
import subprocess
from collections.abc import Sequence
from pathlib import Path

from typer.testing import CliRunner

from paved.catalog.sqlite import SqliteCatalog
from paved.cli.app import app
from paved.models import LayerRef, Service
from tests.update_helpers import git, runtime_at

#: The name the services are renamed from: no file holds it but where the name belongs.
TEMPLATE_NAME = "svcaa"
OWNER = "team-fleet"


def names(count: int) -> list[str]:
    letters = "abcdefghijklmnopqrstuvwxyz"
    return [f"svc{letters[i // 26]}{letters[i % 26]}" for i in range(count)]


def render_service(root: Path, where: Path, name: str) -> Path:
    """``paved new service NAME`` from the scaffolds in ``root``, committed, not pushed."""
    result = CliRunner().invoke(
        app,
        ["new", "service", name, "--owner", OWNER, "--no-push", "--no-register", "--dir",
         str(where / name)],
        obj=runtime_at(root),
    )  # fmt: skip
    assert result.exit_code == 0, result.stderr
    return where / name


def renamed(source: Path, target: Path, old: str, new: str) -> None:
    """Copy the files of ``source`` (not its .git) with ``old`` replaced by ``new`` (and the
    name in words, the catalog entry's title: ``Svcaa`` by ``Svcab``)."""
    for path in sorted(source.rglob("*")):
        rel = path.relative_to(source)
        if rel.parts[0] == ".git" or not path.is_file():
            continue
        out = target / Path(str(rel).replace(old, new))
        out.parent.mkdir(parents=True, exist_ok=True)
        text = path.read_bytes().replace(old.encode(), new.encode())
        out.write_bytes(text.replace(old.title().encode(), new.title().encode()))
        out.chmod(path.stat().st_mode)


def publish(service: Path, bare: Path) -> None:
    """Make ``service`` a repository with one commit, pushed to a new bare repository."""
    if not (service / ".git").exists():
        git(service, "init", "--quiet", "--initial-branch=main")
        git(service, "add", "--all")
        git(service, "commit", "--quiet", "-m", "Create the service on the paved road")
    git(bare.parent, "init", "--quiet", "--bare", "--initial-branch=main", str(bare))
    git(service, "push", "--quiet", str(bare), "main:main")


def build_fleet(
    roots: dict[str, Path],
    where: Path,
    githost: Path,
    catalog_db: Path,
    versions: Sequence[str],
) -> list[str]:
    """One service per entry of ``versions`` (its road version), pushed and registered."""
    base = {
        version: render_service(roots[version], where / f"base-{version}", TEMPLATE_NAME)
        for version in sorted(set(versions))
    }
    catalog = SqliteCatalog(catalog_db)
    made = []
    try:
        for name, version in zip(names(len(versions)), versions, strict=True):
            service = where / name
            renamed(base[version], service, TEMPLATE_NAME, name)
            bare = githost / f"{name}.git"
            publish(service, bare)
            catalog.register(
                Service(
                    name=name,
                    owner=OWNER,
                    description=f"The {name} service.",
                    repository=bare.as_uri(),
                    layers=(
                        LayerRef("app", "service-python", "0.1.0"),
                        LayerRef("road", "paved-road", version),
                    ),
                    created_at=dt.datetime(2026, 1, 1, tzinfo=dt.UTC),
                )
            )
            shutil.rmtree(service)
            made.append(name)
    finally:
        catalog.close()
    return made


def edit_in_repository(bare: Path, work: Path, path: str, old: str, new: str) -> None:
    """A local edit, as the service's team would push it."""
    git(work.parent, "clone", "--quiet", str(bare), str(work))
    file = work / path
    text = file.read_text(encoding="utf-8")
    assert old in text, f"{old!r} not in {path}"
    file.write_text(text.replace(old, new, 1), encoding="utf-8")
    git(work, "commit", "--quiet", "-am", f"Local edit of {path}")
    git(work, "push", "--quiet", "origin", "main")
    shutil.rmtree(work)


def reject_pushes(bare: Path) -> None:
    hook = bare / "hooks" / "pre-receive"
    hook.write_text("#!/bin/sh\necho 'pushes are frozen here' >&2\nexit 1\n", encoding="utf-8")
    hook.chmod(0o755)


def branch_commits(bare: Path, branch: str) -> int | None:
    """How many commits ``branch`` has on top of main, or None when it does not exist."""
    found = subprocess.run(
        ["git", "--git-dir", str(bare), "rev-list", "--count", f"main..{branch}"],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    return int(found.stdout) if found.returncode == 0 else None


def add_file(bare: Path, work: Path, path: str, text: str) -> None:
    """A new file in the service, as its team would push it."""
    git(work.parent, "clone", "--quiet", str(bare), str(work))
    file = work / path
    file.parent.mkdir(parents=True, exist_ok=True)
    file.write_text(text, encoding="utf-8")
    git(work, "add", "--", path)
    git(work, "commit", "--quiet", "-m", f"Add {path}")
    git(work, "push", "--quiet", "origin", "main")
    shutil.rmtree(work)
