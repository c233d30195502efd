"""Turn a validated workload into files the hosts can run: model, IR, inputs.

Everything a cell needs is checked here, before the first cell runs, so that
bad input fails fast with the workload file and field in the message.
"""

from __future__ import annotations

import json
import math
import re
import subprocess
import sys
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from bench.measure.model_check import check_user_workload
from bench.measure.processes import exit_reason, kill_tree, watch
from bench.measure.workload_kind import PreparedWorkload
from contracts import paths
from contracts.digests import file_sha256
from contracts.dtypes import DTYPES
from contracts.jobs import ModelFiles, TensorSpec
from contracts.logtail import telling_file
from workloads.spec.inputs import generate
from workloads.spec.workload import Workload, WorkloadError


@dataclass
class PreparedModel(PreparedWorkload):
    """A model workload, ready: the built model (ONNX and IR) and its tensors."""

    model: ModelFiles
    inputs: list[TensorSpec]  # written under the run's inputs/
    outputs: list[TensorSpec]

    def identity(self) -> dict[str, str]:
        name = self.workload.name
        found = {f"prepared model of {name}": self.model.sha256}
        for spec in self.inputs:
            if spec.path is not None:  # a generative workload's inputs are made per step
                found[f"input {name}.{spec.name}"] = file_sha256(str(spec.path))
        return found

    def io_bytes(self) -> int:
        return sum(t.nbytes for t in (*self.inputs, *self.outputs))

    def rebase(self, run_dir: Path) -> None:
        for spec in self.inputs:
            if spec.path is not None:
                spec.path = str(run_dir / "inputs" / Path(str(spec.path)).name)


def prepare(w: Workload, data_dir: Path) -> PreparedModel:
    """Build (or reuse) the model and write the input tensors under data_dir."""
    from workloads.models import ModelError, prepare_model

    where = w.where
    check_user_workload(w)  # a user's model against [inputs], from its header: milliseconds
    # Zoo models are sized by their params; only a user's model gets its dynamic dims fixed.
    shapes = {spec.name: spec.shape for spec in w.inputs} if w.model_path else None
    try:
        prepared = prepare_model(
            builder=w.builder, params=w.params, onnx_path=w.model_path, input_shapes=shapes
        )
    except ModelError as e:
        raise WorkloadError(f"{where}: field '{e.field or 'model'}': {e}") from None

    by_name = {spec.name: spec for spec in w.inputs}
    model_inputs = list(prepared.inputs)
    for spec in w.inputs:
        if spec.name not in {t[0] for t in model_inputs}:
            have = ", ".join(t[0] for t in model_inputs)
            raise WorkloadError(
                f"{where}: field 'inputs.{spec.name}': the model has no such input (it has: {have})"
            )
    check_sizes(w, [(f"inputs.{s.name}", s.dtype, s.shape) for s in w.inputs])
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
    check_sizes(w, [(f"outputs.{o.name}", o.dtype, o.shape) for o in outputs
                    if all(d > 0 for d in o.shape)])  # fmt: skip
    if w.model_path or any(d <= 0 for out in outputs for d in out.shape):
        # A user's model: what it declares about its outputs may be symbolic or stale, and
        # whether the shapes fit past its inputs only running it tells (nothing rewrites it).
        outputs = _outputs_by_running(prepared.files.onnx, inputs, outputs, w)
        check_sizes(w, [(f"outputs.{o.name}", o.dtype, o.shape) for o in outputs])
    for name in w.output_tolerances:
        if name not in {o.name for o in outputs}:
            raise WorkloadError(f"{where}: field 'outputs.{name}': the model has no such output")
    return PreparedModel(w, prepared.files, inputs, outputs, model_info=model_info(w, prepared))


def model_info(w: Workload, prepared: Any) -> dict[str, Any]:
    """What meta.json records about a workload's model."""
    return {
        "model": w.model_label,
        "sha256": prepared.files.sha256,
        "opset": prepared.opset,
        "onnx_ir_version": getattr(prepared, "onnx_ir_version", None),
        "openvino_ir_version": getattr(prepared, "openvino_ir_version", None),
        "size_bytes": getattr(prepared, "size_bytes", None),
        "ir_error": getattr(prepared, "ir_error", None),
        "ir_shapes": getattr(prepared, "ir_shapes", None),
        "builder": w.builder,
        "params": w.params,
        "path": str(w.model_path) if w.model_path else None,
    }


# Without `max_tensor_mb`, each tensor and all inputs together may take this share of
# the memory limit: the harness generates the inputs (a float64 draw, then a cast) and a
# worker holds inputs, outputs and the backend's own copies within the limit.
TENSOR_SHARE = 4


def tensor_cap_bytes(w: Workload) -> int:
    return (w.max_tensor_mb or w.memory_limit_mb // TENSOR_SHARE) << 20


def check_sizes(w: Workload, tensors: list[tuple[str, str, list[int]]]) -> None:
    """Refuse, before anything is generated, a tensor (or inputs) bigger than the cap."""
    cap = tensor_cap_bytes(w)
    why = (f"max_tensor_mb = {w.max_tensor_mb}" if w.max_tensor_mb else
           f"1/{TENSOR_SHARE} of memory_limit_mb {w.memory_limit_mb}; raise max_tensor_mb")  # fmt: skip
    total = 0
    for field_name, dtype, shape in tensors:
        size = math.prod(shape) * np.dtype(DTYPES[dtype]).itemsize  # Python ints: no overflow
        total += size * field_name.startswith("inputs.")
        if size > cap or total > cap:
            what = f"{dtype} {list(shape)} takes {size / 2**20:,.0f} MiB" if size > cap else (
                f"the inputs together take {total / 2**20:,.0f} MiB")  # fmt: skip
            raise WorkloadError(
                f"{w.where}: field '{field_name}': {what}, over the cap of {cap >> 20} MiB ({why})"
            )


def _outputs_by_running(
    onnx_path: str, inputs: list[TensorSpec], outputs: list[TensorSpec], w: Workload
) -> list[TensorSpec]:
    """Learn the output shapes and dtypes from one onnxruntime inference of the model file
    as it is, run in a child process under the workload's timeout and memory limit (as a
    cell is): a model whose outputs blow up is killed there, not in the harness."""
    with tempfile.TemporaryDirectory(prefix="shapes-") as tmp:
        job, result, err = (Path(tmp) / n for n in ("job.json", "shapes.json", "stderr"))
        job.write_text(json.dumps({"onnx": onnx_path, "inputs": [asdict(t) for t in inputs]}))
        with open(err, "wb") as stderr:
            proc = subprocess.Popen([sys.executable, "-m", "bench.measure.prepare", str(job),
                                     str(result)], stderr=stderr, start_new_session=True,
                                    cwd=paths.REPO_ROOT)  # fmt: skip
            try:
                reason = watch([proc], w.timeout_s, w.memory_limit_mb)[0]
            except BaseException:  # Ctrl-C: its own session would let it run on
                kill_tree(proc)
                raise
        learnt = json.loads(result.read_text()) if result.exists() else None
        if reason or proc.returncode or learnt is None:
            why = reason or exit_reason(proc.returncode)
            raise WorkloadError(
                f"{w.where}: field 'model': running it once to learn its output shapes failed: "
                f"{why}: {telling_file(err)}"
            )
        if "refused" in learnt:
            given = ", ".join(f"{t.name} {t.shape}" for t in inputs)
            raise WorkloadError(
                f"{w.where}: field 'inputs': the model does not run with inputs {given} "
                f"({learnt['refused']})"
            )
        if "unloadable" in learnt:
            # No backend here loads the file (an opset beyond both, say): its declared
            # shapes are all there is, and each cell says in its backend's words why not.
            if all(isinstance(d, int) and d > 0 for o in outputs for d in o.shape):
                return outputs
            raise WorkloadError(
                f"{w.where}: field 'model': no backend here loads it to learn its output "
                f"shapes ({learnt['unloadable']})"
            )
    return [
        TensorSpec(o.name, o.index, dtype if dtype in DTYPES else o.dtype, shape)
        for o, (shape, dtype) in zip(outputs, learnt, strict=True)
    ]


def _infer_shapes(job_path: str, out_path: str) -> None:
    """The child's side: one inference, the outputs' [shape, dtype] as JSON. onnxruntime
    runs it; where onnxruntime cannot load the file at all (an opset past its range),
    OpenVINO does, so that the cells OpenVINO serves still run."""
    job = json.loads(Path(job_path).read_text())
    inputs = [TensorSpec(**t) for t in job["inputs"]]
    feeds = {t.name: t.read() for t in inputs}
    unloadable = []
    for name, load in (("onnxruntime", _ort_runner), ("OpenVINO", _openvino_runner)):
        try:
            run = load(job["onnx"])
        except Exception as e:  # this backend cannot load the file
            unloadable.append(f"{name}: {_one_line(e)}")
            continue
        try:
            results = [np.asarray(r) for r in run(feeds)]
        except Exception as e:  # the model refuses these inputs: say why in one line
            Path(out_path).write_text(json.dumps({"refused": f"{name}: {_one_line(e)}"}))
            return
        names = {np.dtype(v): k for k, v in DTYPES.items()}
        Path(out_path).write_text(
            json.dumps([[list(r.shape), names.get(r.dtype, str(r.dtype))] for r in results])
        )
        return
    Path(out_path).write_text(json.dumps({"unloadable": "; ".join(unloadable)}))


def _one_line(e: BaseException) -> str:
    text = " ".join(str(e).split())
    text = re.sub(r"^\[ONNXRuntimeError\] : \d+ : \w+ : |/onnxruntime_src/\S+ ", "", text)
    text = re.sub(r"Exception from \S+:\d+:? ?", "", text)
    return text[:400]


def _ort_runner(onnx_path: str) -> Any:
    import onnxruntime as ort

    session = ort.InferenceSession(onnx_path, providers=["CPUExecutionProvider"])
    return lambda feeds: session.run(None, feeds)


def _openvino_runner(onnx_path: str) -> Any:
    import openvino as ov

    compiled = ov.Core().compile_model(onnx_path, "CPU", {"INFERENCE_PRECISION_HINT": "f32"})
    return lambda feeds: list(compiled(feeds).values())


if __name__ == "__main__":
    _infer_shapes(*sys.argv[1:3])
