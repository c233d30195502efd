"""`wasinn-bench publish RUN_DIR... --out SITE`: a static dashboard over runs (docs/publish.md)."""

from __future__ import annotations

import argparse

from bench.cli import args as types
from bench.present.publish import METRICS, X_AXES, write_site


def add_parser(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    p = sub.add_parser(
        "publish",
        help="a static dashboard over runs: trends, steps, regressions (docs/publish.md)",
    )
    p.add_argument("run_dirs", nargs="+", metavar="RUN_DIR", help="run folders, or folders of them")
    p.add_argument("--out", required=True, metavar="SITE", help="site folder (replaced)")
    p.add_argument("--x", dest="x_axis", choices=X_AXES, default="time",
                   help="trend x axis: run time, git commit, or the cell's runtime version")  # fmt: skip
    p.add_argument("--metric", choices=list(METRICS), default="overhead",
                   help="compare's headline metric for trends and steps (default overhead: "
                        "ratio to native in the same run; p50 for a quiet dedicated machine)")  # fmt: skip
    p.add_argument("--compare-metric", choices=list(METRICS), default=None,
                   help="metric of the verdicts between consecutive runs (default: --metric)")  # fmt: skip
    p.add_argument("--factor", type=types.above_one, default=1.10)
    p.add_argument("--reports", default="reports", metavar="DIR",
                   help="where reports/<run-id>/report.html are looked for (default reports)")  # fmt: skip
    p.add_argument("--make-reports", action="store_true",
                   help="write a report for each run that has none")  # fmt: skip
    return p


def run(args: argparse.Namespace) -> int:
    data = write_site(
        args.run_dirs, args.out, args.x_axis, args.metric, args.factor, args.compare_metric,
        args.reports, args.make_reports,
    )  # fmt: skip
    steps = sum(len(c["steps"]) for c in data["cells"])
    regressed = sum(c.get("counts", {}).get("regressed", 0) for c in data["comparisons"])
    print(
        f"wrote {args.out}/index.html: {len(data['cells'])} cells, {len(data['runs'])} runs, "
        f"{steps} step(s), {regressed} regression verdict(s)"
    )
    return 0
