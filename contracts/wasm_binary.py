"""One reader of the wasm binary format for the whole project: is a file a core module
or a component, and a core module's imports, exports and memory limits.

Used by `wasinn-bench adapt` (what to plug in, what to refuse) and by the hosts (core
module or component decides how to run a program). Top-level sections only: enough to
answer those questions without a wasm toolchain.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

WASM_MAGIC = b"\0asm"
CORE_VERSION = b"\x01\x00\x00\x00"
COMPONENT_VERSION = b"\x0d\x00\x01\x00"
FUNC, TABLE, MEMORY, GLOBAL, TAG = 0, 1, 2, 3, 4  # import/export kinds


class WasmFormatError(ValueError):
    """The bytes are not (well-formed) wasm; the message says what is wrong."""


def _leb(data: bytes, pos: int) -> tuple[int, int]:
    """Unsigned LEB128 at pos -> (value, next position)."""
    value = shift = 0
    while True:
        if pos >= len(data):
            raise WasmFormatError("truncated LEB128")
        byte = data[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        if byte < 0x80:
            return value, pos
        shift += 7


def _name(data: bytes, pos: int) -> tuple[str, int]:
    n, pos = _leb(data, pos)
    if pos + n > len(data):
        raise WasmFormatError("name runs past its section")
    return data[pos : pos + n].decode("utf-8", "replace"), pos + n


def kind_of(data: bytes) -> str:
    """ "core" or "component", from the 8-byte preamble; WasmFormatError otherwise."""
    if data[:4] != WASM_MAGIC:
        raise WasmFormatError("not a WebAssembly file (no \\0asm header)")
    if data[4:8] == CORE_VERSION:
        return "core"
    if data[4:8] == COMPONENT_VERSION:
        return "component"
    raise WasmFormatError(f"unknown wasm version bytes {data[4:8].hex()}")


def file_kind(path: Path) -> str:
    """kind_of() for a file, reading only its preamble."""
    with open(path, "rb") as f:
        return kind_of(f.read(8))


def is_core_module(path: Path) -> bool:
    try:
        return file_kind(path) == "core"
    except WasmFormatError:
        return False


def sections(data: bytes) -> Iterator[tuple[int, bytes]]:
    """(section id, payload) of a core module or a component, top level only."""
    pos = 8
    while pos < len(data):
        sid = data[pos]
        size, pos = _leb(data, pos + 1)
        if pos + size > len(data):
            raise WasmFormatError(f"section {sid} runs past the end of the file")
        yield sid, data[pos : pos + size]
        pos += size


def _read_limits(data: bytes, pos: int) -> tuple[int, int | None, int]:
    """(min, max or None, next position) of a table/memory type's limits."""
    flags = data[pos]
    low, pos = _leb(data, pos + 1)
    high = None
    if flags & 0x01:
        high, pos = _leb(data, pos)
    if flags & 0x08:
        _, pos = _leb(data, pos)  # custom page size
    return low, high, pos


@dataclass
class CoreModule:
    imports: list[tuple[str, str, int]] = field(default_factory=list)  # module, name, kind
    exports: dict[str, int] = field(default_factory=dict)  # name -> kind (0 func, 2 memory)
    memory: tuple[int, int | None] | None = None  # (min, max) pages of a defined memory 0

    def import_modules(self) -> dict[str, list[str]]:
        """module -> names imported from it, in import order."""
        out: dict[str, list[str]] = {}
        for module, name, _ in self.imports:
            out.setdefault(module, []).append(name)
        return out


def read_core_module(data: bytes) -> CoreModule:
    """Imports and exports of a core module (WasmFormatError on a malformed one)."""
    mod = CoreModule()
    try:
        for sid, body in sections(data):
            if sid == 2:
                count, pos = _leb(body, 0)
                for _ in range(count):
                    module, pos = _name(body, pos)
                    name, pos = _name(body, pos)
                    kind = body[pos]
                    pos += 1
                    if kind in (FUNC, TAG):  # (tag attribute) type index
                        pos = _leb(body, pos + (kind == TAG))[1]
                    elif kind == TABLE:  # reftype, limits
                        pos = _read_limits(body, pos + 1)[2]
                    elif kind == MEMORY:
                        pos = _read_limits(body, pos)[2]
                    elif kind == GLOBAL:  # valtype, mutability
                        pos += 2
                    else:
                        raise WasmFormatError(f"unknown import kind {kind}")
                    mod.imports.append((module, name, kind))
            elif sid == 5 and body[:1] != b"\0":  # memory section with at least one memory
                low, high, _ = _read_limits(body, 1)
                mod.memory = (low, high)
            elif sid == 7:
                count, pos = _leb(body, 0)
                for _ in range(count):
                    name, pos = _name(body, pos)
                    kind = body[pos]
                    _, pos = _leb(body, pos + 1)
                    mod.exports[name] = kind
    except IndexError:
        raise WasmFormatError("a section ends early") from None
    return mod


def embedded_core_modules(component: bytes) -> list[bytes]:
    """The core modules a component carries in its top-level core-module sections."""
    return [body for sid, body in sections(component) if sid == 1]


def _uleb(value: int) -> bytes:
    out = bytearray()
    while True:
        byte, value = value & 0x7F, value >> 7
        out.append(byte | (0x80 if value else 0))
        if not value:
            return bytes(out)


def _import_entries(body: bytes) -> list[tuple[str, str, int, bytes]]:
    """(module, name, type index or -1, the entry's bytes) of each entry of an import section."""
    count, pos = _leb(body, 0)
    entries = []
    for _ in range(count):
        start = pos
        module, pos = _name(body, pos)
        name, pos = _name(body, pos)
        kind, typeidx = body[pos], -1
        pos += 1
        if kind == FUNC:
            typeidx, pos = _leb(body, pos)
        elif kind == TAG:
            pos = _leb(body, pos + 1)[1]
        elif kind == TABLE:
            pos = _read_limits(body, pos + 1)[2]
        elif kind == MEMORY:
            pos = _read_limits(body, pos)[2]
        elif kind == GLOBAL:
            pos += 2
        else:
            raise WasmFormatError(f"unknown import kind {kind}")
        entries.append((module, name, typeidx, body[start:pos]))
    return entries


def repoint_import(data: bytes, module: str, name: str, to: str) -> bytes:
    """A core module whose function import `module.name` imports `module.to` instead
    (the two must have the same type): the module links where only `to` is defined.
    Unchanged when it does not import `module.name`."""
    out, pos = bytearray(data[:8]), 8
    while pos < len(data):
        sid = data[pos]
        size, body_at = _leb(data, pos + 1)
        end = body_at + size
        if sid != 2:
            out += data[pos:end]
        else:
            entries = _import_entries(data[body_at:end])
            types = {(m, n): t for m, n, t, _ in entries}
            if (module, name) in types and types[(module, name)] != types.get((module, to)):
                raise WasmFormatError(f"{module}.{name} and {module}.{to} differ in type")
            new = _uleb(len(entries)) + b"".join(
                _encode_name(m) + _encode_name(to) + raw[len(_encode_name(m) + _encode_name(n)):]
                if (m, n) == (module, name) else raw
                for m, n, _, raw in entries
            )  # fmt: skip
            out += bytes([sid]) + _uleb(len(new)) + new
        pos = end
    return bytes(out)


def _encode_name(text: str) -> bytes:
    raw = text.encode()
    return _uleb(len(raw)) + raw
