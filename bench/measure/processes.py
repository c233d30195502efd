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

from contracts.logtail import MAX_OUTPUT_BYTES, TAIL_BYTES

POLL_S = 0.05
# What a worker and its guest may print: a guest's stdout and stderr (and a program's,
# run by run) are files in the worker's folder; past this one is killed, and logs/ keeps
# only the last LOG_TAIL_BYTES of each.
OUTPUT_FILES = ("*.txt", "worker.std*", "run*/*.txt")


def watch(
    procs: list[subprocess.Popen[bytes]], timeout_s: float, memory_limit_mb: int,
    workdirs: list[Path] | None = None,
) -> list[str | None]:  # fmt: skip
    """Wait for the workers; kill one on timeout, over the memory limit, or when an
    output file in its workdir grows past MAX_OUTPUT_BYTES (its reason)."""
    deadline = time.monotonic() + timeout_s
    limit_kb = memory_limit_mb * 1024
    reasons: list[str | None] = [None] * len(procs)
    folders = workdirs or [None] * len(procs)
    while any(p.poll() is None for p in procs):
        for i, (proc, folder) in enumerate(zip(procs, folders, strict=True)):
            if proc.poll() is not None:
                continue
            if time.monotonic() > deadline:
                reasons[i] = f"timeout: no result after {timeout_s:g} s"
            elif (rss := tree_rss_kb(proc.pid)) > limit_kb:
                reasons[i] = f"memory limit: {rss // 1024} MiB > {memory_limit_mb} MiB"
            elif folder is not None and (big := oversized_output(folder)):
                reasons[i] = f"output limit: {big} over {MAX_OUTPUT_BYTES >> 20} MiB"
            if reasons[i]:
                kill_tree(proc)
        time.sleep(POLL_S)
    return reasons


def oversized_output(folder: Path) -> str | None:
    """The first captured output file in `folder` past MAX_OUTPUT_BYTES, by name."""
    for pattern in OUTPUT_FILES:
        for path in folder.glob(pattern):
            with contextlib.suppress(OSError):
                if path.stat().st_size > MAX_OUTPUT_BYTES:
                    return str(path.relative_to(folder))
    return None


def keep_tail(src: Path, dst: Path, keep: int = TAIL_BYTES) -> None:
    """Copy the last `keep` bytes of src to dst (a log: its end tells what happened)."""
    with open(src, "rb") as f:
        size = f.seek(0, os.SEEK_END)
        f.seek(max(0, size - keep))
        data = f.read(keep)
    note = f"[first {size - keep} bytes left out]\n".encode() if size > keep else b""
    dst.write_bytes(note + data)


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
