"""The model zoo: builder name -> function(params) -> onnx.ModelProto.

Every builder is deterministic given its params (the seed is one of them),
writes opset OPSET, and fills in defaults for params not given.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
import onnx

from workloads.models import cnn, decoder, transformer
from workloads.models.errors import with_defaults
from workloads.models.graph import OPSET, Builder

# Bump whenever any builder's output changes: it is part of every zoo cache key.
BUILDER_VERSION = "zoo-2"

MLP_TINY_DEFAULTS = {"inputs": 64, "hidden": 64, "classes": 10, "batch": 1, "seed": 0}


def mlp_tiny(params: dict[str, Any]) -> onnx.ModelProto:
    """input [batch, 64] f32 -> Gemm + Relu -> Gemm + Relu -> Gemm -> output [batch, 10]."""
    p = with_defaults("mlp_tiny", MLP_TINY_DEFAULTS, params)
    b = Builder(p["seed"])
    x = b.input("input", np.float32, [p["batch"], p["inputs"]])
    sizes = [p["inputs"], p["hidden"], p["hidden"], p["classes"]]
    for i, (fan_in, fan_out) in enumerate(zip(sizes, sizes[1:], strict=False)):
        w = b.normal("w", [fan_out, fan_in], math.sqrt(2.0 / fan_in))  # He: keeps ReLU scale
        last = i == len(sizes) - 2
        x = b.op(
            "Gemm", [x, w, b.normal("b", [fan_out], 0.1)], out="output" if last else None, transB=1
        )
        if not last:
            x = b.op("Relu", [x])
    b.output("output", np.float32, [p["batch"], p["classes"]])
    meta = {"builder": "mlp_tiny", "params": repr(sorted(p.items()))}
    return b.model("mlp_tiny", "two hidden Gemm+Relu layers, seeded weights", meta)


BUILDERS: dict[str, Callable[[dict[str, Any]], onnx.ModelProto]] = {
    "mlp_tiny": mlp_tiny,
    "squeezenet11": cnn.squeezenet11,
    "mobilenetv2": cnn.mobilenetv2,
    "resnet50": cnn.resnet50,
    "bert_encoder": transformer.bert_encoder,
    "decoder": decoder.decoder,
}

DEFAULTS: dict[str, dict[str, Any]] = {
    "mlp_tiny": MLP_TINY_DEFAULTS,
    "squeezenet11": cnn.SQUEEZENET11_DEFAULTS,
    "mobilenetv2": cnn.MOBILENETV2_DEFAULTS,
    "resnet50": cnn.RESNET50_DEFAULTS,
    "bert_encoder": transformer.BERT_ENCODER_DEFAULTS,
    "decoder": decoder.DECODER_DEFAULTS,
}

__all__ = ["BUILDERS", "BUILDER_VERSION", "DEFAULTS", "OPSET", "parameter_count"]


def parameter_count(model: onnx.ModelProto) -> int:
    """Learnable parameters, counted as frameworks do.

    Float initializers, except BatchNorm running statistics (buffers, not parameters)
    and 0-d constants (Clip bounds, scale factors).
    """
    stats = {
        n.input[i] for n in model.graph.node if n.op_type == "BatchNormalization" for i in (3, 4)
    }
    return sum(
        int(np.prod(t.dims))
        for t in model.graph.initializer
        if t.data_type == onnx.TensorProto.FLOAT and t.dims and t.name not in stats
    )
