"""Where a service repository keeps what paved reads, and the one reader of those files.

Doctor, deploy, ``new service`` and the guardrails' commands all read a service's answers
files and its catalog entry here, with the same rules: a file must be the service's own (not a
symbolic link out of it), readable UTF-8 YAML of the expected shape, and an error names the
file and says what is wrong in one line. (The guardrails read every file of a tree through
their own :class:`~paved.guardrails.ServiceTree`, which keeps line numbers for findings.)
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from paved.errors import InputError

__all__ = [
    "APP_ANSWERS",
    "CATALOG_INFO",
    "ROAD_ANSWERS",
    "SKIP_DIRS",
    "find_service",
    "read_answers",
    "read_documents",
]

#: The answers file of each layer; the road layer's marks a service repository.
ROAD_ANSWERS = ".copier-answers.road.yml"
APP_ANSWERS = ".copier-answers.app.yml"
#: The service's Backstage entity, written by the road layer.
CATALOG_INFO = "catalog-info.yaml"

#: Folders that are never part of a service's own files.
SKIP_DIRS = frozenset(
    {".git", ".hg", ".venv", "venv", "node_modules", "__pycache__", ".terraform", ".tox",
     ".nox", ".mypy_cache", ".pytest_cache", ".ruff_cache"}
)  # fmt: skip


def find_service(start: Path) -> Path | None:
    """The nearest folder at or above ``start`` holding the road layer's answers file."""
    for folder in (start, *start.parents):
        if (folder / ROAD_ANSWERS).is_file():
            return folder
    return None


def _text(root: Path, filename: str) -> str:
    path = root / filename
    if path.is_symlink():
        raise InputError(f"{path} is a symbolic link, not the service's own file")
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        if filename == ROAD_ANSWERS:
            raise InputError(f"{root} is not a paved service (it has no {ROAD_ANSWERS})") from None
        raise InputError(f"{path} is missing") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"{path} cannot be read ({type(exc).__name__})") from None


def read_answers(root: Path, filename: str = ROAD_ANSWERS) -> dict[str, Any]:
    """A layer's copier answers file in the service at ``root``, as a mapping.

    Raises :class:`InputError` naming the file when it is missing, a symbolic link, unreadable
    or not a mapping. Its values are input too: each command checks the ones it uses.
    """
    path = root / filename
    try:
        loaded = yaml.safe_load(_text(root, filename))
    except yaml.YAMLError as exc:
        raise InputError(f"{path} cannot be read ({type(exc).__name__})") from None
    if not isinstance(loaded, dict):
        raise InputError(f"{path} is not a mapping of answers")
    return loaded


def read_documents(root: Path, filename: str = CATALOG_INFO) -> list[Any]:
    """The YAML documents of a service file (empty documents left out); :class:`InputError`
    as :func:`read_answers`, naming the YAML problem's first line."""
    path = root / filename
    try:
        return [doc for doc in yaml.safe_load_all(_text(root, filename)) if doc is not None]
    except yaml.YAMLError as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise InputError(f"{path} cannot be read ({first})") from None
