"""hosts/wasmtime_py/host_work.py: the wasmtime-py hosts' own work inside each phase."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from contracts.cells import Cell


@pytest.mark.parametrize("variant", ["component", "adapted", "preview1"])
def test_wasmtime_py_records_host_work_within_each_phase(tmp_path: Path, variant: str) -> None:
    from hosts.wasmtime_py import component, preview1
    from tests.test_component import _job, _tiny_model

    _tiny_model(tmp_path / "tiny.onnx")
    rng = np.random.default_rng(2)
    for name in ("x", "y"):
        rng.standard_normal((1, 4)).astype(np.float32).tofile(tmp_path / f"{name}.bin")
    job = _job(tmp_path, tmp_path / "work")
    job.cell = Cell("tiny", variant, "wasmtime-py", "onnx", "cpu")
    host = preview1 if variant == "preview1" else component
    it = host.run_round(job).per_iteration
    for phase in ("set_input", "compute", "get_output"):
        work = it[f"host_{phase}"]
        assert len(work) == len(it[phase]) == 3
        # two inputs, one compute, two outputs per iteration: each timed inside its phase
        assert all(0 < w <= p for w, p in zip(work, it[phase], strict=True)), phase


def test_host_work_attributes_calls_to_iterations() -> None:
    from hosts.wasmtime_py.host_work import HostWork

    h = HostWork()
    one = [("set_input", 1), ("set_input", 2), ("compute", 10), ("get_output", 5)]
    h.calls = [("get_output", 99)] + one * 3 + [("compute", 7), ("get_output", 1)]
    assert h.per_iteration(3) == {"host_set_input": [3, 3, 0], "host_compute": [10, 10, 7],
                                  "host_get_output": [5, 5, 1]}  # fmt: skip
    assert h.per_iteration(5) == {}  # fewer iterations than asked: not attributable
