"""bench/measure/agreement.py: every cell's outputs against its reference cell's."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import numpy as np

from bench.measure.agreement import agreement
from bench.measure.prepare import PreparedModel
from bench.results.outputs import npz_safe
from bench.results.progress import CellState
from contracts.cells import Cell
from contracts.jobs import TensorSpec


def test_agreement_reports_a_nan_difference(tmp_path: Path) -> None:
    """max_abs_diff must not read 0 when an output differs by NaN."""
    tol = SimpleNamespace(atol=1e-5, rtol=1e-5)
    workload = SimpleNamespace(kind="model", tolerance_for=lambda _name: tol)
    prepared = {"w": PreparedModel(workload, None, [], [TensorSpec("y", 0, "f32", [2])])}  # type: ignore[arg-type]
    native = Cell("w", "native", "native", "onnx", "cpu")
    wasm = Cell("w", "preview1", "wasmtime-py", "onnx", "cpu")
    for cell, y in ((native, [1.0, 2.0]), (wasm, [1.0, np.nan])):
        path = tmp_path / f"{cell.slug}.npz"
        np.savez(path, **npz_safe({"y": np.array(y, dtype=np.float32)}))
    states = [CellState(native, status="ok"), CellState(wasm, status="ok")]
    agrees, diff = agreement(states, prepared, tmp_path)[wasm.key]  # type: ignore[arg-type]
    assert agrees is False
    assert np.isnan(diff) or diff == float("inf")  # not a 0.0 that hides the NaN
