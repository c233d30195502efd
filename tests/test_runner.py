"""bench/measure/runner.py: the rounds and the offline pass, driven without workers."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from bench.analyze.runs import load_run
from bench.results.progress import CellState, read_progress
from bench.results.recording import Recorder
from bench.results.store import RunWriter, write_json
from contracts.cells import Cell
from contracts.jobs import WorkerResult
from tests.helpers import run_cli


def test_offline_pass_survives_a_guest_reporting_zero_time(tmp_path: Path) -> None:
    """The samples come from the guest: all-zero totals must not crash the whole run
    (ZeroDivisionError) in the offline pass; the cell's offline result is a failure."""
    state = CellState(Cell("w", "preview1", "wasmtime-py", "onnx", "cpu"), status="ok")
    recorder = Recorder(RunWriter(tmp_path), "run", "machine")
    ok = WorkerResult("ok", per_iteration={"total": [0, 0, 0]})  # what a hostile guest can write
    recorder.offline(state, [ok, ok], k=2)
    assert state.offline_ips is None and "no time" in state.offline_reason
    assert read_progress(tmp_path)[-1]["status"] == "offline-failed"


W = "mlp-tiny"  # the workload the tests below run


@pytest.mark.parametrize(
    "extra",
    [["--target-ci", "0"], ["--target-ci", "-3"], ["--target-ci", "abc"],
     ["--target-ci", "nan"], ["--target-ci", "5", "--max-time", "soon"],
     ["--target-ci", "5", "--max-time", "0s"], ["--max-time", "10m"]],
)  # fmt: skip
def test_bad_target_ci_or_max_time_exit_2(tmp_path: Path, extra: list[str]) -> None:
    out = tmp_path / "run"
    p = run_cli("run", W, "--hosts", "native", "--out", str(out), *extra, timeout=120)
    assert p.returncode == 2, p.stderr
    assert not out.exists()


def test_target_ci_stops_by_itself_and_records_it(tmp_path: Path) -> None:
    out = tmp_path / "run"
    p = run_cli(
        "run", W, "--hosts", "native,wasmtime-py", "--variants", "native,preview1",
        "--backends", "onnx", "--iterations", "20", "--warmup", "2", "--rounds", "2",
        "--offline", "0", "--target-ci", "50", "--max-time", "5m", "--out", str(out),
    )  # fmt: skip
    assert p.returncode == 0, p.stderr
    assert "stopped: target reached" in p.stderr
    plan = json.loads((out / "plan.json").read_text())
    assert plan["target_ci"] == {"pct": 50.0, "max_time_s": 300.0}
    meta = json.loads((out / "meta.json").read_text())
    assert meta["config"]["stop_reason"].startswith("target reached")
    s = load_run(out).summary
    p1 = s[s["variant"] == "preview1"].iloc[0]
    assert p1["rounds"] >= 3  # the stop rule never trusts fewer rounds
    assert str(p1["target_ci_met"]) == "True" and float(p1["headline_ci_pct"]) <= 50


def test_target_ci_times_out_and_says_so(tmp_path: Path) -> None:
    out = tmp_path / "run"
    p = run_cli(
        "run", W, "--hosts", "native,wasmtime-py", "--variants", "native,preview1",
        "--backends", "onnx", "--iterations", "5", "--warmup", "1", "--rounds", "1",
        "--offline", "0", "--target-ci", "0.0001", "--max-time", "1s", "--out", str(out),
    )  # fmt: skip
    assert p.returncode == 4, p.stderr  # target not reached (README "Exit codes")
    assert "stopped: time out" in p.stderr
    s = load_run(out).summary
    assert str(s[s["variant"] == "preview1"].iloc[0]["target_ci_met"]) == "False"


# -- host binding cost apart (wasmtime-py hosts) ------------------------------------


def test_target_ci_run_resumes_to_its_recorded_target(tmp_path: Path) -> None:
    out = tmp_path / "run"
    common = ["--hosts", "native,wasmtime-py", "--variants", "native,preview1", "--backends",
              "onnx", "--iterations", "20", "--warmup", "2", "--offline", "0"]  # fmt: skip
    p = run_cli("run", W, *common, "--rounds", "1", "--target-ci", "50", "--max-time", "1s",
                "--accept", "target-ci", "--out", str(out))  # fmt: skip
    assert p.returncode == 0 and "stopped: time out" in p.stderr, p.stderr
    # a longer budget, as if the first session had been cut short: resume goes on from plan.json
    plan = json.loads((out / "plan.json").read_text())
    plan["target_ci"]["max_time_s"] = 300.0
    write_json(out / "plan.json", plan)  # as the harness writes it (checksums.json)
    p = run_cli("run", "--resume", str(out))
    assert p.returncode == 0 and "stopped: target reached" in p.stderr, p.stderr
    s = load_run(out).summary
    p1 = s[s["variant"] == "preview1"].iloc[0]
    assert int(p1["rounds"]) >= 3 and str(p1["target_ci_met"]) == "True"
    rounds = pd.read_parquet(out / "samples.parquet").groupby("host")["round"].nunique()
    assert rounds["native"] == rounds["wasmtime-py"]  # added rounds stay interleaved
