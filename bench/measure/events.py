"""What a run tells whoever watches it (a progress bar, a log): typed events.

The runner calls `on_event(event)` for each; nothing parses text. The counts are
enough for an ETA: `jobs_done` of `jobs_total` (cell rounds, the offline pass
included) with `rounds_planned` and the rounds the stop rule added, and the seconds
since the run started.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from bench.measure.stop_rule import Precision, StopReason
from contracts.cells import Cell


@dataclass(frozen=True)
class Planned:
    """Before the first job: what the run will do as planned (a resumed run: what is left)."""

    jobs_total: int  # (cell, round) jobs still to run, one offline job per cell included
    rounds_planned: int  # the planned rounds (the stop rule may add more)
    jobs_done: int  # already done before this session (--resume)
    max_time_s: float | None = None  # --target-ci's time budget (None: planned rounds only)


@dataclass(frozen=True)
class JobStarted:
    cell: Cell
    round: int  # bench.results.progress.OFFLINE_ROUND for the offline pass
    elapsed_s: float


@dataclass(frozen=True)
class JobFinished:
    cell: Cell
    round: int
    status: str  # ok | failed | unsupported | skipped | offline-failed
    jobs_done: int  # in this session
    jobs_total: int  # in this session, as known now (added rounds grow it)
    elapsed_s: float


@dataclass(frozen=True)
class RoundAdded:
    """The stop rule (--target-ci) added a round: the total grows, done stays."""

    round: int  # 0-based index of the added round
    jobs: int  # its (cell, round) jobs
    jobs_total: int  # the new total
    rounds_added: int  # added rounds so far in this run


@dataclass(frozen=True)
class PrecisionChecked:
    """The stop rule's check after a round (--target-ci)."""

    rounds: int
    precision: Precision
    target_pct: float


@dataclass(frozen=True)
class Stopped:
    """The added rounds stopped by themselves (--target-ci), and why."""

    reason: StopReason


Event = Planned | JobStarted | JobFinished | RoundAdded | PrecisionChecked | Stopped
OnEvent = Callable[[Event], None]


def ignore(_event: Event) -> None:
    """An on_event for runs nobody watches (`list`'s trial run, tests)."""
