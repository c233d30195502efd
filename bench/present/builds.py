"""Builds side by side (bench/analyze/builds.py) as the report's table, the console's
table at the end of a run, and a slide: each engine build's cells against the base's."""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.figure import SubFigure

from bench.analyze import stats
from bench.analyze.builds import compare_builds, engine_base, preview1_gone
from bench.analyze.runs import Run
from bench.present.markdown import md

MARK = {"regressed": "❌ regressed", "improved": "✅ improved", "unchanged": "unchanged"}
HEADER = ["workload", "backend", "device", "variant", "build", "base", "base p50 ms", "p50 ms",
          "vs base [95% CI]", "verdict", "rule"]  # fmt: skip
VERDICT_COLORS = {"regressed": "#d62728", "improved": "#2ca02c", "unchanged": "#7f7f7f"}


def of_run(run: Run) -> tuple[str | None, pd.DataFrame]:
    """(the base build, one row per compared cell) of a run; (None, empty) without builds."""
    base = engine_base(run.meta, [str(h) for h in run.cells.get("host", [])])
    if base is None:
        return None, pd.DataFrame()
    return base, compare_builds(run.samples, base)


def rows(builds: pd.DataFrame) -> list[list[str]]:
    """The table's rows (HEADER), regressions first."""
    order = {"regressed": 0, "improved": 1, "unchanged": 2}
    df = builds.sort_values("verdict", key=lambda v: v.map(order), kind="stable")
    return [
        [
            str(r["workload"]), str(r["backend"]), str(r["device"]), str(r["variant"]),
            str(r["host"]), str(r["base"]), f"{r['base_p50_ms']:.4g}", f"{r['p50_ms']:.4g}",
            stats.Ratio(r["ratio"], r["ratio_low"], r["ratio_high"]).pct(),
            MARK.get(str(r["verdict"]), str(r["verdict"])), str(r["rule"]),
        ]
        for _, r in df.iterrows()
    ]  # fmt: skip


def intro(base: str, builds: pd.DataFrame) -> str:
    counts = builds["verdict"].value_counts()
    said = ", ".join(
        f"{counts[v]} {v}" for v in ("regressed", "improved", "unchanged") if v in counts
    )
    return (
        f"Each cell of a build against the same cell of the base build {md(base)}, measured "
        "interleaved round by round in this run: the ratio of the median per-iteration total "
        "with a paired 95% bootstrap CI over rounds, and `compare`'s verdict (beyond ×1.10 "
        f"and significant over rounds, else unchanged). {said}."
    )


def gone_lines(cells: pd.DataFrame) -> list[str]:
    """'adapted works where preview1 is gone': the builds without preview1 wasi-nn
    whose adapted cell ran (Markdown text: names escaped)."""
    gone = preview1_gone(cells)
    return [
        f"{md(r['host'])}: adapted works where preview1 is gone ({md(r['workload'])}, "
        f"{md(r['backend'])}/{md(r['device'])}: the preview1 cell is unsupported, this build has no "
        "preview1 wasi-nn; the adapted cell ran)"
        for _, r in gone.iterrows()
    ]


def slide(body: SubFigure, builds: pd.DataFrame) -> None:
    """Each compared cell's ratio to the base with its CI, coloured by verdict."""
    ax = body.subplots()
    df = builds.reset_index(drop=True)
    y = np.arange(len(df))[::-1]
    ratio = df["ratio"].to_numpy(dtype=float)
    err = np.vstack(
        [ratio - df["ratio_low"].to_numpy(float), df["ratio_high"].to_numpy(float) - ratio]
    )
    colors = [VERDICT_COLORS.get(str(v), "#7f7f7f") for v in df["verdict"]]
    ax.barh(y, ratio - 1, left=1, color=colors, xerr=err, capsize=4)
    ax.axvline(1, color="black", linewidth=1)
    for factor in (1.10, 1 / 1.10):
        ax.axvline(factor, color="#999999", linestyle="--", linewidth=1)
    labels = [f"{r['workload']} {r['variant']} {r['host']} ({r['backend']}/{r['device']})"
              for _, r in df.iterrows()]  # fmt: skip
    ax.set_yticks(y, labels)
    ax.set_xlabel("median total / base build's (95% CI); dashed: ×1.10 either way")
