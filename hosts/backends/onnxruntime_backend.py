"""onnxruntime behind the backend interface (CPU, CUDA and TensorRT providers)."""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache

import numpy as np
import onnxruntime as ort

from hosts.backends.base import BackendError, TensorInfo, check_input, resolve_index

# onnxruntime's type strings -> our canonical dtype names.
ORT_DTYPES = {
    "tensor(float16)": "f16",
    "tensor(float)": "f32",
    "tensor(double)": "f64",
    "tensor(uint8)": "u8",
    "tensor(int32)": "i32",
    "tensor(int64)": "i64",
}

# Provider order per matrix device: the first available wins.
DEVICE_PROVIDERS = {
    "cpu": ["CPUExecutionProvider"],
    "gpu": ["TensorrtExecutionProvider", "CUDAExecutionProvider"],
}


def _info(arg: ort.NodeArg) -> TensorInfo:
    shape = tuple(d if isinstance(d, int) else -1 for d in arg.shape)
    return TensorInfo(arg.name, ORT_DTYPES.get(arg.type, arg.type), shape)


class OrtContext:
    def __init__(self, graph: OrtGraph):
        self._graph = graph
        self._inputs: dict[str, np.ndarray] = {}
        self._outputs: list[np.ndarray] | None = None

    @property
    def output_names(self) -> list[str]:
        return [t.name for t in self._graph.outputs]

    def set_input(self, key: int | str, array: np.ndarray) -> None:
        names = [t.name for t in self._graph.inputs]
        info = self._graph.inputs[resolve_index(names, key)]
        check_input(info, array)
        self._inputs[info.name] = array

    def compute(self) -> None:
        missing = [t.name for t in self._graph.inputs if t.name not in self._inputs]
        if missing:
            raise BackendError("runtime_error", f"inputs not set: {missing}")
        try:
            self._outputs = self._graph.session.run(None, self._inputs)
        except Exception as e:  # onnxruntime raises its own exception types
            raise BackendError("runtime_error", str(e).splitlines()[0]) from e

    def get_output(self, key: int | str) -> np.ndarray:
        if self._outputs is None:
            raise BackendError("runtime_error", "get_output before compute")
        idx = resolve_index(self.output_names, key, "output")
        return np.require(self._outputs[idx], requirements="C")  # keeps rank 0


class OrtGraph:
    def __init__(self, session: ort.InferenceSession):
        self.session = session
        self.inputs = [_info(a) for a in session.get_inputs()]
        self.outputs = [_info(a) for a in session.get_outputs()]

    def new_context(self) -> OrtContext:
        return OrtContext(self)


class OnnxRuntimeBackend:
    name = "onnx"
    encodings = ("onnx",)

    def version(self) -> str:
        return ort.__version__

    def devices(self) -> dict[str, str | None]:
        have = ort.get_available_providers()
        out: dict[str, str | None] = {}
        for device, providers in DEVICE_PROVIDERS.items():
            if any(p in have for p in providers):
                out[device] = None
            else:
                out[device] = (
                    f"onnxruntime {ort.__version__} has no {' or '.join(providers)} "
                    f"(available: {', '.join(have)}); install onnxruntime-gpu on a CUDA machine"
                )
        return out

    def _session_options(self, threads: int) -> ort.SessionOptions:
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = threads
        opts.inter_op_num_threads = 1
        opts.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        opts.log_severity_level = 3
        return opts

    def _providers(self, device: str) -> list[str]:
        reason = self.devices().get(device, f"unknown device {device!r}")
        if reason:
            raise BackendError("unsupported_operation", reason)
        have = ort.get_available_providers()
        chosen = [p for p in DEVICE_PROVIDERS[device] if p in have]
        return chosen if device == "cpu" else [*chosen, "CPUExecutionProvider"]

    def load(self, builders: Sequence[bytes], encoding: str, device: str, threads: int) -> OrtGraph:
        if encoding not in self.encodings:
            raise BackendError("invalid_encoding", f"onnxruntime cannot load {encoding!r}")
        if len(builders) != 1:
            raise BackendError("invalid_argument", f"onnx wants 1 builder, got {len(builders)}")
        return self._session(bytes(builders[0]), device, threads)

    def load_files(
        self, paths: Sequence[str], encoding: str, device: str, threads: int
    ) -> OrtGraph:
        if encoding not in self.encodings:
            raise BackendError("invalid_encoding", f"onnxruntime cannot load {encoding!r}")
        if len(paths) != 1:
            raise BackendError("invalid_argument", f"onnx wants 1 file, got {len(paths)}")
        return self._session(str(paths[0]), device, threads)

    def _session(self, model: bytes | str, device: str, threads: int) -> OrtGraph:
        providers = self._providers(device)
        try:
            sess = ort.InferenceSession(
                model, sess_options=self._session_options(threads), providers=providers
            )
        except Exception as e:
            raise BackendError("invalid_argument", f"onnxruntime: {str(e).splitlines()[0]}") from e
        return OrtGraph(sess)

    def properties(self, device: str, threads: int) -> dict[str, str]:
        providers = [
            p for p in DEVICE_PROVIDERS.get(device, []) if p in ort.get_available_providers()
        ]
        return {
            "backend": "onnxruntime",
            "version": ort.__version__,
            "build": ort.get_build_info() if hasattr(ort, "get_build_info") else "",
            "device": device,
            "device_name": _cpu_name() if device == "cpu" else ",".join(providers),
            "execution_providers": ",".join(providers),
            "threads": str(threads),
            "precision": "fp32 (model precision)",
            "encodings": "onnx",
            "onnx_opset_range": "{}-{}".format(*self.onnx_opset_range()),
        }

    def onnx_opset_range(self) -> tuple[int, int]:
        """The default-domain opsets this build has kernels for (from its kernel registry)."""
        return _kernel_opset_range()


@cache
def _kernel_opset_range() -> tuple[int, int]:
    from onnxruntime.capi import onnxruntime_pybind11_state as c

    starts = [k.version_range[0] for k in c.get_all_opkernel_def() if k.domain in ("", "ai.onnx")]
    return min(starts), max(starts)


def _cpu_name() -> str:
    from contracts.machine import cpu_name

    return cpu_name()
