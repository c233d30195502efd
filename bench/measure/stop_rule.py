"""--target-ci: when to stop adding interleaved rounds, and why (a typed `StopReason`).

After the planned rounds the runner keeps adding whole interleaved rounds until every
wasm cell's headline ratio has a 95% CI half-width within the target, or the time
budget (`--max-time`, counted from the run's start and checked between rounds; the
planned rounds always complete) is spent.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from bench.analyze.summarize import headline_widths
from contracts.cells import Cell

# Fewer rounds than this never count as precise: with one or two rounds the bootstrap
# sees no between-round spread and its interval is too narrow to trust.
MIN_ROUNDS_FOR_TARGET = 3
# Resamples of the check after each added round (summary.csv uses stats.N_BOOT): the
# check runs once per round and must stay cheap next to a round.
TARGET_N_BOOT = 500

# StopReason.kind
TARGET_REACHED = "target-reached"
TIME_OUT = "time-out"
NO_WASM_CELL = "no-wasm-cell"
NO_INTERVAL = "no-interval"


@dataclass(frozen=True)
class Precision:
    """The stop rule's view after a round: the widest headline CI half-width (%) over
    the wasm cells still running and how many are above the target (inf, 0: none yet)."""

    widest_pct: float
    above: int


@dataclass(frozen=True)
class StopReason:
    """Why the added rounds stopped; meta.json `stop` (and its text `config.stop_reason`)."""

    kind: str  # TARGET_REACHED | TIME_OUT | NO_WASM_CELL | NO_INTERVAL
    rounds: int  # rounds run (planned + added)
    target_pct: float
    max_time_s: float
    widest_pct: float
    above: int

    @property
    def reached(self) -> bool:
        return self.kind == TARGET_REACHED

    def text(self) -> str:
        if self.kind == TARGET_REACHED:
            return (f"target reached: every headline CI within ±{self.target_pct:g}% "
                    f"(widest ±{self.widest_pct:.2f}%) after {self.rounds} rounds")  # fmt: skip
        if self.kind == NO_WASM_CELL:
            return "no wasm cell left running: nothing to make precise"
        if self.kind == NO_INTERVAL:
            return "no headline ratio has an interval (baselines missing)"
        return (f"time out: --max-time {self.max_time_s:g}s spent after {self.rounds} rounds; "
                f"widest CI ±{self.widest_pct:.2f}%, {self.above} cell(s) above "
                f"±{self.target_pct:g}%")  # fmt: skip


def precision(totals: pd.DataFrame, running: set[Cell], target_pct: float) -> Precision:
    """Precision of the wasm cells in `running` from their `total` samples so far. A cell
    whose ratio has no interval (its baseline failed) cannot get there and is left out."""
    widths = headline_widths(totals, n_boot=TARGET_N_BOOT)
    finite = [w for k, (_, w) in widths.items() if k in running and np.isfinite(w)]
    if not finite:
        return Precision(float("inf"), 0)
    return Precision(max(finite), sum(w > target_pct for w in finite))


def decide(
    p: Precision, rounds: int, wasm_running: bool, elapsed_s: float, target_pct: float,
    max_time_s: float,
) -> StopReason | None:  # fmt: skip
    """Stop after `rounds` rounds, and why; None: add another round."""

    def stop(kind: str) -> StopReason:
        return StopReason(kind, rounds, target_pct, max_time_s, p.widest_pct, p.above)

    finite = bool(np.isfinite(p.widest_pct))
    if rounds >= MIN_ROUNDS_FOR_TARGET and p.above == 0 and finite:
        return stop(TARGET_REACHED)
    if not wasm_running:
        return stop(NO_WASM_CELL)
    if not finite and rounds >= MIN_ROUNDS_FOR_TARGET:
        return stop(NO_INTERVAL)  # e.g. every baseline failed: more rounds cannot help
    if elapsed_s >= max_time_s:
        return stop(TIME_OUT)
    return None
