"""Trend charts as inline SVG text (for `publish`): no JavaScript, no fonts to
fetch, nothing but markup a browser draws itself. Classes (`trend`, `ci`, `pt`,
`step`) are styled by the site's style.css and let tests find the parts."""

from __future__ import annotations

import html
import math
from dataclasses import dataclass


@dataclass
class Point:
    x: float  # position on the x axis (run time in seconds, or an ordinal)
    y: float  # NaN: no value in that run (the line breaks there)
    low: float = math.nan  # CI, NaN when unknown
    high: float = math.nan
    label: str = ""  # x tick text
    tip: str = ""  # hover text
    step: bool = False  # the first run of a detected shift
    step_text: str = ""


def _finite(*values: float) -> bool:
    return all(isinstance(v, int | float) and math.isfinite(v) for v in values)


def _nice_ticks(lo: float, hi: float, count: int = 4) -> list[float]:
    if not hi > lo:
        return [lo]
    raw = (hi - lo) / count
    mag = 10 ** math.floor(math.log10(raw))
    step = next(m * mag for m in (1, 2, 2.5, 5, 10) if m * mag >= raw)
    first = math.ceil(lo / step) * step
    ticks, t = [], first
    while t <= hi + step * 1e-9:
        ticks.append(round(t, 12))
        t += step
    return ticks


def fmt(value: float) -> str:
    """3 significant digits (the precision these machines give)."""
    if not _finite(value):
        return "–"
    return f"{value:.3g}" if abs(value) < 1000 else f"{value:.0f}"


@dataclass(frozen=True)
class _Frame:
    """Where a trend chart draws: its size, padding and data ranges, and the scales."""

    width: int
    height: int
    pad: tuple[int, int, int, int]  # left, right, top, bottom
    x_range: tuple[float, float]
    y_range: tuple[float, float]

    def sx(self, x: float) -> float:
        (x0, x1), (left, right, _, _) = self.x_range, self.pad
        if x1 == x0:
            return left + (self.width - left - right) / 2
        return left + (x - x0) / (x1 - x0) * (self.width - left - right)

    def sy(self, y: float) -> float:
        (lo, hi), (_, _, top, bottom) = self.y_range, self.pad
        return top + (hi - y) / (hi - lo) * (self.height - top - bottom)


def trend(
    points: list[Point], width: int = 900, height: int = 320, *, axes: bool = True, unit: str = ""
) -> str:
    """A line with its CI band, point markers and step marks; with `axes`, y ticks,
    x labels and step annotations (a sparkline without)."""
    values = [v for p in points for v in (p.y, p.low, p.high) if _finite(v)]
    cls = "trend-chart" if axes else "spark"
    if not values:
        return (
            f'<svg class="{cls} empty" width="{width}" height="{height}" role="img">'
            f'<text x="4" y="{height / 2:.0f}" class="none">no data</text></svg>'
        )
    lo, hi = min(values), max(values)
    margin = (hi - lo) * 0.08 or abs(hi) * 0.05 or 1.0
    lo, hi = (max(0.0, lo - margin) if lo >= 0 else lo - margin), hi + margin
    xs = [p.x for p in points]
    pad = (64, 16, 14, 58) if axes else (3, 3, 3, 3)
    frame = _Frame(width, height, pad, (min(xs), max(xs)), (lo, hi))
    out = [
        f'<svg class="{cls}" xmlns="http://www.w3.org/2000/svg" width="{width}" '
        f'height="{height}" viewBox="0 0 {width} {height}" role="img">'
    ]
    if axes:
        out += _axes(frame, points, unit)
    out += _band(frame, points) + _line(frame, points) + _marks(frame, points, axes)
    out.append("</svg>")
    return "".join(out)


def _axes(f: _Frame, points: list[Point], unit: str) -> list[str]:
    """y grid lines with their ticks, the unit, and x labels."""
    left, right, top, bottom = f.pad
    out = []
    for t in _nice_ticks(*f.y_range):
        y = f.sy(t)
        out.append(
            f'<line class="grid" x1="{left}" x2="{f.width - right}" y1="{y:.1f}" y2="{y:.1f}"/>'
            f'<text class="tick" x="{left - 6}" y="{y + 4:.1f}" text-anchor="end">'
            f"{fmt(t)}</text>"
        )
    out.append(
        f'<text class="unit" x="12" y="{top + 8}" transform="rotate(-90 12 {top + 8})" '
        f'text-anchor="end">{html.escape(unit)}</text>'
    )
    # label at most ~12 x positions so they stay legible
    every = max(1, math.ceil(len(points) / 12))
    for i, p in enumerate(points):
        if i % every == 0 or i == len(points) - 1:
            x = f.sx(p.x)
            out.append(
                f'<text class="xlabel" x="{x:.1f}" y="{f.height - bottom + 16}" '
                f'text-anchor="end" transform="rotate(-30 {x:.1f} {f.height - bottom + 16})">'
                f"{html.escape(p.label)}</text>"
            )
    return out


def _band(f: _Frame, points: list[Point]) -> list[str]:
    """CI band: along the upper ends, back along the lower ends (runs with a CI only)."""
    band = [p for p in points if _finite(p.y, p.low, p.high)]
    if len(band) >= 2:
        upper = [f"{f.sx(p.x):.1f},{f.sy(p.high):.1f}" for p in band]
        lower = [f"{f.sx(p.x):.1f},{f.sy(p.low):.1f}" for p in reversed(band)]
        return [f'<path class="ci" d="M{" L".join(upper)} L{" L".join(lower)} Z"/>']
    if len(band) == 1:
        p = band[0]
        return [
            f'<line class="ci-bar" x1="{f.sx(p.x):.1f}" x2="{f.sx(p.x):.1f}" '
            f'y1="{f.sy(p.low):.1f}" y2="{f.sy(p.high):.1f}"/>'
        ]
    return []


def _line(f: _Frame, points: list[Point]) -> list[str]:
    """The line; it breaks where a run has no value (a failed cell)."""
    segments: list[list[str]] = [[]]
    for p in points:
        if _finite(p.y):
            segments[-1].append(f"{f.sx(p.x):.1f},{f.sy(p.y):.1f}")
        elif segments[-1]:
            segments.append([])
    d = " ".join(f"M{' L'.join(s)}" for s in segments if s)
    return [f'<path class="trend" d="{d}"/>'] if d else []


def _marks(f: _Frame, points: list[Point], axes: bool) -> list[str]:
    """Step marks (with their text when there are axes) and point markers."""
    _, _, top, bottom = f.pad
    out = []
    for i, p in enumerate(points):
        if p.step:
            # between the last run before the shift and its first run
            prev = points[i - 1].x if i else p.x
            x = (f.sx(prev) + f.sx(p.x)) / 2
            out.append(
                f'<line class="step" x1="{x:.1f}" x2="{x:.1f}" y1="{top}" '
                f'y2="{f.height - bottom}"><title>{html.escape(p.step_text)}</title></line>'
            )
            if axes and p.step_text:
                out.append(
                    f'<text class="step-label" x="{x + 4:.1f}" y="{top + 12}">'
                    f"{html.escape(p.step_text)}</text>"
                )
        if _finite(p.y):
            r = 3.5 if axes else 1.8
            out.append(
                f'<circle class="pt{" last" if i == len(points) - 1 else ""}" '
                f'cx="{f.sx(p.x):.1f}" cy="{f.sy(p.y):.1f}" r="{r}">'
                f"<title>{html.escape(p.tip)}</title></circle>"
            )
    return out
