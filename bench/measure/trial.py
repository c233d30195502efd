"""What runs on this machine, found by trying: one iteration of every mlp-tiny cell."""

from __future__ import annotations

import tempfile
from pathlib import Path

from bench.measure import plan, runner
from bench.measure.matrix import Filters
from bench.results.progress import CellState
from bench.results.run_plan import Overrides


def trial_run() -> list[CellState]:
    """Every cell of mlp-tiny for one iteration in a scratch folder: what runs here is
    found by trying (e.g. the CLI's build has no ONNX backend), not from a table."""
    with tempfile.TemporaryDirectory(prefix="wasinn-bench-list-") as tmp:
        options = plan.RunOptions(
            targets=["mlp-tiny"], filters=Filters(devices=["cpu", "gpu"]), out=Path(tmp) / "run",
            overrides=Overrides(iterations=1, warmup=0, rounds=1, timeout_s=120),
        )  # fmt: skip
        setup = plan.setup_new(options, lambda _msg: None)
        runner.Runner(setup.run_dir, setup.prepared, setup.states, seed=0).run(set())
        return setup.states
