"""The backend interface on both real backends: loading, errors, index/name convention."""

from __future__ import annotations

import gc

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper

from hosts.backends import BackendError, backend_for_encoding, get_backend
from hosts.backends.base import resolve_index

BACKENDS = ["onnx", "openvino"]


def two_input_model() -> bytes:
    a = helper.make_tensor_value_info("a", TensorProto.FLOAT, [2, 3])
    b = helper.make_tensor_value_info("b", TensorProto.FLOAT, [2, 3])
    s = helper.make_tensor_value_info("sum", TensorProto.FLOAT, [2, 3])
    p = helper.make_tensor_value_info("prod", TensorProto.FLOAT, [2, 3])
    nodes = [
        helper.make_node("Add", ["a", "b"], ["sum"]),
        helper.make_node("Mul", ["a", "b"], ["prod"]),
    ]
    graph = helper.make_graph(nodes, "g", [a, b], [s, p])
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]).SerializeToString()


@pytest.mark.parametrize("name", BACKENDS)
def test_compute_by_index_name_and_decimal_name(name: str) -> None:
    graph = get_backend(name).load([two_input_model()], "onnx", "cpu", 1)
    assert [t.name for t in graph.inputs] == ["a", "b"] and graph.inputs[0].dtype == "f32"
    ctx = graph.new_context()
    a = np.arange(6, dtype=np.float32).reshape(2, 3)
    ctx.set_input(0, a)
    ctx.set_input(
        "1", np.full((2, 3), 2, np.float32)
    )  # decimal name = position (adapter convention)
    ctx.compute()
    assert np.array_equal(ctx.get_output("sum"), a + 2)
    assert np.array_equal(ctx.get_output(1), a * 2)
    assert np.array_equal(ctx.get_output("0"), a + 2)


@pytest.mark.parametrize("name", BACKENDS)
def test_temporary_input_buffers_survive_until_compute(name: str) -> None:
    """A host may pass a temporary array (e.g. converted from a guest list): it must be read
    correctly even after the caller dropped its reference (regression: OpenVINO shared memory)."""
    ctx = get_backend(name).load([two_input_model()], "onnx", "cpu", 1).new_context()
    for i in range(2):
        ctx.set_input(
            i,
            np.frombuffer(
                bytearray(np.full((2, 3), i + 1, np.float32).tobytes()), np.float32
            ).reshape(2, 3),
        )
    gc.collect()
    _ = [bytearray(24) for _ in range(1000)]  # reuse freed memory
    ctx.compute()
    assert np.array_equal(ctx.get_output(0), np.full((2, 3), 3, np.float32))


@pytest.mark.parametrize("name", BACKENDS)
def test_errors_carry_wasi_nn_codes(name: str) -> None:
    backend = get_backend(name)
    ctx = backend.load([two_input_model()], "onnx", "cpu", 1).new_context()
    cases = [
        (lambda: ctx.set_input(0, np.zeros((3, 2), np.float32)), "invalid_argument"),
        (lambda: ctx.set_input(0, np.zeros((2, 3), np.int64)), "invalid_argument"),
        (lambda: ctx.set_input(5, np.zeros((2, 3), np.float32)), "invalid_argument"),
        (lambda: ctx.set_input("nope", np.zeros((2, 3), np.float32)), "not_found"),
        (lambda: ctx.get_output(0), "runtime_error"),
        (ctx.compute, "runtime_error"),  # inputs not set
        (lambda: backend.load([b"not a model"], "onnx", "cpu", 1), "invalid_argument"),
        (lambda: backend.load([two_input_model()], "tensorflow", "cpu", 1), "invalid_encoding"),
    ]
    for call, code in cases:
        with pytest.raises(BackendError) as e:
            call()
        assert e.value.code == code, e.value


def test_encoding_selects_backend_and_properties_are_strings() -> None:
    assert backend_for_encoding("onnx").name == "onnx"
    assert backend_for_encoding("openvino").name == "openvino"
    with pytest.raises(BackendError) as e:
        backend_for_encoding("ggml")
    assert e.value.code == "invalid_encoding"
    for name in BACKENDS:
        props = get_backend(name).properties("cpu", 2)
        assert all(isinstance(k, str) and isinstance(v, str) for k, v in props.items())
        assert props["threads"] == "2" and props["version"] and props["device_name"]
    lo, hi = get_backend("onnx").onnx_opset_range()
    assert lo <= 17 <= hi


def test_gpu_absence_is_a_reason_not_a_crash() -> None:
    for name in BACKENDS:
        reason = get_backend(name).devices()["gpu"]
        if reason is not None:
            assert "GPU" in reason or "CUDA" in reason
            with pytest.raises(BackendError) as e:
                get_backend(name).load([two_input_model()], "onnx", "gpu", 1)
            assert e.value.code == "unsupported_operation"


def test_resolve_index_prefers_real_names() -> None:
    assert resolve_index(["1", "0"], "0") == 1  # a real tensor named "0" wins over position 0
    assert resolve_index(["x", "y"], "1") == 1
    with pytest.raises(BackendError):
        resolve_index(["x"], "1")


def test_openvino_ir_from_builders(tmp_path) -> None:
    import openvino as ov

    onnx_path = tmp_path / "m.onnx"
    onnx_path.write_bytes(two_input_model())
    # read_model, not convert_model: the latter can hang numpy later in this process
    ov.save_model(ov.Core().read_model(str(onnx_path)), tmp_path / "m.xml", compress_to_fp16=False)
    xml, weights = (tmp_path / "m.xml").read_bytes(), (tmp_path / "m.bin").read_bytes()
    graph = get_backend("openvino").load([xml, weights], "openvino", "cpu", 1)
    ctx = graph.new_context()
    ctx.set_input(0, np.ones((2, 3), np.float32))
    ctx.set_input(1, np.ones((2, 3), np.float32))
    ctx.compute()
    assert np.array_equal(ctx.get_output(0), np.full((2, 3), 2, np.float32))
    assert onnx.load(onnx_path).opset_import[0].version == 17


@pytest.mark.parametrize("name", BACKENDS)
def test_rank0_input_and_output_keep_rank_0(name: str) -> None:
    """A scalar in, a scalar out (np.ascontiguousarray would have made them shape (1,))."""
    sr = helper.make_tensor_value_info("sr", TensorProto.INT64, [])
    out = helper.make_tensor_value_info("twice", TensorProto.INT64, [])
    graph = helper.make_graph([helper.make_node("Add", ["sr", "sr"], ["twice"])], "g", [sr], [out])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    g = get_backend(name).load([model.SerializeToString()], "onnx", "cpu", 1)
    assert g.inputs[0].shape == () and g.outputs[0].shape == ()
    ctx = g.new_context()
    ctx.set_input("sr", np.array(8000, np.int64))
    ctx.compute()
    got = ctx.get_output(0)
    assert got.shape == () and got.tolist() == 16000
