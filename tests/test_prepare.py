"""bench/measure/prepare.py: tensor sizes checked before anything is generated, shape
inference under the cell limits, errors under the field at fault."""

from __future__ import annotations

from pathlib import Path

import onnx
from onnx import TensorProto, helper

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
