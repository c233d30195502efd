"""Do a cell's outputs agree with its reference? Each workload kind decides for its own
cells (bench/measure/kinds: numbers within tolerance, identical text, ...)."""

from __future__ import annotations

from pathlib import Path

from bench.measure.kinds import kind_of
from bench.measure.workload_kind import Agreement, PreparedWorkload
from bench.results.progress import CellState


def agreement(
    states: list[CellState], prepared: dict[str, PreparedWorkload], outputs_dir: Path
) -> dict[str, Agreement]:
    """cell key -> (agrees, max_abs_diff), asked of each workload's kind for its cells.
    A kind may fail a cell whose outputs show it did not do the work (its state changes)."""
    by_kind: dict[str, list[CellState]] = {}
    for s in states:
        by_kind.setdefault(prepared[s.cell.workload].workload.kind, []).append(s)
    result: dict[str, Agreement] = {}
    for states_of_kind in by_kind.values():
        kind = kind_of(prepared[states_of_kind[0].cell.workload].workload)
        result |= kind.agreement(states_of_kind, prepared, outputs_dir)
    return result
