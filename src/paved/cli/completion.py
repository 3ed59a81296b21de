"""Shell-completion callbacks: cheap, and silent on any error."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from paved.cli.runtime import Runtime


def _runtime() -> Runtime:
    from paved.cli.runtime import Runtime

    return Runtime(env=dict(os.environ), cwd=Path.cwd(), home=Path.home())


def _template_names(app_only: bool) -> list[str]:
    """The scaffolds' names, without fetching an organisation's (whose layer is then unknown)."""
    from paved.scaffold.registry import Layer

    registry = _runtime().registry
    bundled = [
        s.name
        for s in registry.bundled()
        if s.name not in registry.urls and (not app_only or s.layer is Layer.APP)
    ]
    return sorted([*bundled, *registry.urls])


def complete_app_templates(incomplete: str) -> list[str]:
    try:
        return [name for name in _template_names(True) if name.startswith(incomplete)]
    except Exception:  # noqa: BLE001 - completion must never break the shell
        return []


def complete_templates(incomplete: str) -> list[str]:
    try:
        return [name for name in _template_names(False) if name.startswith(incomplete)]
    except Exception:  # noqa: BLE001
        return []


def complete_services(incomplete: str) -> list[str]:
    try:
        runtime = _runtime()
        if not runtime.paths.catalog_db.exists() and not runtime.settings.catalog_url:
            return []
        return [s.name for s in runtime.catalog().list() if s.name.startswith(incomplete)]
    except Exception:  # noqa: BLE001
        return []
