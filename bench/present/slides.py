"""The 16:9 meeting slides (`report --slides`): one finding per slide, the numbers
quoted from the report's own tables."""

from __future__ import annotations

import textwrap
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.colors import TwoSlopeNorm
from matplotlib.figure import SubFigure
from matplotlib.patches import Patch

from bench.analyze.answers import Answer
from bench.present import answers as answers_view
from bench.present import builds
from bench.present.charts import (
    PHASE_COLORS,
    SLIDE_FONT,
    SLIDE_SIZE,
    cell_label,
    color,
    distribution_panels,
    figure,
    hatch,
    measured,
    save,
    style,
    variant_legend,
)
from bench.present.deck import write_deck
from bench.present.release_charts import draw, release_groups
from bench.results.schema import NOISE_CV
from contracts.cells import Cell
from contracts.hosts import is_official


def _slide(title: str, subtitle: str = "") -> SubFigure:
    """A 16:9 slide: a header band (the finding, then a grey subtitle) above the
    body subfigure that the caller draws into."""
    fig = figure(*SLIDE_SIZE)
    header, body = fig.subfigures(2, 1, height_ratios=[1.3, 10])
    # wrap so a long finding stays on the slide (about 75 characters per line)
    header.text(
        0.5, 0.62, textwrap.fill(title, 75), ha="center", va="center",
        fontsize=SLIDE_FONT + 8, fontweight="bold",
    )  # fmt: skip
    if subtitle:
        header.text(0.5, 0.08, subtitle, ha="center", va="bottom", color="#444444")
    return body


def workload_finding(df: pd.DataFrame, found: list[Answer]) -> str:
    """The headline for one workload, from the report's own answers: on the official
    runtime where it ran, adapted vs preview1, else component vs preview1, else the
    wasm variant vs native-c (or native); 'no measurable difference' when its CI says
    so. Without a wasm cell: the fastest cell, or the native baseline alone."""
    mine = [a for a in found if a.cell.workload in set(df["workload"])]
    order = [("adapted", "preview1"), ("component", "preview1"), ("preview1", "native-c"),
             ("preview1", "native")]  # fmt: skip
    rank = {q: i for i, q in enumerate(order)}
    mine.sort(key=lambda a: (rank.get((a.cell.variant, a.vs), len(order)),
                             not is_official(a.cell.host)))  # fmt: skip
    if mine:
        a = mine[0]
        said = (
            answers_view.size(a)
            if a.measurable
            else f"no measurable difference (within ±{a.within_pct:.1f}%)"
        )
        return f"{a.cell.variant} vs {a.vs} ({a.cell.host}, {a.cell.backend}): {said}"
    return "native baseline only"


def slide_answer(found: list[Answer]) -> SubFigure:
    """The answer first: every question of the run as one chart."""
    measurable = sum(a.measurable for a in found)
    body = _slide(
        f"The answer: {measurable} of {len(found)} differences measurable",
        "per-iteration time × the reference with 95% CI (log scale); hollow: no measurable "
        "difference; our Python host apart from the official runtime",
    )
    answers_view.draw(body, found)
    return body


def slide_variants(df: pd.DataFrame, found: list[Answer], workload: str) -> SubFigure:
    d = df[df["workload"] == workload]
    fig = _slide(
        f"{workload}: {workload_finding(d, found)}",
        "latency p50 with 95% CI; lower is better",
    )
    ax = fig.subplots()
    groups = list(dict.fromkeys(zip(d["backend"], d["device"], strict=True)))
    x, ticks, ticklabels = 0.0, [], []
    for b, dev in groups:
        g = d[(d["backend"] == b) & (d["device"] == dev)]
        start = x
        for _, r in g.iterrows():
            err = [[r["p50_ms"] - r["p50_ci_low_ms"]], [r["p50_ci_high_ms"] - r["p50_ms"]]]
            ax.bar(
                x,
                r["p50_ms"],
                yerr=np.nan_to_num(np.abs(err)),
                color=color(r["variant"]),
                hatch=hatch(r["host"]),
                edgecolor="white",
                capsize=6,
                width=0.9,
            )
            ax.annotate(
                f"{r['p50_ms']:.3g}",
                (x, r["p50_ci_high_ms"]),
                xytext=(0, 4),
                textcoords="offset points",
                ha="center",
                fontsize=SLIDE_FONT - 4,
            )
            x += 1
        ticks.append((start + x - 1) / 2)
        ticklabels.append(f"{b} · {dev}")
        x += 1
    ax.set_xticks(ticks, ticklabels)
    ax.set_ylabel("latency p50 [ms]")
    ax.grid(axis="y", alpha=0.3)
    variant_legend(fig, list(d["variant"].unique()), list(d["host"].unique()))
    return fig


def slide_overhead_heatmap(df: pd.DataFrame) -> SubFigure:
    # The headline baseline: native-c (the C driver compiled natively) where it ran.
    has_c = "overhead_vs_native_c" in df and df["overhead_vs_native_c"].notna().any()
    col, base = ("overhead_vs_native_c", "native-c") if has_c else ("overhead_vs_native", "native")
    wasm = df[df["variant"] != "native"].dropna(subset=[col])
    rows = list(
        dict.fromkeys(
            f"{r['variant']} · {r['host']} · {r['backend']} · {r['device']}"
            for _, r in wasm.iterrows()
        )
    )
    cols = list(dict.fromkeys(wasm["workload"]))
    m = np.full((len(rows), len(cols)), np.nan)
    for _, r in wasm.iterrows():
        i = rows.index(f"{r['variant']} · {r['host']} · {r['backend']} · {r['device']}")
        m[i, cols.index(r["workload"])] = r[col]
    if np.isfinite(m).any():
        worst = wasm.loc[wasm[col].idxmax()]
        title = (
            f"wasm overhead vs {base}: median ×{np.nanmedian(m):.2f}, worst ×{worst[col]:.2f} "
            f"({worst['variant']} · {worst['host']}, {worst['workload']})"
        )
    else:
        title = "wasm overhead: no wasm cell measured"
    fig = _slide(title, f"p50 latency / {base} p50 in the same run (1 = {base} speed)")
    ax = fig.subplots()
    # colour by log2 of the ratio, white at 1: x2 and x0.5 are equally far from native
    logm = np.log2(m)
    norm = None
    if np.isfinite(m).any():
        vmax = max(float(np.nanmax(logm)), 0.01)
        vmin = min(float(np.nanmin(logm)), -0.01)
        norm = TwoSlopeNorm(0.0, vmin, vmax)
        im = ax.imshow(logm, cmap="RdBu_r", norm=norm, aspect="auto")
        bar = fig.colorbar(im, ax=ax, label="× native")
        bar.ax.yaxis.set_major_formatter(lambda v, _pos: f"×{2**v:.3g}")
    for i in range(len(rows)):
        for j in range(len(cols)):
            if np.isnan(m[i, j]):
                ax.text(j, i, "—", ha="center", va="center")
                continue
            dark = norm is not None and abs(float(norm(logm[i, j])) - 0.5) > 0.3
            ax.text(j, i, f"×{m[i, j]:.2f}", ha="center", va="center",
                    color="white" if dark else "black")  # fmt: skip
    ax.set_xticks(range(len(cols)), cols)
    ax.set_yticks(range(len(rows)), rows)
    return fig


def slide_distributions(df: pd.DataFrame, totals: dict[Cell, np.ndarray]) -> SubFigure:
    noisy = df[df["cv"] > NOISE_CV]
    if noisy.empty:
        title = f"All {len(df)} cells are steady: CV ≤ {NOISE_CV:.0%}"
    else:
        worst = noisy.loc[noisy["cv"].idxmax()]
        title = (
            f"{len(noisy)} of {len(df)} cells are noisy (CV > {NOISE_CV:.0%}); "
            f"worst {cell_label(worst)} on {worst['workload']}: {worst['cv']:.1%}"
        )
    fig = _slide(title, "latency per iteration, each cell's 1st-99th percentile")
    distribution_panels(fig, df, totals, lambda r: str(r["workload"]), "violin", SLIDE_FONT)
    variant_legend(fig, list(df["variant"].unique()))
    return fig


def slide_phases(df: pd.DataFrame) -> SubFigure:
    cols = [f"{p}_p50_ms" for p in PHASE_COLORS]
    d = df.dropna(subset=["compute_p50_ms"]).copy()
    d["_io"] = (d["set_input_p50_ms"].fillna(0) + d["get_output_p50_ms"].fillna(0)) / d[
        cols
    ].fillna(0).sum(axis=1)
    if d.empty:
        fig = _slide("Phase breakdown: no per-phase samples")
        return fig
    top = d.loc[d["_io"].idxmax()]
    fig = _slide(
        f"Moving tensors costs up to {top['_io']:.0%} of an inference",
        f"worst: {cell_label(top)}, {top['workload']} · {top['backend']}; "
        "median per phase [ms]: set_input + compute + get_output",
    )
    groups = [g for _, g in d.groupby("workload", sort=False)]
    axes = fig.subplots(1, len(groups), squeeze=False)[0]
    for ax, g in zip(axes, groups, strict=True):
        y = np.arange(len(g))[::-1]
        left = np.zeros(len(g))
        for phase, c in PHASE_COLORS.items():
            v = g[f"{phase}_p50_ms"].fillna(0).to_numpy()
            ax.barh(y, v, left=left, color=c, label=phase)
            left += v
        ax.set_yticks(y, [f"{cell_label(r)} · {r['backend']}" for _, r in g.iterrows()])
        for tick, v in zip(ax.get_yticklabels(), g["variant"], strict=True):
            tick.set_color(color(v))
        ax.set_title(str(g.iloc[0]["workload"]), loc="left")
        ax.set_xlabel("ms")
    handles = [Patch(color=c, label=p) for p, c in PHASE_COLORS.items()]
    fig.legend(handles=handles, loc="outside lower center", ncols=len(handles))
    return fig


def slide_throughput(df: pd.DataFrame) -> SubFigure:
    keep = []
    for _, g in df.groupby(["workload", "backend", "device"], sort=False):
        native = g[g["variant"] == "native"]["throughput_ips"]
        wasm = g[g["variant"] != "native"]["throughput_ips"]
        if len(native) and len(wasm):
            keep.append(wasm.max() / native.iloc[0])
    title = (
        f"Best wasm variant keeps {np.mean(keep):.0%} of native throughput (mean over workloads)"
        if keep
        else "Single-stream throughput"
    )
    fig = _slide(
        title,
        "bars: single-stream throughput = 1000 / p50 ms (◆: offline, if measured); higher is better",
    )
    groups = [g for _, g in df.groupby("workload", sort=False)]
    axes = fig.subplots(1, len(groups), squeeze=False)[0]
    for ax, g in zip(axes, groups, strict=True):
        y = np.arange(len(g))[::-1]
        ax.barh(
            y,
            g["throughput_ips"],
            color=[color(v) for v in g["variant"]],
            hatch=[hatch(h) for h in g["host"]],
            edgecolor="white",
        )
        if "offline_ips" in g and g["offline_ips"].notna().any():
            ax.scatter(
                g["offline_ips"], y, marker="D", s=90, color="black", zorder=3,
                label="offline (K concurrent instances)",
            )  # fmt: skip
            ax.legend(loc="lower right", fontsize=SLIDE_FONT - 4)
        ax.set_yticks(y, [f"{cell_label(r)} · {r['backend']}" for _, r in g.iterrows()])
        ax.set_title(str(g.iloc[0]["workload"]), loc="left")
        ax.set_xlabel("inferences / s")
        ax.grid(axis="x", alpha=0.3)
    variant_legend(fig, list(df["variant"].unique()), list(df["host"].unique()))
    return fig


def write_slides(
    summary: pd.DataFrame, totals: dict[Cell, np.ndarray], found: list[Answer], out: Path,
    build_rows: pd.DataFrame | None = None,
) -> list[Path]:  # fmt: skip
    """The 16:9 meeting set, numbered in presentation order, and deck.html (bench.present.
    deck); `found` is bench.analyze.answers of the same run (the slide titles quote it);
    `build_rows`: builds side by side (bench/analyze/builds.py), when the run has them."""
    df = measured(summary)
    if df.empty:
        return []
    figs: list[tuple[str, Callable[[], SubFigure]]] = []
    if found:
        figs.append(("answer", lambda: slide_answer(found)))
    for w in dict.fromkeys(df["workload"]):
        safe = "".join(c if c.isalnum() or c in "-_" else "_" for c in str(w))
        figs.append((f"variants-{safe}", lambda w=w: slide_variants(df, found, w)))
    figs += [
        ("overhead-heatmap", lambda: slide_overhead_heatmap(df)),
        ("distributions", lambda: slide_distributions(df, totals)),
        ("phases", lambda: slide_phases(df)),
        ("throughput", lambda: slide_throughput(df)),
    ]
    if release_groups(df):  # a host in several releases (wasmtime-cli@X)
        figs.append(("releases", lambda: slide_releases(df)))
    if build_rows is not None and not build_rows.empty:  # --engine builds A/B
        figs.append(("builds", lambda: slide_builds(build_rows)))
    paths: list[Path] = []
    for i, (name, make) in enumerate(figs, 1):
        with style(SLIDE_FONT):
            paths += save(make(), out, f"{i:02d}-{name}")
    return paths + [write_deck([p for p in paths if p.suffix == ".png"], out / "deck.html")]


def slide_builds(build_rows: pd.DataFrame) -> SubFigure:
    """Each build's cells against the base build's (bench/present/builds.py)."""
    counts = build_rows["verdict"].value_counts()
    said = ", ".join(
        f"{counts[v]} {v}" for v in ("regressed", "improved", "unchanged") if v in counts
    )
    body = _slide(
        f"Builds side by side vs {build_rows['base'].iloc[0]}: {said}",
        "median total / the base build's same cell, interleaved rounds, paired 95% CI; "
        "verdict by compare's rule",
    )
    builds.slide(body, build_rows)
    return body


def slide_releases(summary: pd.DataFrame) -> SubFigure:
    """Latency per release of each host that ran in several versions."""
    groups = release_groups(summary)
    body = _slide(
        "Across releases: " + ", ".join(f"{b} {len(h)} versions" for b, h in groups.items()),
        "latency p50 per release with 95% CI; dashed line: native baseline of the same run",
    )
    draw(body, measured(summary), groups)
    return body
