"""Do a cell's outputs agree with its native baseline? (and the outputs' file format)"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from bench.cells import Cell
from bench.plan import CellState
from bench.prepare import PreparedWorkload


def npz_safe(arrays: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    # Output names can hold characters npz keys dislike; keep order with an index prefix.
    return {f"{i:03d}|{name}": a for i, (name, a) in enumerate(arrays.items())}


def load_outputs(path: Path) -> dict[str, np.ndarray]:
    with np.load(path) as npz:
        return {key.split("|", 1)[1]: npz[key] for key in sorted(npz.files)}


def agreement(
    states: list[CellState], prepared: dict[str, PreparedWorkload], outputs_dir: Path
) -> dict[str, tuple[Any, Any]]:
    """cell key -> (agrees, max_abs_diff) against the native baseline.

    Wasm cells, and the C baseline (host native-c), are compared with the Python
    native cell of the same backend and device; Python native cells with the
    native onnx cell of their device (a cross-backend check).
    """

    def outputs_of(cell: Cell) -> dict[str, np.ndarray] | None:
        path = outputs_dir / f"{cell.key.replace('/', '_')}.npz"
        return load_outputs(path) if path.exists() else None

    result: dict[str, tuple[Any, Any]] = {}
    for s in states:
        if s.status != "ok":
            continue
        c = s.cell
        base = (
            Cell(c.workload, "native", "native", "onnx", c.device)
            if c.variant == "native" and c.host == "native"
            else c.baseline
        )
        mine, theirs = outputs_of(c), outputs_of(base)
        if mine is None or theirs is None:
            result[c.key] = (None, None)
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
