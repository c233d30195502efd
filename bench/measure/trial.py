"""What runs on this machine, found by trying: one iteration of every mlp-tiny cell."""

from __future__ import annotations

import tempfile
from pathlib import Path

from bench.measure.execute import execute
from bench.measure.matrix import Filters
from bench.measure.options import RunOptions
from bench.results.progress import CellState
from bench.results.run_plan import Overrides


def trial_run() -> list[CellState]:
    """Every cell of mlp-tiny for one iteration in a scratch folder: what runs here is
    found by trying (e.g. the CLI's build has no ONNX backend), not from a table. A run
    like any other (bench/measure/execute.py), finished and its lock released."""
    with tempfile.TemporaryDirectory(prefix="wasinn-bench-list-") as tmp:
        options = RunOptions(
            targets=["mlp-tiny"], filters=Filters(devices=["cpu", "gpu"]), out=Path(tmp) / "run",
            overrides=Overrides(iterations=1, warmup=0, rounds=1, timeout_s=120), offline_k=0,
        )  # fmt: skip
        return execute(options).states
