"""bench/present/slides.py: `report --slides` on any run, whatever cells it has
(issue 25, defect 13: a run without adapted or component cells raised KeyError)."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.cli import main
from tests.synthetic_run import make_run

NATIVE = ("w", "native", "native", "onnx", "cpu")
P1 = ("w", "preview1", "wasmtime-py", "onnx", "cpu")
COMPONENT = ("w", "component", "wasmtime-py", "onnx", "cpu")
CELL_SETS = {
    "native and preview1": {NATIVE: 1.0, P1: 1.2},
    "native only": {NATIVE: 1.0},
    "preview1 only": {P1: 1.2},
    "component without preview1": {NATIVE: 1.0, COMPONENT: 1.3},
    "every wasm cell failed": {NATIVE: 1.0, P1: "failed: trap", COMPONENT: "failed: trap"},
}


@pytest.mark.parametrize("name", sorted(CELL_SETS))
def test_slides_for_a_run_of_any_cells(tmp_path: Path, name: str) -> None:
    run = make_run(tmp_path / "run", CELL_SETS[name], rounds=2, iterations=5)
    assert main(["report", str(run), "--slides", "--out", str(tmp_path / "rep")]) == 0
    assert (tmp_path / "rep" / "report.md").is_file()
