"""Numbering tables of the legacy wasi-nn witx ABI (`wasi_ephemeral_nn`).

Position in each tuple = the witx value. The WIT (`wasi:nn@0.2.0-rc-2024-10-28`)
numbers things differently (DESIGN.md §5): its tables are in `hosts.abi.wit`.
"""

from __future__ import annotations

from hosts.backends.base import ERROR_CODES

# nn_errno: "success", then the neutral backend error codes in the same order.
ERRNOS = ("success", *ERROR_CODES)
ERRNO = {name: value for value, name in enumerate(ERRNOS)}

# graph_encoding
ENCODINGS = ("openvino", "onnx", "tensorflow", "pytorch", "tensorflowlite", "autodetect")
# execution_target
TARGETS = ("cpu", "gpu", "tpu")
# tensor_type -> canonical dtype name of contracts.dtypes.DTYPES
TENSOR_TYPES = ("f16", "f32", "f64", "u8", "i32", "i64")

# Record layouts (little-endian, 4-byte aligned).
BUILDER_SIZE = 8  # graph_builder: {u32 ptr, u32 len}
TENSOR_SIZE = 20  # tensor: +0 dims_ptr, +4 dims_len, +8 type (u8), +12 data_ptr, +16 data_len

U32_MAX = 2**32 - 1

MODULE = "wasi_ephemeral_nn"
# Every import: name -> number of i32 parameters (all return an i32 errno).
SIGNATURES = {
    "load": 5,
    "load_by_name": 3,
    "init_execution_context": 2,
    "set_input": 3,
    "compute": 1,
    "get_output": 5,
    # experimental, our host only (docs/properties.md): backend key-value pairs
    "properties": 5,
}


def errno_name(value: int) -> str:
    return ERRNOS[value] if 0 <= value < len(ERRNOS) else f"unknown({value})"
