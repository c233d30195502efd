"""OpenVINO behind the backend interface (CPU and GPU devices)."""

from __future__ import annotations

import io
import re
from collections.abc import Sequence
from functools import cache

import numpy as np
import openvino as ov

from hosts.backends.base import BackendError, TensorInfo, check_input, resolve_index

OV_DTYPES = {
    ov.Type.f16: "f16",
    ov.Type.f32: "f32",
    ov.Type.f64: "f64",
    ov.Type.u8: "u8",
    ov.Type.i32: "i32",
    ov.Type.i64: "i64",
}
DEVICE_NAMES = {"cpu": "CPU", "gpu": "GPU"}


@cache
def core() -> ov.Core:
    return ov.Core()


def ov_message(e: BaseException) -> str:
    """OpenVINO's reason in one line: its "Exception from <file>:<line>:" and "Check ...
    failed at <file>:<line>:" frames dropped, the words kept."""
    lines = [line.strip() for line in str(e).splitlines()]
    lines = [line for line in lines if line and not line.startswith("Exception from ")]
    words = (re.sub(r"^Check '.*' failed at \S+:\d+:\s*", "", line) for line in lines)
    text = " ".join(w for w in words if w)
    return text[:300] or type(e).__name__


def _info(port: ov.Output) -> TensorInfo:
    shape = tuple(d.get_length() if d.is_static else -1 for d in port.get_partial_shape())
    et = port.get_element_type()
    return TensorInfo(port.get_any_name(), OV_DTYPES.get(et, et.get_type_name()), shape)


class OvContext:
    def __init__(self, graph: OvGraph):
        self._graph = graph
        self._request = graph.compiled.create_infer_request()
        self._held: dict[int, np.ndarray] = {}
        self._computed = False

    @property
    def output_names(self) -> list[str]:
        return [t.name for t in self._graph.outputs]

    def set_input(self, key: int | str, array: np.ndarray) -> None:
        idx = self._graph.input_index(key)
        info = self._graph.inputs[idx]
        check_input(info, array)
        # shared_memory: the request reads the caller's buffer directly, no copy. The
        # context holds the array until that index is set again, so a temporary buffer
        # (e.g. a host's converted list) cannot be freed before compute reads it.
        array = np.require(array, requirements="C")  # ascontiguousarray makes rank 0 rank 1
        self._request.set_input_tensor(idx, ov.Tensor(array, shared_memory=True))
        self._held[idx] = array

    def compute(self) -> None:
        missing = [t.name for i, t in enumerate(self._graph.inputs) if i not in self._held]
        if missing:
            raise BackendError("runtime_error", f"inputs not set: {missing}")
        try:
            self._request.infer()
        except Exception as e:
            raise BackendError("runtime_error", ov_message(e)) from e
        self._computed = True

    def get_output(self, key: int | str) -> np.ndarray:
        """A view of the request's output buffer, valid until the next compute."""
        if not self._computed:
            raise BackendError("runtime_error", "get_output before compute")
        idx = resolve_index(self.output_names, key, "output")
        return self._request.get_output_tensor(idx).data


class OvGraph:
    def __init__(self, compiled: ov.CompiledModel):
        self.compiled = compiled
        self.inputs = [_info(p) for p in compiled.inputs]
        self.outputs = [_info(p) for p in compiled.outputs]
        # every tensor name (IRs prepared by the harness also carry "0", "1", ...)
        self._input_names = [set(p.get_names()) for p in compiled.inputs]

    def input_index(self, key: int | str) -> int:
        if isinstance(key, str):
            for i, names in enumerate(self._input_names):
                if key in names:
                    return i
        return resolve_index([t.name for t in self.inputs], key)

    def new_context(self) -> OvContext:
        return OvContext(self)


class OpenVinoBackend:
    name = "openvino"
    encodings = ("openvino", "onnx")

    def version(self) -> str:
        return ov.get_version()

    def devices(self) -> dict[str, str | None]:
        have = core().available_devices
        out: dict[str, str | None] = {}
        for device, ov_name in DEVICE_NAMES.items():
            present = any(d == ov_name or d.startswith(ov_name + ".") for d in have)
            out[device] = (
                None
                if present
                else (
                    f"OpenVINO {ov.get_version().split('-')[0]} sees no {ov_name} device "
                    f"(available: {', '.join(have) or 'none'})"
                )
            )
        return out

    def config(self, device: str, threads: int) -> dict[str, object]:
        config: dict[str, object] = {"PERFORMANCE_HINT": "LATENCY", "NUM_STREAMS": "1"}
        if device == "cpu":
            # f32 keeps outputs comparable with onnxruntime (CPU may default to bf16).
            config |= {"INFERENCE_NUM_THREADS": threads, "INFERENCE_PRECISION_HINT": "f32"}
        return config

    def _compile(self, model: ov.Model, device: str, threads: int) -> OvGraph:
        reason = self.devices().get(device, f"unknown device {device!r}")
        if reason:
            raise BackendError("unsupported_operation", reason)
        try:
            compiled = core().compile_model(
                model, DEVICE_NAMES[device], self.config(device, threads)
            )
        except Exception as e:
            raise BackendError("runtime_error", f"OpenVINO compile: {ov_message(e)}") from e
        return OvGraph(compiled)

    def load(self, builders: Sequence[bytes], encoding: str, device: str, threads: int) -> OvGraph:
        try:
            if encoding == "openvino":
                if len(builders) != 2:
                    raise BackendError(
                        "invalid_argument",
                        f"openvino wants 2 builders (xml, bin), got {len(builders)}",
                    )
                xml, weights = builders
                model = core().read_model(
                    bytes(xml).decode(), ov.Tensor(np.frombuffer(weights, dtype=np.uint8).copy())
                )
            elif encoding == "onnx":
                if len(builders) != 1:
                    raise BackendError(
                        "invalid_argument", f"onnx wants 1 builder, got {len(builders)}"
                    )
                model = core().read_model(io.BytesIO(bytes(builders[0])))
            else:
                raise BackendError("invalid_encoding", f"OpenVINO cannot load {encoding!r}")
        except BackendError:
            raise
        except Exception as e:
            raise BackendError("invalid_argument", f"OpenVINO read: {ov_message(e)}") from e
        return self._compile(model, device, threads)

    def load_files(self, paths: Sequence[str], encoding: str, device: str, threads: int) -> OvGraph:
        if encoding not in self.encodings:
            raise BackendError("invalid_encoding", f"OpenVINO cannot load {encoding!r}")
        try:
            model = core().read_model(str(paths[0]), str(paths[1]) if len(paths) > 1 else None)
        except Exception as e:
            raise BackendError("invalid_argument", f"OpenVINO read: {ov_message(e)}") from e
        return self._compile(model, device, threads)

    def onnx_opset_range(self) -> None:
        return None

    def properties(self, device: str, threads: int) -> dict[str, str]:
        props = {
            "backend": "openvino",
            "version": ov.get_version(),
            "device": device,
            "threads": str(threads) if device == "cpu" else "",
            "precision": "f32 (INFERENCE_PRECISION_HINT)" if device == "cpu" else "device default",
            "encodings": "openvino (IR), onnx",
            # The ONNX frontend reports no opset range; it reads any opset and fails per operator.
            "onnx_opset_range": "",
        }
        if self.devices().get(device) is None:
            props["device_name"] = str(
                core().get_property(DEVICE_NAMES[device], "FULL_DEVICE_NAME")
            )
        return props
