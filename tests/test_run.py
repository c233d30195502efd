"""The run command end to end with the native host: files, schema, agreement, bad input."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import onnx
import pandas as pd
import pytest
from onnx import TensorProto, helper

from bench.analyze.runs import load_run
from bench.results.progress import read_progress
from bench.results.schema import (
    CELL_COLUMNS,
    ROUND_STATE_COLUMNS,
    SAMPLE_COLUMNS,
    SUMMARY_COLUMNS,
)
from tests.helpers import REPO, run_cli


def test_native_run_writes_a_complete_run_folder(tmp_path: Path) -> None:
    out = tmp_path / "run"
    p = run_cli(
        "run",
        "mlp-tiny",
        "--hosts",
        "native",
        "--iterations",
        "30",
        "--rounds",
        "2",
        "--out",
        str(out),
    )
    assert p.returncode == 0, p.stderr
    data = load_run(out)
    # every row carries its round's machine state; meta.json the measure and the state at start
    assert list(data.samples.columns) == SAMPLE_COLUMNS + ROUND_STATE_COLUMNS
    assert data.samples["under_load"].notna().all() and (data.samples["load1"] >= 0).all()
    assert data.meta["measure"] == "wall" and set(data.meta["machine_state"]) >= {
        "load1",
        "steal_pct",
        "others_cores",
        "cpu_mhz",
        "under_load",
    }
    assert set(SUMMARY_COLUMNS) <= set(data.summary.columns)
    assert list(data.cells.columns) == CELL_COLUMNS
    s = data.summary.set_index("backend")
    assert set(s.index) == {"onnx", "openvino"}
    assert (s["status"] == "ok").all() and s["agrees"].astype(bool).all()
    assert (s["n"] == 60).all() and (s["p50_ms"] > 0).all()
    assert np.allclose(s["overhead_vs_native"], 1.0)
    totals = data.samples.query("phase == 'total' and iteration >= 0")
    assert sorted(totals["round"].unique()) == [0, 1]
    # per-iteration total is the sum of its phases (same clock readings)
    wide = data.samples.query("iteration >= 0").pivot_table(
        index=["backend", "round", "iteration"], columns="phase", values="ns"
    )
    assert (wide["total"] == wide["set_input"] + wide["compute"] + wide["get_output"]).all()
    meta = data.meta
    assert (
        meta["models"]["mlp-tiny"]["opset"] == 17
        and len(meta["models"]["mlp-tiny"]["sha256"]) == 64
    )
    assert {"onnxruntime", "openvino", "wasmtime"} <= set(meta["packages"]) | {"onnxruntime"}
    assert meta["machine"]["cores"] and meta["git_sha"] and meta["interrupted"] is False
    props = json.loads(data.cells.iloc[0]["properties"])
    assert props["threads"] == "1" and props["version"]
    assert not (out / "work").exists()
    assert (data.cells["offline_k"] == 2).all() and (data.cells["offline_ips"] > 0).all()


def test_format_json_for_machines_and_accept_is_checked(tmp_path: Path) -> None:
    """--format json: stdout is one JSON object (progress stays on stderr); --accept
    takes only the documented conditions."""
    out = tmp_path / "run"
    p = run_cli("run", "mlp-tiny", "--hosts", "native", "--backends", "onnx", "--iterations", "3",
                "--rounds", "1", "--offline", "0", "--format", "json", "--out", str(out))  # fmt: skip
    assert p.returncode == 0, p.stderr
    doc = json.loads(p.stdout)
    assert doc["exit_code"] == 0 and doc["counts"] == {"ok": 1} and doc["run_dir"] == str(out)
    assert doc["cells"][0]["host"] == "native" and doc["cells"][0]["p50_ms"] > 0
    p = run_cli("run", "mlp-tiny", "--accept", "failed,bogus", "--out", str(tmp_path / "x"))
    assert p.returncode == 2 and "bogus" in p.stderr and not (tmp_path / "x").exists()


def test_relative_out_from_another_directory(tmp_path: Path) -> None:
    """`--out rel` from a folder other than the repository: the workers (which run
    in the repository) must still find their job and input files."""
    p = run_cli(
        "run", "mlp-tiny", "--hosts", "native", "--backends", "onnx", "--iterations", "3",
        "--rounds", "1", "--offline", "0", "--out", "rel", cwd=tmp_path,
    )  # fmt: skip
    assert p.returncode == 0, p.stderr
    cells = load_run(tmp_path / "rel").cells
    assert list(cells["status"]) == ["ok"], cells["reason"].tolist()


def test_bad_input_exits_2_and_writes_nothing(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text('name = "bad"\n[model]\nbuilder = "mlp_tiny"\n[inputs.input]\nshape = [1, 65]\n')
    out = tmp_path / "never"
    p = run_cli("run", str(bad), "--hosts", "native", "--out", str(out))
    assert p.returncode == 2
    assert (
        "bad.toml" in p.stderr and "inputs.input.shape" in p.stderr and "Traceback" not in p.stderr
    )
    assert not out.exists() or not any(out.iterdir())
    p = run_cli("run", "no-such-workload")
    assert p.returncode == 2 and "unknown workload" in p.stderr
    p = run_cli("run", "mlp-tiny", "--variants", "preview2")
    assert p.returncode == 2 and "preview2" in p.stderr


def _byo_model(path: Path) -> None:
    """Dynamic batch and sequence; two inputs (i64 ids + f32 features), two outputs."""
    ids = helper.make_tensor_value_info("ids", TensorProto.INT64, ["batch", "seq"])
    feats = helper.make_tensor_value_info("feats", TensorProto.FLOAT, ["batch", "seq", 8])
    emb = helper.make_tensor_value_info("embedded", TensorProto.FLOAT, ["batch", "seq", 8])
    pooled = helper.make_tensor_value_info("pooled", TensorProto.FLOAT, ["batch", 8])
    table = np.random.default_rng(0).standard_normal((50, 8)).astype(np.float32)
    nodes = [
        helper.make_node("Gather", ["table", "ids"], ["g"]),
        helper.make_node("Add", ["g", "feats"], ["embedded"]),
        helper.make_node("ReduceMean", ["embedded"], ["pooled"], axes=[1], keepdims=0),
    ]
    inits = [
        onnx.numpy_helper.from_array(table, "table"),
    ]
    graph = helper.make_graph(nodes, "byo", [ids, feats], [emb, pooled], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    onnx.checker.check_model(model)
    onnx.save(model, path)


def test_bring_your_own_model_runs_on_both_backends(tmp_path: Path) -> None:
    _byo_model(tmp_path / "mine.onnx")
    (tmp_path / "mine.toml").write_text(
        'name = "mine"\n[model]\npath = "mine.onnx"\n'
        '[inputs.ids]\nshape = [2, 5]\ndtype = "i64"\nlow = 0\nhigh = 50\n'
        '[inputs.feats]\nshape = [2, 5, 8]\ndtype = "f32"\ngenerator = "normal"\n'
    )
    out = tmp_path / "run"
    p = run_cli("run", str(tmp_path / "mine.toml"), "--hosts", "native", "--iterations", "5", "--rounds", "1",
                "--offline", "0", "--out", str(out))  # fmt: skip
    assert p.returncode == 0, p.stderr
    s = load_run(out).summary
    assert list(s["status"]) == ["ok", "ok"] and s["agrees"].astype(bool).all()
    from bench.results.outputs import load_outputs

    outs = load_outputs(out / "outputs" / "mine_native_native_openvino_cpu.npz")
    assert outs["embedded"].shape == (2, 5, 8) and outs["pooled"].shape == (2, 8)


def test_interrupt_keeps_finished_rounds_and_resume_completes(tmp_path: Path) -> None:
    out = tmp_path / "run"
    cmd = [sys.executable, "-m", "bench", "run", "mlp-tiny", "--hosts", "native", "--rounds", "6",
           "--iterations", "20", "--offline", "0", "--out", str(out)]  # fmt: skip
    proc = subprocess.Popen(
        cmd, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and len(read_progress(out)) < 3:
        time.sleep(0.2)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err
    assert "--resume" in err
    partial = load_run(out)
    assert partial.meta["interrupted"] is True
    done_rounds = len(read_progress(out))
    assert 3 <= done_rounds < 12
    assert partial.samples.groupby(["backend", "round"]).ngroups == done_rounds

    p = run_cli("run", "--resume", str(out))
    assert p.returncode == 0, p.stderr
    full = load_run(out)
    assert full.meta["interrupted"] is False
    assert full.samples.groupby(["backend", "round"]).ngroups == 12
    assert (full.summary["n"] == 6 * 20).all()
    # rounds measured before the interrupt are kept, not re-run
    assert len(read_progress(out)) == 12
    assert isinstance(partial.samples, pd.DataFrame)


@pytest.mark.parametrize("args", [["--devices", "gpu"]])
def test_gpu_on_cpu_machine_is_skipped_with_reason(tmp_path: Path, args: list[str]) -> None:
    from hosts.backends import get_backend

    if get_backend("onnx").devices()["gpu"] is None:
        pytest.skip("this machine has a GPU")
    out = tmp_path / "run"
    p = run_cli("run", "mlp-tiny", "--hosts", "native", *args, "--out", str(out))
    # nothing measured: exit 1, whatever --accept says
    assert p.returncode == 1 and "no cell measured" in p.stderr, p.stderr
    s = load_run(out).summary
    assert (s["status"] == "skipped").all()
    assert s["reason"].str.contains("CUDAExecutionProvider|GPU").all()


def test_peak_rss_window_starts_at_reset() -> None:
    """Per-round peak memory must not be the import-time peak of the worker's libraries.
    (In a fresh process, like a worker: pytest's own heap would blur the numbers.)"""
    code = (
        "import numpy as np\n"
        "from contracts.jobs import peak_rss_kb, reset_peak_rss\n"
        "big = np.ones(200 * 1024 * 1024 // 8)\n"
        "before = peak_rss_kb()\n"
        "del big\n"
        "reset_peak_rss()\n"
        "after = peak_rss_kb()\n"
        "again = np.ones(100 * 1024 * 1024 // 8)\n"
        "print(before - after, peak_rss_kb() - after)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=60
    )
    forgotten, grown = map(int, out.stdout.split())
    assert forgotten > 150 * 1024  # the old peak is forgotten
    assert grown > 80 * 1024  # and the new window sees new work


def test_killed_run_folder_reads_from_plan_and_progress(tmp_path: Path) -> None:
    """kill -9 leaves no cells.csv: load() rebuilds statuses from plan.json and
    progress.jsonl, and the report says the run was interrupted."""
    import json

    from bench.present.report import write_report
    from bench.results.store import write_json

    out = tmp_path / "run"
    p = run_cli("run", "mlp-tiny", "--hosts", "native", "--iterations", "5", "--rounds", "2",
                "--offline", "0", "--out", str(out))  # fmt: skip
    assert p.returncode == 0, p.stderr
    for name in ("cells.csv", "summary.csv"):
        (out / name).unlink()
    lines = (out / "progress.jsonl").read_text().splitlines()
    (out / "progress.jsonl").write_text(lines[0] + "\n")  # only one (cell, round) had finished
    meta = json.loads((out / "meta.json").read_text())
    write_json(out / "meta.json", meta | {"interrupted": True})  # as the harness writes it
    run = load_run(out)
    by_backend = run.cells.set_index("backend")
    first = json.loads(lines[0])["cell"].split("/")[3]
    other = "openvino" if first == "onnx" else "onnx"
    assert by_backend.loc[first, "status"] == "ok" and by_backend.loc[first, "rounds"] == 1
    assert by_backend.loc[other, "status"] == "skipped"
    assert "not run (interrupted)" in by_backend.loc[other, "reason"]
    md = write_report(out, tmp_path / "rep").read_text()
    assert "Interrupted run" in md and "--resume" in md
