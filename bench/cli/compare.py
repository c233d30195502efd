"""`wasinn-bench compare BASE_RUN HEAD_RUN [--metric overhead|overhead_c|p50|ttft] [--factor F] [--markdown FILE]`:
per cell, head vs base with a CI and a verdict; exit 1 on a regression."""

from __future__ import annotations

import argparse
from pathlib import Path

from bench.analyze.compare import METRICS, compare_runs
from bench.analyze.runs import check_output, load_run
from bench.cli import args as types
from bench.present.comparison import print_table, to_markdown
from contracts.errors import UserError


def add_parser(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    p = sub.add_parser("compare", help="compare two runs cell by cell; exit 1 on a regression")
    p.add_argument("base", metavar="BASE_RUN")
    p.add_argument("head", metavar="HEAD_RUN")
    p.add_argument(
        "--metric",
        choices=list(METRICS),
        default="overhead",
        help="overhead (default): ratio to native measured in the same run, robust to "
        "machine drift; overhead_c: the same vs native-c (the C driver compiled natively: "
        "the cost of wasm); p50: raw latency, for a quiet dedicated machine",
    )
    p.add_argument(
        "--factor", type=types.above_one, default=1.10, help="slowdown ratio that counts (1.10)"
    )
    p.add_argument("--markdown", metavar="FILE", type=Path, help="also write a PR comment here")
    return p


def run(args: argparse.Namespace) -> int:
    base, head = load_run(args.base), load_run(args.head)
    if args.markdown:
        check_output(args.markdown, [base, head], "--markdown")
    try:
        cmp = compare_runs(base, head, args.metric, args.factor)
    except ValueError as e:  # runs that cannot be compared (e.g. schema versions)
        raise UserError(str(e)) from None
    print_table(cmp)
    if args.markdown:
        args.markdown.parent.mkdir(parents=True, exist_ok=True)
        args.markdown.write_text(to_markdown(cmp))
    return cmp.exit_code
