"""`wasinn-bench history RUN_DIR... [--out DIR] [--metric overhead|overhead_c|p50] [--factor F]`:
trend over runs per machine, with step detection by compare's rule (docs/compare.md)."""

from __future__ import annotations

import argparse
import sys

from bench.analyze.headline import METRICS
from bench.analyze.history import load_history
from bench.cli import args as types
from bench.present.history import write_history
from bench.present.tables import plain_console
from contracts.cells import Cell


def add_parser(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    p = sub.add_parser("history", help="trend over runs per machine, with step detection")
    p.add_argument("run_dirs", nargs="+", metavar="RUN_DIR")
    p.add_argument("--out", default="reports/history", metavar="DIR")
    p.add_argument("--metric", choices=list(METRICS), default="overhead",
                   help="compare's headline metric (default overhead: ratio to native in "
                        "the same run; p50 only for a quiet dedicated machine)")  # fmt: skip
    p.add_argument("--factor", type=types.above_one, default=1.10)
    return p


def run(args: argparse.Namespace) -> int:
    frame = load_history(args.run_dirs, args.metric, args.factor)
    write_history(frame, args.out, args.metric)
    console = plain_console(width=None if sys.stdout.isatty() else 160)
    if frame.empty:
        console.print("no measured cells in these runs")
        return 0
    for _, s in frame[frame["step"]].iterrows():
        console.print(
            f"step: {Cell.from_row(s).key} on {s['machine']}: ×{s['step_ratio']:.3f} "
            f"[{s['step_ci_low']:.3f}, {s['step_ci_high']:.3f}] from run {s['run_id']} "
            f"({s['created']}, {s['git_sha'][:12]}; {s['step_rule']})",
            highlight=False,
        )
    n_steps = int(frame["step"].sum())
    console.print(
        f"{frame['run_id'].nunique()} runs, {n_steps} step(s); wrote {args.out}/history.md"
    )
    return 0
