"""bench/present/tables.py: console output never reads rich markup out of the text it
prints (names, reasons, paths come from guests, run folders and the command line; issue
25, defect 4)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from bench.analyze.runs import load_run
from bench.cli import main
from bench.present import tables
from tests.helpers import run_cli

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
