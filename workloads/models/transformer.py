"""A BERT-style encoder: token + position embeddings, post-LayerNorm transformer layers.

Inputs: "input_ids" and "attention_mask", both int64 [batch, seq]. Outputs:
"last_hidden_state" [batch, seq, hidden] and "pooler_output" [batch, hidden]
(tanh of a dense layer on the first token). GELU is the exact Erf form
(the Gelu operator only exists from opset 20). Weights are LeCun-normal
(std 1/sqrt(fan_in)), so the attention scores have unit variance and the
softmax is neither uniform nor one-hot; LayerNorm keeps every layer's
activations at unit scale, so no calibration pass is needed.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import onnx

from workloads.models.errors import ModelError, with_defaults
from workloads.models.graph import Builder

BERT_ENCODER_DEFAULTS = {
    "layers": 4,
    "hidden": 256,
    "heads": 4,
    "ffn": 1024,
    "seq": 128,
    "vocab": 8192,
    "batch": 1,
    "seed": 0,
}


def bert_encoder(params: dict[str, Any]) -> onnx.ModelProto:
    """BERT-style encoder (Devlin et al. 2018) with seeded weights."""
    p = with_defaults("bert_encoder", BERT_ENCODER_DEFAULTS, params)
    if p["hidden"] % p["heads"]:
        raise ModelError("model builder 'bert_encoder': hidden must be a multiple of heads")
    b = Builder(p["seed"])
    build_bert_encoder(b, p)
    meta = {"builder": "bert_encoder", "params": repr(sorted(p.items()))}
    return b.model("bert_encoder", "BERT-style encoder, seeded weights", meta)


def build_bert_encoder(b: Builder, p: dict[str, Any]) -> None:
    batch, seq, hidden, heads = p["batch"], p["seq"], p["hidden"], p["heads"]
    head_dim = hidden // heads

    dense = b.dense

    def layer_norm(x: str) -> str:
        return b.layer_norm(x, hidden, epsilon=1e-12)

    ids = b.input("input_ids", np.int64, [batch, seq])
    mask = b.input("attention_mask", np.int64, [batch, seq])

    words = b.normal("word_embeddings", [p["vocab"], hidden], 0.02)
    positions = b.normal("position_embeddings", [seq, hidden], 0.02)
    x = layer_norm(b.op("Add", [b.op("Gather", [words, ids], axis=0), positions]))

    # Additive mask [batch, 1, 1, seq]: 0 where attended, -10000 where masked.
    keep = b.op("Cast", [mask], to=onnx.TensorProto.FLOAT)
    masked = b.op("Sub", [b.const("one", 1.0), keep])
    bias = b.op("Mul", [masked, b.const("neg", -10000.0)])
    bias = b.op("Unsqueeze", [bias, b.const("axes", [1, 2], np.int64)])

    split = b.const("split_heads", [0, 0, heads, head_dim], np.int64)
    merge = b.const("merge_heads", [0, 0, hidden], np.int64)
    scale = b.const("scale", 1.0 / math.sqrt(head_dim))
    half, one = b.const("half", 0.5), b.const("one", 1.0)
    inv_sqrt2 = b.const("inv_sqrt2", 1.0 / math.sqrt(2.0))

    for _ in range(p["layers"]):
        # [batch, seq, hidden] -> [batch, heads, seq, head_dim] (keys: [.., head_dim, seq]).
        q, k, v = (b.op("Reshape", [dense(x, hidden, hidden), split]) for _ in range(3))
        q = b.op("Transpose", [q], perm=[0, 2, 1, 3])
        k = b.op("Transpose", [k], perm=[0, 2, 3, 1])
        v = b.op("Transpose", [v], perm=[0, 2, 1, 3])
        scores = b.op("Add", [b.op("Mul", [b.op("MatMul", [q, k]), scale]), bias])
        context = b.op("MatMul", [b.op("Softmax", [scores], axis=-1), v])
        context = b.op("Reshape", [b.op("Transpose", [context], perm=[0, 2, 1, 3]), merge])
        x = layer_norm(b.op("Add", [x, dense(context, hidden, hidden)]))

        h = dense(x, hidden, p["ffn"])
        erf = b.op("Erf", [b.op("Mul", [h, inv_sqrt2])])
        h = b.op("Mul", [b.op("Mul", [h, b.op("Add", [erf, one])]), half])
        x = layer_norm(b.op("Add", [x, dense(h, p["ffn"], hidden)]))

    b.op("Identity", [x], out="last_hidden_state")
    first = b.op("Gather", [x, b.const("first", 0, np.int64)], axis=1)
    b.op("Tanh", [dense(first, hidden, hidden)], out="pooler_output")
    b.output("last_hidden_state", np.float32, [batch, seq, hidden])
    b.output("pooler_output", np.float32, [batch, hidden])
