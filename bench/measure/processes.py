"""Worker processes: start, watch (timeout, memory), kill, and explain their end.

Each (cell, round) runs in its own session so that a kill reaches the worker and
everything it started (the CLI host's wasmtime child) and nothing else.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from pathlib import Path

POLL_S = 0.05


def watch(
    procs: list[subprocess.Popen[bytes]], timeout_s: float, memory_limit_mb: int
) -> list[str | None]:
    """Wait for the workers; kill one on timeout or over the memory limit (its reason)."""
    deadline = time.monotonic() + timeout_s
    limit_kb = memory_limit_mb * 1024
    reasons: list[str | None] = [None] * len(procs)
    while any(p.poll() is None for p in procs):
        for i, proc in enumerate(procs):
            if proc.poll() is not None:
                continue
            if time.monotonic() > deadline:
                kill_tree(proc)
                reasons[i] = f"timeout: no result after {timeout_s:g} s"
            elif (rss := tree_rss_kb(proc.pid)) > limit_kb:
                kill_tree(proc)
                reasons[i] = f"memory limit: {rss // 1024} MiB > {memory_limit_mb} MiB"
        time.sleep(POLL_S)
    return reasons


def check_disk(run_dir: Path, probe_bytes: int = 1 << 20) -> None:
    """Raise the OSError (e.g. ENOSPC) if the run folder cannot take a write now.

    A worker on a full disk dies without writing its result or stderr; recording
    that as the cell's failure would wrongly fail it for good (--resume skips it).
    Raising instead stops the run with the round unrecorded: --resume re-runs it."""
    probe_file = run_dir / ".disk-check"
    try:
        with open(probe_file, "wb") as f:
            f.write(b"\0" * probe_bytes)
            f.flush()
            os.fsync(f.fileno())
    except OSError as e:
        raise OSError(e.errno, e.strerror, str(run_dir)) from e
    finally:
        probe_file.unlink(missing_ok=True)


def kill_tree(proc: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()


def tree_rss_kb(pid: int) -> int:
    """Resident memory of a process and its descendants (the CLI host forks wasmtime)."""
    total, stack = 0, [pid]
    while stack:
        p = stack.pop()
        try:
            with open(f"/proc/{p}/status") as f:
                for line in f:
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1])
                        break
            for task in os.listdir(f"/proc/{p}/task"):
                with open(f"/proc/{p}/task/{task}/children") as f:
                    stack += [int(x) for x in f.read().split()]
        except (OSError, ValueError):
            continue
    return total


def exit_reason(code: int | None) -> str:
    if code is not None and code < 0:
        try:
            name = signal.Signals(-code).name
        except ValueError:
            name = f"signal {-code}"
        return f"worker killed by {name}"
    return f"worker exited with status {code} and no result"
