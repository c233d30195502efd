"""The headline metric and the one rule for a change, shared by compare, steps,
history and the dashboard (docs/compare.md).

A cell's headline value in one run is, per metric:
  overhead    (default) median(cell) / median(native cell of the same workload, backend
              and device) in the same run: measured side by side, interleaved round by
              round, so drift of the machine between runs cancels;
  overhead_c  the same against the native-c cell (the C driver compiled natively);
  p50         the median itself, in the run's measure (ms of wall or CPU time, or
              instructions), for a quiet dedicated machine.
Rounds are the independent unit everywhere: a change between two groups of runs (two
runs in compare, the runs before and after a step in history) is the ratio of their
headline values with a two-level bootstrap CI over rounds, a Mann-Whitney U test over
per-round values, and stats.decide's rule; iterations are never pooled into a test.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from bench.analyze import stats
from bench.analyze.runs import Run
from bench.analyze.summarize import baseline_of, phase_rounds
from contracts.cells import Cell

METRICS = ("overhead", "overhead_c", "p50")
MEASURE_UNITS = {"wall": "ms", "cpu": "ms CPU", "instructions": "M instructions"}
_RUN_STRIDE = 1_000_000  # round ids of merged runs: run index * stride + round


def unit(metric: str, measure: str = "wall") -> str:
    """What a headline value is, for labels: '× native', or the measure's unit."""
    if metric == "overhead":
        return "× native"
    if metric == "overhead_c":
        return "× native-c"
    if metric == "ttft":  # compare only (generative workloads)
        return f"TTFT {MEASURE_UNITS.get(measure, measure)}"
    return f"p50 {MEASURE_UNITS.get(measure, measure)}"


def reference(metric: str, key: Cell, known: set[Cell]) -> Cell:
    """The in-run reference of an overhead metric (`known`: the run's measured cells).
    A program's cells have no native twin in either metric: their preview1 cell."""
    if metric == "overhead_c" and (key.baseline in known or key.is_native):
        return key.native_c_baseline
    return baseline_of(key, known)


@dataclass(frozen=True)
class Measured:
    """One cell's rounds in one run (or several runs merged), and for the overhead
    metrics its reference's rounds from the same run(s)."""

    cell: stats.Rounds
    ref: stats.Rounds | None = None

    def per_round(self) -> np.ndarray:
        """One headline value per round: the unit of every rank test."""
        if self.ref is None:
            return stats.round_medians(self.cell)
        return stats.round_overheads(self.cell, self.ref)

    def value(self) -> float:
        """The headline value: pooled median, or the ratio of the pooled medians."""
        cell = _pooled(self.cell)
        return cell if self.ref is None else cell / _pooled(self.ref)


def _pooled(rounds: stats.Rounds) -> float:
    values = [np.asarray(v, dtype=float) for v in rounds.values() if np.asarray(v).size]
    return float(np.median(np.concatenate(values))) if values else float("nan")


def measured(run: Run, metric: str) -> dict[Cell, Measured]:
    """Every cell of `run` that has a headline value on `metric`. For the overhead
    metrics the references themselves (native cells, a program's preview1 cell) are
    left out: their value is 1 by definition, and the other baseline's ratio is
    Python's per-call cost, not a question about wasm (docs/compare.md)."""
    if metric not in METRICS:
        raise ValueError(f"--metric: unknown metric {metric!r} ({', '.join(METRICS)})")
    rounds = phase_rounds(run.samples, "total")
    if metric == "p50":
        return {k: Measured(r) for k, r in rounds.items() if r}
    known = set(rounds)
    out = {}
    for key, r in rounds.items():
        ref = reference(metric, key, known)
        if key == ref or key.is_native or not r or not rounds.get(ref):
            continue
        out[key] = Measured(r, rounds[ref])
    return out


def merge(parts: list[Measured]) -> Measured:
    """Several runs' rounds as one set of rounds (ids kept apart per run)."""

    def renumber(which: str) -> stats.Rounds:
        out: stats.Rounds = {}
        for i, m in enumerate(parts):
            for r, v in (getattr(m, which) or {}).items():
                out[i * _RUN_STRIDE + r] = v
        return out

    has_ref = parts[0].ref is not None if parts else False
    return Measured(renumber("cell"), renumber("ref") if has_ref else None)


@dataclass(frozen=True)
class Change:
    """head / base of a headline value, and what the rule made of it."""

    ratio: stats.Ratio
    p: float  # Mann-Whitney U over per-round values
    n_base: int  # rounds
    n_head: int
    verdict: str  # regressed | improved | unchanged
    rule: str  # the rule that decided, in words (stats.decide)


def change(
    base: Measured, head: Measured, factor: float = 1.10, seed: int = 0, per_round: bool = False
) -> Change:
    """The change from `base` to `head` (one run each, or merged runs) by the one rule.

    The CI resamples rounds, then iterations within them (compare); with `per_round` each
    round enters as its one headline value (its median, or its cell/reference ratio) and
    only rounds are resampled: the same unit, and fast enough for the many candidate
    tests of a long history (steps)."""
    hu, bu = head.per_round(), base.per_round()
    if per_round:
        ratio = stats.round_ratio(_one_each(hu), _one_each(bu), paired=False, seed=seed)
    elif head.ref is None or base.ref is None:
        ratio = stats.round_ratio(head.cell, base.cell, paired=False, seed=seed)
    else:
        ratio = stats.round_ratio_of_ratios(head.cell, head.ref, base.cell, base.ref, seed=seed)
    p = stats.mann_whitney_p(hu, bu)
    verdict, rule = stats.decide(ratio, p, bu.size, hu.size, factor)
    return Change(ratio, p, bu.size, hu.size, verdict, rule)


def _one_each(values: np.ndarray) -> stats.Rounds:
    return {i: np.array([v]) for i, v in enumerate(values)}
