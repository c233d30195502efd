"""bench/measure/report_check.py: what a worker reports is checked before it is
recorded; a guest's bad numbers fail its own cell, never the run (issue 25, defect 1)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bench.analyze.runs import load_run
from bench.measure.report_check import check_result, read_result
from contracts.phases import MAX_NS
from tests.helpers import run_cli
from tests.hostile.guests import write_samples_guest

GOOD = {
    "status": "ok",
    "per_iteration": {
        "set_input": [1, 2],
        "compute": [3, 4],
        "get_output": [5, 6],
        "total": [9, 12],
    },
    "per_round": {"load": 7, "init": 8},
    "peak_rss_kb": 1000,
    "notes": {"guest": "driver.wasm"},
    "output_names": ["y"],
}

HOSTILE = {
    "a sample past int64": {"per_iteration": {"total": [99999999999999999999]}},
    "a sample past a day": {"per_iteration": {"total": [MAX_NS + 1]}},
    "a negative sample": {"per_iteration": {"total": [-1]}},
    "a float sample": {"per_iteration": {"total": [1.5]}},
    "a NaN sample": {"per_iteration": {"total": [float("nan")]}},
    "a bool sample": {"per_iteration": {"total": [True]}},
    "a string sample": {"per_iteration": {"total": ["12"]}},
    "samples not a list": {"per_iteration": {"total": 12}},
    "no total": {"per_iteration": {"compute": [1]}},
    "no samples": {"per_iteration": {"total": []}},
    "ragged phases": {"per_iteration": {"total": [1, 2], "compute": [1]}},
    "a phase name with a path": {"per_iteration": {"total": [1], "../x": [1]}},
    "iterations not an object": {"per_iteration": [1, 2]},
    "a huge host phase": {"per_round": {"load": 2**70}},
    "a host phase that is text": {"per_round": {"load": "7"}},
    "host phases not an object": {"per_round": [7]},
    "a negative peak": {"peak_rss_kb": -5},
    "a float peak": {"peak_rss_kb": 1e30},
    "notes not an object": {"notes": ["x"]},
    "a note that is not text": {"notes": {"k": 5}},
    "a note of a megabyte": {"notes": {"k": "x" * 2**20}},
    "thousands of notes": {"notes": {str(i): "" for i in range(1000)}},
    "output names not text": {"output_names": [1]},
    "an unknown status": {"status": "great"},
    "a failure whose reason is not text": {"status": "failed", "reason": {"x": 1}},
}


def test_a_good_result_passes() -> None:
    assert check_result(GOOD) is None
    assert check_result({"status": "failed", "reason": "trap"}) is None


def test_phases_with_their_own_count_may_differ_in_length() -> None:
    """A generation's ttft and a program run's process time are not per iteration."""
    decoding = {**GOOD, "per_iteration": {**GOOD["per_iteration"], "ttft": [50]}}
    assert check_result(decoding) is None
    program = {**GOOD, "per_iteration": {"total": [1, 2, 3], "process": [9]}}
    assert check_result(program) is None
    assert "no samples" in str(check_result({**GOOD, "per_iteration": {"total": [], "ttft": [5]}}))


@pytest.mark.parametrize("case", sorted(HOSTILE))
def test_every_hostile_report_is_refused_with_its_field(case: str) -> None:
    problem = check_result({**GOOD, **HOSTILE[case]})
    assert problem is not None, case
    assert len(problem) < 200  # one short line, not a dump of what the guest wrote


@pytest.mark.parametrize("content", [b"", b"{", b"\xff\xfe", b"[1, 2]", b"null"])
def test_a_corrupt_result_file_fails_its_cell(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "result.json"
    path.write_bytes(content)
    result = read_result(path)
    assert result["status"] == "failed" and result["reason"]


def test_a_long_failure_reason_is_cut(tmp_path: Path) -> None:
    path = tmp_path / "result.json"
    path.write_text(json.dumps({"status": "failed", "reason": "x" * 10**6}))
    assert len(read_result(path)["reason"]) <= 8192


def test_a_guest_reporting_a_sample_past_int64_fails_only_its_cell(tmp_path: Path) -> None:
    """Defect 1: the runner died with OverflowError and wrote no summary."""
    text = "wasi-nn-driver-samples 1\n" + "iter 1 1 1 99999999999999999999\n" * 3
    guest = write_samples_guest(text, tmp_path)
    toml = tmp_path / "forged.toml"
    toml.write_text(
        'name = "forged"\nvariants = ["preview1"]\nhosts = ["wasmtime-py"]\n'
        'backends = ["onnx"]\n[model]\nbuilder = "mlp_tiny"\n'
        f'[inputs.input]\nshape = [1, 64]\ndtype = "f32"\n[guests]\npreview1 = "{guest.name}"\n'
    )
    out = tmp_path / "run"
    fast = ["--iterations", "3", "--warmup", "1", "--rounds", "1", "--offline", "0"]
    p = run_cli("run", str(toml), *fast, "--out", str(out))
    assert p.returncode == 3, p.stderr  # the forged cell failed, the native one ran
    run = load_run(out)
    cells = run.cells.set_index("variant")
    assert cells.loc["preview1", "status"] == "failed"
    assert "bad number" in cells.loc["preview1", "reason"]
    assert cells.loc["native", "status"] == "ok"  # the other cell of the run
    assert (out / "summary.csv").exists()
    assert (run.samples["ns"] < MAX_NS).all()
