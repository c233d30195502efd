"""Make the classify example's model and input, once, from a seeded generator.

    python -m workloads.programs.classify.make_model

A tiny image classifier, 1x3x16x16 f32 -> 10 softmax scores: Conv 3x3 (3 -> 8) + Relu,
GlobalAveragePool, Flatten, Gemm (8 -> 10), Softmax. Writes model.onnx, model.xml +
model.bin under files/ (OpenVINO IR of the same graph; input also named "0", the adapter's
index -> name convention, docs/adapter.md) and input.bin. Prints the top-3 margin
(backends agree on the printed top 3 only if the scores are not near-ties).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

HERE = Path(__file__).resolve().parent / "files"  # laid into the guest's '.'
SEED = 20261202


def build(folder: Path = HERE) -> np.ndarray:
    rng = np.random.default_rng(SEED)
    w = rng.normal(0, 0.5, (8, 3, 3, 3)).astype(np.float32)
    b = rng.normal(0, 0.1, (8,)).astype(np.float32)
    fc = rng.normal(0, 1.0, (10, 8)).astype(np.float32)
    fb = rng.normal(0, 0.1, (10,)).astype(np.float32)
    x = rng.uniform(0, 1, (1, 3, 16, 16)).astype(np.float32)
    inits = [numpy_helper.from_array(a, n) for a, n in ((w, "w"), (b, "b"), (fc, "fc"), (fb, "fb"))]
    nodes = [
        helper.make_node("Conv", ["image", "w", "b"], ["conv"], pads=[1, 1, 1, 1]),
        helper.make_node("Relu", ["conv"], ["relu"]),
        helper.make_node("GlobalAveragePool", ["relu"], ["pool"]),
        helper.make_node("Flatten", ["pool"], ["flat"]),
        helper.make_node("Gemm", ["flat", "fc", "fb"], ["logits"], transB=1),
        helper.make_node("Softmax", ["logits"], ["scores"], axis=1),
    ]
    graph = helper.make_graph(
        nodes,
        "classify",
        [helper.make_tensor_value_info("image", TensorProto.FLOAT, [1, 3, 16, 16])],
        [helper.make_tensor_value_info("scores", TensorProto.FLOAT, [1, 10])],
        inits,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    onnx.save(model, folder / "model.onnx")
    import openvino as ov

    ir = ov.Core().read_model(str(folder / "model.onnx"))
    ir.inputs[0].get_tensor().add_names({"0"})
    ov.save_model(ir, folder / "model.xml")
    (folder / "input.bin").write_bytes(x.tobytes())
    import onnxruntime as ort

    scores = ort.InferenceSession(str(folder / "model.onnx")).run(None, {"image": x})[0][0]
    return scores


def main() -> None:
    scores = build()
    top = np.sort(scores)[::-1]
    print("scores", np.round(scores, 4).tolist())
    print("smallest gap among the top 4:", float(np.min(-np.diff(top[:4]))))


if __name__ == "__main__":
    main()
