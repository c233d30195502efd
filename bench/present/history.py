"""History written out: history.csv, history.md and a trend chart per machine."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from bench.analyze import headline, stats
from bench.present import charts
from bench.present.markdown import md
from contracts.hosts import host_facts


def _measure(frame: pd.DataFrame) -> str:
    return str(frame["measure"].iloc[0]) if "measure" in frame and not frame.empty else "wall"


def trend_chart(frame: pd.DataFrame, metric: str, out: Path, name: str) -> list[Path]:
    """Lines per cell (colour = variant), one panel per workload; steps marked."""
    workloads = list(dict.fromkeys(frame["workload"]))
    runs = frame.drop_duplicates("run_id").sort_values("created")
    ticks = {rid: i for i, rid in enumerate(runs["run_id"])}
    labels = [
        f"{sha[:7]}\n{created[5:16]}"
        for sha, created in zip(runs["git_sha"], runs["created"], strict=True)
    ]
    with charts.style(11):
        fig = charts.figure(12, 1.5 + 3.2 * len(workloads))
        fig.suptitle(
            f"Trend per cell ({headline.unit(metric, _measure(frame))}); "
            "dashed red = step (first run of a shift)",
            fontweight="bold",
        )
        axes = fig.subplots(len(workloads), 1, squeeze=False)[:, 0]
        markers = {"onnx": "o", "openvino": "s"}
        for ax, w in zip(axes, workloads, strict=True):
            for key, g in frame[frame["workload"] == w].groupby(
                ["variant", "host", "backend", "device"], sort=False
            ):
                x = [ticks[r] for r in g["run_id"]]
                ax.plot(
                    x, g["value"], marker=markers.get(key[2], "o"), color=charts.color(key[0]),
                    ls=host_facts(key[1]).linestyle, label=" · ".join(key),
                )  # fmt: skip
                for xi, yi, is_step in zip(x, g["value"], g["step"], strict=True):
                    if is_step:
                        ax.axvline(xi - 0.5, color="red", ls="--", lw=1)
                        ax.annotate("step", (xi, yi), color="red", xytext=(4, 4),
                                    textcoords="offset points")  # fmt: skip
            ax.set_title(w, loc="left")
            values = frame.loc[frame["workload"] == w, "value"]
            if values.min() > 0 and values.max() / values.min() > 20:
                ax.set_yscale("log")  # cells an order of magnitude apart stay readable
            ax.set_xticks(range(len(labels)), labels, fontsize=8)
            ax.set_ylabel(headline.unit(metric, _measure(frame)))
            ax.grid(alpha=0.3)
            ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1))
        return charts.save(fig, out, name)


def to_markdown(frame: pd.DataFrame, metric: str, charts_made: list[Path]) -> str:
    lines = [
        f"# wasi-nn bench history ({metric}: {headline.unit(metric, _measure(frame))})",
        "",
        "A step is where E-divisive means places a change in the runs' headline values and "
        "compare's rule confirms it over rounds: the runs after it against the runs before "
        f"it, beyond the factor, a 95% CI that excludes 1 and Mann-Whitney U p < "
        f"{stats.MWU_ALPHA:g} over per-round values where the rounds can reach it "
        "(docs/compare.md).",
        "",
    ]
    for machine, m in frame.groupby("machine", sort=False):
        runs = m.drop_duplicates("run_id").sort_values("created")
        lines += [f"## machine {md(machine)}: {len(runs)} runs", ""]
        lines += ["| # | created | git sha | run |", "|---|---|---|---|"]
        lines += [
            f"| {i} | {md(r['created'])} | {md(r['git_sha'][:12])} | {md(r['run_id'])} |"
            for i, (_, r) in enumerate(runs.iterrows())
        ]
        lines.append("")
        steps = m[m["step"]]
        if steps.empty:
            lines.append("No steps detected.")
        else:
            lines += [
                "| cell | first run of the shift | git sha | after / before [95% CI] | rule |",
                "|---|---|---|---|---|",
            ]
            for _, s in steps.iterrows():
                cell = "/".join(s[c] for c in ("workload", "variant", "host", "backend", "device"))
                lines.append(
                    f"| {md(cell)} | {md(s['run_id'])} ({md(s['created'])}) | {md(s['git_sha'][:12])} | "
                    f"×{s['step_ratio']:.3f} [{s['step_ci_low']:.3f}, {s['step_ci_high']:.3f}] | "
                    f"{s['step_rule']} |"
                )
        lines.append("")
    for p in charts_made:
        if p.suffix == ".png":
            lines += [f"![trend]({p.name})", ""]
    return "\n".join(lines)


def write_history(frame: pd.DataFrame, out: str | Path, metric: str = "overhead") -> Path:
    """history.csv, history.md and the trend charts of a history frame, in `out`."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    frame.to_csv(out / "history.csv", index=False)
    made: list[Path] = []
    machines = list(dict.fromkeys(frame["machine"])) if not frame.empty else []
    for machine in machines:
        name = "trend" if len(machines) == 1 else f"trend-{machine}"
        made += trend_chart(frame[frame["machine"] == machine], metric, out, name)
    (out / "history.md").write_text(to_markdown(frame, metric, made) if not frame.empty else "")
    return out / "history.md"
