"""The rule both catalogs apply to the layers recorded for a service after an update.

Each layer is named once, by the naming rule; its scaffold is a token such as a store tag's
name; its version is one paved can compare (``Version.parse``), since the deploy gate and
``paved doctor`` compare it with the scaffolds' versions.
"""

from __future__ import annotations

from collections.abc import Iterable

from paved.models import LayerRef
from paved.names import name_problem
from paved.versions import VERSION_TEXT, Version

__all__ = ["layers_problem"]


def _shown(text: str) -> str:
    text = text if len(text) <= 40 else text[:40] + "..."
    return text.encode("unicode_escape").decode("ascii")


def layers_problem(layers: Iterable[LayerRef]) -> str | None:
    """Why ``layers`` cannot be recorded as a service's layers, or ``None``."""
    seen: set[str] = set()
    for ref in layers:
        if (problem := name_problem(ref.layer)) is not None:
            return f"layer name '{_shown(ref.layer)}' {problem}"
        if ref.layer in seen:
            return f"layer '{ref.layer}' is given twice"
        seen.add(ref.layer)
        if not VERSION_TEXT.fullmatch(ref.scaffold):
            return (
                f"scaffold '{_shown(ref.scaffold)}' of layer '{ref.layer}' is not a scaffold "
                "name (letters, digits and . _ + -)"
            )
        if not VERSION_TEXT.fullmatch(ref.version) or Version.parse(ref.version) is None:
            return (
                f"version '{_shown(ref.version)}' of layer '{ref.layer}' is not a version "
                "such as 1.4.0"
            )
    if not seen:
        return "no layers given (a service has at least one)"
    return None
