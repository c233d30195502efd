"""The model zoo and prepare_model (docs/models.md).

from workloads.models import prepare_model
pm = prepare_model("mobilenetv2", {"width": 1.0}, None, None)
pm.files.onnx, pm.files.ir_xml, pm.inputs, pm.outputs

The names below load on first use: `workloads.models.user_model` (checking a user's
model against its shapes) must stay importable without the onnx package's slow import.
"""

from __future__ import annotations

import importlib
from typing import Any

from workloads.models.errors import ModelError

_LAZY = {
    "OPSET": "workloads.models.graph",
    "PreparedModel": "workloads.models.prepare",
    "TensorDesc": "workloads.models.user_model",
    "prepare_model": "workloads.models.prepare",
    "BUILDER_VERSION": "workloads.models.zoo",
    "BUILDERS": "workloads.models.zoo",
    "DEFAULTS": "workloads.models.zoo",
}

__all__ = ["ModelError", *_LAZY]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
