"""A GPT-2-style decoder-only transformer that decodes one token per call.

One call = one position: inputs "input_ids" int64 [1, 1] (the token), "position"
int64 [1] (its index, 0-based) and, per layer l, "past_key_<l>" / "past_value_<l>"
float32 [1, heads, context, head_dim] (the fixed-size KV cache). Outputs "logits"
float32 [1, vocab] and "present_key_<l>" / "present_value_<l>" (the cache with this
position's key/value written into slot `position`). Shapes never change, so every
backend runs it with static shapes; the caller feeds each present back as the next
call's past. Attention sees slots 0..position only (the mask is computed from
`position` inside the graph), so slots past the position may hold anything, which is
what lets the OpenVINO stateful form (stateful.py) reuse its state from one generation to
the next without a reset.

Pre-LayerNorm blocks (GPT-2, Radford et al. 2019): x += attn(LN(x)); x += mlp(LN(x));
exact-erf GELU; a final LayerNorm and an LM head. Weights are seeded LeCun-normal like
the encoder's; the LM head's std makes logits of unit scale, so the greedy argmax has
clear winners and backends agree on every token.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import onnx

from workloads.models.errors import ModelError, with_defaults
from workloads.models.graph import Builder

DECODER_DEFAULTS = {
    "layers": 4,
    "hidden": 256,
    "heads": 4,
    "ffn": 1024,
    "vocab": 8192,
    "context": 256,
    "seed": 0,
}
# Names of the decoding interface (the defaults of a workload's [generate] table).
TOKEN_INPUT, POSITION_INPUT, LOGITS_OUTPUT = "input_ids", "position", "logits"


def decoder(params: dict[str, Any]) -> onnx.ModelProto:
    """The decoder with seeded weights; see the module docstring for its interface."""
    p = with_defaults("decoder", DECODER_DEFAULTS, params)
    if p["hidden"] % p["heads"]:
        raise ModelError("model builder 'decoder': hidden must be a multiple of heads")
    b = Builder(p["seed"])
    _build(b, p)
    meta = {"builder": "decoder", "params": repr(sorted(p.items()))}
    return b.model("decoder", "GPT-2-style decoder, one token per call, seeded weights", meta)


def _build(b: Builder, p: dict[str, Any]) -> None:
    hidden, heads, ctx_len = p["hidden"], p["heads"], p["context"]
    head_dim = hidden // heads
    cache_shape = [1, heads, ctx_len, head_dim]

    dense = b.dense

    def layer_norm(x: str) -> str:
        return b.layer_norm(x, hidden, epsilon=1e-5)

    b.output(LOGITS_OUTPUT, np.float32, [1, p["vocab"]])  # output 0: logits, then the cache
    ids = b.input(TOKEN_INPUT, np.int64, [1, 1])
    position = b.input(POSITION_INPUT, np.int64, [1])
    words = b.normal("wte", [p["vocab"], hidden], 0.02)
    places = b.normal("wpe", [ctx_len, hidden], 0.01)
    x = b.op("Add", [b.op("Gather", [words, ids], axis=0), b.op("Gather", [places, position])])

    # Slot s is attended iff s <= position; slot == position receives the new key/value.
    slots = b.const("slots", np.arange(ctx_len), np.int64)
    seen = b.op("LessOrEqual", [slots, position])
    bias = b.op("Where", [seen, b.const("zero", 0.0), b.const("neg", -1e4)])  # [context]
    here = b.op("Equal", [slots, position])
    here = b.op("Reshape", [here, b.const("slot_col", [1, 1, ctx_len, 1], np.int64)])

    split = b.const("split_heads", [1, 1, heads, head_dim], np.int64)
    merge = b.const("merge_heads", [1, 1, hidden], np.int64)
    scale = b.const("scale", 1.0 / math.sqrt(head_dim))
    half, one = b.const("half", 0.5), b.const("one", 1.0)
    inv_sqrt2 = b.const("inv_sqrt2", 1.0 / math.sqrt(2.0))

    for layer in range(p["layers"]):
        h = layer_norm(x)
        # [1, 1, hidden] -> [1, heads, 1, head_dim]
        q, k, v = (
            b.op(
                "Transpose", [b.op("Reshape", [dense(h, hidden, hidden), split])], perm=[0, 2, 1, 3]
            )
            for _ in range(3)
        )
        past_k = b.input(f"past_key_{layer}", np.float32, cache_shape)
        past_v = b.input(f"past_value_{layer}", np.float32, cache_shape)
        keys = b.op("Where", [here, k, past_k], out=f"present_key_{layer}")
        values = b.op("Where", [here, v, past_v], out=f"present_value_{layer}")
        b.output(f"present_key_{layer}", np.float32, cache_shape)
        b.output(f"present_value_{layer}", np.float32, cache_shape)
        scores = b.op("MatMul", [q, b.op("Transpose", [keys], perm=[0, 1, 3, 2])])
        scores = b.op("Add", [b.op("Mul", [scores, scale]), bias])  # [1, heads, 1, context]
        context = b.op("MatMul", [b.op("Softmax", [scores], axis=-1), values])
        context = b.op("Reshape", [b.op("Transpose", [context], perm=[0, 2, 1, 3]), merge])
        x = b.op("Add", [x, dense(context, hidden, hidden)])

        h = dense(layer_norm(x), hidden, p["ffn"])
        erf = b.op("Erf", [b.op("Mul", [h, inv_sqrt2])])
        h = b.op("Mul", [b.op("Mul", [h, b.op("Add", [erf, one])]), half])
        x = b.op("Add", [x, dense(h, p["ffn"], hidden)])

    head = b.normal("lm_head", [hidden, p["vocab"]], 1.0 / math.sqrt(hidden))
    logits = b.op("MatMul", [layer_norm(x), head])
    b.op("Reshape", [logits, b.const("logits_shape", [1, p["vocab"]], np.int64)], out=LOGITS_OUTPUT)
