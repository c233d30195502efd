"""Issue 13: two baselines (native, native-c), host binding cost apart, runs that stop
when precise. Synthetic run folders (tests/synthetic_run.py) for the arithmetic; real
runs for the stop rule and the command line."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from synthetic_run import make_run

from bench.analyze import stats
from bench.analyze.compare import compare_runs
from bench.analyze.runs import load_run
from bench.analyze.summarize import phase_rounds, summarize
from bench.cli import main
from bench.measure.matrix import Filters, expand
from bench.measure.workload import find_workload
from contracts.cells import Cell
from tests.helpers import run_cli

W = "mlp-tiny"
NATIVE = (W, "native", "native", "onnx", "cpu")
NATIVE_C = (W, "native", "native-c", "onnx", "cpu")
P1 = (W, "preview1", "wasmtime-py", "onnx", "cpu")
COMP = (W, "component", "wasmtime-py", "onnx", "cpu")


def _cells(c_ms: float = 0.8) -> dict:
    return {NATIVE: 1.0, NATIVE_C: c_ms, P1: 2.0, COMP: 1.6}


def _summary(run: Path, target: float | None = None) -> pd.DataFrame:
    samples = pd.read_parquet(run / "samples.parquet")
    cells = pd.read_csv(run / "cells.csv", keep_default_na=False, na_values=[""])
    return summarize(samples, cells, n_boot=300, target_ci=target)


def _row(s: pd.DataFrame, key: tuple[str, ...]) -> pd.Series:
    return s[[Cell.from_row(r) == Cell(*key) for _, r in s.iterrows()]].iloc[0]


def test_both_baselines_equal_hand_computed_ratios(tmp_path: Path) -> None:
    run = make_run(tmp_path / "run", _cells(), rounds=4, iterations=40, cv=0.01)
    samples = pd.read_parquet(run / "samples.parquet")
    s = _summary(run, target=50.0)
    for col in ("overhead_vs_native", "overhead_vs_native_c", "overhead_c_ci_low",
                "overhead_c_ci_high", "headline_vs", "headline_ci_pct", "target_ci_met",
                "binding_ms", "binding_share", "binding_bound", "host_compute_p50_ms"):  # fmt: skip
        assert col in s.columns, col
    total = samples[(samples["phase"] == "total") & (samples["iteration"] >= 0)]

    def med(key: tuple[str, ...]) -> float:
        return float(np.median(total[_is(total, key)]["ns"]))

    p1 = _row(s, P1)
    assert p1["overhead_vs_native"] == pytest.approx(med(P1) / med(NATIVE))
    assert p1["overhead_vs_native_c"] == pytest.approx(med(P1) / med(NATIVE_C))
    assert p1["overhead_c_ci_low"] < p1["overhead_vs_native_c"] < p1["overhead_c_ci_high"]
    assert p1["headline_vs"] == "native-c"
    # the headline half-width: the ratio's own CI, in percent
    width = (p1["overhead_c_ci_high"] - p1["overhead_c_ci_low"]) / 2 / p1["overhead_vs_native_c"]
    assert p1["headline_ci_pct"] == pytest.approx(width * 100)
    assert bool(p1["target_ci_met"]) is True
    # component: its headline also holds the vs-preview1 ratio (the wider of the two)
    comp = _row(s, COMP)
    r = stats.round_ratio(
        phase_rounds(samples)[Cell(*COMP)], phase_rounds(samples)[Cell(*P1)], paired=True,
        n_boot=300, seed=stats.seed_for(*COMP, "ov-preview1"),
    )  # fmt: skip
    vs_p1 = (r.high - r.low) / 2 / r.value * 100
    assert comp["headline_ci_pct"] >= vs_p1 - 1e-9
    # baselines have no headline; native-c against native is shown
    assert _row(s, NATIVE_C)["overhead_vs_native"] == pytest.approx(med(NATIVE_C) / med(NATIVE))
    assert pd.isna(_row(s, NATIVE)["headline_ci_pct"])
    # binding: synthetic host work is half of every phase -> half of the total
    assert p1["binding_share"] == pytest.approx(0.5, abs=0.01)
    assert p1["host_compute_p50_ms"] <= p1["compute_p50_ms"]


def test_without_native_c_the_headline_falls_back_to_native(tmp_path: Path) -> None:
    cells = _cells()
    cells[NATIVE_C] = "unsupported: host native-c unavailable"
    s = _summary(make_run(tmp_path / "run", cells, rounds=3), target=0.001)
    p1 = _row(s, P1)
    assert p1["headline_vs"] == "native" and np.isnan(p1["overhead_vs_native_c"])
    assert bool(p1["target_ci_met"]) is False  # 0.001 % is out of reach


def _is(frame: pd.DataFrame, key: tuple[str, ...]) -> pd.Series:
    cols = ["workload", "variant", "host", "backend", "device"]
    return np.logical_and.reduce([frame[c] == v for c, v in zip(cols, key, strict=True)])


def test_compare_metric_overhead_c(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    base = make_run(tmp_path / "base", _cells(), rounds=4, seed=1)
    head = make_run(tmp_path / "head", _cells(), rounds=4, seed=2)
    cmp = compare_runs(load_run(base), load_run(head), metric="overhead_c")
    keys = {r.key for r in cmp.rows}
    # every wasm cell is compared with its run's native-c cell; both baselines are references
    assert Cell(*P1) in keys and Cell(*NATIVE) not in keys and Cell(*NATIVE_C) not in keys
    assert cmp.count("unchanged") == len(cmp.rows)
    # native-c 1.5x slower in head: every wasm cell's overhead_c improves by 1.5x
    slow = make_run(tmp_path / "slow", _cells(c_ms=1.2), rounds=4, seed=3)
    cmp = compare_runs(load_run(base), load_run(slow), metric="overhead_c")
    row = next(r for r in cmp.rows if r.key == Cell(*P1))
    assert row.ratio.value == pytest.approx(0.8 / 1.2, rel=0.05) and row.verdict == "improved"
    assert main(["compare", str(base), str(head), "--metric", "overhead_c"]) == 0
    assert "native-c" in capsys.readouterr().out


def test_compare_overhead_c_without_native_c_says_so(tmp_path: Path) -> None:
    cells = {NATIVE: 1.0, P1: 2.0}
    base, head = make_run(tmp_path / "b", cells), make_run(tmp_path / "h", cells, seed=1)
    cmp = compare_runs(load_run(base), load_run(head), metric="overhead_c")
    assert not cmp.rows and any("native-c" in why for _, why in cmp.not_compared)


def test_matrix_runs_native_c_as_a_baseline_like_native() -> None:
    w = find_workload(W)
    cells = expand([w], Filters(hosts=["wasmtime-cli"], backends=["openvino"]))
    hosts = [c.host for c in cells]
    assert hosts[:2] == ["native", "native-c"] and "wasmtime-cli" in hosts
    # native only: no wasm cell, no native-c baseline forced in
    only = expand([w], Filters(hosts=["native"], backends=["onnx"]))
    assert [c.host for c in only] == ["native"]


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
    assert p.returncode == 0, p.stderr
    assert "stopped: time out" in p.stderr
    s = load_run(out).summary
    assert str(s[s["variant"] == "preview1"].iloc[0]["target_ci_met"]) == "False"


# -- host binding cost apart (wasmtime-py hosts) ------------------------------------


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
    it = host.run_round(job).iterations
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


def test_report_shows_both_baselines_binding_and_precision(tmp_path: Path) -> None:
    from bench.present.report import write_report

    target = {"target_ci": {"pct": 0.001, "max_time_s": 60.0}, "stop_reason": "time out: test"}
    run = make_run(tmp_path / "run", _cells(), rounds=3,
                   extra_meta={"config": target,
                               "workloads": {W: {"rounds": 3, "io_bytes": 296}}})  # fmt: skip
    (run / "summary.csv").unlink()  # recomputed from meta's target
    md = write_report(run, tmp_path / "report").read_text()
    assert "× native-c [CI]" in md and "Which baseline to read" in md
    assert "Host binding cost" in md and "ms per MB moved" in md
    assert "Stopped: time out: test" in md and "✗" in md
    assert (tmp_path / "report" / "binding.png").exists()
    assert (tmp_path / "report" / "overhead-native-c.png").exists()


def test_matrix_baselines_lead_each_group() -> None:
    cells = expand([find_workload(W)], Filters(hosts=["native", "wasmtime-cli"]))
    assert [c.host for c in cells[:2]] == ["native", "native-c"]


def test_target_ci_run_resumes_to_its_recorded_target(tmp_path: Path) -> None:
    out = tmp_path / "run"
    common = ["--hosts", "native,wasmtime-py", "--variants", "native,preview1", "--backends",
              "onnx", "--iterations", "20", "--warmup", "2", "--offline", "0"]  # fmt: skip
    p = run_cli("run", W, *common, "--rounds", "1", "--target-ci", "50", "--max-time", "1s",
                "--out", str(out))  # fmt: skip
    assert p.returncode == 0 and "stopped: time out" in p.stderr, p.stderr
    # a longer budget, as if the first session had been cut short: resume goes on from plan.json
    plan = json.loads((out / "plan.json").read_text())
    plan["target_ci"]["max_time_s"] = 300.0
    (out / "plan.json").write_text(json.dumps(plan))
    p = run_cli("run", "--resume", str(out))
    assert p.returncode == 0 and "stopped: target reached" in p.stderr, p.stderr
    s = load_run(out).summary
    p1 = s[s["variant"] == "preview1"].iloc[0]
    assert int(p1["rounds"]) >= 3 and str(p1["target_ci_met"]) == "True"
    rounds = pd.read_parquet(out / "samples.parquet").groupby("host")["round"].nunique()
    assert rounds["native"] == rounds["wasmtime-py"]  # added rounds stay interleaved
