"""The answer first: one sentence per answer (bench.analyze.answers) and one chart of
them all, the official runtime apart from our Python host (wasmtime-py)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure, SubFigure
from matplotlib.ticker import FuncFormatter, NullFormatter

from bench.analyze.answers import Answer, is_our_host
from bench.present import charts


def _ms(x: float, measure: str = "wall") -> str:
    """A per-iteration difference, signed, in the unit that reads best. `x` is the samples'
    unit / 1e6 (ms of wall or CPU time, millions of instructions: docs/measures.md)."""
    if measure == "instructions":
        return f"{x * 1e6:+,.0f} instructions"
    cpu = " CPU" if measure == "cpu" else ""
    return f"{x * 1000:+.1f} µs{cpu}" if abs(x) < 0.1 else f"{x:+.2f} ms{cpu}"


def where(a: Answer) -> str:
    device = "" if a.cell.device == "cpu" else f", {a.cell.device}"
    return f"{a.cell.workload}, {a.cell.host}, {a.cell.backend}{device}"


def size(a: Answer) -> str:
    """How much slower or faster, with the 95% CI: '12.3% slower (95% CI +8.1% to
    +16.0%)', or as a factor from 2x on ('18.8x slower (95% CI 18.4x to 19.1x)')."""
    r = a.ratio
    if r.value >= 2 or r.value <= 0.5:
        slower = r.value > 1
        f = (lambda x: x) if slower else (lambda x: 1 / x)
        lo, hi = sorted((f(r.low), f(r.high)))
        return (
            f"{f(r.value):.1f}x {'slower' if slower else 'faster'} (95% CI {lo:.1f}x to {hi:.1f}x)"
        )
    pct = (r.value - 1) * 100
    ci = f"95% CI {(r.low - 1) * 100:+.1f}% to {(r.high - 1) * 100:+.1f}%"
    return f"{abs(pct):.1f}% {'slower' if pct > 0 else 'faster'} ({ci})"


def sentence(a: Answer, measure: str = "wall") -> str:
    """One sentence: the difference, or that there is none to measure; where it lies
    (in the run's measure)."""
    head = f"{where(a)}: {a.cell.variant} vs {a.vs}:"
    if not a.measurable:
        return f"{head} no measurable difference (within ±{a.within_pct:.1f}%)."
    text = f"{head} {size(a)}"
    if "total" in a.delta_ms:
        split = (
            f"compute {_ms(a.compute_ms, measure)}, ABI phases {_ms(a.abi_ms, measure)} "
            "per iteration"
        )
        if a.in_compute:
            text += f"; it lies in the backend's compute, not the ABI ({split})"
        else:
            text += f"; {split} (set_input + get_output)"
    if a.binding_bound:
        text += "; our Python host: mostly the wasmtime-py binding"
    return text + "."


def groups(found: list[Answer]) -> list[tuple[str, list[Answer]]]:
    """The answers in two groups: the runtime as users run it, then our Python host."""
    official = [a for a in found if not is_our_host(a.cell.host)]
    ours = [a for a in found if is_our_host(a.cell.host)]
    return [
        (title, items)
        for title, items in (
            ("the runtime (wasmtime CLI)", official),
            ("our Python host (wasmtime-py, binding-bound)", ours),
        )
        if items
    ]


def draw(fig: Figure | SubFigure, found: list[Answer]) -> None:
    """The answers into `fig`: one panel per group (groups()), each answer a row, its %
    difference with the 95% CI; hollow where the CI includes 0."""
    parts = groups(found)
    rows = [len(items) for _, items in parts]
    axes = fig.subplots(len(parts), 1, squeeze=False, height_ratios=rows)[:, 0]
    for ax, (title, items) in zip(axes, parts, strict=True):
        _panel(ax, title, items)


def answer_chart(found: list[Answer], out: Path, name: str = "answers") -> list[Path]:
    """The answers as one chart (PNG + SVG) sized to its rows; [] without answers."""
    if not found:
        return []
    with charts.style(11):
        fig = charts.figure(12.0, 1.2 + 0.32 * len(found) + 0.6 * len(groups(found)))
        draw(fig, found)
        fig.suptitle(
            "The answer: per-iteration time × the reference [95% CI] (hollow: no "
            "measurable difference)",
            fontweight="bold",
        )
        return charts.save(fig, out, name)


def _panel(ax: Axes, title: str, items: list[Answer]) -> None:
    """Ratios on a log axis: 0.7x and 1.3x sit about as far from 1 as they matter, and
    an 18x cell does not squash a 5% difference to nothing."""
    y = np.arange(len(items))[::-1]
    for yi, a in zip(y, items, strict=True):
        r = a.ratio
        colour = charts.color(a.cell.variant)
        ax.errorbar(r.value, yi, xerr=[[max(r.value - r.low, 0)], [max(r.high - r.value, 0)]],
                    fmt="none", ecolor=colour, capsize=3, lw=1.5)  # fmt: skip
        ax.plot(r.value, yi, "o", ms=7, color=colour,
                mfc=colour if a.measurable else "white")  # fmt: skip
    labels = [f"{where(a)}: {a.cell.variant} vs {a.vs}" for a in items]
    ax.set_yticks(y, labels, fontsize="small")
    ax.set_ylim(-0.7, len(items) - 0.3)
    ax.axvline(1, color="black", lw=0.8)
    ax.set_xscale("log")
    times = FuncFormatter(lambda v, _pos: f"×{v:g}")
    ax.xaxis.set_major_formatter(times)
    lo, hi = ax.get_xlim()
    ax.xaxis.set_minor_formatter(times if hi / lo < 10 else NullFormatter())  # within a decade
    ax.set_title(title, loc="left")
    ax.set_xlabel("× the reference (log scale; left of 1: faster)")
    ax.grid(axis="x", which="both", alpha=0.3)
