"""`wasinn-bench merge RUN_DIR... --out DIR`: join shard runs into one run."""

from __future__ import annotations

import argparse

from bench.analyze.merge import merge_runs


def add_parser(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    p = sub.add_parser("merge", help="join shard runs (run --shard i/n) into one run")
    p.add_argument("run_dirs", nargs="+", metavar="RUN_DIR")
    p.add_argument("--out", required=True, metavar="DIR")
    p.add_argument(
        "--allow-mixed-sha", action="store_true", help="merge shards of different git commits"
    )
    return p


def run(args: argparse.Namespace) -> int:
    out = merge_runs(args.run_dirs, args.out, args.allow_mixed_sha)
    print(f"merged {len(args.run_dirs)} runs into {out}")
    return 0
