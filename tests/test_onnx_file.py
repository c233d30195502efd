"""contracts/onnx_file.py: the header reader sees what the onnx package sees."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from contracts import onnx_file
from tests import byo_models


def _dims(v: onnx.ValueInfoProto) -> list | None:
    t = v.type.tensor_type
    if not t.HasField("shape"):
        return None
    return [d.dim_value if d.HasField("dim_value") else (d.dim_param or "?") for d in t.shape.dim]


@pytest.mark.parametrize("build", byo_models.BUILDERS, ids=lambda b: b.__name__)
def test_interface_matches_the_onnx_package(build, tmp_path: Path) -> None:
    path, _ = build(tmp_path)
    model = onnx.load(str(path))
    iface = onnx_file.read(path)
    inits = {i.name for i in model.graph.initializer}
    want_in = [(v.name, _dims(v)) for v in model.graph.input if v.name not in inits]
    assert [(t.name, t.dims) for t in iface.inputs] == want_in
    assert [(t.name, t.dims) for t in iface.outputs] == [
        (v.name, _dims(v)) for v in model.graph.output
    ]
    assert iface.opset == 17 and iface.ir_version == 8 and not iface.external_data
    assert iface.size_bytes == path.stat().st_size


def test_dtypes_initializers_listed_as_inputs_and_external_data(tmp_path: Path) -> None:
    w = numpy_helper.from_array(np.ones((4, 4), np.float32), "w")
    graph = helper.make_graph(
        [helper.make_node("MatMul", ["x", "w"], ["y"])], "g",
        [helper.make_tensor_value_info("x", TensorProto.BOOL, [-1, 4]),  # Paddle's "any"
         helper.make_tensor_value_info("w", TensorProto.FLOAT, [4, 4])],  # old exporters
        [helper.make_tensor_value_info("y", TensorProto.BFLOAT16, None)], [w],
    )  # fmt: skip
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    onnx.save(model, tmp_path / "m.onnx")
    iface = onnx_file.read(tmp_path / "m.onnx")
    assert [(t.name, t.dtype, t.dims) for t in iface.inputs] == [("x", "BOOL", [-1, 4])]
    assert [(t.dtype, t.dims) for t in iface.outputs] == [("BFLOAT16", None)]
    assert iface.inputs[0].dynamic and iface.opset == 13
    onnx.save(model, tmp_path / "ext.onnx", save_as_external_data=True, size_threshold=0)
    assert onnx_file.read(tmp_path / "ext.onnx").external_data


@pytest.mark.parametrize("data", [b"", b"hello world", b"\x08\x07garbage \xff\xfe" * 10,
                                  b"\x0a\x05ab"])  # fmt: skip
def test_bytes_that_are_not_onnx_are_refused(data: bytes) -> None:
    with pytest.raises(onnx_file.NotOnnx):
        onnx_file.parse(data)
