"""`wasinn-bench adapt`: turn a preview1 wasi-nn core module into a component.

    wasinn-bench adapt my-preview1.wasm -o my-component.wasm

The module is not changed: jco (wit-component) wraps it, plugging our
`wasi_ephemeral_nn` adapter (docs/adapter.md) into its wasi-nn imports and the
WASI command (or reactor) adapter into its `wasi_snapshot_preview1` imports.
The result imports `wasi:nn@0.2.0-rc-2024-10-28` and runs on any host that
speaks it (`wasmtime run -S nn my-component.wasm`).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from contracts.errors import UserError

GUESTS = Path(__file__).resolve().parent.parent / "workloads" / "guests"
ADAPTER = GUESTS / "prebuilt" / "wasi_ephemeral_nn_adapter.wasm"
NODE_DIR = GUESTS / "component"
LOCAL_JCO = NODE_DIR / "node_modules" / ".bin" / "jco"

LEGACY_MODULE = "wasi_ephemeral_nn"
# The witx functions; the adapter may provide more (see provided_functions).
LEGACY_FUNCS = (
    "load",
    "load_by_name",
    "init_execution_context",
    "set_input",
    "compute",
    "get_output",
)
REALLOC = "cabi_import_realloc"
# Pages the adapters take from the program's memory: ours 4, jco's WASI adapter 1 or more.
ADAPTER_PAGES = 5
WASM_MAGIC = b"\0asm"
CORE_VERSION = b"\x01\x00\x00\x00"
COMPONENT_VERSION = b"\x0d\x00\x01\x00"


class AdaptError(UserError):
    """Why a file cannot be adapted (one line, names the file)."""


# --- a minimal reader of the wasm binary format (sections, imports, exports) ---


def _leb(data: bytes, pos: int) -> tuple[int, int]:
    """Unsigned LEB128 at pos -> (value, next position)."""
    value = shift = 0
    while True:
        if pos >= len(data):
            raise ValueError("truncated LEB128")
        byte = data[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        if byte < 0x80:
            return value, pos
        shift += 7


def _name(data: bytes, pos: int) -> tuple[str, int]:
    n, pos = _leb(data, pos)
    return data[pos : pos + n].decode("utf-8", "replace"), pos + n


def sections(data: bytes) -> Iterator[tuple[int, bytes]]:
    """(section id, payload) of a core module or a component, top level only."""
    pos = 8
    while pos < len(data):
        sid = data[pos]
        size, pos = _leb(data, pos + 1)
        if pos + size > len(data):
            raise ValueError(f"section {sid} runs past the end of the file")
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


def _limits(data: bytes, pos: int) -> int:
    return _read_limits(data, pos)[2]


@dataclass
class CoreModule:
    imports: list[tuple[str, str, int]] = field(default_factory=list)  # module, name, kind
    exports: dict[str, int] = field(default_factory=dict)  # name -> kind (0 func, 2 memory)
    memory: tuple[int, int | None] | None = None  # (min, max) pages of a defined memory 0


def read_core_module(data: bytes) -> CoreModule:
    """Imports and exports of a core module (raises ValueError on a malformed one)."""
    mod = CoreModule()
    for sid, body in sections(data):
        if sid == 2:
            count, pos = _leb(body, 0)
            for _ in range(count):
                module, pos = _name(body, pos)
                name, pos = _name(body, pos)
                kind = body[pos]
                pos += 1
                if kind in (0, 4):  # func, tag: (tag attribute) type index
                    pos = _leb(body, pos + (kind == 4))[1]
                elif kind == 1:  # table: reftype, limits
                    pos = _limits(body, pos + 1)
                elif kind == 2:  # memory: limits
                    pos = _limits(body, pos)
                elif kind == 3:  # global: valtype, mutability
                    pos += 2
                else:
                    raise ValueError(f"unknown import kind {kind}")
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
    return mod


def embedded_core_modules(component: bytes) -> list[bytes]:
    """The core modules a component carries in its top-level core-module sections."""
    return [body for sid, body in sections(component) if sid == 1]


# --- the command ---


def find_jco() -> Path:
    """The project's pinned jco (workloads/guests/component), else one on PATH."""
    if LOCAL_JCO.exists():
        return LOCAL_JCO
    on_path = shutil.which("jco")
    if on_path:
        return Path(on_path)
    raise AdaptError(
        "jco not found: install the pinned one with "
        f"`npm ci --prefix {NODE_DIR}` (needs node >= 18 and npm), "
        "or put @bytecodealliance/jco@1.35.0 on PATH"
    )


def provided_functions(adapter: Path = ADAPTER) -> list[str]:
    """The wasi_ephemeral_nn functions the adapter exports (the legacy six and any
    experimental extra, e.g. `properties`)."""
    exports = read_core_module(adapter.read_bytes()).exports
    return [name for name, kind in exports.items() if kind == 0 and name != REALLOC]


def check_module(module: Path, data: bytes, provided: list[str]) -> CoreModule:
    """Refuse what cannot be adapted, with the reason."""
    if data[:4] != WASM_MAGIC:
        raise AdaptError(f"{module}: not a WebAssembly file (no \\0asm header)")
    if data[4:8] == COMPONENT_VERSION:
        raise AdaptError(f"{module}: already a component, not a core module")
    if data[4:8] != CORE_VERSION:
        raise AdaptError(f"{module}: not a core wasm module (version bytes {data[4:8].hex()})")
    try:
        mod = read_core_module(data)
    except (ValueError, IndexError) as e:
        raise AdaptError(f"{module}: malformed wasm module ({e})") from None
    nn = [name for m, name, _ in mod.imports if m == LEGACY_MODULE]
    if not nn:
        raise AdaptError(f"{module}: does not import {LEGACY_MODULE}; nothing to adapt")
    unknown = sorted(set(nn) - set(provided))
    if unknown:
        raise AdaptError(
            f"{module}: imports {LEGACY_MODULE}.{unknown[0]}, which the adapter does not provide "
            f"(it provides: {', '.join(provided)})"
        )
    if mod.exports.get("memory") != 2:
        raise AdaptError(f"{module}: does not export its memory as `memory` (adapters need it)")
    if mod.memory and mod.memory[1] is not None and mod.memory[1] - mod.memory[0] < ADAPTER_PAGES:
        raise AdaptError(
            f"{module}: its memory may grow by {mod.memory[1] - mod.memory[0]} pages only; "
            f"the adapters take {ADAPTER_PAGES} or more at run time (raise the maximum)"
        )
    return mod


def adapt(module: Path, out: Path, adapter: Path = ADAPTER) -> None:
    """Wrap the preview1 wasi-nn core module `module` into a component at `out`."""
    module, out = Path(module), Path(out)
    if out.exists() and out.resolve() == module.resolve():
        raise AdaptError(f"{out}: the output would overwrite the input module; choose another -o")
    try:
        data = module.read_bytes()
    except OSError as e:
        raise AdaptError(f"{module}: cannot read ({e.strerror or e})") from None
    if not adapter.exists():
        raise AdaptError(
            f"{adapter}: adapter missing; build it with "
            "`python -m workloads.guests.build --only wasi_ephemeral_nn_adapter.wasm`"
        )
    mod = check_module(module, data, provided_functions(adapter))
    jco = find_jco()
    # A module with _start is a command (wasi:cli/run); anything else a reactor.
    kind = "--wasi-command" if mod.exports.get("_start") == 0 else "--wasi-reactor"
    out.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=out.name + ".", suffix=".tmp", dir=out.parent)
    os.close(fd)
    cmd = [str(jco), "new", str(module.resolve()), kind]
    cmd += ["--adapt", f"{LEGACY_MODULE}={adapter.resolve()}", "-o", tmp]
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True)
        if proc.returncode != 0:
            msg = (proc.stderr or proc.stdout).strip().splitlines()
            raise AdaptError(f"{module}: jco new failed: {' '.join(msg[-3:]) or proc.returncode}")
        os.chmod(tmp, 0o644)  # mkstemp makes it private; a built artifact is not
        os.replace(tmp, out)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
