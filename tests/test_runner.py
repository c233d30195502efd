"""bench/measure/runner.py: the rounds and the offline pass, driven without workers."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

from bench.measure.runner import Runner
from bench.results.progress import CellState
from contracts.cells import Cell


def test_offline_pass_survives_a_guest_reporting_zero_time(tmp_path: Path, monkeypatch) -> None:
    """The samples come from the guest: all-zero totals must not crash the whole run
    (ZeroDivisionError) in the offline pass; the cell's offline result is a failure."""
    cell = Cell("w", "preview1", "wasmtime-py", "onnx", "cpu")
    workload = SimpleNamespace(timeout_s=60, memory_limit_mb=1024)
    prepared = {"w": SimpleNamespace(workload=workload)}
    r = Runner(tmp_path, prepared, [CellState(cell, status="ok")], seed=0)  # type: ignore[arg-type]
    r.offline_k = 2
    ok = {"status": "ok", "iterations": {"total": [0, 0, 0]}}  # what a hostile guest can write
    monkeypatch.setattr(r, "_job", lambda *_args: None)  # the worker cannot be made to do it
    monkeypatch.setattr(r, "_spawn", lambda workdirs, *_args: [ok for _ in workdirs])
    r.run_offline(r.states[0])
    assert r.states[0].offline_ips is None and "no time" in r.states[0].offline_reason
