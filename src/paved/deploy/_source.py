"""The service being deployed: read from its road-layer answers file and its git repository."""

from __future__ import annotations

import dataclasses
import datetime as dt
from pathlib import Path
from typing import Any

import yaml

from paved.errors import InputError
from paved.gitcmd import Git, GitError
from paved.service.layout import ROAD_ANSWERS

__all__ = ["ROAD_ANSWERS", "ServiceSource", "read_service", "source_commit"]


@dataclasses.dataclass(frozen=True)
class ServiceSource:
    root: Path
    name: str
    owner: str
    #: The road layer's version (the template store's tag recorded by copier).
    road_version: str
    #: The environments the service has overlays for.
    environments: tuple[str, ...]
    #: The image name the road layer writes into the manifests.
    image_name: str

    def overlay(self, environment: str) -> Path:
        return self.root / "k8s" / "overlays" / environment


def read_service(root: Path) -> ServiceSource:
    """The paved service in ``root``; :class:`InputError` when ``root`` is not one."""
    answers_file = root / ROAD_ANSWERS
    hint = "run paved deploy inside a service made with 'paved new service', or pass --path"
    if not root.is_dir():
        raise InputError(f"{root} is not a folder", hint=hint)
    try:
        answers: Any = yaml.safe_load(answers_file.read_text(encoding="utf-8"))
    except FileNotFoundError:
        message = f"{root} is not a paved service (it has no {ROAD_ANSWERS})"
        raise InputError(message, hint=hint) from None
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise InputError(
            f"{answers_file} cannot be read ({type(exc).__name__})", hint=hint
        ) from exc
    if not isinstance(answers, dict) or not isinstance(answers.get("service_name"), str):
        raise InputError(f"{answers_file} names no service_name", hint=hint)
    name = answers["service_name"]
    environments = answers.get("environments") or []
    account, region = answers.get("aws_account_id"), answers.get("aws_region")
    return ServiceSource(
        root=root,
        name=name,
        owner=str(answers.get("owner", "")),
        road_version=str(answers.get("_commit", "")),
        environments=tuple(str(e) for e in environments) if isinstance(environments, list) else (),
        image_name=f"{account}.dkr.ecr.{region}.amazonaws.com/{name}",
    )


def source_commit(root: Path) -> tuple[str, dt.datetime]:
    """The commit the service's working tree is at, and its commit time.

    A deploy ships committed work only: uncommitted changes to tracked files are refused, so
    that the recorded commit is what was deployed.
    """
    git = Git(root)
    try:
        out = git("log", "-1", "--format=%H %cI")
        dirty = git("status", "--porcelain", "--untracked-files=no")
    except GitError as exc:
        raise InputError(
            f"{root} is not a git repository with a commit ({exc.message})",
            hint="commit the service first: a deploy records the commit it ships",
        ) from exc
    if dirty:
        changed = ", ".join(line[3:] for line in dirty.splitlines()[:3])
        raise InputError(
            f"{root} has uncommitted changes ({changed})",
            hint="commit them first: a deploy records the commit it ships",
        )
    sha, _, when = out.partition(" ")
    return sha, dt.datetime.fromisoformat(when).astimezone(dt.UTC)
