"""Do a cell's outputs agree with its reference cell (`Cell.reference`)?"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from bench.measure.generate import tokens_agree
from bench.measure.prepare import PreparedWorkload
from bench.results.outputs import load_outputs
from bench.results.progress import CellState
from contracts.cells import Cell


def agreement(
    states: list[CellState], prepared: dict[str, PreparedWorkload], outputs_dir: Path
) -> dict[str, tuple[Any, Any]]:
    """cell key -> (agrees, max_abs_diff) against the cell's reference (`Cell.reference`):
    wasm cells and the C baseline against the Python native cell of the same backend
    and device, Python native cells against the native onnxruntime cell of their
    device (a cross-backend check)."""

    def outputs_of(cell: Cell) -> dict[str, np.ndarray] | None:
        path = outputs_dir / f"{cell.slug}.npz"
        return load_outputs(path) if path.exists() else None

    from bench.measure.program import program_agreement

    # Programs: the same stdout/stderr everywhere (it may fail a cell; see there).
    result = program_agreement(states, prepared, outputs_dir)
    for s in states:
        if s.status != "ok" or prepared[s.cell.workload].program is not None:
            continue
        c = s.cell
        mine, theirs = outputs_of(c), outputs_of(c.reference)
        if mine is None or theirs is None:
            result[c.key] = (None, None)
            continue
        if prepared[c.workload].generate is not None:  # the same token ids, exactly
            result[c.key] = tokens_agree(mine, theirs)
            continue
        w = prepared[c.workload].workload
        agrees, worst = True, 0.0
        for spec in prepared[c.workload].outputs:
            a = _by_name_or_position(mine, spec.name, spec.index)
            b = _by_name_or_position(theirs, spec.name, spec.index)
            if a is None or b is None or a.size != b.size:
                agrees, worst = False, float("inf")
                continue
            a64, b64 = a.reshape(-1).astype(np.float64), b.reshape(-1).astype(np.float64)
            diff = float(np.max(np.abs(a64 - b64))) if a.size else 0.0
            worst = diff if np.isnan(diff) or diff > worst else worst  # max() drops a NaN
            tol = w.tolerance_for(spec.name)
            agrees &= bool(np.allclose(a64, b64, atol=tol.atol, rtol=tol.rtol))
        result[c.key] = (agrees, worst)
    return result


def _by_name_or_position(
    outputs: dict[str, np.ndarray], name: str, index: int
) -> np.ndarray | None:
    if name in outputs:
        return outputs[name]
    values = list(outputs.values())
    return values[index] if index < len(values) else None
