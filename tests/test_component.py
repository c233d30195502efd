"""The native component driver on the wasmtime-py component host.

Runs the committed driver-component.wasm against our wasi:nn in Python: results
agree with onnxruntime, errors reach the guest as error resources with the
right code and message, resources are dropped, and the fast list<u8> path is
byte-identical to wasmtime-py's own conversion on the pinned wasmtime.
"""

from __future__ import annotations

import ctypes
import os
import shutil
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper, numpy_helper
from wasmtime import _ffi as ffi

from contracts import paths
from contracts.cells import Cell
from contracts.jobs import CellJob, CellUnsupported, ModelFiles, TensorSpec
from hosts.graph_names import GraphRegistry, NamedGraph
from hosts.wasmtime_py import component, fastlist
from hosts.wasmtime_py.component import HOSTCALL_CAP, NnConfig, run_component

WASM = paths.PREBUILT / "driver-component.wasm"
# driver arguments (the guest folder holds graph/model.onnx, x.bin, y.bin)
ONNX = "--encoding onnx --model graph/model.onnx"
X, Y = "--input 0 x f32 1x4 x.bin", "--input 1 y f32 1x4 y.bin"


def _tiny_model(path: Path, hidden: int = 3) -> None:
    """Two inputs, two outputs: logits = x @ W + b, prod = x * y."""
    rng = np.random.default_rng(1)
    w = rng.standard_normal((4, hidden)).astype(np.float32)
    b = rng.standard_normal((hidden,)).astype(np.float32)
    graph = helper.make_graph(
        [
            helper.make_node("MatMul", ["x", "W"], ["h"]),
            helper.make_node("Add", ["h", "b"], ["logits"]),
            helper.make_node("Mul", ["x", "y"], ["prod"]),
        ],
        "tiny",
        [
            helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4]),
            helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 4]),
        ],
        [
            helper.make_tensor_value_info("logits", TensorProto.FLOAT, [1, hidden]),
            helper.make_tensor_value_info("prod", TensorProto.FLOAT, [1, 4]),
        ],
        [numpy_helper.from_array(w, "W"), numpy_helper.from_array(b, "b")],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    onnx.save(model, path)


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("tiny")
    _tiny_model(root / "tiny.onnx")
    rng = np.random.default_rng(2)
    for name in ("x", "y"):
        rng.standard_normal((1, 4)).astype(np.float32).tofile(root / f"{name}.bin")
    return root


def _job(root: Path, workdir: Path, model: str = "tiny.onnx", **kw: object) -> CellJob:
    hidden = onnx.load(root / model, load_external_data=False).graph.output[0]
    width = hidden.type.tensor_type.shape.dim[1].dim_value
    return CellJob(
        cell=Cell("tiny", "component", "wasmtime-py", "onnx", "cpu"),
        model=ModelFiles(str(root / model), None, None, "-"),
        inputs=[
            TensorSpec("x", 0, "f32", [1, 4], str(root / "x.bin")),
            TensorSpec("y", 1, "f32", [1, 4], str(root / "y.bin")),
        ],
        outputs=[TensorSpec("logits", 0, "f32", [1, width]), TensorSpec("prod", 1, "f32", [1, 4])],
        warmup=1,
        iterations=3,
        threads=1,
        workdir=str(workdir),
        **kw,  # type: ignore[arg-type]
    )


def _native(root: Path, model: str = "tiny.onnx") -> list[np.ndarray]:
    feeds = {n: np.fromfile(root / f"{n}.bin", np.float32).reshape(1, 4) for n in ("x", "y")}
    return ort.InferenceSession(str(root / model)).run(None, feeds)


def _guest_dir(root: Path, tmp_path: Path) -> Path:
    (tmp_path / "graph").mkdir()
    shutil.copy(root / "tiny.onnx", tmp_path / "graph" / "model.onnx")
    for name in ("x", "y"):
        shutil.copy(root / f"{name}.bin", tmp_path / f"{name}.bin")
    return tmp_path


def _drive(guest: Path, *args: str, config: NnConfig | None = None) -> tuple:
    argv = ["driver", "--target", "cpu", *args]
    err = guest / "stderr.txt"
    out = run_component(WASM, argv, guest, config or NnConfig(), stderr=err)
    return out, err.read_text()


# -- the fast path and its guard -------------------------------------------------


def test_layout_guard_holds_for_pinned_wasmtime() -> None:
    # Fails when wasmtime-py changes the private layout the fast path writes.
    assert fastlist.layout_problem() is None
    assert ctypes.sizeof(ffi.wasmtime_component_val_t) == fastlist.VAL_SIZE == 32
    assert ffi.wasmtime_component_val_t.of.offset == fastlist.PAYLOAD_OFFSET == 8
    assert ffi.WASMTIME_COMPONENT_U8.value == fastlist.KIND_U8 == 2
    assert ffi.WASMTIME_COMPONENT_LIST.value == fastlist.KIND_LIST == 13


@pytest.mark.parametrize("size", [0, 1, 4096, 100_003])
def test_fast_path_equals_stock_byte_for_byte(size: int) -> None:
    data = os.urandom(size)
    stock = fastlist.StockBytes()
    assert stock.from_c(fastlist.new_u8_list(data)) == data
    assert fastlist.read_u8_list(stock.to_c(data)) == data
    # and the raw C values agree where they are defined: kind byte and u8 payload
    a, b = fastlist.new_u8_list(data), stock.to_c(data)
    if size:
        rows_a = fastlist._as_rows(a.of.list.data, size, np.uint8)
        rows_b = fastlist._as_rows(b.of.list.data, size, np.uint8)
        assert (rows_a[:, 0] == rows_b[:, 0]).all() and (rows_a[:, 8] == rows_b[:, 8]).all()
    for v in (a, b):
        ffi.wasmtime_component_vallist_delete(ctypes.byref(v.of.list))


def test_guard_failure_falls_back_to_stock(tiny: Path, tmp_path: Path, monkeypatch) -> None:
    # A layout change cannot be produced with the pinned wasmtime: force the verdict.
    monkeypatch.setattr(component, "_FAST_PROBLEM", ["forced for the test"])
    result = component.run_round(_job(tiny, tmp_path))
    assert result.notes["list_u8"] == "stock (forced for the test)"
    for got, want in zip(result.outputs.values(), _native(tiny), strict=True):
        np.testing.assert_allclose(got, want, rtol=1e-6)


# -- the driver on the host --------------------------------------------------------


@pytest.mark.parametrize("load_mode", ["bytes", "name"])
def test_component_agrees_with_onnxruntime(tiny: Path, tmp_path: Path, load_mode: str) -> None:
    result = component.run_round(_job(tiny, tmp_path, load_mode=load_mode))
    assert list(result.outputs) == ["logits", "prod"]
    for got, want in zip(result.outputs.values(), _native(tiny), strict=True):
        np.testing.assert_allclose(got, want, rtol=1e-6)
    assert result.notes["load_mode"] == load_mode
    assert result.notes["list_u8"] == "fast"
    assert len(result.per_iteration["total"]) == 3
    assert {"load", "init", "compile", "instantiate"} <= set(result.host_phases)


def test_model_over_cap_loads_by_name(tmp_path: Path) -> None:
    root = tmp_path / "big"
    root.mkdir()
    _tiny_model(root / "big.onnx", hidden=HOSTCALL_CAP // 16 + 1)  # 4 x N f32 > cap bytes
    assert (root / "big.onnx").stat().st_size > HOSTCALL_CAP
    rng = np.random.default_rng(3)
    for name in ("x", "y"):
        rng.standard_normal((1, 4)).astype(np.float32).tofile(root / f"{name}.bin")
    job = _job(root, tmp_path / "wd", model="big.onnx")
    job.iterations = 1
    result = component.run_round(job)
    assert result.notes["load_mode"] == "name"
    assert "cap" in result.notes["load_mode_reason"]
    for got, want in zip(result.outputs.values(), _native(root, "big.onnx"), strict=True):
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)


def test_input_over_cap_is_unsupported(tiny: Path, tmp_path: Path) -> None:
    job = _job(tiny, tmp_path)
    job.inputs[0] = TensorSpec("x", 0, "u8", [HOSTCALL_CAP], str(tiny / "x.bin"))
    with pytest.raises(CellUnsupported, match="2796202"):
        component.run_round(job)


def test_host_call_cap_is_what_wasmtime_enforces(tiny: Path, tmp_path: Path) -> None:
    # data + dims values: exactly the cap crosses, one more traps
    guest = _guest_dir(tiny, tmp_path)
    for n, trapped in ((HOSTCALL_CAP - 1, False), (HOSTCALL_CAP, True)):
        (guest / "big.bin").write_bytes(b"\1" * n)
        out, err = _drive(guest, *f"{ONNX} --input 0 x u8 {n} big.bin".split())
        if trapped:
            assert out.trap and "hostcalls has been exhausted" in out.trap
        else:
            assert out.trap is None and "compute failed: errno 1 (invalid_argument)" in err


# -- errors through the guest ------------------------------------------------------


ERROR_CASES = {
    "invalid-encoding": (
        "--encoding tensorflow --model graph/model.onnx",
        "load failed: errno 2 (invalid_encoding): invalid-encoding: no backend for encoding "
        "'tensorflow'",
    ),
    "unknown-graph-name": (
        "--load name --name nosuch",
        "load_by_name failed: errno 8 (not_found): not-found: no graph named 'nosuch'",
    ),
    "unknown-input": (
        f"{ONNX} --input 0 nosuch f32 1x4 x.bin",
        "compute failed: errno 8 (not_found): not-found: no input named 'nosuch'",
    ),
    "wrong-dims": (
        f"{ONNX} --input 0 x f32 2x2 x.bin {Y}",
        "compute failed: errno 1 (invalid_argument): invalid-argument: input 'x' wants shape "
        "[1, 4], got [2, 2]",
    ),
    "bytes-vs-dims": (
        f"{ONNX} --input 0 x f32 1x5 x.bin",
        "compute failed: errno 1 (invalid_argument): invalid-argument: input 'x': 16 bytes for "
        "FP32 dims [1, 5] (20 expected)",
    ),
    "output-buffer-too-small": (
        f"{ONNX} {X} {Y} --output 0 logits 4 o.bin",
        "get_output failed: errno 7 (too_large)",
    ),
}


@pytest.mark.parametrize("case", ERROR_CASES)
def test_errors_reach_the_guest(tiny: Path, tmp_path: Path, case: str) -> None:
    args, expected = ERROR_CASES[case]
    guest = _guest_dir(tiny, tmp_path)
    out, err = _drive(
        guest,
        *args.split(),
        config=NnConfig(graphs=GraphRegistry({"graph": NamedGraph("onnx", ())})),
    )
    assert out.trap is None
    assert out.exit_code != 0
    assert expected in err, err
    # the guest read the error resource and dropped it, and dropped the rest at exit
    assert out.state.sizes() == {t: 0 for t in out.state.sizes()}


def test_resources_dropped_over_10000_iterations(tiny: Path, tmp_path: Path) -> None:
    guest = _guest_dir(tiny, tmp_path)
    outputs = "--output 0 logits 12 o0.bin --output 1 prod 16 o1.bin"
    out, err = _drive(guest, *f"{ONNX} {X} {Y} {outputs} --iterations 10000".split())
    assert out.exit_code == 0, err
    state = out.state
    # at most 2 inputs + 2 outputs alive at once; everything given back at exit
    assert state.peaks() == {"graph": 1, "graph-execution-context": 1, "tensor": 4, "error": 0}
    assert state.sizes() == {t: 0 for t in state.sizes()}
    assert state.tensors.next - 1 == 4 * 10_000  # 2 in + 2 out per iteration
