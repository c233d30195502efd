"""`wasinn-bench wasmtime [--threads N] ARGS...`: the pinned wasmtime CLI, set up as the
benchmark runs it (OpenVINO libraries found, the benchmark's CPU settings).

Not an argparse subcommand: everything after `wasmtime` is wasmtime's, its own
--options included, so `bench.cli.main` hands it over before parsing."""

from __future__ import annotations

import subprocess

from hosts.openvino_c import library_env
from hosts.wasmtime_cli.binary import cli_binary


def run_raw(argv: list[str]) -> int:
    rest, threads = argv, 1
    if rest[:1] == ["--threads"] and len(rest) > 1 and rest[1].isdigit():
        rest, threads = rest[2:], max(1, int(rest[1]))
    return call(rest, threads)


def call(wasmtime_args: list[str], threads: int) -> int:
    """The wheel's CLI with the harness's OpenVINO setup (hosts/wasmtime_cli.py)."""
    return subprocess.call([str(cli_binary()), *wasmtime_args], env=library_env(threads))
