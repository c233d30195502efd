"""One run per run folder: an exclusive flock on `<run>/.lock`, held for the run's life.

The kernel drops a flock when its holder exits in any way (kill -9 included), so a
lock left by a dead run is no lock: nothing to clean up. The file holds the
holder's pid, for the message a second run prints.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from pathlib import Path

from contracts.errors import UserError

LOCK_NAME = ".lock"


class RunFolderBusy(UserError):
    """Another live run holds the folder."""


class RunLock:
    """The held lock; `release()` (or process exit) lets the next run in."""

    def __init__(self, path: Path, fd: int):
        self.path, self.fd = path, fd

    def release(self, remove: bool = False) -> None:
        if self.fd < 0:
            return
        if remove:  # unlinked while still held: no other run can be inside
            self.path.unlink(missing_ok=True)
        os.close(self.fd)
        self.fd = -1


def lock_run_folder(run_dir: Path) -> RunLock:
    """Take the folder's lock, or raise RunFolderBusy naming it and the holder's pid."""
    path = run_dir / LOCK_NAME
    for _ in range(5):  # the folder may be removed under us (a run with bad input): retry
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _read_pid(fd)
            os.close(fd)
            raise RunFolderBusy(
                f"{run_dir}: in use by another run (pid {holder or 'unknown'}); "
                "wait for it to end or choose another --out"
            ) from None
        if _same_file(fd, path):
            os.ftruncate(fd, 0)
            os.write(fd, f"{os.getpid()}\n".encode())
            return RunLock(path, fd)
        os.close(fd)  # we locked a file that was unlinked meanwhile: take the new one
    raise RunFolderBusy(f"{run_dir}: its lock file keeps changing; another run is using it")


def _same_file(fd: int, path: Path) -> bool:
    try:
        return os.stat(path).st_ino == os.fstat(fd).st_ino
    except FileNotFoundError:
        return False


def _read_pid(fd: int) -> str:
    with contextlib.suppress(OSError):
        return os.pread(fd, 32, 0).decode(errors="replace").strip()
    return ""
