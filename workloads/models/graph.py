"""A small ONNX graph builder with seeded weights and an optional float64 shadow.

The CNN builders need weights whose activations neither explode nor vanish
through the depth, and BatchNorm layers with real statistics. Instead of
guessing variances analytically, the builder can run a *shadow* forward pass
in float64 numpy while the graph is being written (on a seeded calibration
input) and read the statistics off the real activations. float64 matters:
the statistics are rounded to float32 afterwards, so BLAS differences between
machines practically never change a single bit of the saved model.
"""

from __future__ import annotations

import ctypes
import math
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import onnx
from numpy.lib.stride_tricks import sliding_window_view
from onnx import TensorProto, helper, numpy_helper

OPSET = 17
# The lowest ONNX IR version that carries opset 17: the widest reader support.
IR_VERSION = helper.find_min_ir_version_for([helper.make_opsetid("", OPSET)])

_ONNX_TYPES = {np.dtype(np.float32): TensorProto.FLOAT, np.dtype(np.int64): TensorProto.INT64}


class Builder:
    """Collects nodes and initializers; names are made unique with a counter."""

    def __init__(self, seed: int, calibrate: bool = False):
        self.rng = np.random.default_rng(seed)
        self.nodes: list[onnx.NodeProto] = []
        # Initializers stay numpy arrays until model(): calibration may rescale them.
        self.inits: dict[str, np.ndarray] = {}
        self.inputs: list[onnx.ValueInfoProto] = []
        self.outputs: list[onnx.ValueInfoProto] = []
        self.values: dict[str, np.ndarray] | None = {} if calibrate else None
        self._count = 0

    @property
    def calibrating(self) -> bool:
        return self.values is not None

    def _name(self, hint: str) -> str:
        self._count += 1
        return f"{hint}_{self._count}"

    # -- graph I/O and constants ------------------------------------------------

    def input(self, name: str, dtype: type, shape: Sequence[int], shadow: Any = None) -> str:
        """Declare a graph input; `shadow` is its calibration value (any batch size)."""
        elem = _ONNX_TYPES[np.dtype(dtype)]
        self.inputs.append(helper.make_tensor_value_info(name, elem, list(shape)))
        if self.values is not None:
            self.values[name] = np.asarray(shadow, dtype=np.float64)
        return name

    def output(self, name: str, dtype: type, shape: Sequence[int]) -> None:
        elem = _ONNX_TYPES[np.dtype(dtype)]
        self.outputs.append(helper.make_tensor_value_info(name, elem, list(shape)))

    def const(self, hint: str, array: Any, dtype: type = np.float32) -> str:
        name = self._name(hint)
        self.inits[name] = np.array(array, dtype=dtype, order="C")  # keeps 0-d scalars
        if self.values is not None:
            self.values[name] = self.inits[name].astype(np.float64)
        return name

    def normal(self, hint: str, shape: Sequence[int], std: float, mean: float = 0.0) -> str:
        return self.const(hint, self.rng.normal(mean, std, size=shape))

    def uniform(self, hint: str, shape: Sequence[int], low: float, high: float) -> str:
        return self.const(hint, self.rng.uniform(low, high, size=shape))

    def rescale(self, names: Sequence[str], factor: float) -> None:
        """Multiply initializers in place (and their shadow values) by `factor`."""
        for name in names:
            self.inits[name] = (self.inits[name].astype(np.float64) * factor).astype(np.float32)
            if self.values is not None:
                self.values[name] = self.inits[name].astype(np.float64)

    # -- nodes --------------------------------------------------------------------

    def dense(self, x: str, fan_in: int, fan_out: int) -> str:
        """x @ W + b, W scaled by 1/sqrt(fan_in) (the transformers' linear layer)."""
        w = self.normal("w", [fan_in, fan_out], 1.0 / math.sqrt(fan_in))
        return self.op("Add", [self.op("MatMul", [x, w]), self.normal("b", [fan_out], 0.02)])

    def layer_norm(self, x: str, width: int, epsilon: float) -> str:
        """LayerNormalization over the last axis with seeded gamma (about 1) and beta."""
        gamma = self.normal("ln_gamma", [width], 0.05, mean=1.0)
        beta = self.normal("ln_beta", [width], 0.05)
        return self.op("LayerNormalization", [x, gamma, beta], axis=-1, epsilon=epsilon)

    def op(self, op_type: str, inputs: Sequence[str], out: str | None = None, **attrs: Any) -> str:
        """Append one single-output node; evaluate it on the shadow when calibrating."""
        out = out or self._name(op_type.lower())
        self.nodes.append(
            helper.make_node(op_type, list(inputs), [out], self._name(op_type), **attrs)
        )
        if self.values is not None:
            fn = _SHADOW_OPS.get(op_type)
            if fn is None:
                raise NotImplementedError(f"no shadow implementation for {op_type}")
            self.values[out] = fn([self.values[i] for i in inputs], attrs)
        return out

    def shadow(self, name: str) -> np.ndarray:
        assert self.values is not None, "shadow values exist only when calibrating"
        return self.values[name]

    def model(self, graph_name: str, doc: str, metadata: dict[str, str]) -> onnx.ModelProto:
        inits = [numpy_helper.from_array(a, n) for n, a in self.inits.items()]
        graph = helper.make_graph(self.nodes, graph_name, self.inputs, self.outputs, inits)
        model = helper.make_model(
            graph,
            opset_imports=[helper.make_opsetid("", OPSET)],
            producer_name="wasinn-bench",
            ir_version=IR_VERSION,
            doc_string=doc,
        )
        helper.set_model_props(model, metadata)
        return model


# -- float64 shadow implementations (only the ops the calibrated builders use) ----


def _pad_hw(x: np.ndarray, pads: Sequence[int], value: float) -> np.ndarray:
    top, left, bottom, right = pads
    return np.pad(x, ((0, 0), (0, 0), (top, bottom), (left, right)), constant_values=value)


def _conv(xs: list[np.ndarray], attrs: dict[str, Any]) -> np.ndarray:
    x, w = xs[0], xs[1]
    group = attrs.get("group", 1)
    sh, sw = attrs.get("strides", [1, 1])
    kh, kw = w.shape[2:]
    xp = _pad_hw(x, attrs.get("pads", [0, 0, 0, 0]), 0.0)
    ho = (xp.shape[2] - kh) // sh + 1
    wo = (xp.shape[3] - kw) // sw + 1
    if group == 1:
        # im2col through a strided window view, then one tensordot over (C, kh, kw).
        win = sliding_window_view(xp, (kh, kw), axis=(2, 3))[:, :, ::sh, ::sw][:, :, :ho, :wo]
        y = np.tensordot(win, w, axes=([1, 4, 5], [1, 2, 3])).transpose(0, 3, 1, 2)
    elif group == x.shape[1] == w.shape[0]:
        # Depthwise: one multiply-add per kernel tap.
        y = np.zeros((x.shape[0], x.shape[1], ho, wo))
        for i in range(kh):
            for j in range(kw):
                tap = xp[:, :, i : i + sh * (ho - 1) + 1 : sh, j : j + sw * (wo - 1) + 1 : sw]
                y += tap * w[:, 0, i, j][None, :, None, None]
    else:
        raise NotImplementedError("shadow Conv supports group 1 or depthwise only")
    if len(xs) > 2:
        y = y + xs[2][None, :, None, None]
    return y


def _max_pool(xs: list[np.ndarray], attrs: dict[str, Any]) -> np.ndarray:
    x = xs[0]
    kh, kw = attrs["kernel_shape"]
    sh, sw = attrs.get("strides", [1, 1])
    top, left, bottom, right = attrs.get("pads", [0, 0, 0, 0])
    rnd = np.ceil if attrs.get("ceil_mode", 0) else np.floor
    ho = int(rnd((x.shape[2] + top + bottom - kh) / sh)) + 1
    wo = int(rnd((x.shape[3] + left + right - kw) / sw)) + 1
    # Extra bottom/right padding lets the last ceil-mode window read -inf.
    bottom = max(bottom, (ho - 1) * sh + kh - x.shape[2] - top)
    right = max(right, (wo - 1) * sw + kw - x.shape[3] - left)
    xp = _pad_hw(x, [top, left, bottom, right], -np.inf)
    win = sliding_window_view(xp, (kh, kw), axis=(2, 3))[:, :, ::sh, ::sw][:, :, :ho, :wo]
    return win.max(axis=(4, 5))


def _batch_norm(xs: list[np.ndarray], attrs: dict[str, Any]) -> np.ndarray:
    x, scale, bias, mean, var = xs
    eps = attrs.get("epsilon", 1e-5)
    c = (None, slice(None), None, None)
    return (x - mean[c]) / np.sqrt(var[c] + eps) * scale[c] + bias[c]


def _gemm(xs: list[np.ndarray], attrs: dict[str, Any]) -> np.ndarray:
    a, b = xs[0], xs[1]
    if attrs.get("transB", 0):
        b = b.T
    y = a @ b
    return y + xs[2] if len(xs) > 2 else y


def _softmax(xs: list[np.ndarray], attrs: dict[str, Any]) -> np.ndarray:
    axis = attrs.get("axis", -1)
    e = np.exp(xs[0] - xs[0].max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


_SHADOW_OPS: dict[str, Callable[[list[np.ndarray], dict[str, Any]], np.ndarray]] = {
    "Conv": _conv,
    "MaxPool": _max_pool,
    "BatchNormalization": _batch_norm,
    "Gemm": _gemm,
    "Softmax": _softmax,
    "Relu": lambda xs, a: np.maximum(xs[0], 0.0),
    "Clip": lambda xs, a: np.clip(xs[0], xs[1], xs[2]),
    "Add": lambda xs, a: xs[0] + xs[1],
    "Concat": lambda xs, a: np.concatenate(xs, axis=a["axis"]),
    "GlobalAveragePool": lambda xs, a: xs[0].mean(axis=(2, 3), keepdims=True),
    "Flatten": lambda xs, a: xs[0].reshape(xs[0].shape[0], -1),
}


# -- BLAS threads --------------------------------------------------------------------


def _numpy_openblas() -> tuple[Callable[[], int], Callable[[int], None]] | None:
    """get/set of the thread count of the OpenBLAS bundled in numpy's wheel, if that is it."""
    libs = Path(np.__file__).parent.with_name("numpy.libs")
    for path in sorted(libs.glob("libscipy_openblas*.so*")):
        lib = ctypes.CDLL(str(path))  # already loaded by numpy: the same instance
        for suffix in ("64_", ""):
            get = getattr(lib, f"scipy_openblas_get_num_threads{suffix}", None)
            put = getattr(lib, f"scipy_openblas_set_num_threads{suffix}", None)
            if get and put:
                return get, put
    return None


@contextmanager
def single_threaded_blas() -> Iterator[None]:
    """Run the shadow's matmuls on one OpenBLAS thread.

    In a process that has called openvino's `ov.convert_model` (2026.4.1), numpy's
    multi-threaded OpenBLAS matmul hung forever (reproduced; one thread never hung).
    One thread also fixes the summation order. No-op for other BLAS builds.
    """
    blas = _numpy_openblas()
    if blas is None:
        yield
        return
    get, put = blas
    before = get()
    put(1)
    try:
        yield
    finally:
        put(before)
