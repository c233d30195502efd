"""Run one round of one cell in this (sub)process: `python -m bench.measure.worker JOB OUT`.

The runner starts a fresh worker per (cell, round) so that a crash, a trap or
a leak in one cell cannot touch the harness or the next cell. JOB is an envelope
`{"kind", "cell", "job"}`: the workload kind (bench/measure/kinds) runs `job`. The
worker writes OUT/result.json (a `WorkerResult`) and OUT/outputs.npz.
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
from pathlib import Path
from typing import Any

from bench.measure.kinds import get_kind
from bench.measure.report_check import checked
from contracts.jobs import CellFailed, CellJob, CellSkipped, CellUnsupported, WorkerResult
from contracts.measures import INSTRUCTIONS, WALL
from hosts import measures

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


def _test_fault(cell_key: str) -> None:
    kind, _, key = os.environ.get(FAULT_ENV, "").partition(":")
    if kind == "segv" and key == cell_key:
        ctypes.string_at(0)  # a real segmentation fault (NULL read)


def envelope(kind: str, cell_key: str, job: dict[str, object]) -> str:
    """job.json: the kind that runs the job, the cell (for the fault hook), the job."""
    return json.dumps({"kind": kind, "cell": cell_key, "job": job})


def _measured_exec(raw: dict[str, Any], job_path: Path, out_dir: Path) -> dict[str, Any]:
    """Re-execute this worker under callgrind or with the clock shim when the job's
    host measures itself in-process (hosts/measures); returns (the job, as it is to
    run) only when it need not. Only a kind whose `measures` go beyond wall time gets
    here with another, and its job is a `CellJob` (the model kind)."""
    measure = raw["job"].get("measure", WALL)
    if measure == WALL:
        return raw
    if measure not in get_kind(raw["kind"]).measures:
        raise CellUnsupported(
            f"--measure {measure}: a {raw['kind']} workload is measured in wall time only"
        )
    job = CellJob.from_dict(raw["job"])
    if job.measure == INSTRUCTIONS and job.threads != 1:
        job.threads = 1  # every cell on one backend thread: counts like for like
        raw = {**raw, "job": job.to_dict()}
        job_path.write_text(json.dumps(raw))
    argv = [sys.executable, "-m", "bench.measure.worker", str(job_path), str(out_dir)]
    if plan := measures.worker_command(job, argv):
        cmd, env = plan
        sys.stdout.flush()
        sys.stderr.flush()
        os.execve(cmd[0], cmd, env)
    return raw


def run(job_path: Path, out_dir: Path) -> int:
    raw = json.loads(job_path.read_text())
    try:
        raw = _measured_exec(raw, job_path, out_dir)
        _test_fault(raw["cell"])
        result = get_kind(raw["kind"]).run_round(raw["job"], out_dir)
    except CellUnsupported as e:
        result = WorkerResult("unsupported", str(e))
    except CellSkipped as e:
        result = WorkerResult("skipped", str(e))
    except CellFailed as e:
        result = WorkerResult("failed", str(e))
    except Exception as e:  # a host bug: still a cell failure, with the traceback on stderr
        traceback.print_exc()
        result = WorkerResult("failed", f"{type(e).__name__}: {e}")
    tmp = out_dir / "result.json.tmp"
    # a guest's bad numbers fail this cell only (bench/measure/report_check.py)
    tmp.write_text(json.dumps(checked(result.to_dict())))
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
