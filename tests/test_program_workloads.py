"""Program workloads, harness side (bench/measure/kinds/program.py, docs/programs.md).

The shipped classify-program workload runs end to end (preview1 and adapted, both
hosts, the same output everywhere); a wrong expected file, a run that exits non-zero,
traps or never calls bench.end each fail their cell with the reason in cells.csv; bad
input is one line naming the file and the field, exit 2, no run folder.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import wasmtime

from bench.cli import main
from bench.measure.kinds.program import first_difference, program_agreement
from bench.results.outputs import npz_safe
from bench.results.progress import CellState
from contracts.cells import Cell
from tests.helpers import REPO, run_cli
from workloads.spec.workload import WorkloadError, load_workload

CLASSIFY = REPO / "workloads" / "programs" / "classify"
WASM = CLASSIFY / "classify.wasm"
FILES = [CLASSIFY / "files" / n for n in ("model.xml", "model.bin", "input.bin")]
QUIET = '(module (memory (export "memory") 1) (func (export "_start")))'
TRAP = (
    '(module (import "bench" "end" (func $end)) (memory (export "memory") 1)'
    ' (func (export "_start") (call $end)))'
)


def _toml(value: object) -> str:
    return json.dumps(str(value) if isinstance(value, Path) else value)


def workload(tmp_path: Path, name: str, top: dict | None = None, **program: object) -> Path:
    """A program workload file in tmp_path; program fields override classify's."""
    fields = {"preview1": WASM, "files": [str(f) for f in FILES], "args": ["openvino", "2"],
              "runs": 1} | program  # fmt: skip
    lines = [f'name = "{name}"', *(f"{k} = {_toml(v)}" for k, v in (top or {}).items())]
    lines += ["[program]", *(f"{k} = {_toml(v)}" for k, v in fields.items() if v is not None)]
    path = tmp_path / f"{name}.toml"
    path.write_text("\n".join(lines) + "\n")
    return path


def wat(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_bytes(wasmtime.wat2wasm(text))
    return path


@pytest.mark.cli
def test_classify_program_end_to_end(tmp_path: Path) -> None:
    """preview1 and adapted on both hosts: ok, the same stdout (agrees), one `total`
    sample per bench region, one `process` sample per run; overhead vs preview1."""
    out = tmp_path / "run"
    proc = run_cli("run", "classify-program", "--rounds", "1", "--offline", "0", "--out", str(out))
    assert proc.returncode == 0, proc.stderr
    cells = pd.read_csv(out / "cells.csv")
    assert len(cells) == 4 and set(cells["variant"]) == {"preview1", "adapted"}
    assert set(cells["host"]) == {"wasmtime-py", "wasmtime-cli"}
    assert (cells["status"] == "ok").all(), cells[["variant", "host", "reason"]]
    assert cells["agrees"].all()
    samples = pd.read_parquet(out / "samples.parquet")
    per_cell = samples.groupby(["variant", "host", "phase"]).size()
    runs, regions = 3, 3  # the workload's runs, and classify's "3" iterations per run
    assert (per_cell.xs("total", level="phase") == runs * regions).all()
    assert (per_cell.xs("process", level="phase") == runs).all()
    summary = pd.read_csv(out / "summary.csv")
    preview1 = summary[summary["variant"] == "preview1"]
    assert (preview1["overhead_vs_native"] == 1.0).all()
    assert summary[summary["variant"] == "adapted"]["overhead_vs_native"].notna().all()
    from bench.present.report import write_report

    report = write_report(out, tmp_path / "report")
    assert report.exists() and "Program workloads" in report.read_text()
    # labelled as what they are: per bench region, against preview1 (no native twin)
    assert "program workloads: p50 per bench region" in proc.stdout
    assert "×preview1" in proc.stdout and "×native " not in proc.stdout


def test_an_encoding_the_cli_lacks_is_unsupported_in_its_words(tmp_path: Path) -> None:
    """classify with onnx: the CLI's wasi-nn has no onnx backend. Its cells are
    `unsupported` with the CLI's own error (its log, kept out of the program's stderr),
    not `failed` with the program's last lines; wasmtime-py runs it (1 run, 2 regions)."""
    files = [CLASSIFY / "files" / n for n in ("model.onnx", "input.bin")]
    w = workload(tmp_path, "onnx-program", files=[str(f) for f in files], args=["onnx", "2"],
                 encoding="onnx")  # fmt: skip
    out = tmp_path / "run"
    p = run_cli("run", str(w), "--rounds", "1", "--offline", "0", "--out", str(out))
    assert p.returncode == 0, p.stderr
    cells = pd.read_csv(out / "cells.csv").set_index(["variant", "host"])
    for variant in ("preview1", "adapted"):
        assert cells.loc[(variant, "wasmtime-py"), "status"] == "ok"
        cli = cells.loc[(variant, "wasmtime-cli")]
        assert cli["status"] == "unsupported", cli["reason"]
        assert cli["reason"].startswith("wasmtime ") and "InvalidEncoding" in cli["reason"]


def test_own_component_variant(tmp_path: Path) -> None:
    """`component` runs the given component (here classify adapted, standing in for a
    program's own): ok, and the same stdout as preview1."""
    from bench.measure.kinds.program import adapted_module

    try:
        component = adapted_module(WASM)
    except Exception as e:  # no WASI adapter here (npm): nothing to stand in with
        pytest.skip(f"cannot adapt: {e}")
    only = {"variants": ["preview1", "component"], "hosts": ["wasmtime-py"]}
    path = workload(tmp_path, "own", only, component=component)
    out = tmp_path / "run"
    assert main(["run", str(path), "--rounds", "1", "--offline", "0", "--out", str(out)]) == 0
    cells = pd.read_csv(out / "cells.csv")
    assert list(cells["variant"]) == ["preview1", "component"]
    assert (cells["status"] == "ok").all(), list(cells["reason"])
    assert cells["agrees"].all()


def test_wrong_expected_file_fails_with_the_first_differing_line(tmp_path: Path) -> None:
    expected = (CLASSIFY / "expected_stdout.txt").read_text().splitlines(keepends=True)
    wrong = tmp_path / "wrong.txt"
    wrong.write_text(expected[0] + "top2 class 9 score 0.999\n" + "".join(expected[2:]))
    path = workload(tmp_path, "wrong", {"variants": ["preview1"], "hosts": ["wasmtime-py"]},
                    expect_stdout=wrong)  # fmt: skip
    out = tmp_path / "run"
    # its only cell failed: nothing measured, exit 1
    assert main(["run", str(path), "--rounds", "1", "--offline", "0", "--out", str(out)]) == 1
    cell = pd.read_csv(out / "cells.csv").iloc[0]
    assert cell["status"] == "failed"
    assert cell["reason"] == (
        "stdout differs from wrong.txt at line 2: 'top2 class 7 score 0.196', "
        "expected 'top2 class 9 score 0.999'"
    )


def test_program_failures_reach_cells_csv(tmp_path: Path) -> None:
    """A non-zero exit (no files: classify exits 3), a trap (bench.end before start),
    and no bench region under timing 'bench': each cell fails with its reason."""
    only = {"variants": ["preview1"], "hosts": ["wasmtime-py"]}
    exits = workload(tmp_path, "exits", only, files=[])
    traps = workload(tmp_path, "traps", only, preview1=wat(tmp_path, "trap.wasm", TRAP), files=[])
    quiet = workload(tmp_path, "quiet", only, preview1=wat(tmp_path, "q.wasm", QUIET), files=[])
    out = tmp_path / "run"
    argv = ["run", str(exits), str(traps), str(quiet), "--rounds", "1", "--offline", "0"]
    assert main([*argv, "--out", str(out)]) == 1  # every cell failed: nothing measured
    cells = pd.read_csv(out / "cells.csv").set_index("workload")
    assert (cells["status"] == "failed").all()
    assert cells.loc["exits", "reason"].startswith("run 1 of 1: exited 3: model.xml")
    assert cells.loc["traps", "reason"] == "run 1 of 1: trapped: bench.end without a bench.start"
    assert "never called bench.end" in cells.loc["quiet", "reason"]


def test_process_timing_samples_each_run(tmp_path: Path) -> None:
    """timing "process": one `total` per run, equal to its `process` wall time."""
    only = {"variants": ["preview1"], "hosts": ["wasmtime-py"]}
    path = workload(tmp_path, "proc", only, preview1=wat(tmp_path, "q.wasm", QUIET), files=[],
                    timing="process", runs=2)  # fmt: skip
    out = tmp_path / "run"
    assert main(["run", str(path), "--rounds", "1", "--offline", "0", "--out", str(out)]) == 0
    assert pd.read_csv(out / "cells.csv")["status"].tolist() == ["ok"]
    samples = pd.read_parquet(out / "samples.parquet").sort_values(["phase", "iteration"])
    total = samples[samples["phase"] == "total"]
    process = samples[samples["phase"] == "process"]
    assert list(total["iteration"]) == list(process["iteration"]) == [0, 1]
    assert list(total["ns"]) == list(process["ns"]) and (total["ns"] > 0).all()


def test_cells_that_print_differently_disagree(tmp_path: Path) -> None:
    """Across cells: the first ok cell (preview1 on wasmtime-py) is the reference; a cell
    that differs fails with its first differing line."""
    path = workload(tmp_path, "p")
    from bench.measure.kinds.program import prepare_program

    prepared = {"p": prepare_program(load_workload(path), tmp_path / "run", adapt=False)}
    states = [CellState(Cell("p", v, h, "openvino", "cpu"), status="ok")
              for v in ("adapted", "preview1") for h in ("wasmtime-cli", "wasmtime-py")]  # fmt: skip
    out = {("preview1", "wasmtime-py"): "a\nb\n", ("adapted", "wasmtime-cli"): "a\nc\n"}
    for s in states:
        stdout = out.get((s.cell.variant, s.cell.host), "a\nb\n")
        arrays = {
            n: np.frombuffer(t.encode(), np.uint8) for n, t in (("stdout", stdout), ("stderr", ""))
        }
        np.savez(tmp_path / f"{s.cell.slug}.npz", **npz_safe(arrays))
    agree = program_agreement(states, prepared, tmp_path)
    by = {(s.cell.variant, s.cell.host): s for s in states}
    bad = by["adapted", "wasmtime-cli"]
    assert agree[bad.cell.key] == (False, None) and bad.status == "failed"
    assert bad.reason == "stdout differs from preview1 on wasmtime-py at line 2: 'c', expected 'b'"
    assert all(agree[s.cell.key] == (True, None) for s in states if s is not bad)


def test_first_difference() -> None:
    assert first_difference("a\nb\n", "a\nb\n") is None
    assert first_difference("a\nb\n", "a\nx\n") == (2, "b", "x")
    assert first_difference("a\n", "a\nb\n") == (2, "", "b")
    assert first_difference("a", "a\n") == (2, "<end>", "")


def _not_a_command(tmp_path: Path) -> dict:
    return {"preview1": wat(tmp_path, "lib.wasm", '(module (memory (export "memory") 1))')}


def _foreign_import(tmp_path: Path) -> dict:
    text = '(module (import "env" "oops" (func)) (memory (export "memory") 1) (func (export "_start")))'
    return {"preview1": wat(tmp_path, "odd.wasm", text)}


@pytest.mark.parametrize(
    ("make", "field", "says"),
    [
        (_not_a_command, "program.preview1", "lib.wasm is not a WASI preview1 command (no _start"),
        (_foreign_import, "program.preview1", "imports env.oops, which adapt cannot provide"),
        (lambda t: {"files": [str(t / "gone.bin")]}, "program.files", "gone.bin does not exist"),
        (lambda t: {"preview1": t / "none.wasm"}, "program.preview1", "none.wasm does not exist"),
        (lambda t: {"component": WASM}, "program.component", "is a core module, not a component"),
        (lambda t: {"timing": "wall"}, "program.timing", "unknown timing 'wall'"),
        (lambda t: {"encoding": "tf"}, "program.encoding", "unknown 'tf'"),
        (lambda t: {"expect_stdout": t / "no.txt"}, "program.expect_stdout", "no.txt does not exist"),
    ],
)  # fmt: skip
def test_bad_program_input(tmp_path: Path, make, field: str, says: str) -> None:  # noqa: ANN001
    path = workload(tmp_path, "bad", **make(tmp_path))
    with pytest.raises(WorkloadError) as e:
        load_workload(path)
    assert str(e.value).startswith(f"{path}: field '{field}': ") and says in str(e.value)


def test_bad_program_fields_and_axes(tmp_path: Path) -> None:
    path = workload(tmp_path, "m", {"iterations": 5})
    with pytest.raises(WorkloadError, match="field 'iterations': does not apply to a program"):
        load_workload(path)
    path = workload(tmp_path, "v", {"variants": ["native"]})
    with pytest.raises(WorkloadError, match="field 'variants': unknown value 'native'"):
        load_workload(path)
    path = workload(tmp_path, "c", {"variants": ["component"]})  # no component given
    with pytest.raises(WorkloadError, match="field 'variants': unknown value 'component'"):
        load_workload(path)


def test_bad_input_is_exit_2_one_line_and_no_run_folder(tmp_path: Path, capsys) -> None:  # noqa: ANN001
    path = workload(tmp_path, "bad", **_foreign_import(tmp_path))
    out = tmp_path / "run"
    assert main(["run", str(path), "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    assert err.startswith(f"wasinn-bench: error: {path}: field 'program.preview1': ")
    assert "env.oops" in err and not out.exists()


def test_shipped_program_workload_loads() -> None:
    w = load_workload(REPO / "workloads" / "classify-program.toml")
    assert w.program is not None and w.variants == ["preview1", "adapted"]
    # cmd: its instances (--engine NAME=cmd:...) run programs too
    assert w.hosts == ["wasmtime-py", "wasmtime-cli", "cmd"] and w.backends == ["openvino"]
    assert [f.name for f in w.program.files] == ["model.xml", "model.bin", "input.bin"]
