"""Tables of the WIT wasi-nn ABI (`wasi:nn@0.2.0-rc-2024-10-28`, world `ml`).

Names as the WIT spells them (wasmtime-py hands enums over as these strings); the
witx numbering differs (`hosts.abi.witx`, DESIGN.md §5).
"""

from __future__ import annotations

import numpy as np

NN_VERSION = "0.2.0-rc-2024-10-28"

# WIT enums, in WIT order.
TENSOR_TYPES = ("FP16", "FP32", "FP64", "BF16", "U8", "I32", "I64")
ERROR_CODES = (
    "invalid-argument",
    "invalid-encoding",
    "timeout",
    "runtime-error",
    "unsupported-operation",
    "too-large",
    "not-found",
    "security",
    "unknown",
)
# WIT tensor-type <-> numpy (BF16 has no numpy type: unsupported).
WIT_DTYPES = {
    "FP16": np.dtype(np.float16),
    "FP32": np.dtype(np.float32),
    "FP64": np.dtype(np.float64),
    "U8": np.dtype(np.uint8),
    "I32": np.dtype(np.int32),
    "I64": np.dtype(np.int64),
}
DTYPE_WIT = {dtype: name for name, dtype in WIT_DTYPES.items()}
# Neutral backend codes -> WIT error-code (the WIT has no missing-memory/busy).
BACKEND_TO_WIT = {
    "invalid_argument": "invalid-argument",
    "invalid_encoding": "invalid-encoding",
    "missing_memory": "runtime-error",
    "busy": "runtime-error",
    "runtime_error": "runtime-error",
    "unsupported_operation": "unsupported-operation",
    "too_large": "too-large",
    "not_found": "not-found",
}
TARGETS = {"cpu": "cpu", "gpu": "gpu"}  # WIT execution-target -> matrix device
