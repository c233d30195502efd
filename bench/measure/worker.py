"""Run one round of one cell in this (sub)process: `python -m bench.measure.worker JOB OUT`.

The runner starts a fresh worker per (cell, round) so that a crash, a trap or
a leak in one cell cannot touch the harness or the next cell. The worker
writes OUT/result.json (status, samples, notes) and OUT/outputs.npz.
"""

from __future__ import annotations

import ctypes
import json
import os
import signal
import sys
import threading
import time
import traceback
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np

from bench.measure.program import is_program_job
from bench.measure.program import run_round as run_program_round
from bench.measure.report_check import checked
from contracts.jobs import CellFailed, CellJob, CellSkipped, CellUnsupported, reset_peak_rss
from contracts.machine import StateWindow
from contracts.measures import INSTRUCTIONS, WALL
from hosts import get_host, measures
from hosts.backends import get_backend

# Test-only fault hook (docs/reliability.md): "segv:CELL-KEY" makes the worker of
# that cell die of a real SIGSEGV, the one crash no guest can cause here.
FAULT_ENV = "WASINN_BENCH_TEST_FAULT"
# Set by the runner to its pid: the worker dies as soon as its parent is no longer it
# (a runner killed during the worker's imports leaves it to init before it could look).
RUNNER_PID_ENV = "WASINN_BENCH_RUNNER_PID"


def _die_with_parent(parent: int, period_s: float = 0.5) -> None:
    """Kill this worker (and the wasmtime CLI it may have started) once the runner is
    gone, e.g. after a kill -9: an orphan running a looping guest would never stop.
    A thread, not a signal handler: guest code runs in wasmtime with the GIL released."""

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(period_s)
        if os.getpgrp() == os.getpid():  # our own session (the runner starts us so)
            os.killpg(os.getpid(), signal.SIGKILL)
        os.kill(os.getpid(), signal.SIGKILL)

    threading.Thread(target=watch, name="die-with-parent", daemon=True).start()


def _kill_with_parent(parent: int) -> None:
    """The kernel kills this worker when the runner dies (PR_SET_PDEATHSIG), for a worker
    under callgrind, where a watcher thread's clock reads would be phase boundaries."""
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    if os.getppid() != parent:  # it died before we asked
        os.kill(os.getpid(), signal.SIGKILL)


def _test_fault(job: CellJob) -> None:
    kind, _, key = os.environ.get(FAULT_ENV, "").partition(":")
    if kind == "segv" and key == job.cell.key:
        ctypes.string_at(0)  # a real segmentation fault (NULL read)


def _run_cell(job: CellJob, out_dir: Path) -> dict[str, object]:
    _test_fault(job)
    host = get_host(job.cell.host)
    # Import the backend's libraries first, then start the peak-memory window: the
    # round's peak should be its own work (model, tensors, guest), not import spikes.
    get_backend(job.cell.backend)
    reset_peak_rss()
    window = StateWindow()  # the machine's state during the round (docs/measures.md)
    r = host.run_round(job)
    state = window.close()
    np.savez(out_dir / "outputs.npz", *r.outputs.values())  # arr_0.. in output_names order
    return {
        "status": "ok",
        "iterations": r.iterations,
        "host_phases": r.host_phases,
        "peak_rss_kb": r.peak_rss_kb,
        "notes": r.notes,
        "output_names": list(r.outputs),
        "machine_state": asdict(state),
    }


def _measured_exec(raw: dict[str, Any], job_path: Path, out_dir: Path) -> dict[str, Any]:
    """Re-execute this worker under callgrind or with the clock shim when the job's
    host measures itself in-process (hosts/measures); returns (the job, as it is to
    run) only when it need not."""
    measure = raw.get("measure", WALL)
    if measure == WALL:
        return raw
    if is_program_job(raw) or raw.get("generate"):
        what = "program" if is_program_job(raw) else "generative (docs/decoding.md)"
        raise CellUnsupported(
            f"--measure {measure}: {what} workloads are measured in wall time only"
        )
    job = CellJob.from_json(json.dumps(raw))
    if job.measure == INSTRUCTIONS and job.threads != 1:
        job.threads = 1  # every cell on one backend thread: counts like for like
        job_path.write_text(job.to_json())
        raw = json.loads(job.to_json())
    argv = [sys.executable, "-m", "bench.measure.worker", str(job_path), str(out_dir)]
    if plan := measures.worker_command(job, argv):
        cmd, env = plan
        sys.stdout.flush()
        sys.stderr.flush()
        os.execve(cmd[0], cmd, env)
    return raw


def run(job_path: Path, out_dir: Path) -> int:
    raw = json.loads(job_path.read_text())
    result: dict[str, object]
    try:
        raw = _measured_exec(raw, job_path, out_dir)
        if is_program_job(raw):  # a whole program, `runs` times (bench/measure/program.py)
            result = run_program_round(raw, out_dir)
        else:
            result = _run_cell(CellJob.from_json(json.dumps(raw)), out_dir)
    except CellUnsupported as e:
        result = {"status": "unsupported", "reason": str(e)}
    except CellSkipped as e:
        result = {"status": "skipped", "reason": str(e)}
    except CellFailed as e:
        result = {"status": "failed", "reason": str(e)}
    except Exception as e:  # a host bug: still a cell failure, with the traceback on stderr
        traceback.print_exc()
        result = {"status": "failed", "reason": f"{type(e).__name__}: {e}"}
    tmp = out_dir / "result.json.tmp"
    tmp.write_text(json.dumps(checked(result)))  # a guest's bad numbers fail this cell only
    os.replace(tmp, out_dir / "result.json")
    return 0


def main() -> int:
    if len(sys.argv) != 3:
        print("usage: python -m bench.measure.worker JOB.json OUT_DIR", file=sys.stderr)
        return 2
    # The runner's pid, not getppid(): the runner may have died during our imports.
    parent = int(os.environ.get(RUNNER_PID_ENV) or os.getppid())
    if measures.under_callgrind():  # no watcher thread: its sleeps read the clock
        _kill_with_parent(parent)
    else:
        _die_with_parent(parent)
    return run(Path(sys.argv[1]), Path(sys.argv[2]))


if __name__ == "__main__":
    raise SystemExit(main())
