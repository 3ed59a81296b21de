"""Where a service repository keeps what paved reads: shared by doctor, deploy and guardrails."""

from __future__ import annotations

from pathlib import Path

__all__ = ["APP_ANSWERS", "ROAD_ANSWERS", "SKIP_DIRS", "find_service"]

#: The answers file of each layer; the road layer's marks a service repository.
ROAD_ANSWERS = ".copier-answers.road.yml"
APP_ANSWERS = ".copier-answers.app.yml"

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
