"""Charts as inline SVG, computed here and drawn by the templates: no script, no library.

A chart is a list of labelled values; :func:`bar_chart` and :func:`line_chart` work out the
geometry in a fixed view box. The template draws the shapes inside an ``<svg role="img">``
with a ``<title>`` and a ``<desc>``, and the same numbers in a table next to it, so that a
screen reader (or a test) reads what a sighted reader sees.
"""

from __future__ import annotations

import dataclasses

__all__ = ["Bar", "Chart", "bar_chart", "line_chart"]

WIDTH = 480
HEIGHT = 200
_LEFT = 44
_BOTTOM = 28
_TOP = 12


@dataclasses.dataclass(frozen=True)
class Bar:
    label: str
    value: float | None
    shown: str
    x: float
    y: float
    width: float
    height: float


@dataclasses.dataclass(frozen=True)
class Chart:
    id: str
    title: str
    description: str
    unit: str
    kind: str
    bars: list[Bar]
    top: str
    #: The line's points (``x,y x,y``) for a line chart; empty for bars.
    line: str = ""
    width: int = WIDTH
    height: int = HEIGHT
    left: int = _LEFT
    base: float = HEIGHT - _BOTTOM

    @property
    def empty(self) -> bool:
        return all(bar.value is None for bar in self.bars)


def _shown(value: float | None, digits: int) -> str:
    if value is None:
        return "-"
    if digits == 0:
        return str(round(value))
    return f"{value:.{digits}f}"


def _geometry(points: list[tuple[str, float | None]], digits: int) -> tuple[list[Bar], float]:
    known = [v for _, v in points if v is not None]
    top = max(known, default=0.0) or 1.0
    plot = HEIGHT - _BOTTOM - _TOP
    slot = (WIDTH - _LEFT - 8) / max(len(points), 1)
    bars = []
    for i, (label, value) in enumerate(points):
        height = 0.0 if value is None else plot * value / top
        bars.append(
            Bar(
                label=label,
                value=value,
                shown=_shown(value, digits),
                x=round(_LEFT + i * slot + slot * 0.15, 1),
                y=round(HEIGHT - _BOTTOM - height, 1),
                width=round(slot * 0.7, 1),
                height=round(height, 1),
            )
        )
    return bars, top


def bar_chart(
    id: str,
    title: str,
    unit: str,
    points: list[tuple[str, float | None]],
    *,
    digits: int = 0,
) -> Chart:
    """Bars of ``points`` (label, value), scaled to the largest value."""
    bars, top = _geometry(points, digits)
    description = "; ".join(f"{b.label}: {b.shown}" for b in bars) or "no data"
    return Chart(id, title, description, unit, "bar", bars, _shown(top, digits))


def line_chart(
    id: str,
    title: str,
    unit: str,
    points: list[tuple[str, float | None]],
    *,
    digits: int = 1,
) -> Chart:
    """A line through ``points`` (label, value); a missing value breaks nothing, it is
    left out of the line and shown as ``-`` in the table."""
    bars, top = _geometry(points, digits)
    line = " ".join(f"{b.x + b.width / 2:.1f},{b.y:.1f}" for b in bars if b.value is not None)
    description = "; ".join(f"{b.label}: {b.shown}" for b in bars) or "no data"
    return Chart(id, title, description, unit, "line", bars, _shown(top, digits), line=line)
