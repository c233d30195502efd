"""Guest-visible backend properties: the key-value pairs our wasmtime-py hosts
answer to the experimental query (docs/properties.md).

Both ABIs share `describe(encoding, device, threads)`: the preview1 host packs the
pairs as `key\\0value\\0...` (`pack`), the component host returns them as
`list<tuple<string, string>>`. Keys follow the recommended set in
docs/properties.md (dotted names); the backends' own `properties()` (underscore
names, recorded per cell by the runner) are their source.
"""

from __future__ import annotations

import re
import tempfile
from functools import cache
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

from hosts.backends import BackendError, backend_for_encoding

HOST = "wasmtime-py"


def host_version() -> str:
    try:
        return version("wasmtime")
    except PackageNotFoundError:
        return "unknown"


def host_notes() -> dict[str, str]:
    """`prop.*` notes a wasmtime-py round adds to its cell's properties."""
    return {"prop.host": HOST, "prop.host.version": host_version()}


def describe(encoding: str, device: str, threads: int) -> list[tuple[str, str]]:
    """The pairs for the backend serving (encoding, device) in our Python hosts.

    Raises BackendError: invalid_encoding when no backend serves the encoding,
    unsupported_operation (with the probe's reason) when the device is absent.
    """
    backend = backend_for_encoding(encoding)
    reason = backend.devices().get(device, f"unknown device {device!r}")
    if reason:
        raise BackendError("unsupported_operation", reason)
    p = backend.properties(device, threads)
    pairs = [
        ("backend", p.get("backend", backend.name)),
        ("backend.version", p.get("version", backend.version())),
    ]
    if p.get("build"):
        pairs.append(("backend.build", p["build"]))
    pairs += [("device", device), ("device.name", p.get("device_name", ""))]
    if p.get("execution_providers"):
        pairs.append(("onnxruntime.providers", p["execution_providers"]))
    pairs.append(("encodings", ",".join(backend.encodings)))
    if opsets := backend.onnx_opset_range():
        pairs += [("onnx.opset.min", str(opsets[0])), ("onnx.opset.max", str(opsets[1]))]
    if p.get("backend") == "onnxruntime" and (ir := onnxruntime_max_ir_version()):
        pairs.append(("onnx.ir_version.max", str(ir)))
    if p.get("backend") == "openvino" and (ir := openvino_ir_version()):
        pairs.append(("openvino.ir_version", str(ir)))
    pairs += [
        ("threads", p.get("threads", str(threads))),
        ("precision", p.get("precision", "")),
        ("host", HOST),
        ("host.version", host_version()),
    ]
    return [(k, v) for k, v in pairs if v != ""]


def pack(pairs: list[tuple[str, str]]) -> bytes:
    """The legacy ABI's buffer: key\\0value\\0key\\0value\\0... (UTF-8)."""
    return b"".join(k.encode() + b"\0" + v.encode() + b"\0" for k, v in pairs)


def unpack(data: bytes) -> list[tuple[str, str]]:
    """Inverse of `pack` (a trailing odd item is dropped)."""
    items = data.split(b"\0")[:-1] if data else []
    return [(items[i].decode(), items[i + 1].decode()) for i in range(0, len(items) - 1, 2)]


@cache
def onnxruntime_max_ir_version() -> int | None:
    """The newest ONNX IR version onnxruntime loads: it names it when refusing a newer one."""
    import onnxruntime as ort
    from onnx import TensorProto, helper

    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [1])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [1])
    graph = helper.make_graph([helper.make_node("Relu", ["x"], ["y"])], "probe", [x], [y])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 10_000
    try:
        ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    except Exception as e:
        m = re.search(r"max supported IR version: (\d+)", str(e))
        return int(m[1]) if m else None
    return None


@cache
def openvino_ir_version() -> int | None:
    """The IR version this OpenVINO writes (what `ov.save_model` stamps into the xml)."""
    import openvino as ov
    import openvino.opset13 as ops

    param = ops.parameter([1], ov.Type.f32)
    model = ov.Model([ops.relu(param)], [param], "probe")
    with tempfile.TemporaryDirectory() as tmp:
        xml = Path(tmp) / "probe.xml"
        ov.save_model(model, str(xml))
        m = re.search(r'<net [^>]*version="(\d+)"', xml.read_text())
    return int(m[1]) if m else None
