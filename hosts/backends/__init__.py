"""Inference backends behind one small interface (see `base.Backend`).

`REGISTRY` is the one place a backend name (the matrix `backend` axis,
`contracts.cells.BACKENDS`) becomes code, and says which wasi-nn graph encodings
each backend serves in our Python hosts.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass

from hosts.backends.base import Backend, BackendError, Context, Graph, TensorInfo


@dataclass(frozen=True)
class BackendEntry:
    cls: str  # "module:Class", imported on first use
    encodings: tuple[str, ...]  # the wasi-nn graph encodings it loads


REGISTRY: dict[str, BackendEntry] = {
    "onnx": BackendEntry("hosts.backends.onnxruntime_backend:OnnxRuntimeBackend", ("onnx",)),
    "openvino": BackendEntry("hosts.backends.openvino_backend:OpenVinoBackend", ("openvino",)),
}


def get_backend(name: str) -> Backend:
    """The backend for a matrix `backend` value ("onnx" or "openvino")."""
    entry = REGISTRY.get(name)
    if entry is None:
        raise ValueError(f"unknown backend {name!r}")
    module, _, cls = entry.cls.partition(":")
    return getattr(importlib.import_module(module), cls)()


def device_problem(backend: str, device: str) -> str | None:
    """Why `backend` cannot run on `device` here (e.g. no GPU), or None: the one device
    probe every host uses."""
    return get_backend(backend).devices().get(device, f"unknown device {device}")


def backend_for_encoding(encoding: str) -> Backend:
    """Which backend serves a wasi-nn graph encoding in our Python hosts."""
    for name, entry in REGISTRY.items():
        if encoding in entry.encodings:
            return get_backend(name)
    raise BackendError("invalid_encoding", f"no backend for encoding {encoding!r}")


__all__ = [
    "REGISTRY",
    "Backend",
    "BackendError",
    "Context",
    "Graph",
    "TensorInfo",
    "backend_for_encoding",
    "device_problem",
    "get_backend",
]
