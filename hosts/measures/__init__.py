"""How a host measures what `CellJob.measure` asks for (docs/measures.md).

- `wall`: every host as before (CLOCK_MONOTONIC / perf_counter_ns).
- `cpu`: the host process's CPU time. Our Python hosts read it themselves (native:
  process_time_ns; wasmtime-py: its guest's monotonic clock made CPU time on the guest's
  thread by the clock shim); the drivers run by the wasmtime CLI and native-c read
  CLOCK_MONOTONIC, which the preloaded shim answers with CLOCK_PROCESS_CPUTIME_ID (the
  CLI's WASI offers the guest no CPU-time clock: preview1's process/thread cputime ids
  give errno badf, wasi:clocks has none).
- `instructions`: the round under callgrind (callgrind.py), a dump at each boundary.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path

from contracts.jobs import CellJob, CellUnsupported, RoundResult
from contracts.measures import CPU, INSTRUCTIONS
from hosts.measures import callgrind, shim

# Set in a worker that already runs under valgrind or with the shim (no second re-exec).
MEASURED_ENV = "WASINN_BENCH_MEASURED"
SELF_MEASURED_HOSTS = ("native", "wasmtime-py")


def counts_dir(job: CellJob) -> Path:
    return Path(job.workdir) / "callgrind"


def child_command(
    job: CellJob, cmd: list[str], env: dict[str, str], wasi: bool
) -> tuple[list[str], dict[str, str]]:
    """A host's child (the driver, or the CLI running it: `wasi`) as the job's measure
    wants it. cmd[0] must be the program's real path."""
    if job.measure == CPU:
        return cmd, shim.preload(env, every_thread=True)
    if job.measure == INSTRUCTIONS:
        at = callgrind.CLI_CLOCK if wasi else callgrind.LIBC_CLOCK
        return [*callgrind.command(counts_dir(job), at), *cmd], env
    return cmd, env


def collect_counts(job: CellJob, result: RoundResult) -> None:
    """`instructions`: the round's per-phase samples and load/init from callgrind's dumps
    (the driver's own samples are then wall time under valgrind, and are replaced)."""
    if job.measure != INSTRUCTIONS:
        return
    folder = counts_dir(job)
    if why := callgrind.failure(folder):
        raise CellUnsupported(f"valgrind: {why}")
    result.per_iteration, once = callgrind.phases(
        callgrind.intervals(folder), job.warmup, job.iterations
    )
    result.host_phases = once
    result.notes["measure"] = "instructions (callgrind, a dump at each phase boundary)"


def child_failure(job: CellJob) -> str | None:
    """valgrind's words when a child under it failed because of valgrind."""
    if job.measure != INSTRUCTIONS:
        return None
    return callgrind.failure(counts_dir(job))


def worker_command(job: CellJob, argv: list[str]) -> tuple[list[str], dict[str, str]] | None:
    """The command to re-execute a worker with (argv: its own, sys.executable first), when
    its host measures itself in-process: under callgrind (`instructions`), or with the
    clock shim preloaded (`cpu` on wasmtime-py). None: run as it is."""
    if os.environ.get(MEASURED_ENV) or job.cell.host not in SELF_MEASURED_HOSTS:
        return None
    env = dict(os.environ, **{MEASURED_ENV: job.measure})
    if job.measure == INSTRUCTIONS:
        if job.cell.host != "native":
            raise CellUnsupported(
                "instructions: not measured on wasmtime-py (its Python host functions read "
                "the clock inside the guest's phases, so the guest's phase boundaries cannot "
                "be told apart under callgrind); use --measure cpu or wall"
            )
        shim.library()  # built now: the host turns callgrind on through it
        cmd = callgrind.command(counts_dir(job), (), instrument_at_start=False)
        return [*cmd, *argv], env
    if job.measure == CPU and job.cell.host == "wasmtime-py":
        return argv, shim.preload(env, every_thread=False)
    return None


def under_callgrind() -> bool:
    """This worker runs under callgrind: every clock read is a phase boundary, so it
    must read no clock of its own (e.g. a watcher thread's sleeps)."""
    return os.environ.get(MEASURED_ENV) == INSTRUCTIONS


def self_clock(job: CellJob) -> Callable[[], int]:
    """The clock our native host reads at each phase boundary: wall (perf_counter_ns),
    cpu (process_time_ns), instructions (a callgrind dump, a client request; the values
    then come from the dumps, collect_counts)."""
    if job.measure != INSTRUCTIONS:
        return time.process_time_ns if job.measure == CPU else time.perf_counter_ns
    if not under_callgrind():
        raise CellUnsupported("instructions: this worker is not running under valgrind")
    import ctypes

    lib = ctypes.CDLL(str(shim.library()))
    lib.wasinn_callgrind_start()  # the imports are done: count from here
    dump = lib.wasinn_callgrind_dump
    dump.restype = None

    def boundary() -> int:
        dump()
        return 0

    return boundary


def guest_cpu_clock(on: bool) -> None:
    """wasmtime-py under `cpu`: the guest's monotonic clock (and this thread's
    perf_counter_ns) is CPU time while on (the shim preloaded by worker_command)."""
    import ctypes

    if os.environ.get(MEASURED_ENV) != CPU:
        raise CellUnsupported("cpu: this worker runs without the clock shim")
    ctypes.CDLL(None).wasinn_cpu_clock_thread(1 if on else 0)
