"""Exports that existing tools read: sightglass raw CSV, pytest-benchmark JSON."""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from bench.analyze.runs import load_run
from bench.cli import main
from bench.present.export import SIGHTGLASS_COLUMNS, to_pytest_benchmark, to_sightglass
from tests.helpers import RUN_A, RUN_B

PYTEST_BENCHMARK = Path(sys.executable).parent / "pytest-benchmark"


def export_cmd(ns: argparse.Namespace) -> int:
    """`wasinn-bench export` as the user runs it (exit code included)."""
    out = ["-o", str(ns.output)] if ns.output else []
    return main(["export", ns.run_dir, "--format", ns.format, *out])


def test_sightglass_csv_maps_every_sample(tmp_path):
    run = load_run(RUN_A)
    out = tmp_path / "raw.csv"
    args = argparse.Namespace(run_dir=str(RUN_A), format="sightglass", output=out)
    assert export_cmd(args) == 0
    text = out.read_text()
    assert text.splitlines()[0] == ",".join(SIGHTGLASS_COLUMNS)
    assert text == to_sightglass(run)
    df = pd.read_csv(out)
    assert len(df) == len(run.samples)  # every sample, nothing invented
    assert set(df["phase"]) <= {"Compilation", "Instantiation", "Execution"}
    assert (df["count"] > 0).all() and df["count"].sum() == run.samples["ns"].sum()
    assert df["arch"].iloc[0] == run.meta["machine"]["arch"]
    # the per-iteration total is the Execution/nanoseconds series of each cell
    ex = df[(df.phase == "Execution") & (df.event == "nanoseconds")]
    cell = ex[
        (ex.engine == "wasmtime-py")
        & (ex.engine_flags == "variant=preview1 backend=onnx device=cpu")
    ]
    tot = run.samples[(run.samples.phase == "total") & (run.samples.variant == "preview1")
                      & (run.samples.host == "wasmtime-py") & (run.samples.backend == "onnx")]  # fmt: skip
    assert sorted(cell["count"]) == sorted(tot["ns"])
    assert set(cell["process"]) == set(tot["round"]) and cell["iteration"].min() == 0
    comp = df[df.phase == "Compilation"]
    assert (comp["event"] == "nanoseconds").all() and len(comp) > 0


def test_pytest_benchmark_json_shape():
    data = to_pytest_benchmark(load_run(RUN_A))
    assert {"machine_info", "commit_info", "benchmarks", "datetime", "version"} <= set(data)
    b = next(b for b in data["benchmarks"] if b["name"] == "mlp-tiny[native-native-onnx-cpu]")
    st = b["stats"]
    assert st["rounds"] == len(st["data"]) == 200
    assert st["min"] <= st["q1"] <= st["median"] <= st["q3"] <= st["max"]
    assert st["median"] == pytest.approx(b["extra_info"]["p50_ms"] / 1000)  # seconds
    json.dumps(data, allow_nan=False)  # strict JSON: no NaN leaks


def test_pytest_benchmark_compare_loads_our_files(tmp_path):
    for name, run in (("0001_a.json", RUN_A), ("0002_b.json", RUN_B)):
        args = argparse.Namespace(
            run_dir=str(run), format="pytest-benchmark", output=tmp_path / name
        )
        assert export_cmd(args) == 0
    proc = subprocess.run(
        [str(PYTEST_BENCHMARK), "--storage", str(tmp_path / "store"), "compare",
         str(tmp_path / "0001_a.json"), str(tmp_path / "0002_b.json"), "--columns", "median,rounds"],
        capture_output=True, text=True, timeout=60, cwd=tmp_path,
    )  # fmt: skip
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out
    assert "Failed to load" not in out
    assert "benchmark 'mlp-tiny'" in out
    # one row per cell and file, labelled with the file it came from
    for source in ("0001_a", "0002_b"):
        assert re.search(rf"mlp-tiny\[preview1-wasmtime-py-onnx-cpu\] \(\S*{source}\) .* 200", out)


def test_export_bad_input(tmp_path, capsys):
    args = argparse.Namespace(run_dir=str(tmp_path / "x"), format="sightglass", output=None)
    assert export_cmd(args) == 2
    assert str(tmp_path / "x") in capsys.readouterr().err
