"""bench/present/tables.py: the run's console summary in 100 columns, and its JSON."""

from __future__ import annotations

import json

import pandas as pd

from bench.analyze.outcome import outcome
from bench.present.tables import WIDTH, num, run_json, summary_lines
from tests.synthetic_run import basic_cells, make_run, summary_of


def test_numbers_are_fixed_notation_with_three_digits():
    assert [num(v) for v in (180.4, 0.0421, 12345.6, 1.0, 0.000123)] == [
        "180", "0.0421", "12346", "1.00", "0.000123",
    ]  # fmt: skip
    assert num(float("nan")) == "-" and num(None) == "-" and num("x") == "-"


def test_summary_fits_100_columns_and_says_what_did_not_run(tmp_path):
    cells = basic_cells(scale=900.0)  # latencies in the hundreds of ms: no e+02
    long = ("a-workload-with-a-very-long-name", "component", "wasmtime-cli@45.0.2", "openvino",
            "cpu")  # fmt: skip
    cells[long] = "failed: " + "a long reason from the runtime " * 10
    run = make_run(tmp_path / "r", cells, rounds=2, iterations=10, cv=0.2)
    summary = summary_of(run)
    lines = summary_lines(summary, outcome(summary))
    assert all(len(line) <= WIDTH for line in lines), max(lines, key=len)
    assert not any("e+" in line or "e-0" in line for line in lines)
    assert any(line.startswith("failed      a-workload-with-a-very-long-name/") for line in lines)
    assert any(line.startswith("unsupported ") and "invalid-encoding" in line for line in lines)
    noisy = [line for line in lines if "noisy" in line]
    assert len(noisy) == 1 and noisy[0].startswith("17 of 17 measured cells noisy")
    assert sum(line.rstrip().endswith("!") for line in lines) == 17


def test_json_is_strict_and_complete(tmp_path):
    run = make_run(tmp_path / "r", basic_cells(), rounds=2, iterations=10)
    summary = summary_of(run)
    o = outcome(summary)
    doc = json.loads(json.dumps(run_json(str(run), summary, o, 3), allow_nan=False))
    assert doc["exit_code"] == 3 and doc["exit_reason"].startswith("exit 3: 1 cell(s) failed")
    assert doc["counts"] == {"ok": 17, "failed": 1, "unsupported": 1}
    assert len(doc["cells"]) == len(summary)
    failed = next(c for c in doc["cells"] if c["status"] == "failed")
    assert failed["p50_ms"] is None and failed["reason"] == "trap: oops"
    ok = next(c for c in doc["cells"] if c["variant"] == "preview1" and c["status"] == "ok")
    assert ok["p50_ms"] > 0 and isinstance(ok["agrees"], bool)
    assert pd.notna(ok["overhead_vs_native"])
