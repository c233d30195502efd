"""A user's ONNX model read and checked as it is: never rewritten.

The interface (inputs, outputs, dtypes, declared dims) is read from the file's bytes
(contracts/onnx_file.py) in milliseconds, so a workload's shapes are checked against it
before anything slow is imported: names, dtypes, rank and every fixed dimension.
`check_user_model` adds the ONNX checker (structure only: no shape inference, which
rejects valid models whose dead branches do not type-check for the given shapes).
Whether the shapes fit deeper in the graph is learnt by running the model
(bench/measure/prepare.py).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

from contracts import onnx_file
from contracts.onnx_file import OnnxInterface, Tensor
from workloads.models.errors import ModelError

if TYPE_CHECKING:
    import onnx

SUPPORTED = ("f32", "f16", "f64", "u8", "i32", "i64")


class TensorDesc(NamedTuple):
    """One graph input or output; -1 in `shape` = known only at run time."""

    name: str
    dtype: str  # canonical: f16 f32 f64 u8 i32 i64
    shape: list[int]


def one_line(e: BaseException) -> str:
    lines = [line.strip() for line in str(e).splitlines() if line.strip()]
    return " | ".join(lines[:3])[:300] or type(e).__name__


def read_interface(path: Path) -> OnnxInterface:
    """The file's inputs, outputs and opset; one-line errors naming the file."""
    try:
        iface = onnx_file.read(path)
    except FileNotFoundError:
        raise ModelError(f"{path}: model file not found") from None
    except IsADirectoryError:
        raise ModelError(f"{path}: is a folder, not a model file") from None
    except OSError as e:
        raise ModelError(f"{path}: model file not readable ({e.strerror})") from None
    except onnx_file.NotOnnx as e:
        raise ModelError(f"{path}: not an ONNX model ({e})") from None
    if iface.external_data:
        raise ModelError(
            f"{path}: the model keeps its weights in separate files; every cell loads one "
            "file, so save it as one (onnx.save(model, path, save_as_external_data=False))"
        )
    return iface


def describe(
    iface: OnnxInterface, shapes: dict[str, list[int]] | None = None
) -> tuple[list[TensorDesc], list[TensorDesc]]:
    """Inputs (with the given shapes where given) and outputs as declared (-1 = dynamic)."""
    given = shapes or {}

    def one(t: Tensor) -> TensorDesc:
        shape = [d if isinstance(d, int) and d > 0 else -1 for d in t.dims or []]
        return TensorDesc(t.name, t.dtype if t.dtype in SUPPORTED else "?", shape)

    inputs = [one(t) for t in iface.inputs]
    inputs = [t._replace(shape=list(given[t.name])) if t.name in given else t for t in inputs]
    return inputs, [one(t) for t in iface.outputs]


def fmt(shape: list[int | str] | None) -> str:
    return "unknown rank" if shape is None else "[" + ", ".join(str(d) for d in shape) + "]"


def _check_dtype(path: Path, what: str, t: Tensor) -> None:
    if t.dtype == "?":
        raise ModelError(f"{path}: {what} {t.name!r} is not a tensor, which is unsupported")
    if t.dtype not in SUPPORTED:
        raise ModelError(
            f"{path}: {what} {t.name!r} has dtype {t.dtype}, unsupported "
            f"(supported: {', '.join(SUPPORTED)})"
        )


def check_shape(path: Path, t: Tensor, given: object) -> None:
    """`given` (the workload's shape for this input) fits the declared dims."""
    field = f"inputs.{t.name}.shape"
    if not (
        isinstance(given, list | tuple)
        and all(isinstance(g, int) and not isinstance(g, bool) and g > 0 for g in given)
    ):
        raise ModelError(
            f"{path}: input {t.name!r}: a shape is a list of positive integers, got {given!r}",
            field=field,
        )
    if t.dims is not None and len(t.dims) != len(given):
        raise ModelError(
            f"{path}: input {t.name!r}: shape {list(given)} has rank {len(given)} "
            f"but the model's input is {fmt(t.dims)} (rank {len(t.dims)})",
            field=field,
        )
    for axis, (d, g) in enumerate(zip(t.dims or given, given, strict=True)):
        if isinstance(d, int) and d > 0 and d != g:
            raise ModelError(
                f"{path}: input {t.name!r}: shape {list(given)} contradicts the "
                f"model's {fmt(t.dims)} at dimension {axis}",
                field=field,
            )


def check_shapes(path: Path, iface: OnnxInterface, shapes: dict[str, list[int]]) -> None:
    """The given input shapes against the declared interface; errors name file and input."""
    names = [t.name for t in iface.inputs]
    for name in shapes:
        if name not in names:
            raise ModelError(
                f"{path}: a shape is given for input {name!r}, which the model does not have "
                f"(its inputs: {', '.join(names)})",
                field=f"inputs.{name}",
            )
    for t in iface.inputs:
        _check_dtype(path, "input", t)
        if t.name in shapes:
            check_shape(path, t, shapes[t.name])
        elif t.dynamic:
            raise ModelError(
                f"{path}: input {t.name!r} has dynamic shape {fmt(t.dims)}; give its shape",
                field=f"inputs.{t.name}",
            )
    for t in iface.outputs:
        _check_dtype(path, "output", t)


def check_user_model(path: Path, shapes: dict[str, list[int]]) -> onnx.ModelProto:
    """Check a user's model and the given input shapes; returns the model as read
    (nothing is changed). Errors name the file and the input."""
    import onnx  # slow import: only once the quick checks passed

    check_shapes(path, read_interface(path), shapes)
    try:
        model = onnx.load(str(path), load_external_data=False)
        onnx.checker.check_model(model)
    except Exception as e:
        raise ModelError(f"{path}: not a valid ONNX model ({one_line(e)})") from None
    return model
