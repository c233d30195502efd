"""`wasinn-bench report RUN_DIR [--out DIR] [--slides]`: report.md/html and charts for a run."""

from __future__ import annotations

import argparse

from bench.present.report import write_report


def add_parser(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    p = sub.add_parser("report", help="write report.md/html and charts for a run")
    p.add_argument("run_dir", metavar="RUN_DIR")
    p.add_argument("--out", metavar="DIR", help="output folder (default reports/<run-id>/)")
    p.add_argument("--slides", action="store_true", help="also write the 16:9 meeting charts")
    return p


def run(args: argparse.Namespace) -> int:
    path = write_report(args.run_dir, args.out, args.slides)
    print(f"wrote {path} and {path.with_suffix('.html')}")
    return 0
