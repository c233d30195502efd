"""Charts for reports and meeting slides (matplotlib, no pyplot: thread- and
backend-safe). Every chart is written as PNG and SVG. One colour per variant
everywhere (VARIANT_COLORS, Okabe-Ito: distinguishable with colour-blindness)."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib.figure import Figure, SubFigure  # noqa: E402
from matplotlib.patches import Patch  # noqa: E402

from bench.results.schema import NOISE_CV  # noqa: E402
from contracts.cells import Cell
from contracts.hosts import host_facts

VARIANT_COLORS = {
    "native": "#555555",
    "preview1": "#0072B2",
    "adapted": "#E69F00",
    "component": "#009E73",
}
PHASE_COLORS = {"set_input": "#CC79A7", "compute": "#56B4E9", "get_output": "#D55E00"}
OTHER_COLOR = "#999999"
DPI = 100
SLIDE_SIZE = (19.2, 10.8)  # inches at DPI 100 -> 1920x1080 px, 16:9
SLIDE_FONT = 18


def color(variant: str) -> str:
    return VARIANT_COLORS.get(variant, OTHER_COLOR)


def cell_label(row: pd.Series) -> str:
    if row["variant"] == row["host"]:  # native · native
        return str(row["variant"])
    return f"{row['variant']} · {row['host']}"


def group_label(row: pd.Series) -> str:
    return f"{row['workload']} · {row['backend']} · {row['device']}"


def measured(summary: pd.DataFrame) -> pd.DataFrame:
    """Rows with latency statistics (in summary order)."""
    return summary[summary["n"].fillna(0) > 0]


def save(fig: Figure | SubFigure, out: Path, name: str) -> list[Path]:
    fig = fig.figure  # the root figure of a slide's body
    out.mkdir(parents=True, exist_ok=True)
    # A name may carry a run folder's text (a machine fingerprint): a plain file name only.
    name = re.sub(r"[^A-Za-z0-9_-]", "_", name)[:100]
    paths = [out / f"{name}.png", out / f"{name}.svg"]
    for p in paths:
        fig.savefig(p, dpi=DPI, metadata={"Date": None} if p.suffix == ".svg" else None)
    return paths


def style(font: float = 11):
    """rcParams for one chart; tick labels resolve fonts at draw time, so build
    and save inside this context."""
    return matplotlib.rc_context(
        {"font.size": font, "svg.hashsalt": "wasinn-bench", "svg.fonttype": "none"}
    )


def figure(width: float, height: float) -> Figure:
    fig = Figure(figsize=(width, height), dpi=DPI, layout="constrained")
    fig.get_layout_engine().set(h_pad=0.08, w_pad=0.08)
    return fig


def hatch(host: str) -> str:
    """A host's bar hatch (contracts/hosts.py); a release is drawn like its host."""
    return host_facts(str(host)).hatch


def variant_legend(
    fig: Figure | SubFigure, variants: list[str], hosts: list[str] | None = None
) -> None:
    handles = [Patch(color=color(v), label=v) for v in VARIANT_COLORS if v in variants]
    for h in hosts or []:
        if hatch(h):
            handles.append(Patch(facecolor="white", edgecolor="black", hatch=hatch(h), label=h))
    if handles:
        fig.legend(handles=handles, loc="outside lower center", ncols=len(handles))


def _noise_mark(row: pd.Series) -> str:
    return " ⚠" if float(row.get("cv", 0) or 0) > NOISE_CV else ""


def binding_bound(row: pd.Series) -> bool:
    """The cell's time is mostly binding (summary.csv binding_bound; CSV gives text)."""
    return str(row.get("binding_bound", "")).strip().lower() in ("true", "1", "1.0")


def _binding_mark(row: pd.Series) -> str:
    return " [binding-bound]" if binding_bound(row) else ""


def _grouped_barh(
    df: pd.DataFrame,
    title: str,
    xlabel: str,
    value: Callable[[pd.Series], float],
    err: Callable[[pd.Series], tuple[float, float]] | None = None,
    ref: float | None = None,
    width: float = 11,
    font: float = 11,
) -> Figure:
    """One horizontal-bar panel per (workload, backend, device) group."""
    groups = [g for _, g in df.groupby(df.apply(group_label, axis=1), sort=False)]
    heights = [max(len(g), 1) for g in groups]
    fig = figure(width, 1.2 + 0.38 * sum(heights) + 0.5 * len(groups))
    fig.suptitle(title, fontweight="bold")
    axes = fig.subplots(len(groups), 1, squeeze=False, height_ratios=heights)[:, 0]
    for ax, g in zip(axes, groups, strict=True):
        y = np.arange(len(g))[::-1]
        vals = np.array([value(r) for _, r in g.iterrows()])
        xerr = None
        if err is not None:
            lo_hi = np.array([err(r) for _, r in g.iterrows()])
            xerr = np.abs(np.vstack([vals - lo_hi[:, 0], lo_hi[:, 1] - vals]))
            xerr = np.nan_to_num(xerr)
        ax.barh(
            y,
            vals,
            xerr=xerr,
            color=[color(v) for v in g["variant"]],
            hatch=[hatch(h) for h in g["host"]],
            edgecolor="white",
            capsize=3,
        )
        ax.set_yticks(
            y, [cell_label(r) + _noise_mark(r) + _binding_mark(r) for _, r in g.iterrows()]
        )
        ax.set_title(group_label(g.iloc[0]), loc="left", fontsize=font)
        if ref is not None:
            ax.axvline(ref, color="black", lw=1, ls="--")
        ax.grid(axis="x", alpha=0.3)
    axes[-1].set_xlabel(xlabel)
    variant_legend(fig, list(df["variant"].unique()), list(df["host"].unique()))
    return fig


def latency_chart(summary: pd.DataFrame, out: Path) -> list[Path]:
    df = measured(summary)
    if df.empty:
        return []
    with style():
        return save(_latency(df), out, "latency")


def _latency(df: pd.DataFrame) -> Figure:
    return _grouped_barh(
        df,
        "Latency p50 per cell (95% bootstrap CI; ⚠ = CV above 5%)",
        "latency p50 [ms]",
        lambda r: r["p50_ms"],
        lambda r: (r["p50_ci_low_ms"], r["p50_ci_high_ms"]),
    )


def overhead_chart(summary: pd.DataFrame, out: Path) -> list[Path]:
    df = measured(summary)
    df = df[(df["variant"] != "native") & df["overhead_vs_native"].notna()]
    if df.empty:
        return []
    with style():
        return save(_overhead(df), out, "overhead")


def _overhead(df: pd.DataFrame) -> Figure:
    return _grouped_barh(
        df,
        "Overhead vs native (p50 ratio, 95% CI; 1 = as fast as native)",
        "latency p50 / native p50",
        lambda r: r["overhead_vs_native"],
        lambda r: (r["overhead_ci_low"], r["overhead_ci_high"]),
        ref=1.0,
    )


def overhead_c_chart(summary: pd.DataFrame, out: Path) -> list[Path]:
    """Overhead vs native-c: the same C driver compiled natively (the cost of wasm)."""
    if "overhead_vs_native_c" not in summary:
        return []
    df = measured(summary)
    df = df[(df["variant"] != "native") & df["overhead_vs_native_c"].notna()]
    if df.empty:
        return []
    with style():
        fig = _grouped_barh(
            df,
            "Overhead vs native-c (p50 ratio, 95% CI; 1 = as fast as the C driver natively)",
            "latency p50 / native-c p50",
            lambda r: r["overhead_vs_native_c"],
            lambda r: (r["overhead_c_ci_low"], r["overhead_c_ci_high"]),
            ref=1.0,
        )
        return save(fig, out, "overhead-native-c")


def binding_chart(summary: pd.DataFrame, out: Path) -> list[Path]:
    """Per wasmtime-py cell, each guest-timed phase split into host work (solid) and
    binding + guest (hatched): stacked p50 bars in ms."""
    host_cols = [f"host_{p}_p50_ms" for p in PHASE_COLORS]
    if any(c not in summary for c in host_cols):
        return []
    df = measured(summary)
    timed = df["host"].astype(str).map(lambda h: host_facts(h).times_host_work).astype(bool)
    df = df[timed & df[host_cols].notna().all(axis=1)]
    if df.empty:
        return []
    with style():
        # one panel per workload: µs-scale and ms-scale cells need their own axes
        groups = [g for _, g in df.groupby("workload", sort=False)]
        fig = figure(11, 1.5 + 0.45 * len(df) + 0.5 * len(groups))
        fig.suptitle(
            "wasmtime-py: host work vs binding + guest per phase (p50 ms)", fontweight="bold"
        )
        axes = fig.subplots(len(groups), 1, squeeze=False, height_ratios=[len(g) for g in groups])[
            :, 0
        ]
        for ax, g in zip(axes, groups, strict=True):
            y = np.arange(len(g))[::-1]
            left = np.zeros(len(g))
            for phase, c in PHASE_COLORS.items():
                total = g[f"{phase}_p50_ms"].astype(float).to_numpy()
                host = np.minimum(g[f"host_{phase}_p50_ms"].astype(float).to_numpy(), total)
                ax.barh(y, host, left=left, color=c, edgecolor="white",
                        label=f"{phase}: host work")  # fmt: skip
                left += host
                ax.barh(y, total - host, left=left, color=c, alpha=0.45, hatch="//",
                        edgecolor="white", label=f"{phase}: binding + guest")  # fmt: skip
                left += total - host
            labels = [f"{r['backend']} · {r['variant']}{_binding_mark(r)}" for _, r in g.iterrows()]
            ax.set_yticks(y, labels)
            ax.set_title(str(g.iloc[0]["workload"]), loc="left")
            ax.grid(axis="x", alpha=0.3)
        axes[-1].set_xlabel("ms per iteration (phase medians)")
        handles, names = axes[0].get_legend_handles_labels()
        fig.legend(handles, names, loc="outside lower center", ncols=3)
        return save(fig, out, "binding")


def _trim(x: np.ndarray, lo: float = 1, hi: float = 99) -> np.ndarray:
    if x.size < 3:
        return x
    a, b = np.percentile(x, [lo, hi])
    return x[(x >= a) & (x <= b)]


def distribution_panels(
    fig: Figure | SubFigure,
    df: pd.DataFrame,
    totals: dict[Cell, np.ndarray],
    by,
    kind: str,
    font: float,
) -> None:
    groups = [g for _, g in df.groupby(df.apply(by, axis=1), sort=False)]
    ncols = 1 if kind == "box" else min(len(groups), 2)
    nrows = -(-len(groups) // ncols)
    axes = fig.subplots(nrows, ncols, squeeze=False).ravel()
    for ax in axes[len(groups) :]:
        ax.set_visible(False)
    for ax, g in zip(axes, groups, strict=False):
        data = [totals.get(Cell.from_row(r), np.empty(0)) for _, r in g.iterrows()]
        pos = np.arange(len(g))[::-1] + 1
        labels = [
            cell_label(r) + ("" if by is group_label else f" · {r['backend']}")
            for _, r in g.iterrows()
        ]
        # Draw the bulk of each cell (1st-99th percentile): on these machines a few
        # iterations take 100x the median and would flatten every shape.
        trimmed = [_trim(d) for d in data]
        if kind == "box":
            bp = ax.boxplot(
                trimmed, positions=pos, orientation="horizontal", patch_artist=True,
                showfliers=False,
            )  # fmt: skip
            for patch, v in zip(bp["boxes"], g["variant"], strict=True):
                patch.set_facecolor(color(v))
            for m in bp["medians"]:
                m.set_color("black")
        else:
            vp = ax.violinplot(
                trimmed, positions=pos, orientation="horizontal", showmedians=True, widths=0.8
            )
            for body, v in zip(vp["bodies"], g["variant"], strict=True):
                body.set_facecolor(color(v))
                body.set_alpha(0.8)
            for part in ("cmins", "cmaxes", "cbars", "cmedians"):
                vp[part].set_color("black")
        medians = [float(np.median(d)) for d in trimmed if d.size]
        if medians and min(medians) > 0 and max(medians) / min(medians) > 10:
            ax.set_xscale("log")  # cells an order of magnitude apart
        ax.set_yticks(pos, labels)
        ax.set_title(by(g.iloc[0]), loc="left", fontsize=font)
        ax.set_xlabel("latency per iteration [ms]")
        ax.grid(axis="x", alpha=0.3)


def distribution_chart(
    summary: pd.DataFrame, totals: dict[Cell, np.ndarray], out: Path
) -> list[Path]:
    df = measured(summary)
    if df.empty:
        return []
    with style():
        return save(_distributions(df, totals), out, "distributions")


def _distributions(df: pd.DataFrame, totals: dict[Cell, np.ndarray]) -> Figure:
    groups = df.apply(group_label, axis=1).nunique()
    fig = figure(11, 1.2 + 0.38 * len(df) + 0.6 * groups)
    fig.suptitle(
        "Latency distribution per cell, 1st-99th percentile (box: quartiles, whiskers: 1.5 IQR)",
        fontweight="bold",
    )
    distribution_panels(fig, df, totals, group_label, "box", 11)
    variant_legend(fig, list(df["variant"].unique()))
    return fig


# ---------------------------------------------------------------- slides
