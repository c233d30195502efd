"""Start worker processes for prepared job folders and read back their `WorkerResult`s.

Each worker runs in its own session (Ctrl-C reaches the harness only, which then stops
the worker) and knows the runner by pid, so that it dies with it (bench/measure/worker.py).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from bench.measure.processes import exit_reason, watch
from bench.measure.report_check import read_result
from bench.measure.worker import RUNNER_PID_ENV
from contracts import paths
from contracts.jobs import WorkerResult
from contracts.logtail import telling_file


def run_workers(
    workdirs: list[Path], timeout_s: float, memory_limit_mb: int,
    live: list[subprocess.Popen[bytes]],
) -> list[WorkerResult]:  # fmt: skip
    """One worker per workdir (each holding job.json), all at once; wait for all. `live`
    holds the running workers meanwhile (a signal handler kills them)."""
    # The worker's parent by pid: it may lose us during its imports (kill -9), and
    # then its own getppid() would already be init's.
    env = dict(os.environ, PYTHONUNBUFFERED="1", **{RUNNER_PID_ENV: str(os.getpid())})
    files = []
    for wd in workdirs:
        out, err = open(wd / "worker.stdout", "wb"), open(wd / "worker.stderr", "wb")  # noqa: SIM115
        files += [out, err]
        cmd = [sys.executable, "-m", "bench.measure.worker", str(wd / "job.json"), str(wd)]
        live.append(subprocess.Popen(cmd, stdout=out, stderr=err, cwd=paths.REPO_ROOT, env=env,
                                     start_new_session=True))  # fmt: skip
    procs = list(live)
    try:
        reasons = watch(procs, timeout_s, memory_limit_mb, workdirs)
    finally:
        live.clear()
        for f in files:
            f.close()
    return [
        _result(wd, proc, reason) for wd, proc, reason in zip(workdirs, procs, reasons, strict=True)
    ]


def _result(wd: Path, proc: subprocess.Popen[bytes], reason: str | None) -> WorkerResult:
    result_path = wd / "result.json"
    if reason is None and result_path.exists():
        return WorkerResult.from_dict(read_result(result_path))  # checked: a guest wrote it
    reason = reason or exit_reason(proc.returncode)
    last = telling_file(wd / "worker.stderr", keep=8)  # more: a usage text can follow the error
    return WorkerResult("failed", f"{reason}{': ' + last if last else ''}")
