"""The one interface every host uses to run inference.

Error codes are a neutral vocabulary that both wasi-nn ABIs map from:
the witx errno (`hosts.abi.witx`) and the WIT `error-code` enum.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from contracts.dtypes import DTYPES

ERROR_CODES = (
    "invalid_argument",
    "invalid_encoding",
    "missing_memory",
    "busy",
    "runtime_error",
    "unsupported_operation",
    "too_large",
    "not_found",
)


class BackendError(Exception):
    def __init__(self, code: str, message: str):
        assert code in ERROR_CODES, code
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


@dataclass(frozen=True)
class TensorInfo:
    name: str
    dtype: str  # canonical name: f16 f32 f64 u8 i32 i64 (or the backend's own if unmappable)
    shape: tuple[int, ...]  # -1 for dynamic dimensions


def resolve_index(names: Sequence[str], key: int | str, what: str = "input") -> int:
    """Map an index or a name to a position.

    Convention shared by all our hosts (docs/adapter.md): a name that no tensor
    has but that is a decimal number "N" means position N. This is how the
    legacy index-based ABI crosses the name-based WIT.
    """
    if isinstance(key, int):
        idx = key
    elif key in names:
        return list(names).index(key)
    elif key.isdecimal():
        idx = int(key)
    else:
        raise BackendError("not_found", f"no {what} named {key!r} (have {list(names)})")
    if not 0 <= idx < len(names):
        raise BackendError(
            "invalid_argument", f"{what} index {idx} out of range 0..{len(names) - 1}"
        )
    return idx


def check_input(info: TensorInfo, array: np.ndarray) -> None:
    """invalid_argument unless `array` has the input's dtype and (static) shape."""
    want = DTYPES.get(info.dtype)
    if want is None or array.dtype != want:
        raise BackendError(
            "invalid_argument", f"input {info.name!r} wants {info.dtype}, got {array.dtype}"
        )
    if len(info.shape) != array.ndim or any(
        d >= 0 and d != s for d, s in zip(info.shape, array.shape, strict=True)
    ):
        raise BackendError(
            "invalid_argument",
            f"input {info.name!r} wants shape {list(info.shape)}, got {list(array.shape)}",
        )


class Context(Protocol):
    def set_input(self, key: int | str, array: np.ndarray) -> None:
        """Bind an input by index or name. Checks dtype and shape (invalid_argument)."""
        ...

    def compute(self) -> None:
        """Run inference on the bound inputs (runtime_error if an input is missing)."""
        ...

    def get_output(self, key: int | str) -> np.ndarray:
        """An output of the last compute, by index or name (C-contiguous)."""
        ...

    @property
    def output_names(self) -> list[str]: ...


class Graph(Protocol):
    inputs: list[TensorInfo]
    outputs: list[TensorInfo]

    def new_context(self) -> Context: ...


class Backend(Protocol):
    name: str  # matrix value: "onnx" | "openvino"
    encodings: tuple[str, ...]  # wasi-nn graph encodings it accepts

    def version(self) -> str: ...

    def devices(self) -> dict[str, str | None]:
        """Matrix device -> None when usable here, else the probe's reason."""
        ...

    def load(self, builders: Sequence[bytes], encoding: str, device: str, threads: int) -> Graph:
        """Load from in-memory builders: onnx = [model.onnx], openvino = [xml, bin]."""
        ...

    def load_files(self, paths: Sequence[str], encoding: str, device: str, threads: int) -> Graph:
        """Load from files (same order as builders)."""
        ...

    def onnx_opset_range(self) -> tuple[int, int] | None:
        """ONNX default-domain opsets it supports, or None when it cannot say."""
        ...

    def properties(self, device: str, threads: int) -> dict[str, str]:
        """Key-value description: backend, version, device_name, threads, precision, ..."""
        ...
