"""A whole wasi-nn program on wasmtime-py, once (hosts/programs.py, docs/programs.md).

- preview1 core module: a core linker with WASI, our witx wasi-nn (`Preview1Nn`) and
  bench.start/bench.end as host functions that read CLOCK_MONOTONIC (the clock
  wasmtime's WASI monotonic clock reads), so no stderr line is needed;
- component (adapted or native): `run_component` with our WIT wasi:nn; an adapted
  program carries the bench adapter, whose marks arrive on stderr.

The timestamps are taken inside the host call, so a region includes about one
guest -> Python call (~20 us) on preview1; the adapter's clock is a WASI host call too.
"""

from __future__ import annotations

import time

import wasmtime

from contracts import wasm_binary
from contracts.jobs import CellFailed
from contracts.marks import new_token
from hosts.programs import (
    ProgramJob,
    ProgramResult,
    finish,
    lay_out,
    read_output,
    split_marks,
)


class _Marks:
    """bench.start/bench.end for one run."""

    def __init__(self) -> None:
        self.open: int | None = None
        self.regions: list[tuple[int, int]] = []
        self.error: str | None = None

    def start(self) -> None:
        self.open = time.monotonic_ns()

    def end(self) -> None:
        now = time.monotonic_ns()
        if self.open is None:
            self.error = "bench.end without a bench.start"
            raise wasmtime.Trap(self.error)  # ends the guest with a trap
        self.regions.append((self.open, now))
        self.open = None


def _summary(error: Exception) -> str:
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    if "Caused by:" in lines:
        return "; ".join(lines[lines.index("Caused by:") + 1 :])
    return lines[-1] if lines else type(error).__name__


def run_preview1(job: ProgramJob) -> ProgramResult:
    from hosts.wasmtime_py.preview1 import Preview1Nn

    run = lay_out(job)
    marks = _Marks()
    t0 = time.perf_counter_ns()
    engine = wasmtime.Engine()
    try:
        module = wasmtime.Module(engine, job.wasm.read_bytes())
    except wasmtime.WasmtimeError as e:
        raise CellFailed(f"compile {job.wasm.name}: {_summary(e)}") from e
    linker = wasmtime.Linker(engine)
    linker.define_wasi()
    nn = Preview1Nn(job.device, job.threads, preopen=run.guest)
    nn.define(linker)
    empty = wasmtime.FuncType([], [])
    linker.define_func("bench", "start", empty, marks.start)
    linker.define_func("bench", "end", empty, marks.end)
    store = wasmtime.Store(engine)
    wasi = wasmtime.WasiConfig()
    wasi.argv = job.argv
    wasi.preopen_dir(str(run.guest), ".")
    wasi.stdout_file = str(run.stdout)
    wasi.stderr_file = str(run.stderr)
    store.set_wasi(wasi)
    try:
        instance = linker.instantiate(store, module)
    except (wasmtime.Trap, wasmtime.WasmtimeError) as e:  # e.g. an import no one defines
        raise CellFailed(f"instantiate {job.wasm.name}: {_summary(e)}") from e
    code, trap = 0, None
    try:
        exports = instance.exports(store)
        memory = exports.get("memory")
        nn.bind(store, memory if isinstance(memory, wasmtime.Memory) else None)
        start = exports.get("_start")
        if not isinstance(start, wasmtime.Func):
            raise CellFailed(f"{job.wasm.name} exports no _start (not a WASI command)")
        start(store)
    except wasmtime.ExitTrap as e:
        code = e.code
    except (wasmtime.Trap, wasmtime.WasmtimeError) as e:
        code, trap = -1, marks.error or _summary(e)
    wall = time.perf_counter_ns() - t0
    # bench is host functions here: every mark line on stderr was printed by the program
    _, stderr, forged = split_marks(read_output(run.stderr), token=new_token())
    result = finish(job, code, read_output(run.stdout).decode(errors="replace"), stderr,
                    marks.regions, wall, trap, forged)  # fmt: skip
    if nn.last_error:
        result.notes["wasi_nn_last_error"] = nn.last_error
    return result


def run_component_program(job: ProgramJob) -> ProgramResult:
    from hosts.wasmtime_py.component import NnConfig, fast_path_problem, run_component

    run = lay_out(job)
    config = NnConfig(job.threads, job.device, fast=fast_path_problem() is None)
    t0 = time.perf_counter_ns()
    out = run_component(job.wasm, job.argv, run.guest, config, run.stdout, run.stderr)
    wall = time.perf_counter_ns() - t0
    regions, stderr, forged = split_marks(read_output(run.stderr), job.mark_token)
    code = -1 if out.trap is not None else out.exit_code
    return finish(job, code, read_output(run.stdout).decode(errors="replace"), stderr, regions,
                  wall, out.trap, forged)  # fmt: skip


def run_program(job: ProgramJob) -> ProgramResult:
    """Run job's program once: a core module as preview1, a component as one."""
    try:
        kind = wasm_binary.file_kind(job.wasm)
    except (OSError, wasm_binary.WasmFormatError) as e:
        raise CellFailed(f"{job.wasm}: {e}") from None
    return run_preview1(job) if kind == "core" else run_component_program(job)
