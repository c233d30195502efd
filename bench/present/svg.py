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


def trend(
    points: list[Point], width: int = 900, height: int = 320, *, axes: bool = True, unit: str = ""
) -> str:
    """A line with its CI band, point markers and step marks; with `axes`, y ticks,
    x labels and step annotations (a sparkline without)."""
    pad_l, pad_r, pad_t, pad_b = (64, 16, 14, 58) if axes else (3, 3, 3, 3)
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
    x0, x1 = min(xs), max(xs)

    def sx(x: float) -> float:
        if x1 == x0:
            return pad_l + (width - pad_l - pad_r) / 2
        return pad_l + (x - x0) / (x1 - x0) * (width - pad_l - pad_r)

    def sy(y: float) -> float:
        return pad_t + (hi - y) / (hi - lo) * (height - pad_t - pad_b)

    out = [
        f'<svg class="{cls}" xmlns="http://www.w3.org/2000/svg" width="{width}" '
        f'height="{height}" viewBox="0 0 {width} {height}" role="img">'
    ]
    if axes:
        for t in _nice_ticks(lo, hi):
            y = sy(t)
            out.append(
                f'<line class="grid" x1="{pad_l}" x2="{width - pad_r}" y1="{y:.1f}" y2="{y:.1f}"/>'
                f'<text class="tick" x="{pad_l - 6}" y="{y + 4:.1f}" text-anchor="end">'
                f"{fmt(t)}</text>"
            )
        out.append(
            f'<text class="unit" x="12" y="{pad_t + 8}" transform="rotate(-90 12 {pad_t + 8})" '
            f'text-anchor="end">{html.escape(unit)}</text>'
        )
        # label at most ~12 x positions so they stay legible
        every = max(1, math.ceil(len(points) / 12))
        for i, p in enumerate(points):
            if i % every == 0 or i == len(points) - 1:
                x = sx(p.x)
                out.append(
                    f'<text class="xlabel" x="{x:.1f}" y="{height - pad_b + 16}" '
                    f'text-anchor="end" transform="rotate(-30 {x:.1f} {height - pad_b + 16})">'
                    f"{html.escape(p.label)}</text>"
                )
    # CI band: along the upper ends, back along the lower ends (runs with a CI only)
    band = [p for p in points if _finite(p.y, p.low, p.high)]
    if len(band) >= 2:
        upper = [f"{sx(p.x):.1f},{sy(p.high):.1f}" for p in band]
        lower = [f"{sx(p.x):.1f},{sy(p.low):.1f}" for p in reversed(band)]
        out.append(f'<path class="ci" d="M{" L".join(upper)} L{" L".join(lower)} Z"/>')
    elif len(band) == 1:
        p = band[0]
        out.append(
            f'<line class="ci-bar" x1="{sx(p.x):.1f}" x2="{sx(p.x):.1f}" '
            f'y1="{sy(p.low):.1f}" y2="{sy(p.high):.1f}"/>'
        )
    # the line breaks where a run has no value (a failed cell)
    segments: list[list[str]] = [[]]
    for p in points:
        if _finite(p.y):
            segments[-1].append(f"{sx(p.x):.1f},{sy(p.y):.1f}")
        elif segments[-1]:
            segments.append([])
    d = " ".join(f"M{' L'.join(s)}" for s in segments if s)
    if d:
        out.append(f'<path class="trend" d="{d}"/>')
    for i, p in enumerate(points):
        if p.step:
            # between the last run before the shift and its first run
            prev = points[i - 1].x if i else p.x
            x = (sx(prev) + sx(p.x)) / 2
            out.append(
                f'<line class="step" x1="{x:.1f}" x2="{x:.1f}" y1="{pad_t}" '
                f'y2="{height - pad_b}"><title>{html.escape(p.step_text)}</title></line>'
            )
            if axes and p.step_text:
                out.append(
                    f'<text class="step-label" x="{x + 4:.1f}" y="{pad_t + 12}">'
                    f"{html.escape(p.step_text)}</text>"
                )
        if _finite(p.y):
            r = 3.5 if axes else 1.8
            out.append(
                f'<circle class="pt{" last" if i == len(points) - 1 else ""}" '
                f'cx="{sx(p.x):.1f}" cy="{sy(p.y):.1f}" r="{r}">'
                f"<title>{html.escape(p.tip)}</title></circle>"
            )
    out.append("</svg>")
    return "".join(out)
