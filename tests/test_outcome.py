"""bench/analyze/outcome.py: how a run ended, and its documented exit code."""

from __future__ import annotations

from bench.analyze.outcome import (
    EXIT_CELLS_FAILED,
    EXIT_NOTHING_MEASURED,
    EXIT_OK,
    EXIT_TARGET_CI,
    outcome,
)
from tests.synthetic_run import basic_cells, make_run, summary_of


def test_exit_codes_and_what_accept_passes(tmp_path):
    run = make_run(tmp_path / "r", basic_cells(), rounds=2, iterations=10)
    o = outcome(summary_of(run))
    assert o.counts == {"ok": 17, "failed": 1, "unsupported": 1}
    assert [k.key for k in o.failed] == ["squeezenet/component/wasmtime-cli/openvino/cpu"]
    assert o.exit_code() == EXIT_CELLS_FAILED and "1 cell(s) failed" in o.why(3)
    assert o.exit_code({"failed"}) == EXIT_OK
    # a target no cell can reach: exit 4 once the failures are accepted, 3 wins before
    missed = outcome(summary_of(run, target=0.0001))
    assert len(missed.target_missed) == 13  # every wasm cell, never a native one
    assert missed.exit_code() == EXIT_CELLS_FAILED
    assert missed.exit_code({"failed"}) == EXIT_TARGET_CI
    assert missed.exit_code({"failed", "target-ci"}) == EXIT_OK
    # an easy target: reached
    assert outcome(summary_of(run, target=500)).exit_code({"failed"}) == EXIT_OK


def test_a_run_that_measured_nothing_exits_1_whatever_is_accepted(tmp_path):
    cells = {("w", "native", "native", "onnx", "cpu"): "failed: boom",
             ("w", "preview1", "wasmtime-py", "onnx", "cpu"): "unsupported: no"}  # fmt: skip
    o = outcome(summary_of(make_run(tmp_path / "r", cells)))
    assert o.exit_code({"failed", "target-ci"}) == EXIT_NOTHING_MEASURED
    assert "no cell measured" in o.why(EXIT_NOTHING_MEASURED)
