"""A host's child process (the wasmtime CLI, the native-c driver), run and measured the
same way by every host that has one."""

from __future__ import annotations

import os
import subprocess
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path


@dataclass
class ChildExit:
    code: int  # exit status; -N for a signal
    wall_ns: int
    peak_rss_kb: int  # the child's own peak (its rusage), not this process's
    timed_out: bool  # killed by our timer, not crashed by itself


def run_child(
    cmd: Sequence[str],
    stdout: Path,
    stderr: Path,
    env: Mapping[str, str],
    cwd: Path | str,
    timeout: float | None = None,
    executable: Path | None = None,
) -> ChildExit:
    """Run `cmd` to its end (or until `timeout` seconds, then kill it), its output in
    the two files."""
    with open(stdout, "wb") as out, open(stderr, "wb") as err:
        t0 = time.perf_counter_ns()
        proc = subprocess.Popen(
            list(cmd), executable=executable, stdout=out, stderr=err, env=dict(env), cwd=cwd
        )
        timed_out = threading.Event()  # set only when the timer fired (not on a crash)

        def kill() -> None:
            timed_out.set()
            proc.kill()

        timer = threading.Timer(timeout, kill) if timeout else None
        if timer:
            timer.start()
        try:
            _, status, usage = os.wait4(proc.pid, 0)  # rusage of this child only
        finally:
            if timer:
                timer.cancel()
        wall_ns = time.perf_counter_ns() - t0
    proc.returncode = code = os.waitstatus_to_exitcode(status)
    return ChildExit(code, wall_ns, usage.ru_maxrss, timed_out.is_set())
