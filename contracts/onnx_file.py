"""An ONNX file's interface read straight from its protobuf bytes, without the onnx
package (whose import alone takes a second or more): inputs, outputs, dtypes, declared
dims, opset, IR version and whether weights live in external files.

Only the fields named below are decoded; everything else (nodes, weights) is skipped
by its length, so a 100 MB model is read in about the time it takes to read the file.
Field numbers are onnx.proto's (ModelProto, GraphProto, ValueInfoProto, TypeProto,
TensorShapeProto, TensorProto, OperatorSetIdProto).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

# TensorProto.DataType -> our dtype names (contracts/dtypes.py), else ONNX's own name.
ELEM_TYPES = {
    1: "f32", 2: "u8", 3: "INT8", 4: "UINT16", 5: "INT16", 6: "i32", 7: "i64", 8: "STRING",
    9: "BOOL", 10: "f16", 11: "f64", 12: "UINT32", 13: "UINT64", 14: "COMPLEX64",
    15: "COMPLEX128", 16: "BFLOAT16", 17: "FLOAT8E4M3FN", 18: "FLOAT8E4M3FNUZ",
    19: "FLOAT8E5M2", 20: "FLOAT8E5M2FNUZ", 21: "UINT4", 22: "INT4",
}  # fmt: skip
EXTERNAL = 1  # TensorProto.DataLocation


class NotOnnx(ValueError):
    """The bytes are not an ONNX model (message: why, without the path)."""


Dims = list[int | str] | None  # int, or the symbol ('?' if unnamed); None: rank unknown


@dataclass
class Tensor:
    name: str
    dtype: str  # f32 f16 f64 u8 i32 i64, or ONNX's name (BOOL, ...); "?" if not a tensor
    dims: Dims

    @property
    def dynamic(self) -> bool:
        return self.dims is None or not all(isinstance(d, int) and d > 0 for d in self.dims)


@dataclass
class OnnxInterface:
    ir_version: int
    opsets: dict[str, int]  # domain ("" = ai.onnx) -> version
    inputs: list[Tensor]  # graph inputs that are not initializers, in graph order
    outputs: list[Tensor]
    producer: str = ""
    external_data: bool = False  # some initializer keeps its bytes in another file
    size_bytes: int = 0
    initializers: int = field(default=0)

    @property
    def opset(self) -> int | None:
        return self.opsets.get("", self.opsets.get("ai.onnx"))


def _varint(buf: memoryview, pos: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        if pos >= len(buf):
            raise NotOnnx("truncated varint")
        byte = buf[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return value, pos
        shift += 7
        if shift > 63:
            raise NotOnnx("malformed varint")


def _fields(buf: memoryview) -> Iterator[tuple[int, int | memoryview]]:
    """(field number, value): an int for varints and fixed ints, a view for bytes."""
    pos = 0
    while pos < len(buf):
        key, pos = _varint(buf, pos)
        number, wire = key >> 3, key & 7
        if wire == 0:
            value, pos = _varint(buf, pos)
            yield number, value
        elif wire == 2:
            size, pos = _varint(buf, pos)
            if pos + size > len(buf):
                raise NotOnnx("truncated field")
            yield number, buf[pos : pos + size]
            pos += size
        elif wire in (1, 5):
            width = 8 if wire == 1 else 4
            yield number, int.from_bytes(buf[pos : pos + width], "little")
            pos += width
        else:
            raise NotOnnx(f"wire type {wire}")
        if number == 0:
            raise NotOnnx("field number 0")


def _text(value: int | memoryview) -> str:
    if not isinstance(value, memoryview):
        raise NotOnnx("expected a string")
    try:
        return bytes(value).decode()
    except UnicodeDecodeError:
        raise NotOnnx("a name is not UTF-8") from None


def _sub(value: int | memoryview) -> memoryview:
    if not isinstance(value, memoryview):
        raise NotOnnx("expected a message")
    return value


def _dims(shape: memoryview) -> list[int | str]:
    dims: list[int | str] = []
    for number, dim in _fields(shape):
        if number == 1:
            value: int | str = "?"
            for n, v in _fields(_sub(dim)):
                if n == 1 and isinstance(v, int):
                    value = v - (1 << 64) if v >= 1 << 63 else v  # int64: -1 is 2**64 - 1
                elif n == 2:
                    value = _text(v)
            dims.append(value)
    return dims


def _tensor(value_info: memoryview) -> Tensor:
    name, dtype, dims = "", "?", None
    for number, value in _fields(value_info):
        if number == 1:
            name = _text(value)
        elif number == 2:
            for n, tensor_type in _fields(_sub(value)):
                if n != 1:  # sequence, map, optional, sparse: not a tensor
                    continue
                dtype = "UNDEFINED"
                for m, v in _fields(_sub(tensor_type)):
                    if m == 1 and isinstance(v, int):
                        dtype = ELEM_TYPES.get(v, f"type {v}")
                    elif m == 2:
                        dims = _dims(_sub(v))
    return Tensor(name, dtype, dims)


def _initializer(tensor: memoryview) -> tuple[str, bool]:
    name, external = "", False
    for number, value in _fields(tensor):
        if number == 8:
            name = _text(value)
        elif number == 14 and value == EXTERNAL:
            external = True
    return name, external


def parse(data: bytes | memoryview, size: int = 0) -> OnnxInterface:
    buf = memoryview(data)
    ir_version, opsets, graph, producer = None, {}, None, ""
    for number, value in _fields(buf):
        if number == 1 and isinstance(value, int):
            ir_version = value
        elif number == 2:
            producer = _text(value)
        elif number == 7:
            graph = _sub(value)
        elif number == 8:
            domain, version = "", 0
            for n, v in _fields(_sub(value)):
                if n == 1:
                    domain = _text(v)
                elif n == 2 and isinstance(v, int):
                    version = v
            opsets[domain] = version
    if ir_version is None or graph is None or not opsets:
        raise NotOnnx("no ONNX model in it (no IR version, graph or opset)")
    inputs, outputs, inits, external = [], [], set(), False
    for number, value in _fields(graph):
        if number == 11:
            inputs.append(_tensor(_sub(value)))
        elif number == 12:
            outputs.append(_tensor(_sub(value)))
        elif number == 5:
            name, ext = _initializer(_sub(value))
            inits.add(name)
            external |= ext
    real = [t for t in inputs if t.name not in inits]  # old exporters list weights as inputs
    return OnnxInterface(ir_version, opsets, real, outputs, producer, external, size or len(buf),
                         len(inits))  # fmt: skip


def read(path: str | Path) -> OnnxInterface:
    """The interface of the ONNX file at `path` (OSError if unreadable, NotOnnx if not ONNX)."""
    data = Path(path).read_bytes()
    return parse(data)
