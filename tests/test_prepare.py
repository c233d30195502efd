"""bench/measure/prepare.py: tensor sizes checked before anything is generated, shape
inference under the cell limits, errors under the field at fault."""

from __future__ import annotations

import json
from pathlib import Path

import onnx
import pandas as pd
import pytest
from onnx import TensorProto, helper

from contracts.digests import file_sha256
from tests import byo_models
from tests.helpers import run_cli
from tests.test_reliability import FAST, workload


def _onnx(path: Path, nodes: list, inputs: list, outputs: list, inits: list = ()) -> None:
    graph = helper.make_graph(nodes, "g", inputs, outputs, list(inits))
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), path)


def test_a_huge_input_is_refused_before_anything_is_generated(tmp_path: Path) -> None:
    f32 = TensorProto.FLOAT
    _onnx(tmp_path / "relu.onnx", [helper.make_node("Relu", ["input"], ["y"])],
          [helper.make_tensor_value_info("input", f32, [1, 3, "h", "w"])],
          [helper.make_tensor_value_info("y", f32, [1, 3, "h", "w"])])  # fmt: skip
    # 46 MiB of f32 against a 64 MiB limit (cap: a quarter of it)
    huge = workload(tmp_path, "huge", variants="native", hosts="native", extra="memory_limit_mb = 64",
                    model='path = "relu.onnx"', shape="[1, 3, 2000, 2000]")  # fmt: skip
    p = run_cli("run", str(huge), *FAST, "--out", str(tmp_path / "run"))
    assert p.returncode == 2, p.stderr
    assert "field 'inputs.input'" in p.stderr and "cap of 16 MiB" in p.stderr, p.stderr
    assert not (tmp_path / "run").exists()
    # the cap is the workload's to raise
    huge.write_text(huge.read_text().replace("memory_limit_mb = 64", "max_tensor_mb = 1"))
    p = run_cli("run", str(huge), *FAST, "--out", str(tmp_path / "run"))
    assert p.returncode == 2 and "max_tensor_mb = 1" in p.stderr, p.stderr


def test_dynamic_output_shapes_are_inferred_under_the_memory_limit(tmp_path: Path) -> None:
    i64, f32 = TensorProto.INT64, TensorProto.FLOAT
    # repeats is an input: only running the model tells the output's size (1 GiB)
    _onnx(tmp_path / "tile.onnx", [helper.make_node("Tile", ["input", "repeats"], ["y"])],
          [helper.make_tensor_value_info("input", f32, [1, 1024]),
           helper.make_tensor_value_info("repeats", i64, [2])],
          [helper.make_tensor_value_info("y", f32, ["m", "n"])])  # fmt: skip
    w = workload(tmp_path, "tile", variants="native", hosts="native", extra="memory_limit_mb = 400",
                 model='path = "tile.onnx"', shape="[1, 1024]")  # fmt: skip
    w.write_text(w.read_text() + '[inputs.repeats]\nshape = [2]\ndtype = "i64"\n'
                 'generator = "constant"\nvalue = 512\n')  # fmt: skip
    p = run_cli("run", str(w), *FAST, "--out", str(tmp_path / "run"))
    assert p.returncode == 2, p.stderr
    assert "field 'model'" in p.stderr and "memory limit" in p.stderr, p.stderr
    assert not (tmp_path / "run").exists()


def test_an_input_the_model_lacks_is_reported_under_its_own_field(tmp_path: Path) -> None:
    f32 = TensorProto.FLOAT
    _onnx(tmp_path / "relu.onnx", [helper.make_node("Relu", ["input"], ["y"])],
          [helper.make_tensor_value_info("input", f32, [1, 4])],
          [helper.make_tensor_value_info("y", f32, [1, 4])])  # fmt: skip
    w = workload(tmp_path, "mask", variants="native", hosts="native",
                 model='path = "relu.onnx"', shape="[1, 4]")  # fmt: skip
    w.write_text(w.read_text() + '[inputs.mask]\nshape = [1, 4]\ndtype = "f32"\n')
    p = run_cli("run", str(w), *FAST, "--out", str(tmp_path / "run"))
    assert p.returncode == 2 and "field 'inputs.mask'" in p.stderr, p.stderr


def _byo_run(tmp_path: Path, builds: tuple, *limits: str) -> pd.DataFrame:
    """Run byo_models workloads (the files as built) in the given cells; cells.csv."""
    files, models = [], []
    for build in builds:
        path, shapes = build(tmp_path)
        models.append(path)
        files.append(tmp_path / f"{path.stem}.toml")
        files[-1].write_text(byo_models.workload_toml(path, shapes))
    out = tmp_path / "run"
    p = run_cli("run", *map(str, files), *limits, *FAST, "--out", str(out))
    assert p.returncode == 0, p.stderr
    meta = json.loads((out / "meta.json").read_text())
    for path in models:  # the hash recorded is the user's file's: nothing rewrote it
        assert meta["models"][path.stem.replace("_", "-")]["sha256"] == file_sha256(path)
    return pd.read_csv(out / "cells.csv")


def test_a_recurrent_model_with_control_flow_runs_unchanged_and_agrees(tmp_path: Path) -> None:
    """If holding an LSTM: preparation used to rewrite its shapes and fail ONNX's strict
    inference; now the file runs as it is, natively and as a component on both hosts."""
    cells = _byo_run(tmp_path, (byo_models.if_lstm,), "--variants", "native,component")
    assert (cells["status"] == "ok").sum() >= 7, cells[["host", "backend", "reason"]]
    ok = cells[cells["status"] == "ok"]
    assert ok["agrees"].astype(bool).all()
    assert set(ok["host"]) == {"native", "native-c", "wasmtime-py", "wasmtime-cli"}


@pytest.mark.slow
def test_every_byo_model_agrees_in_every_cell_its_hosts_support(tmp_path: Path) -> None:
    """Control flow with recurrent ops, run-time dims, several outputs, u8/i32/f16/f64/i64:
    every cell runs or is unsupported in the runtime's words; every cell that runs agrees."""
    cells = _byo_run(tmp_path, byo_models.BUILDERS)
    assert set(cells["status"]) <= {"ok", "unsupported"}, cells[["status", "reason"]]
    assert cells[cells["status"] == "ok"]["agrees"].astype(bool).all()
    off = cells[cells["status"] != "ok"]
    # only the CLI refuses: it has no onnx backend, and its OpenVINO takes no rank-0 tensor
    assert set(off["host"]) == {"wasmtime-cli"}, off[["host", "reason"]]
    assert off["reason"].str.contains("wasmtime").all()
    # 16 cells per model; the CLI has no onnx backend (3 cells each), and its OpenVINO
    # takes no rank-0 tensor (loop_gru's trip count, runtime_dims' sum: 3 cells each)
    assert len(cells) - len(off) == 13 + 10 + 10 + 13


def test_shapes_that_clash_inside_the_graph_are_refused_naming_the_inputs(tmp_path: Path) -> None:
    """Each shape fits its own input; the model refuses them together (Add of [2,4] and
    [3,4]). Nothing rewrites the model to find out: running it once does."""
    f32 = TensorProto.FLOAT
    _onnx(tmp_path / "add.onnx", [helper.make_node("Add", ["input", "other"], ["y"])],
          [helper.make_tensor_value_info("input", f32, ["n", 4]),
           helper.make_tensor_value_info("other", f32, ["m", 4])],
          [helper.make_tensor_value_info("y", f32, ["k", 4])])  # fmt: skip
    w = workload(tmp_path, "clash", variants="native", hosts="native",
                 model='path = "add.onnx"', shape="[2, 4]")  # fmt: skip
    w.write_text(w.read_text() + '[inputs.other]\nshape = [3, 4]\ndtype = "f32"\n')
    p = run_cli("run", str(w), *FAST, "--out", str(tmp_path / "run"))
    assert p.returncode == 2, p.stderr
    line = p.stderr.strip().splitlines()[-1]  # after "preparing clash": it ran the model
    assert "clash.toml" in line and "input [2, 4], other [3, 4]" in line, line
    assert not (tmp_path / "run").exists()
