"""Charts for reports and meeting slides (matplotlib, no pyplot: thread- and
backend-safe). Every chart is written as PNG and SVG. One colour per variant
everywhere (VARIANT_COLORS, Okabe-Ito: distinguishable with colour-blindness)."""

from __future__ import annotations

import textwrap
from collections.abc import Callable
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib.colors import TwoSlopeNorm  # noqa: E402
from matplotlib.figure import Figure, SubFigure  # noqa: E402
from matplotlib.patches import Patch  # noqa: E402

from bench import stats  # noqa: E402
from bench.schema import NOISE_CV  # noqa: E402

VARIANT_COLORS = {
    "native": "#555555",
    "preview1": "#0072B2",
    "adapted": "#E69F00",
    "component": "#009E73",
}
PHASE_COLORS = {"set_input": "#CC79A7", "compute": "#56B4E9", "get_output": "#D55E00"}


class _ByBaseHost(dict[str, str]):
    """A release (`wasmtime-cli@45.0.2`) is drawn like its host."""

    def get(self, host: str, default: str | None = None) -> str | None:  # type: ignore[override]
        return super().get(str(host).partition("@")[0], default)


HOST_HATCH = _ByBaseHost({"native": "", "wasmtime-py": "", "wasmtime-cli": "//"})
OTHER_COLOR = "#999999"
DPI = 100
SLIDE_SIZE = (19.2, 10.8)  # inches at DPI 100 -> 1920x1080 px, 16:9
SLIDE_FONT = 18

Key = tuple[str, ...]


def color(variant: str) -> str:
    return VARIANT_COLORS.get(variant, OTHER_COLOR)


def cell_label(row: pd.Series) -> str:
    if row["variant"] == row["host"]:  # native · native
        return str(row["variant"])
    return f"{row['variant']} · {row['host']}"


def group_label(row: pd.Series) -> str:
    return f"{row['workload']} · {row['backend']} · {row['device']}"


def key_of(row: pd.Series) -> Key:
    return tuple(str(row[c]) for c in ("workload", "variant", "host", "backend", "device"))


def measured(summary: pd.DataFrame) -> pd.DataFrame:
    """Rows with latency statistics (in summary order)."""
    return summary[summary["n"].fillna(0) > 0]


def save(fig: Figure | SubFigure, out: Path, name: str) -> list[Path]:
    fig = fig.figure  # the root figure of a slide's body
    out.mkdir(parents=True, exist_ok=True)
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


def _figure(width: float, height: float, font: float = 11) -> Figure:
    fig = Figure(figsize=(width, height), dpi=DPI, layout="constrained")
    fig.get_layout_engine().set(h_pad=0.08, w_pad=0.08)
    return fig


def _variant_legend(
    fig: Figure | SubFigure, variants: list[str], hosts: list[str] | None = None
) -> None:
    handles = [Patch(color=color(v), label=v) for v in VARIANT_COLORS if v in variants]
    for h in hosts or []:
        if HOST_HATCH.get(h):
            handles.append(Patch(facecolor="white", edgecolor="black", hatch="//", label=h))
    if handles:
        fig.legend(handles=handles, loc="outside lower center", ncols=len(handles))


def _noise_mark(row: pd.Series) -> str:
    return " ⚠" if float(row.get("cv", 0) or 0) > NOISE_CV else ""


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
    fig = _figure(width, 1.2 + 0.38 * sum(heights) + 0.5 * len(groups), font)
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
            hatch=[HOST_HATCH.get(h, "") for h in g["host"]],
            edgecolor="white",
            capsize=3,
        )
        ax.set_yticks(y, [cell_label(r) + _noise_mark(r) for _, r in g.iterrows()])
        ax.set_title(group_label(g.iloc[0]), loc="left", fontsize=font)
        if ref is not None:
            ax.axvline(ref, color="black", lw=1, ls="--")
        ax.grid(axis="x", alpha=0.3)
    axes[-1].set_xlabel(xlabel)
    _variant_legend(fig, list(df["variant"].unique()), list(df["host"].unique()))
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


def _trim(x: np.ndarray, lo: float = 1, hi: float = 99) -> np.ndarray:
    if x.size < 3:
        return x
    a, b = np.percentile(x, [lo, hi])
    return x[(x >= a) & (x <= b)]


def _distribution_panels(
    fig: Figure | SubFigure,
    df: pd.DataFrame,
    totals: dict[Key, np.ndarray],
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
        data = [totals.get(key_of(r), np.empty(0)) for _, r in g.iterrows()]
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
    summary: pd.DataFrame, totals: dict[Key, np.ndarray], out: Path
) -> list[Path]:
    df = measured(summary)
    if df.empty:
        return []
    with style():
        return save(_distributions(df, totals), out, "distributions")


def _distributions(df: pd.DataFrame, totals: dict[Key, np.ndarray]) -> Figure:
    groups = df.apply(group_label, axis=1).nunique()
    fig = _figure(11, 1.2 + 0.38 * len(df) + 0.6 * groups)
    fig.suptitle(
        "Latency distribution per cell, 1st-99th percentile (box: quartiles, whiskers: 1.5 IQR)",
        fontweight="bold",
    )
    _distribution_panels(fig, df, totals, group_label, "box", 11)
    _variant_legend(fig, list(df["variant"].unique()))
    return fig


# ---------------------------------------------------------------- slides


def _slide(title: str, subtitle: str = "") -> SubFigure:
    """A 16:9 slide: a header band (the finding, then a grey subtitle) above the
    body subfigure that the caller draws into."""
    fig = _figure(*SLIDE_SIZE, font=SLIDE_FONT)
    header, body = fig.subfigures(2, 1, height_ratios=[1.3, 10])
    # wrap so a long finding stays on the slide (about 75 characters per line)
    header.text(
        0.5, 0.62, textwrap.fill(title, 75), ha="center", va="center",
        fontsize=SLIDE_FONT + 8, fontweight="bold",
    )  # fmt: skip
    if subtitle:
        header.text(0.5, 0.08, subtitle, ha="center", va="bottom", color="#444444")
    return body


def workload_finding(df: pd.DataFrame, ratios: pd.DataFrame) -> str:
    """The headline for one workload: adapted vs preview1 on the same host, backend
    and device if both ran (bench.summarize.variant_ratios, the report's own numbers),
    else the best wasm variant vs native."""
    mine = ratios[(ratios["workload"].isin(df["workload"])) & (ratios["variant"] == "adapted")]
    if not mine.empty:
        # The official runtime's result is the headline when it ran.
        r = mine.sort_values("host", key=lambda h: h != "wasmtime-cli", kind="stable").iloc[0]
        ratio = stats.Ratio(r["ratio"], r["ci_low"], r["ci_high"])
        return f"adapted vs preview1 ({r['host']}, {r['backend']}): {ratio.pct()}"
    wasm = df[df["variant"] != "native"].dropna(subset=["overhead_vs_native"])
    if not wasm.empty:
        best = wasm.loc[wasm["overhead_vs_native"].idxmin()]
        r = stats.Ratio(
            best["overhead_vs_native"], best["overhead_ci_low"], best["overhead_ci_high"]
        )
        return f"fastest wasm: {cell_label(best)} ({best['backend']}) vs native {r.pct()}"
    return "native baseline only"


def slide_variants(df: pd.DataFrame, ratios: pd.DataFrame, workload: str) -> SubFigure:
    d = df[df["workload"] == workload]
    fig = _slide(
        f"{workload}: {workload_finding(d, ratios)}",
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
                hatch=HOST_HATCH.get(r["host"], ""),
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
    _variant_legend(fig, list(d["variant"].unique()), list(d["host"].unique()))
    return fig


def slide_overhead_heatmap(df: pd.DataFrame) -> SubFigure:
    wasm = df[df["variant"] != "native"].dropna(subset=["overhead_vs_native"])
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
        m[i, cols.index(r["workload"])] = r["overhead_vs_native"]
    if np.isfinite(m).any():
        worst = wasm.loc[wasm["overhead_vs_native"].idxmax()]
        title = (
            f"wasm overhead: median ×{np.nanmedian(m):.2f}, worst ×{worst['overhead_vs_native']:.2f} "
            f"({worst['variant']} · {worst['host']}, {worst['workload']})"
        )
    else:
        title = "wasm overhead: no wasm cell measured"
    fig = _slide(title, "p50 latency / native p50 in the same run (1 = native speed)")
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


def slide_distributions(df: pd.DataFrame, totals: dict[Key, np.ndarray]) -> SubFigure:
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
    _distribution_panels(fig, df, totals, lambda r: str(r["workload"]), "violin", SLIDE_FONT)
    _variant_legend(fig, list(df["variant"].unique()))
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
            hatch=[HOST_HATCH.get(h, "") for h in g["host"]],
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
    _variant_legend(fig, list(df["variant"].unique()), list(df["host"].unique()))
    return fig


def write_slides(
    summary: pd.DataFrame, totals: dict[Key, np.ndarray], ratios: pd.DataFrame, out: Path
) -> list[Path]:
    """The 16:9 meeting set, numbered in presentation order; `ratios` is
    bench.summarize.variant_ratios of the same run (the slide titles quote it)."""
    df = measured(summary)
    if df.empty:
        return []
    figs: list[tuple[str, Callable[[], SubFigure]]] = []
    for w in dict.fromkeys(df["workload"]):
        safe = "".join(c if c.isalnum() or c in "-_" else "_" for c in str(w))
        figs.append((f"variants-{safe}", lambda w=w: slide_variants(df, ratios, w)))
    figs += [
        ("overhead-heatmap", lambda: slide_overhead_heatmap(df)),
        ("distributions", lambda: slide_distributions(df, totals)),
        ("phases", lambda: slide_phases(df)),
        ("throughput", lambda: slide_throughput(df)),
    ]
    from bench import release_charts  # imports this module

    if release_charts.release_groups(df):  # a host in several releases (wasmtime-cli@X)
        figs.append(("releases", lambda: release_charts.slide_releases(df)))
    paths: list[Path] = []
    for i, (name, make) in enumerate(figs, 1):
        with style(SLIDE_FONT):
            paths += save(make(), out, f"{i:02d}-{name}")
    return paths
