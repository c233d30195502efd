"""A user's model against the workload's inputs, checked from the model file's header in
milliseconds (no onnx, onnxruntime or OpenVINO import): `run` refuses a bad workload at
once, before anything heavy loads or any folder is made."""

from __future__ import annotations

from pathlib import Path

from workloads.models.errors import ModelError
from workloads.models.user_model import check_shapes, fmt, read_interface
from workloads.spec.fields import WorkloadError
from workloads.spec.workload import Workload


def check_user_workload(w: Workload) -> None:
    """Every input the model has is given, with its dtype and a shape that fits; nothing
    else is given. Errors: `file: field 'inputs.x...': problem`, one line."""
    if w.model_path is None:
        return
    shapes = {spec.name: spec.shape for spec in w.inputs}
    try:
        iface = read_interface(w.model_path)
        check_shapes(w.model_path, iface, shapes)
    except ModelError as e:
        raise WorkloadError(f"{w.where}: field '{e.field or 'model'}': {e}") from None
    by_name = {spec.name: spec for spec in w.inputs}
    for t in iface.inputs:
        spec = by_name.get(t.name)
        if spec is None:
            raise WorkloadError(
                f"{w.where}: field 'inputs': model input {t.name!r} ({t.dtype} {fmt(t.dims)}) "
                "has no entry"
            )
        if spec.dtype != t.dtype:
            raise WorkloadError(
                f"{w.where}: field 'inputs.{t.name}.dtype': the model wants {t.dtype}, "
                f"not {spec.dtype}"
            )


def backends_loading(model: Path) -> dict[str, str | None]:
    """Which of our backends read and compile the file as it is, on CPU: backend ->
    None if it loads, else the backend's one-line reason. (Slow: imports both.)"""
    from hosts.backends import BackendError, get_backend

    verdicts: dict[str, str | None] = {}
    for name in ("onnx", "openvino"):
        try:
            get_backend(name).load_files([str(model)], "onnx", "cpu", 1)
            verdicts[name] = None
        except BackendError as e:
            verdicts[name] = str(e).splitlines()[0][:300]
        except Exception as e:  # a backend bug on a strange model: still its words
            verdicts[name] = f"{type(e).__name__}: {str(e).splitlines()[0][:300]}"
    return verdicts
