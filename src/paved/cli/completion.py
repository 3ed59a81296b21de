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


def complete_app_templates(incomplete: str) -> list[str]:
    try:
        from paved.scaffold.registry import Layer

        return [
            s.name
            for s in _runtime().registry.all()
            if s.layer is Layer.APP and s.name.startswith(incomplete)
        ]
    except Exception:  # noqa: BLE001 - completion must never break the shell
        return []


def complete_templates(incomplete: str) -> list[str]:
    try:
        return [s.name for s in _runtime().registry.all() if s.name.startswith(incomplete)]
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
