"""`wasinn-bench export RUN_DIR --format sightglass|pytest-benchmark [-o FILE]`."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from bench.analyze.runs import check_output, load_run
from bench.present.export import to_pytest_benchmark, to_sightglass


def add_parser(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    p = sub.add_parser("export", help="write a run as sightglass CSV or pytest-benchmark JSON")
    p.add_argument("run_dir", metavar="RUN_DIR")
    p.add_argument("--format", required=True, choices=["sightglass", "pytest-benchmark"])
    p.add_argument("-o", "--output", metavar="FILE", type=Path, help="default: stdout")
    return p


def run(args: argparse.Namespace) -> int:
    data = load_run(args.run_dir)
    if args.output:
        check_output(args.output, [data], "-o")
    if args.format == "sightglass":
        text = to_sightglass(data)
    else:
        text = json.dumps(to_pytest_benchmark(data), indent=2) + "\n"
    if args.output:
        args.output.parent.mkdir(parents=True, exist_ok=True)
        args.output.write_text(text)
    else:
        sys.stdout.write(text)
    return 0
