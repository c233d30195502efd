"""Turn a validated workload into files the hosts can run: model, IR, inputs.

Everything a cell needs is checked here, before the first cell runs, so that
bad input fails fast with the workload file and field in the message.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from bench.measure.inputs import generate
from bench.measure.program_file import ProgramSpec
from bench.measure.workload import Workload, WorkloadError
from contracts.dtypes import DTYPES
from contracts.jobs import ModelFiles, TensorSpec


@dataclass
class PreparedProgram:
    spec: ProgramSpec
    files_dir: Path  # the folder laid into the guest's '.' (links to the workload's files)
    wasm: dict[str, Path]  # variant -> the binary that runs
    adapt_error: str | None = None  # why `adapted` cannot run here (e.g. no WASI adapter)


@dataclass
class PreparedWorkload:
    workload: Workload
    model: ModelFiles
    inputs: list[TensorSpec]
    outputs: list[TensorSpec]
    model_info: dict[str, Any] = field(default_factory=dict)
    program: PreparedProgram | None = None  # a program workload (bench/measure/program.py)


def prepare(w: Workload, data_dir: Path) -> PreparedWorkload:
    """Build (or reuse) the model and write the input tensors under data_dir."""
    from workloads.models import ModelError, prepare_model

    where = str(w.path)
    # Zoo models are sized by their params; only a user's model gets its dynamic dims fixed.
    shapes = {spec.name: spec.shape for spec in w.inputs} if w.model_path else None
    try:
        prepared = prepare_model(
            builder=w.builder, params=w.params, onnx_path=w.model_path, input_shapes=shapes
        )
    except ModelError as e:
        raise WorkloadError(f"{where}: field 'model': {e}") from None

    by_name = {spec.name: spec for spec in w.inputs}
    model_inputs = list(prepared.inputs)
    for spec in w.inputs:
        if spec.name not in {t[0] for t in model_inputs}:
            have = ", ".join(t[0] for t in model_inputs)
            raise WorkloadError(
                f"{where}: field 'inputs.{spec.name}': the model has no such input (it has: {have})"
            )
    data_dir.mkdir(parents=True, exist_ok=True)
    inputs: list[TensorSpec] = []
    for index, (name, dtype, shape) in enumerate(model_inputs):
        spec = by_name.get(name)
        if spec is None:
            raise WorkloadError(
                f"{where}: field 'inputs': model input {name!r} ({dtype} {list(shape)}) has no entry"
            )
        if spec.dtype != dtype:
            raise WorkloadError(
                f"{where}: field 'inputs.{name}.dtype': the model wants {dtype}, not {spec.dtype}"
            )
        if len(shape) != len(spec.shape) or any(
            d > 0 and d != s for d, s in zip(shape, spec.shape, strict=True)
        ):
            raise WorkloadError(
                f"{where}: field 'inputs.{name}.shape': {spec.shape} contradicts the model's {list(shape)}"
            )
        array = generate(spec, where)
        path = data_dir / f"{w.name}.input{index}.bin"
        array.tofile(path)
        inputs.append(TensorSpec(name, index, dtype, list(spec.shape), str(path)))

    outputs = [
        TensorSpec(name, i, dtype, list(shape))
        for i, (name, dtype, shape) in enumerate(prepared.outputs)
    ]
    for out in outputs:
        if out.dtype not in DTYPES:
            raise WorkloadError(
                f"{where}: field 'model': output {out.name!r} has unsupported dtype {out.dtype}"
            )
    if any(d <= 0 for out in outputs for d in out.shape):
        outputs = _outputs_by_running(prepared.files.onnx, inputs, outputs)
    for name in w.output_tolerances:
        if name not in {o.name for o in outputs}:
            raise WorkloadError(f"{where}: field 'outputs.{name}': the model has no such output")
    info = {
        "model": w.model_label,
        "sha256": prepared.files.sha256,
        "opset": prepared.opset,
        "onnx_ir_version": getattr(prepared, "onnx_ir_version", None),
        "openvino_ir_version": getattr(prepared, "openvino_ir_version", None),
        "size_bytes": getattr(prepared, "size_bytes", None),
        "ir_error": getattr(prepared, "ir_error", None),
        "builder": w.builder,
        "params": w.params,
        "path": str(w.model_path) if w.model_path else None,
    }
    return PreparedWorkload(w, prepared.files, inputs, outputs, info)


def _outputs_by_running(
    onnx_path: str, inputs: list[TensorSpec], outputs: list[TensorSpec]
) -> list[TensorSpec]:
    """Learn dynamic output shapes from one onnxruntime inference."""
    import onnxruntime as ort

    session = ort.InferenceSession(onnx_path, providers=["CPUExecutionProvider"])
    results = session.run(None, {t.name: t.read() for t in inputs})
    return [
        TensorSpec(o.name, o.index, o.dtype, list(np.asarray(r).shape))
        for o, r in zip(outputs, results, strict=True)
    ]
