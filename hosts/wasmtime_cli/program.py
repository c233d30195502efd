"""A whole wasi-nn program on the wasmtime CLI, once (hosts/programs.py, docs/programs.md).

    wasmtime run -S nn --dir <guest>::. [--preload bench=bench_preload.wasm]
        --allow-precompiled <cwasm> ARGS...

A preview1 module that imports `bench` gets the prebuilt preload module (bench.start/end
over WASI preview1's monotonic clock_time_get, marks on stderr); a component brings its
own bench adapter (`wasinn-bench adapt`). The OpenVINO library folder and plugins.xml
are the ones the benchmark's CLI cells use (hosts/openvino_c.py). `wall_ns` is the
child process's wall time, compilation excluded (`wasmtime compile` once per binary).
"""

from __future__ import annotations

import os

from contracts import wasm_binary
from contracts.jobs import CellFailed
from hosts.child import run_child
from hosts.openvino_c import library_env
from hosts.programs import (
    BENCH_PRELOAD,
    ProgramJob,
    ProgramResult,
    finish,
    imports_bench,
    lay_out,
    split_marks,
)
from hosts.wasmtime_cli import binary


def command(
    job: ProgramJob, guest: os.PathLike, cwasm: os.PathLike, release: str | None = None
) -> list[str]:
    cmd = [str(binary.binary_for(release)), "run", "-S", "nn", "--dir", f"{guest}::."]
    if imports_bench(job.wasm):
        cmd += ["--preload", f"bench={BENCH_PRELOAD}"]
    return [*cmd, "--allow-precompiled", "--argv0", job.argv0, str(cwasm), *job.args]


def run_program(job: ProgramJob, release: str | None = None) -> ProgramResult:
    try:
        wasm_binary.file_kind(job.wasm)
    except (OSError, wasm_binary.WasmFormatError) as e:
        raise CellFailed(f"{job.wasm}: {e}") from None
    run = lay_out(job)
    cwasm, compile_ns, cached = binary.precompile(job.wasm, release)
    env = library_env(job.threads)
    env.pop("WASMTIME_BACKTRACE_DETAILS", None)
    cmd = command(job, run.guest, cwasm, release)
    child = run_child(cmd, run.stdout, run.stderr, env, os.getcwd(), job.timeout_s)
    code, wall = child.code, child.wall_ns
    trap = f"killed after the {job.timeout_s} s timeout" if child.timed_out else None
    regions, stderr = split_marks(run.stderr.read_bytes())
    if trap is None and code != 0 and "wasm backtrace" in stderr:
        trap = binary.first_error(stderr)  # the CLI's "Error: ... (cause)" line
    elif trap is None and code < 0:
        trap = f"killed by {binary.signal_name(-code)}"
    result = finish(job, code, run.stdout.read_text(errors="replace"), stderr, regions,
                    wall, trap)  # fmt: skip
    result.notes |= {
        "cli": binary.cli_version(release),
        "compile_ns": str(compile_ns),
        "compile_cached": str(cached).lower(),
    }
    return result
