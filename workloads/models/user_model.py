"""A user's ONNX model read and checked as it is: never rewritten.

`check_user_model` loads the file, runs the ONNX checker (structure only: no shape
inference, which rejects valid models whose dead branches do not type-check for the
given shapes) and checks the workload's input shapes against the declared inputs:
names, rank and every fixed dimension. Whether the shapes fit deeper in the graph is
learnt by running the model (bench/measure/prepare.py). `describe` and `dims` are
also what `wasinn-bench inspect` shows.
"""

from __future__ import annotations

from pathlib import Path
from typing import NamedTuple

import onnx
from onnx import TensorProto

from workloads.models.errors import ModelError

ONNX_DTYPES = {
    TensorProto.FLOAT16: "f16",
    TensorProto.FLOAT: "f32",
    TensorProto.DOUBLE: "f64",
    TensorProto.UINT8: "u8",
    TensorProto.INT32: "i32",
    TensorProto.INT64: "i64",
}


class TensorDesc(NamedTuple):
    """One graph input or output; -1 in `shape` = known only at run time."""

    name: str
    dtype: str  # canonical: f16 f32 f64 u8 i32 i64
    shape: list[int]


def one_line(e: BaseException) -> str:
    lines = [line.strip() for line in str(e).splitlines() if line.strip()]
    return " | ".join(lines[:3])[:300] or type(e).__name__


def model_opset(model: onnx.ModelProto) -> int:
    return next(o.version for o in model.opset_import if o.domain in ("", "ai.onnx"))


def graph_inputs(model: onnx.ModelProto) -> list[onnx.ValueInfoProto]:
    """Real inputs: old exporters also list every initializer as a graph input."""
    inits = {i.name for i in model.graph.initializer}
    return [i for i in model.graph.input if i.name not in inits]


def dims(value: onnx.ValueInfoProto) -> list[int | str] | None:
    """Declared dims (int, or the symbol/'?' for dynamic ones); None if the rank is unknown."""
    tensor = value.type.tensor_type
    if not tensor.HasField("shape"):
        return None
    return [
        d.dim_value if d.HasField("dim_value") else (d.dim_param or "?") for d in tensor.shape.dim
    ]


def dtype_name(value: onnx.ValueInfoProto) -> str:
    """Canonical dtype, else ONNX's own name (e.g. BOOL) for dtypes wasi-nn lacks."""
    elem = value.type.tensor_type.elem_type
    return ONNX_DTYPES.get(elem) or TensorProto.DataType.Name(elem)


def describe(
    model: onnx.ModelProto, shapes: dict[str, list[int]] | None = None
) -> tuple[list[TensorDesc], list[TensorDesc]]:
    """Inputs (with the given shapes where given) and outputs as declared (-1 = dynamic)."""
    given = shapes or {}

    def one(v: onnx.ValueInfoProto) -> TensorDesc:
        shape = [d if isinstance(d, int) and d > 0 else -1 for d in dims(v) or []]
        return TensorDesc(v.name, ONNX_DTYPES.get(v.type.tensor_type.elem_type, "?"), shape)

    inputs = [one(v) for v in graph_inputs(model)]
    inputs = [t._replace(shape=list(given[t.name])) if t.name in given else t for t in inputs]
    return inputs, [one(v) for v in model.graph.output]


def load_user_model(path: Path) -> onnx.ModelProto:
    """The parsed file, structurally checked; one-line errors naming the file."""
    try:
        model = onnx.load(str(path), load_external_data=False)
        onnx.checker.check_model(model)
    except FileNotFoundError:
        raise ModelError(f"{path}: model file not found") from None
    except Exception as e:
        raise ModelError(f"{path}: not a valid ONNX model ({one_line(e)})") from None
    if any(t.data_location == TensorProto.EXTERNAL for t in model.graph.initializer):
        raise ModelError(
            f"{path}: the model keeps its weights in separate files; every cell loads one "
            "file, so save it as one (onnx.save(model, path, save_as_external_data=False))"
        )
    return model


def _check_dtype(path: Path, what: str, value: onnx.ValueInfoProto) -> None:
    if not value.type.HasField("tensor_type"):
        raise ModelError(f"{path}: {what} {value.name!r} is not a tensor, which is unsupported")
    if value.type.tensor_type.elem_type not in ONNX_DTYPES:
        raise ModelError(
            f"{path}: {what} {value.name!r} has dtype {dtype_name(value)}, unsupported "
            f"(supported: {', '.join(ONNX_DTYPES.values())})"
        )


def fmt(shape: list[int | str] | None) -> str:
    return "unknown rank" if shape is None else "[" + ", ".join(str(d) for d in shape) + "]"


def check_shape(path: Path, value: onnx.ValueInfoProto, given: object) -> None:
    """`given` (the workload's shape for this input) fits the declared dims."""
    name, declared = value.name, dims(value)
    field = f"inputs.{name}.shape"
    if not (
        isinstance(given, list | tuple)
        and all(isinstance(g, int) and not isinstance(g, bool) and g > 0 for g in given)
    ):
        raise ModelError(
            f"{path}: input {name!r}: a shape is a list of positive integers, got {given!r}",
            field=field,
        )
    if declared is not None and len(declared) != len(given):
        raise ModelError(
            f"{path}: input {name!r}: shape {list(given)} has rank {len(given)} "
            f"but the model's input is {fmt(declared)} (rank {len(declared)})",
            field=field,
        )
    for axis, (d, g) in enumerate(zip(declared or given, given, strict=True)):
        if isinstance(d, int) and d > 0 and d != g:
            raise ModelError(
                f"{path}: input {name!r}: shape {list(given)} contradicts the "
                f"model's {fmt(declared)} at dimension {axis}",
                field=field,
            )


def check_user_model(path: Path, shapes: dict[str, list[int]]) -> onnx.ModelProto:
    """Load a user's model and check the given input shapes against it; the model is
    returned as read (nothing is changed). Errors name the file and the input."""
    model = load_user_model(path)
    inputs = graph_inputs(model)
    names = [i.name for i in inputs]
    for name in shapes:
        if name not in names:
            raise ModelError(
                f"{path}: a shape is given for input {name!r}, which the model does not have "
                f"(its inputs: {', '.join(names)})",
                field=f"inputs.{name}",
            )
    for value in inputs:
        _check_dtype(path, "input", value)
        if value.name in shapes:
            check_shape(path, value, shapes[value.name])
            continue
        declared = dims(value)
        if declared is None or not all(isinstance(d, int) and d > 0 for d in declared):
            raise ModelError(
                f"{path}: input {value.name!r} has dynamic shape {fmt(declared)}; give its shape",
                field=f"inputs.{value.name}",
            )
    for value in model.graph.output:
        _check_dtype(path, "output", value)
    return model
