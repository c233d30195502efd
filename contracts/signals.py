"""SIGTERM turned into KeyboardInterrupt for a block of work, so that the block's
cleanup (a staging folder, a temporary file) runs on `kill` as it does on Ctrl-C."""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager


def _raise(_signum: int, _frame: object) -> None:
    raise KeyboardInterrupt("terminated (SIGTERM)")


@contextmanager
def terminate_as_interrupt() -> Iterator[None]:
    """Within the block, SIGTERM raises KeyboardInterrupt (main thread only)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGTERM, _raise)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)
