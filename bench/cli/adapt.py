"""`wasinn-bench adapt MODULE.wasm -o COMPONENT.wasm`: a preview1 wasi-nn module made a component."""

from __future__ import annotations

import argparse
from pathlib import Path

from workloads.guests.adapt import adapt


def add_parser(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    p = sub.add_parser(
        "adapt",
        help="turn a preview1 wasi-nn module (wasi_ephemeral_nn) into a wasi:nn component",
        description=(
            "Wrap an unchanged preview1 core module that imports wasi_ephemeral_nn into a "
            "component that imports wasi:nn@0.2.0-rc-2024-10-28 (see docs/adapter.md). "
            "Needs jco (npm ci --prefix workloads/guests/component)."
        ),
    )
    p.add_argument("module", type=Path, help="preview1 core module (.wasm)")
    p.add_argument("-o", "--output", type=Path, required=True, help="component to write")
    return p


def run(args: argparse.Namespace) -> int:
    adapt(args.module, args.output)
    print(f"wrote {args.output}")
    return 0
