"""Which files a scaffold will render, worked out without rendering it (for ``--dry-run``).

copier renders file and folder names as Jinja templates, drops a ``.jinja`` suffix, skips
names that render empty and excludes a few patterns. This follows the same rules over the
scaffold's ``template`` folder; a test compares it with a real render of every scaffold.
"""

from __future__ import annotations

import fnmatch
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import jinja2
import yaml

from paved.scaffold.registry import Scaffold

__all__ = ["planned_files"]

_DEFAULT_EXCLUDE = (
    "copier.yml",
    "copier.yaml",
    "~*",
    "*.py[co]",
    "__pycache__",
    ".git",
    ".DS_Store",
    ".svn",
)


def _context(
    scaffold: Scaffold, answers: Mapping[str, Any], env: jinja2.Environment
) -> dict[str, Any]:
    conf = yaml.safe_load((scaffold.path / "copier.yml").read_text(encoding="utf-8"))
    context: dict[str, Any] = {"_copier_conf": {"answers_file": scaffold.answers_file}}
    for key, spec in conf.items():
        if key.startswith("_"):
            continue
        if key in answers:
            context[key] = answers[key]
            continue
        default = spec.get("default") if isinstance(spec, Mapping) else spec
        if isinstance(default, str):
            default = env.from_string(default).render(context)
        context[key] = default
    return context


def planned_files(scaffold: Scaffold, answers: Mapping[str, Any]) -> list[str]:
    """The relative paths ``scaffold`` renders with ``answers``, sorted."""
    env = jinja2.Environment(autoescape=False, keep_trailing_newline=True)  # noqa: S701 - paths, not HTML
    context = _context(scaffold, answers, env)
    root = scaffold.template_dir
    found: list[str] = []

    def name_of(raw: str) -> str:
        return env.from_string(raw).render(context) if "{{" in raw or "{%" in raw else raw

    def excluded(rel: str) -> bool:
        parts = rel.split("/")
        return any(fnmatch.fnmatch(part, pattern) for part in parts for pattern in _DEFAULT_EXCLUDE)

    for dirpath, dirnames, filenames in os.walk(root):
        rel_dir = Path(dirpath).relative_to(root)
        rendered_dir = Path(*[name_of(part) for part in rel_dir.parts]) if rel_dir.parts else Path()
        if any(part == "" for part in (name_of(p) for p in rel_dir.parts)):
            dirnames[:] = []
            continue
        for filename in filenames:
            name = name_of(filename).removesuffix(".jinja")
            if not name:
                continue
            rel = (rendered_dir / name).as_posix()
            if not excluded(rel):
                found.append(rel)
    return sorted(found)
