"""`wasinn-bench history RUN_DIR... [--out DIR] [--metric p50|overhead] [--factor F]`

A trend per cell over runs ordered by their `created` time (with git sha), kept
apart per machine fingerprint (numbers from different machines never share a
line), with step detection that names the first run of each shift.

Step detection (consecutive windows, see detect_steps): a boundary between two
runs is a step when the runs just after it differ from the runs just before it
by more than the factor (median ratio) and a Mann-Whitney U test gives
p < 0.002; the strongest boundary in a neighbourhood wins.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from rich.console import Console

from bench.analyze import stats
from bench.analyze.runs import Run, load_run
from bench.analyze.summarize import cell_key, native_key, phase_ms
from bench.present import charts
from bench.results.store import RunFolderError

Key = tuple[str, ...]


@dataclass
class Step:
    index: int  # position of the first run after the shift
    ratio: float  # median after / median before
    p: float


def detect_steps(
    runs: list[np.ndarray],
    factor: float = 1.10,
    alpha: float = stats.MWU_ALPHA,
    window: int = 3,
) -> list[Step]:
    """Steps in a series of per-run sample arrays; each names its first run.

    At every boundary k the runs [k-window, k) are compared with [k, k+window)
    (fewer at the ends). Boundaries are scored by the difference of the mean log
    per-run medians on both sides, and taken in score order when the pooled
    samples differ by more than `factor` (median ratio) with a Mann-Whitney U
    p < alpha, and no stronger step lies within window-1 runs. A single odd run
    inside a series is outvoted by its neighbours; one at the end still counts
    (it may be the start of a shift: the next run will tell).
    """
    runs = [np.asarray(r, dtype=float) for r in runs]
    logmed = np.array([np.log(np.median(r)) if r.size else np.nan for r in runs])
    candidates = []
    for k in range(1, len(runs)):
        lo, hi = max(0, k - window), min(len(runs), k + window)
        before, after = logmed[lo:k], logmed[k:hi]
        if not (np.isfinite(before).any() and np.isfinite(after).any()):
            continue
        score = abs(np.nanmean(after) - np.nanmean(before))
        candidates.append((score, k, lo, hi))
    found: list[Step] = []
    for _score, k, lo, hi in sorted(candidates, reverse=True):
        if any(abs(k - s.index) < window for s in found):
            continue
        before, after = np.concatenate(runs[lo:k]), np.concatenate(runs[k:hi])
        ratio = float(np.median(after) / np.median(before))
        p = stats.mann_whitney_p(after, before)
        if (ratio > factor or ratio < 1 / factor) and p < alpha:
            found.append(Step(k, ratio, p))
    return sorted(found, key=lambda s: s.index)


def _metric_samples(run: Run, metric: str) -> dict[Key, np.ndarray]:
    totals = phase_ms(run.samples, "total")
    if metric == "p50":
        return totals
    out = {}
    for key, x in totals.items():
        native = totals.get(native_key(key))
        if key != native_key(key) and native is not None and native.size:
            out[key] = x / np.median(native)
    return out


def history_frame(runs: list[Run], metric: str = "p50", factor: float = 1.10) -> pd.DataFrame:
    """One row per (machine, cell, run): value (median), and the steps found."""
    runs = sorted(runs, key=lambda r: (str(r.meta.get("created", "")), r.run_id))
    rows = []
    series: dict[tuple[str, Key], list[tuple[int, np.ndarray]]] = {}
    for i, run in enumerate(runs):
        machines = {
            cell_key(r): str(r.get("machine") or "") or run.fingerprint
            for _, r in run.summary.iterrows()
        }
        for key, x in _metric_samples(run, metric).items():
            series.setdefault((machines.get(key, run.fingerprint), key), []).append((i, x))
    for (machine, key), points in series.items():
        steps = {s.index: s for s in detect_steps([x for _, x in points], factor)}
        for j, (i, x) in enumerate(points):
            run = runs[i]
            step = steps.get(j)
            rows.append(
                {
                    "machine": machine,
                    "workload": key[0], "variant": key[1], "host": key[2],
                    "backend": key[3], "device": key[4],
                    "run_id": run.run_id,
                    "created": str(run.meta.get("created", "")),
                    "git_sha": str(run.meta.get("git_sha", "")),
                    "position": j,
                    "value": float(np.median(x)),
                    "n": int(x.size),
                    "step": step is not None,
                    "step_ratio": step.ratio if step else np.nan,
                    "step_p": step.p if step else np.nan,
                }
            )  # fmt: skip
    return pd.DataFrame(rows)


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
        fig = charts._figure(12, 1.5 + 3.2 * len(workloads))
        fig.suptitle(
            f"Trend per cell ({'p50 ms' if metric == 'p50' else 'overhead × native'}); "
            "dashed red = step (first run of a shift)",
            fontweight="bold",
        )
        axes = fig.subplots(len(workloads), 1, squeeze=False)[:, 0]
        linestyles = {"native": "-", "wasmtime-py": "-", "wasmtime-cli": ":"}
        markers = {"onnx": "o", "openvino": "s"}
        for ax, w in zip(axes, workloads, strict=True):
            for key, g in frame[frame["workload"] == w].groupby(
                ["variant", "host", "backend", "device"], sort=False
            ):
                x = [ticks[r] for r in g["run_id"]]
                ax.plot(
                    x, g["value"], marker=markers.get(key[2], "o"), color=charts.color(key[0]),
                    ls=linestyles.get(key[1], "-"), label=" · ".join(key),
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
            ax.set_ylabel("p50 [ms]" if metric == "p50" else "× native")
            ax.grid(alpha=0.3)
            ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1))
        return charts.save(fig, out, name)


def to_markdown(frame: pd.DataFrame, metric: str, charts_made: list[Path]) -> str:
    lines = [f"# wasi-nn bench history ({metric})", ""]
    for machine, m in frame.groupby("machine", sort=False):
        runs = m.drop_duplicates("run_id").sort_values("created")
        lines += [f"## machine {machine}: {len(runs)} runs", ""]
        lines += ["| # | created | git sha | run |", "|---|---|---|---|"]
        lines += [
            f"| {i} | {r['created']} | {r['git_sha'][:12]} | {r['run_id']} |"
            for i, (_, r) in enumerate(runs.iterrows())
        ]
        lines.append("")
        steps = m[m["step"]]
        if steps.empty:
            lines.append("No steps detected.")
        else:
            lines += ["| cell | first run of the shift | git sha | change |", "|---|---|---|---|"]
            for _, s in steps.iterrows():
                cell = "/".join(s[c] for c in ("workload", "variant", "host", "backend", "device"))
                lines.append(
                    f"| {cell} | {s['run_id']} ({s['created']}) | {s['git_sha'][:12]} | "
                    f"×{s['step_ratio']:.3f} (p={s['step_p']:.1e}) |"
                )
        lines.append("")
    for p in charts_made:
        if p.suffix == ".png":
            lines += [f"![trend]({p.name})", ""]
    return "\n".join(lines)


def run_folders(paths: list[str | Path]) -> list[Path]:
    """The run folders among `paths`, so that `history results/*` works: a path that
    exists but is no run folder (a README, a folder of fixtures) is skipped with a note;
    a path that does not exist is an error."""
    folders = []
    for p in map(Path, paths):
        if not p.exists():
            raise RunFolderError(f"{p}: no such run folder")
        if p.is_dir() and (p / "meta.json").exists():
            folders.append(p)
        else:
            print(f"wasinn-bench history: skipping {p}: not a run folder", file=sys.stderr)
    if not folders:
        raise RunFolderError(f"no run folder among {', '.join(map(str, paths))}")
    return folders


def write_history(
    run_dirs: list[str | Path], out: str | Path, metric: str = "p50", factor: float = 1.10
) -> pd.DataFrame:
    runs = [load_run(p) for p in run_folders(run_dirs)]
    versions = {r.meta.get("schema_version") for r in runs}
    if len(versions) > 1:
        listing = ", ".join(f"{r.path}: {r.meta.get('schema_version')}" for r in runs)
        raise RunFolderError(f"runs have different schema_version ({listing})")
    frame = history_frame(runs, metric, factor)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    frame.to_csv(out / "history.csv", index=False)
    made: list[Path] = []
    machines = list(dict.fromkeys(frame["machine"])) if not frame.empty else []
    for machine in machines:
        name = "trend" if len(machines) == 1 else f"trend-{machine}"
        made += trend_chart(frame[frame["machine"] == machine], metric, out, name)
    (out / "history.md").write_text(to_markdown(frame, metric, made) if not frame.empty else "")
    return frame


def _factor(text: str) -> float:
    value = float(text)
    if not value > 1:
        raise argparse.ArgumentTypeError(f"must be > 1, got {value:g}")
    return value


def add_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    p = subparsers.add_parser("history", help="trend over runs per machine, with step detection")
    p.add_argument("run_dirs", nargs="+", metavar="RUN_DIR")
    p.add_argument("--out", default="reports/history", metavar="DIR")
    p.add_argument("--metric", choices=["p50", "overhead"], default="p50")
    p.add_argument("--factor", type=_factor, default=1.10)
    p.set_defaults(func=run)
    return p


def run(args: argparse.Namespace) -> int:
    try:
        frame = write_history(args.run_dirs, args.out, args.metric, args.factor)
    except RunFolderError as e:
        print(f"wasinn-bench history: error: {e}", file=sys.stderr)
        return 2
    console = Console(width=None if sys.stdout.isatty() else 160)
    if frame.empty:
        console.print("no measured cells in these runs")
        return 0
    for _, s in frame[frame["step"]].iterrows():
        cell = "/".join(s[c] for c in ("workload", "variant", "host", "backend", "device"))
        console.print(
            f"step: {cell} on {s['machine']}: ×{s['step_ratio']:.3f} from run {s['run_id']} "
            f"({s['created']}, {s['git_sha'][:12]})",
            highlight=False,
        )
    n_steps = int(frame["step"].sum())
    console.print(
        f"{frame['run_id'].nunique()} runs, {n_steps} step(s); wrote {args.out}/history.md"
    )
    return 0
