"""Canonical tensor element type names, used in workloads, jobs and results."""

from __future__ import annotations

import numpy as np

DTYPES: dict[str, type[np.generic]] = {
    "f16": np.float16,
    "f32": np.float32,
    "f64": np.float64,
    "u8": np.uint8,
    "i32": np.int32,
    "i64": np.int64,
}
