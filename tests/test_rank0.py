"""Rank-0 (scalar, `shape = []`) inputs and outputs, end to end (docs/workloads.md).

A model made here has a scalar i64 input `sr` (like silero VAD's sample rate) next to
an f32 [1, 4] input, and a scalar f32 and a scalar i64 output. It runs as a
bring-your-own workload TOML through `wasinn-bench run`: every cell on our hosts (native,
wasmtime-py preview1, adapted, component; onnxruntime and OpenVINO) agrees with native;
the wasmtime CLI, whose OpenVINO backend takes no rank-0 tensor, says `unsupported` in its
own words.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import pandas as pd
import pytest
from onnx import TensorProto, helper, numpy_helper

from tests.helpers import run_cli
from workloads.spec.inputs import generate
from workloads.spec.workload import load_workload

TOML = """\
name = "rank0"
description = "a scalar i64 input and scalar outputs"
[model]
path = "rank0.onnx"
[inputs.x]
shape = [1, 4]
dtype = "f32"
generator = "normal"
seed = 1
[inputs.sr]
shape = []
dtype = "i64"
generator = "constant"
value = 16000
"""


@pytest.fixture(scope="module")
def workload(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("rank0")
    nodes = [
        helper.make_node("Cast", ["sr"], ["srf"], to=TensorProto.FLOAT),
        helper.make_node("Mul", ["x", "srf"], ["y"]),
        helper.make_node("ReduceSum", ["y"], ["total"], keepdims=0),  # no axes: a scalar
        helper.make_node("Add", ["sr", "one"], ["sr_next"]),
    ]
    graph = helper.make_graph(
        nodes, "rank0",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4]),
         helper.make_tensor_value_info("sr", TensorProto.INT64, [])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 4]),
         helper.make_tensor_value_info("total", TensorProto.FLOAT, []),
         helper.make_tensor_value_info("sr_next", TensorProto.INT64, [])],
        [numpy_helper.from_array(np.array(1, np.int64), "one")],
    )  # fmt: skip
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    onnx.checker.check_model(model, full_check=True)
    onnx.save(model, folder / "rank0.onnx")
    (folder / "rank0.toml").write_text(TOML)
    return folder / "rank0.toml"


def test_workload_accepts_shape_empty_and_every_generator_makes_a_scalar(workload: Path) -> None:
    w = load_workload(workload)
    sr = next(s for s in w.inputs if s.name == "sr")
    assert sr.shape == []
    for generator in ("uniform", "normal", "zeros", "constant"):
        sr.generator, sr.low, sr.high = generator, 0, 9
        a = generate(sr, str(workload))
        assert isinstance(a, np.ndarray) and a.shape == () and a.dtype == np.int64
    np.save(workload.parent / "sr.npy", np.array(8000, np.int64))
    sr.generator, sr.file = "file", workload.parent / "sr.npy"
    assert generate(sr, str(workload)).shape == ()
    (workload.parent / "sr.bin").write_bytes(np.array(8000, np.int64).tobytes())
    sr.file = workload.parent / "sr.bin"
    assert generate(sr, str(workload)).tolist() == 8000


def _run(workload: Path, out: Path, hosts: str) -> pd.DataFrame:
    proc = run_cli("run", str(workload), "--rounds", "1", "--iterations", "2", "--warmup", "0",
                   "--offline", "0", "--hosts", hosts, "--out", str(out))  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    return pd.read_csv(out / "cells.csv")


def test_every_cell_on_our_hosts_agrees_with_native(workload: Path, tmp_path: Path) -> None:
    cells = _run(workload, tmp_path / "run", "native,wasmtime-py")
    # 2 backends x (native, native-c (added as the C baseline) + preview1, adapted, component)
    assert len(cells) == 10
    bad = cells[(cells.status != "ok") | (cells.agrees != True)]  # noqa: E712
    assert bad.empty, bad[["variant", "host", "backend", "status", "reason"]].to_string()
    out = np.load(next((tmp_path / "run" / "outputs").glob("rank0_adapted_wasmtime-py_openvino*")))
    assert out["001|total"].shape == () and out["002|sr_next"].tolist() == 16001


@pytest.mark.cli
def test_the_cli_says_unsupported_in_its_own_words(workload: Path, tmp_path: Path) -> None:
    cells = _run(workload, tmp_path / "run", "native,wasmtime-cli")
    cli = cells[cells.host == "wasmtime-cli"]
    assert len(cli) == 6 and set(cli.status) == {"unsupported"}, cli.to_string()
    ov = cli[cli.backend == "openvino"]
    assert all(r.startswith("wasmtime 49.0.3: ") for r in ov.reason)
    assert all("takes no rank-0 tensor (input 'sr', output 'total'" in r for r in ov.reason)
    assert any("invalid C parameter" in r for r in ov.reason)  # the CLI's words, preview1
    native = cells[cells.host == "native"]
    assert set(native.status) == {"ok"} and set(native.agrees) == {True}
