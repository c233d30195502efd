"""The model zoo and prepare_model (docs/models.md).

from workloads.models import prepare_model
pm = prepare_model("mobilenetv2", {"width": 1.0}, None, None)
pm.files.onnx, pm.files.ir_xml, pm.inputs, pm.outputs
"""

from workloads.models.errors import ModelError
from workloads.models.graph import OPSET
from workloads.models.prepare import (
    PreparedModel,
    TensorDesc,
    prepare_model,
)
from workloads.models.zoo import BUILDER_VERSION, BUILDERS, DEFAULTS

__all__ = [
    "BUILDERS",
    "BUILDER_VERSION",
    "DEFAULTS",
    "OPSET",
    "ModelError",
    "PreparedModel",
    "TensorDesc",
    "prepare_model",
]
