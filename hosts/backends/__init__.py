"""Inference backends behind one small interface (see `base.Backend`)."""

from __future__ import annotations

from hosts.backends.base import Backend, BackendError, Context, Graph, TensorInfo


def get_backend(name: str) -> Backend:
    """The backend for a matrix `backend` value ("onnx" or "openvino")."""
    if name == "onnx":
        from hosts.backends.onnxruntime_backend import OnnxRuntimeBackend

        return OnnxRuntimeBackend()
    if name == "openvino":
        from hosts.backends.openvino_backend import OpenVinoBackend

        return OpenVinoBackend()
    raise ValueError(f"unknown backend {name!r}")


def device_problem(backend: str, device: str) -> str | None:
    """Why `backend` cannot run on `device` here (e.g. no GPU), or None: the one device
    probe every host uses."""
    return get_backend(backend).devices().get(device, f"unknown device {device}")


def backend_for_encoding(encoding: str) -> Backend:
    """Which backend serves a wasi-nn graph encoding in our Python hosts."""
    if encoding == "onnx":
        return get_backend("onnx")
    if encoding == "openvino":
        return get_backend("openvino")
    raise BackendError("invalid_encoding", f"no backend for encoding {encoding!r}")


__all__ = [
    "Backend",
    "BackendError",
    "Context",
    "Graph",
    "TensorInfo",
    "backend_for_encoding",
    "device_problem",
    "get_backend",
]
