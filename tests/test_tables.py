"""bench/present/tables.py: the run's summary in 100 columns and its JSON; console output
never reads rich markup out of the text it prints (names, reasons, paths come from
guests, run folders and the command line; issue 25, defect 4)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pandas as pd
import pytest

from bench.analyze.outcome import outcome
from bench.analyze.runs import load_run
from bench.cli import main
from bench.present import tables
from bench.present.tables import WIDTH, num, run_json, summary_lines
from tests.helpers import run_cli
from tests.synthetic_run import basic_cells, make_run, summary_of

FIXTURE = Path(__file__).resolve().parent.parent / "results" / "fixtures" / "mlp-tiny-a"
MARKUP = ["[/x]", "[/]", "[bold red]loud[/bold red]", "[link=javascript:x]y[/link]", "[", "]["]


@pytest.mark.parametrize("text", MARKUP)
def test_summary_prints_reasons_and_names_as_they_are(
    text: str, capsys: pytest.CaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "3000")  # one line per row: the text is found whole
    summary = load_run(FIXTURE).summary.copy()
    summary.loc[0, "status"] = "failed"
    summary.loc[0, "reason"] = f"guest said {text}"
    summary.loc[1, "workload"] = text
    tables.print_summary(summary)
    out = capsys.readouterr().out
    assert f"guest said {text}" in out


@pytest.mark.parametrize("text", ["[bold red]x", "[link=javascript:x]y", "[", "][", "[blink]"])
def test_compare_prints_a_run_id_with_markup(
    tmp_path: Path, text: str, capsys: pytest.CaptureFixture
) -> None:
    head = tmp_path / "head"
    shutil.copytree(FIXTURE, head)
    meta = json.loads((head / "meta.json").read_text())
    (head / "meta.json").write_text(json.dumps(meta | {"run_id": f"run {text}"}))
    assert main(["compare", str(FIXTURE), str(head)]) in (0, 1)
    assert f"run {text}" in capsys.readouterr().out


def test_a_run_whose_out_folder_holds_markup_finishes(tmp_path: Path) -> None:
    """Defect 4: `--out 'x[/x]'` crashed at start with MarkupError, leaving plan.json,
    meta.json and .lock behind."""
    out = tmp_path / "run [/x] [bold]"
    toml = tmp_path / "w.toml"
    toml.write_text(
        'name = "w"\nvariants = ["native"]\nhosts = ["native"]\nbackends = ["onnx"]\n'
        '[model]\nbuilder = "mlp_tiny"\n[inputs.input]\nshape = [1, 64]\ndtype = "f32"\n'
    )
    p = run_cli("run", str(toml), "--iterations", "2", "--warmup", "0", "--rounds", "1",
                "--offline", "0", "--out", str(out))  # fmt: skip
    assert p.returncode == 0, p.stderr
    assert "MarkupError" not in p.stderr and str(out) in p.stderr + p.stdout
    assert main(["report", str(out), "--out", str(tmp_path / "rep [/x]")]) == 0


def test_numbers_are_fixed_notation_with_three_digits():
    assert [num(v) for v in (180.4, 0.0421, 12345.6, 1.0, 0.000123)] == [
        "180", "0.0421", "12346", "1.00", "0.000123",
    ]  # fmt: skip
    assert num(float("nan")) == "-" and num(None) == "-" and num("x") == "-"


def test_summary_fits_100_columns_and_says_what_did_not_run(tmp_path, monkeypatch):
    monkeypatch.delenv("COLUMNS", raising=False)
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
