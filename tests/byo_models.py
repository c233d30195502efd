"""Models a user might bring, built here with the onnx package (nothing downloaded):
control flow holding recurrent ops, dims that only running resolves, several outputs,
the less common dtypes. Each builder writes `<dir>/<name>.onnx` and returns its path
and the input shapes a workload gives it; `feeds` makes matching inputs."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

H, FEATS = 4, 3  # hidden size, features per step
F32, I64 = TensorProto.FLOAT, TensorProto.INT64


def _save(path: Path, nodes, inputs, outputs, inits=()) -> Path:
    graph = helper.make_graph(nodes, path.stem, inputs, outputs, list(inits))
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=8)
    onnx.checker.check_model(model)
    onnx.save(model, path)
    return path


def _weights(rng: np.random.Generator, prefix: str, gates: int) -> list[onnx.TensorProto]:
    w = rng.standard_normal((1, gates * H, FEATS)).astype(np.float32) * 0.5
    r = rng.standard_normal((1, gates * H, H)).astype(np.float32) * 0.5
    return [numpy_helper.from_array(w, f"{prefix}_W"), numpy_helper.from_array(r, f"{prefix}_R")]


def _lstm_branch(rng: np.random.Generator, name: str, single_step: bool) -> onnx.GraphProto:
    """LSTM over the outer `x`; the single-step branch first drops every unit dim and
    puts a sequence axis back (valid when it runs: seq == 1)."""
    nodes, src = [], "x"
    inits = _weights(rng, name, 4) + [
        numpy_helper.from_array(np.array([0], np.int64), f"{name}_ax")
    ]
    if single_step:
        nodes += [helper.make_node("Squeeze", ["x"], [f"{name}_sq"]),
                  helper.make_node("Unsqueeze", [f"{name}_sq", f"{name}_ax"], [f"{name}_x"])]  # fmt: skip
        src = f"{name}_x"
    nodes += [
        helper.make_node(
            "LSTM", [src, f"{name}_W", f"{name}_R"], [f"{name}_Y", f"{name}_h"], hidden_size=H
        ),  # fmt: skip
        helper.make_node("Squeeze", [f"{name}_h", f"{name}_ax"], [f"{name}_out"]),
    ]
    out = helper.make_tensor_value_info(f"{name}_out", F32, None)
    return helper.make_graph(nodes, name, [], [out], inits)


def if_lstm(folder: Path) -> tuple[Path, dict[str, list[int]]]:
    """If (seq > 1) LSTM over the sequence, else a single-step LSTM. For seq = 5 the
    dead branch's LSTM would get rank 4, so ONNX's strict shape inference with the
    shapes written in (what fix_shapes did) fails: "First input tensor must have rank
    3"; onnxruntime and OpenVINO run the file as it is."""
    rng = np.random.default_rng(0)
    one = numpy_helper.from_array(np.array(1, np.int64), "one")
    zero = numpy_helper.from_array(np.array([0], np.int64), "zero")
    nodes = [
        helper.make_node("Shape", ["x"], ["shape"]),
        helper.make_node("Gather", ["shape", "zero"], ["seq"]),
        helper.make_node("Greater", ["seq", "one"], ["many"]),
        helper.make_node("Squeeze", ["many"], ["cond"]),
        helper.make_node(
            "If",
            ["cond"],
            ["h"],
            then_branch=_lstm_branch(rng, "seq", False),
            else_branch=_lstm_branch(rng, "step", True),
        ),  # fmt: skip
    ]
    x = helper.make_tensor_value_info("x", F32, ["seq", "batch", FEATS])
    h = helper.make_tensor_value_info("h", F32, ["batch", H])
    return _save(folder / "if_lstm.onnx", nodes, [x], [h], [one, zero]), {"x": [5, 2, FEATS]}


def loop_gru(folder: Path) -> tuple[Path, dict[str, list[int]]]:
    """Loop `steps` times (an input: known only at run time) over a GRU whose final
    state is carried; outputs the last state and every step's state (scan output)."""
    rng = np.random.default_rng(1)
    ax = numpy_helper.from_array(np.array([0], np.int64), "ax")
    body_nodes = [
        helper.make_node(
            "GRU", ["x", "gru_W", "gru_R", "", "", "h_in"], ["Y", "h_out"], hidden_size=H
        ),  # fmt: skip
        helper.make_node("Identity", ["cond_in"], ["cond_out"]),
        helper.make_node("Squeeze", ["h_out", "ax"], ["step_h"]),
    ]
    body = helper.make_graph(
        body_nodes, "body",
        [helper.make_tensor_value_info("i", I64, []), helper.make_tensor_value_info("cond_in", TensorProto.BOOL, []),
         helper.make_tensor_value_info("h_in", F32, None)],
        [helper.make_tensor_value_info("cond_out", TensorProto.BOOL, []),
         helper.make_tensor_value_info("h_out", F32, None), helper.make_tensor_value_info("step_h", F32, None)],
    )  # fmt: skip
    h0 = numpy_helper.from_array(np.zeros((1, 2, H), np.float32), "h0")
    nodes = [helper.make_node("Loop", ["steps", "", "h0"], ["h_last", "states"], body=body)]
    inputs = [helper.make_tensor_value_info("x", F32, ["seq", 2, FEATS]),
              helper.make_tensor_value_info("steps", I64, [])]  # fmt: skip
    outputs = [helper.make_tensor_value_info("h_last", F32, [1, 2, H]),
               helper.make_tensor_value_info("states", F32, ["steps", 2, H])]  # fmt: skip
    inits = _weights(rng, "gru", 3) + [h0, ax]
    return _save(folder / "loop_gru.onnx", nodes, inputs, outputs, inits), {
        "x": [4, 2, FEATS],
        "steps": [],
    }


def runtime_dims(folder: Path) -> tuple[Path, dict[str, list[int]]]:
    """Outputs whose size only the input values decide (NonZero) and one whose declared
    dims are symbols no input names (`n_out`)."""
    zero = numpy_helper.from_array(np.array(0, np.float32), "zero")
    nodes = [
        helper.make_node("Greater", ["x", "zero"], ["pos"]),
        helper.make_node("NonZero", ["pos"], ["where"]),
        helper.make_node("Transpose", ["where"], ["picked"]),
        helper.make_node("ReduceSum", ["x"], ["total"], keepdims=0),
    ]
    inputs = [helper.make_tensor_value_info("x", F32, ["rows", "cols"])]
    outputs = [helper.make_tensor_value_info("picked", I64, ["n_out", 2]),
               helper.make_tensor_value_info("total", F32, [])]  # fmt: skip
    return _save(folder / "runtime_dims.onnx", nodes, inputs, outputs, [zero]), {"x": [6, 5]}


def many_dtypes(folder: Path) -> tuple[Path, dict[str, list[int]]]:
    """u8, i32, f16 and f64 inputs; f16, i32, f64 and i64 outputs (four outputs)."""
    nodes = [
        helper.make_node("Cast", ["a"], ["a16"], to=TensorProto.FLOAT16),
        helper.make_node("Mul", ["a16", "c"], ["half"]),
        helper.make_node("Cast", ["a"], ["a32"], to=TensorProto.INT32),
        helper.make_node("Add", ["a32", "b"], ["ints"]),
        helper.make_node("Sqrt", ["d"], ["root"]),
        helper.make_node("ArgMax", ["d"], ["arg"], axis=1, keepdims=0),
    ]
    inputs = [helper.make_tensor_value_info("a", TensorProto.UINT8, ["n"]),
              helper.make_tensor_value_info("b", TensorProto.INT32, ["n"]),
              helper.make_tensor_value_info("c", TensorProto.FLOAT16, ["n"]),
              helper.make_tensor_value_info("d", TensorProto.DOUBLE, [2, "m"])]  # fmt: skip
    outputs = [helper.make_tensor_value_info("half", TensorProto.FLOAT16, ["n"]),
               helper.make_tensor_value_info("ints", TensorProto.INT32, ["n"]),
               helper.make_tensor_value_info("root", TensorProto.DOUBLE, [2, "m"]),
               helper.make_tensor_value_info("arg", I64, [2])]  # fmt: skip
    return _save(folder / "many_dtypes.onnx", nodes, inputs, outputs), {
        "a": [6], "b": [6], "c": [6], "d": [2, 7]}  # fmt: skip


BUILDERS = (if_lstm, loop_gru, runtime_dims, many_dtypes)

# Inputs the workloads give them ([inputs.NAME] tables), chosen so every path runs:
# non-negative d for Sqrt, a positive trip count, x with some positive values.
WORKLOAD_INPUTS = {
    "if_lstm": {"x": 'dtype = "f32"\ngenerator = "normal"'},
    "loop_gru": {"x": 'dtype = "f32"\ngenerator = "normal"',
                 "steps": 'dtype = "i64"\ngenerator = "constant"\nvalue = 3'},
    "runtime_dims": {"x": 'dtype = "f32"\ngenerator = "normal"'},
    "many_dtypes": {"a": 'dtype = "u8"\ngenerator = "uniform"\nlow = 0\nhigh = 200',
                    "b": 'dtype = "i32"\ngenerator = "uniform"\nlow = -50\nhigh = 50',
                    "c": 'dtype = "f16"\ngenerator = "normal"',
                    "d": 'dtype = "f64"\ngenerator = "uniform"\nlow = 0\nhigh = 4'},
}  # fmt: skip


def workload_toml(path: Path, shapes: dict[str, list[int]], extra: str = "") -> str:
    """A workload file for one of these models (the inputs above, the given shapes)."""
    tables = "".join(
        f"[inputs.{name}]\nshape = {shape}\n{WORKLOAD_INPUTS[path.stem][name]}\n"
        for name, shape in shapes.items()
    )
    return (f'name = "{path.stem.replace("_", "-")}"\n{extra}\n[model]\npath = "{path}"\n'
            f"{tables}")  # fmt: skip
