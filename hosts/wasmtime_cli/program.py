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
import re
from pathlib import Path

from contracts import marks, wasm_binary
from contracts.jobs import CellUnsupported
from hosts.child import run_child
from hosts.openvino_c import library_env
from hosts.programs import (
    ProgramJob,
    ProgramResult,
    finish,
    imports_bench,
    lay_out,
    preload_with_token,
    read_output,
    split_marks,
)
from hosts.wasmtime_cli import binary


def command(
    job: ProgramJob, guest: os.PathLike, cwasm: os.PathLike, cli: Path, preload: Path | None = None
) -> list[str]:
    cmd = [str(cli), "run", "-S", "nn", "--dir", f"{guest}::."]
    if preload is not None:
        cmd += ["--preload", f"bench={preload}"]
    return [*cmd, "--allow-precompiled", "--argv0", job.argv0, str(cwasm), *job.args]


# A line of the CLI's tracing log: "<RFC 3339 time> <LEVEL> <target>: message".
LOG_LINE = re.compile(r"^(\x1b\[[0-9;]*m)*\d{4}-\d\d-\d\dT\S+Z\s.*?(TRACE|DEBUG|INFO|WARN|ERROR)\b")


def split_log(stderr: str) -> tuple[str, str]:
    """(the CLI's log lines, the program's own stderr)."""
    log, own = [], []
    for line in stderr.splitlines(keepends=True):
        (log if LOG_LINE.match(line) else own).append(line)
    return "".join(log), "".join(own)


def bench_of(job: ProgramJob, folder: Path) -> tuple[str | None, Path | None]:
    """(the token its marks must carry, the preload to give it). A core module's bench is
    the preload with a fresh secret of this run (none if it does not import bench: then
    every mark line is its own); a component's is its adapter's token (adapted) or None
    (a native component's own bench)."""
    if wasm_binary.file_kind(job.wasm) != "core":
        return job.mark_token, None
    token = marks.new_token()
    return token, preload_with_token(folder, token) if imports_bench(job.wasm) else None


def run_program(job: ProgramJob, cli: Path, precompiled: tuple[Path, int, bool]) -> ProgramResult:
    """One run of `cli` (the binary), its guest precompiled (binary.precompile); the
    host checked the module first (WasmtimeCliHost.run_program)."""
    run = lay_out(job)
    cwasm, compile_ns, cached = precompiled
    env = library_env(job.threads)
    env.pop("WASMTIME_BACKTRACE_DETAILS", None)
    env["WASMTIME_LOG"] = binary.LOG_FILTER  # its wasi-nn's own words when a call fails
    token, preload = bench_of(job, run.root)
    cmd = command(job, run.guest, cwasm, cli, preload)
    child = run_child(cmd, run.stdout, run.stderr, env, os.getcwd(), job.timeout_s)
    code, wall = child.code, child.wall_ns
    trap = f"killed after the {job.timeout_s} s timeout" if child.timed_out else None
    regions, stderr, forged = split_marks(read_output(run.stderr), token)
    log, stderr = split_log(stderr)  # the program's stderr is compared across cells: no log
    if code != 0 and any(p in log for p in binary.UNSUPPORTED_PATTERNS):
        version = binary.cli_version(cli).split(" (")[0]
        raise CellUnsupported(f"{version}: {binary.first_error(log)}")
    if trap is None and code != 0 and "wasm backtrace" in stderr:
        trap = binary.first_error(stderr)  # the CLI's "Error: ... (cause)" line
    elif trap is None and code < 0:
        trap = f"killed by {binary.signal_name(-code)}"
    result = finish(job, code, read_output(run.stdout).decode(errors="replace"), stderr, regions,
                    wall, trap, forged)  # fmt: skip
    result.notes |= {
        "cli": binary.cli_version(cli),
        "compile_ns": str(compile_ns),
        "compile_cached": str(cached).lower(),
    }
    return result
