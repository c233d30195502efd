"""Image classifiers: MobileNetV2, ResNet-50 v1, SqueezeNet 1.1.

All take "input" [batch, 3, R, R] f32 and give "output" [batch, classes]
softmax probabilities. Weights are He-initialised from the seed; the builder
then runs a float64 shadow forward pass on a seeded calibration batch to give
each BatchNorm its real per-channel mean and variance (and, in SqueezeNet,
which has no BatchNorm, to scale each conv to unit pre-activation variance,
as LSUV initialisation does). The classifier is scaled so the logits have a
standard deviation of LOGIT_STD: softmax outputs then span many orders of
magnitude instead of all sitting near 1/classes.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import onnx

from workloads.models.errors import ModelError, with_defaults
from workloads.models.graph import Builder, single_threaded_blas

LOGIT_STD = 3.0
# Enough calibration images that the last (1/32 resolution) feature map gives each channel
# at least this many samples: 2 images at 224, more at small resolutions, where two images
# would give BatchNorm statistics from a handful of positions.
CALIBRATION_SAMPLES = 98

MOBILENETV2_DEFAULTS = {"width": 1.0, "resolution": 224, "classes": 1000, "batch": 1, "seed": 0}
RESNET50_DEFAULTS = {"resolution": 224, "classes": 1000, "batch": 1, "seed": 0}
SQUEEZENET11_DEFAULTS = {"resolution": 224, "classes": 1000, "batch": 1, "seed": 0}


def calibration_batch(resolution: int) -> int:
    last = math.ceil(resolution / 32) ** 2
    return max(2, math.ceil(CALIBRATION_SAMPLES / last))


def _image_input(b: Builder, p: dict[str, Any]) -> str:
    r = p["resolution"]
    shape = (calibration_batch(r), 3, r, r)
    cal = np.random.default_rng([p["seed"], 1]).standard_normal(shape)
    return b.input("input", np.float32, [p["batch"], 3, r, r], shadow=cal)


def _batch_norm(b: Builder, x: str, channels: int) -> str:
    act = b.shadow(x)
    mean = b.const("bn_mean", act.mean(axis=(0, 2, 3)))
    var = b.const("bn_var", act.var(axis=(0, 2, 3)))
    gamma = b.uniform("bn_gamma", [channels], 0.8, 1.2)
    beta = b.normal("bn_beta", [channels], 0.1)
    return b.op("BatchNormalization", [x, gamma, beta, mean, var], epsilon=1e-5)


def _conv(
    b: Builder,
    x: str,
    cin: int,
    cout: int,
    k: int,
    stride: int = 1,
    group: int = 1,
    pad: int | None = None,
    bias: str | None = None,
) -> tuple[str, str]:
    """A conv with He-normal weights; returns (output, weight name)."""
    fan_in = cin // group * k * k
    w = b.normal("conv_w", [cout, cin // group, k, k], math.sqrt(2.0 / fan_in))
    pad = k // 2 if pad is None else pad
    inputs = [x, w] if bias is None else [x, w, bias]
    y = b.op(
        "Conv", inputs, kernel_shape=[k, k], strides=[stride, stride], pads=[pad] * 4, group=group
    )
    return y, w


def _conv_bn(b: Builder, x: str, cin: int, cout: int, k: int, stride: int = 1, group: int = 1):
    y, _ = _conv(b, x, cin, cout, k, stride, group)
    return _batch_norm(b, y, cout)


def _classifier(b: Builder, features: str, cin: int, classes: int) -> str:
    """Gemm + Softmax, weights scaled so the calibration logits have std LOGIT_STD."""
    w = b.normal("fc_w", [classes, cin], math.sqrt(1.0 / cin))
    if b.calibrating:
        logits = b.shadow(features) @ b.inits[w].astype(np.float64).T
        b.rescale([w], LOGIT_STD / logits.std())
    bias = b.normal("fc_b", [classes], 0.1)
    logits = b.op("Gemm", [features, w, bias], transB=1)
    return b.op("Softmax", [logits], out="output", axis=1)


def _pool_flatten(b: Builder, x: str) -> str:
    return b.op("Flatten", [b.op("GlobalAveragePool", [x])], axis=1)


def _finish(b: Builder, name: str, p: dict[str, Any], doc: str) -> onnx.ModelProto:
    b.output("output", np.float32, [p["batch"], p["classes"]])
    meta = {"builder": name, "params": repr(sorted(p.items()))}
    return b.model(name, doc, meta)


# -- MobileNetV2 --------------------------------------------------------------------

# (expansion t, channels c, repeats n, first stride s), from the paper's Table 2.
_MOBILENETV2_BLOCKS = [
    (1, 16, 1, 1),
    (6, 24, 2, 2),
    (6, 32, 3, 2),
    (6, 64, 4, 2),
    (6, 96, 3, 1),
    (6, 160, 3, 2),
    (6, 320, 1, 1),
]


def _divisible(v: float, divisor: int = 8) -> int:
    """Round channels to a multiple of 8, never more than 10% down (reference rule)."""
    rounded = max(divisor, int(v + divisor / 2) // divisor * divisor)
    return rounded + divisor if rounded < 0.9 * v else rounded


def mobilenetv2(params: dict[str, Any]) -> onnx.ModelProto:
    """MobileNetV2: inverted residual blocks, depthwise convs, ReLU6 (Clip), BatchNorm."""
    p = with_defaults("mobilenetv2", MOBILENETV2_DEFAULTS, params)
    b = Builder(p["seed"], calibrate=True)
    with single_threaded_blas():
        build_mobilenetv2(b, p)
    return _finish(b, "mobilenetv2", p, "MobileNetV2 (Sandler et al. 2018), seeded weights")


def build_mobilenetv2(b: Builder, p: dict[str, Any]) -> None:
    zero, six = b.const("relu6_min", 0.0), b.const("relu6_max", 6.0)

    def relu6(x: str) -> str:
        return b.op("Clip", [x, zero, six])

    cin = _divisible(32 * p["width"])
    x = relu6(_conv_bn(b, _image_input(b, p), 3, cin, 3, stride=2))
    for t, c, n, s in _MOBILENETV2_BLOCKS:
        cout = _divisible(c * p["width"])
        for i in range(n):
            stride = s if i == 0 else 1
            hidden = round(cin * t)
            y = x if t == 1 else relu6(_conv_bn(b, x, cin, hidden, 1))
            y = relu6(_conv_bn(b, y, hidden, hidden, 3, stride=stride, group=hidden))
            y = _conv_bn(b, y, hidden, cout, 1)  # linear bottleneck: no activation
            x = b.op("Add", [x, y]) if stride == 1 and cin == cout else y
            cin = cout
    last = _divisible(1280 * max(1.0, p["width"]))
    x = relu6(_conv_bn(b, x, cin, last, 1))
    _classifier(b, _pool_flatten(b, x), last, p["classes"])


# -- ResNet-50 v1 -------------------------------------------------------------------

_RESNET50_STAGES = [(3, 64, 1), (4, 128, 2), (6, 256, 2), (3, 512, 2)]


def resnet50(params: dict[str, Any]) -> onnx.ModelProto:
    """ResNet-50 v1 (He et al. 2015): bottlenecks 3-4-6-3, stride on the first 1x1 conv."""
    p = with_defaults("resnet50", RESNET50_DEFAULTS, params)
    b = Builder(p["seed"], calibrate=True)
    with single_threaded_blas():
        build_resnet50(b, p)
    return _finish(b, "resnet50", p, "ResNet-50 v1 (He et al. 2015), seeded weights")


def build_resnet50(b: Builder, p: dict[str, Any]) -> None:
    x = b.op("Relu", [_conv_bn(b, _image_input(b, p), 3, 64, 7, stride=2)])
    x = b.op("MaxPool", [x], kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1])
    cin = 64
    for repeats, width, first_stride in _RESNET50_STAGES:
        cout = width * 4
        for i in range(repeats):
            stride = first_stride if i == 0 else 1
            y = b.op("Relu", [_conv_bn(b, x, cin, width, 1, stride=stride)])
            y = b.op("Relu", [_conv_bn(b, y, width, width, 3)])
            y = _conv_bn(b, y, width, cout, 1)
            short = x if stride == 1 and cin == cout else _conv_bn(b, x, cin, cout, 1, stride)
            x = b.op("Relu", [b.op("Add", [y, short])])
            cin = cout
    _classifier(b, _pool_flatten(b, x), cin, p["classes"])


# -- SqueezeNet 1.1 -----------------------------------------------------------------


def squeezenet11(params: dict[str, Any]) -> onnx.ModelProto:
    """SqueezeNet 1.1 (Iandola et al. 2016): fire modules, no BatchNorm, conv classifier."""
    p = with_defaults("squeezenet11", SQUEEZENET11_DEFAULTS, params)
    if p["resolution"] < 64:
        raise ModelError("model builder 'squeezenet11': resolution must be >= 64")
    b = Builder(p["seed"], calibrate=True)
    with single_threaded_blas():
        build_squeezenet11(b, p)
    return _finish(b, "squeezenet11", p, "SqueezeNet 1.1 (Iandola et al. 2016), seeded weights")


def _conv_relu(
    b: Builder, x: str, cin: int, cout: int, k: int, stride: int = 1, pad: int | None = None
) -> tuple[str, list[str]]:
    """Conv with bias scaled to unit pre-activation std on the calibration batch, then ReLU.

    Returns (output, [weight, bias]) so a later layer can rescale them again.
    """
    bias = b.normal("conv_b", [cout], 0.1)
    y, w = _conv(b, x, cin, cout, k, stride, pad=pad, bias=bias)
    if b.calibrating:
        factor = 1.0 / b.shadow(y).std()
        b.rescale([w, bias], factor)
        b.values[y] = b.shadow(y) * factor
    return b.op("Relu", [y]), [w, bias]


def build_squeezenet11(b: Builder, p: dict[str, Any]) -> None:
    def pool(x: str) -> str:
        return b.op("MaxPool", [x], kernel_shape=[3, 3], strides=[2, 2], ceil_mode=1)

    def fire(x: str, cin: int, squeeze: int, expand: int) -> tuple[str, int]:
        s, _ = _conv_relu(b, x, cin, squeeze, 1)
        e1, _ = _conv_relu(b, s, squeeze, expand, 1)
        e3, _ = _conv_relu(b, s, squeeze, expand, 3)
        return b.op("Concat", [e1, e3], axis=1), 2 * expand

    x, _ = _conv_relu(b, _image_input(b, p), 3, 64, 3, stride=2, pad=0)
    x = pool(x)
    x, c = fire(x, 64, 16, 64)
    x, c = fire(x, c, 16, 64)
    x = pool(x)
    x, c = fire(x, c, 32, 128)
    x, c = fire(x, c, 32, 128)
    x = pool(x)
    for squeeze, expand in [(48, 192), (48, 192), (64, 256), (64, 256)]:
        x, c = fire(x, c, squeeze, expand)
    # Classifier: 1x1 conv to classes + ReLU + global average pool (dropout is a no-op here).
    x, last = _conv_relu(b, x, c, p["classes"], 1)
    logits = _pool_flatten(b, x)
    if b.calibrating:
        # ReLU and pooling commute with a positive scale: rescale the last conv so the
        # (non-negative) pooled logits get the target spread.
        factor = LOGIT_STD / b.shadow(logits).std()
        b.rescale(last, factor)
        b.values[logits] = b.shadow(logits) * factor
    b.op("Softmax", [logits], out="output", axis=1)
