"""Build recipe for the wasi_ephemeral_nn adapter and the adapted driver.

    adapter/wasi_ephemeral_nn_adapter.wat
        -> wasmtime.wat2wasm                 core module (no data/element/start section)
        -> node component/embed.mjs ... ml   + component-type section for world `ml`
        = prebuilt/wasi_ephemeral_nn_adapter.wasm
    prebuilt/driver-preview1.wasm (the very same bytes, not rebuilt)
        -> jco new --wasi-command --adapt wasi_ephemeral_nn=prebuilt/wasi_ephemeral_nn_adapter.wasm
        = prebuilt/driver-adapted.wasm

Both outputs depend only on their inputs' bytes and the pinned tools (wasmtime-py's
wat2wasm, jco 1.35.0): building twice gives the same bytes. build.py picks this
recipe up (`register_into`); the adapter is registered before the adapted driver,
which reads the adapter and driver-preview1.wasm from the same output folder.
See docs/adapter.md.
"""

from __future__ import annotations

import tempfile
from importlib.metadata import version
from pathlib import Path
from types import ModuleType

import wasmtime

from workloads.guests import build_component as bc

GUESTS = Path(__file__).resolve().parent
PREBUILT = GUESTS / "prebuilt"
ADAPTER_SRC = GUESTS / "adapter" / "wasi_ephemeral_nn_adapter.wat"
ADAPTER = "wasi_ephemeral_nn_adapter.wasm"
PREVIEW1 = "driver-preview1.wasm"
ADAPTED = "driver-adapted.wasm"
NODE_SOURCES = (
    bc.NODE_DIR / "embed.mjs",
    bc.NODE_DIR / "package.json",
    bc.NODE_DIR / "package-lock.json",
)


def build_adapter(out: Path) -> None:
    """WAT -> core module -> + WIT world `ml`, written to `out`."""
    bc.ensure_jco()
    core = wasmtime.wat2wasm(ADAPTER_SRC.read_text())
    with tempfile.TemporaryDirectory(prefix="adapter-") as tmp:
        core_path = Path(tmp) / "adapter-core.wasm"
        core_path.write_bytes(core)
        cmd = ["node", "embed.mjs", str(core_path), str(bc.WIT), bc.WORLD, str(out.resolve())]
        bc._run(cmd, bc.NODE_DIR)


def _input(folder: Path, name: str) -> Path:
    """An input artifact from the output folder, else from prebuilt/."""
    for path in (folder / name, PREBUILT / name):
        if path.exists():
            return path.resolve()
    raise RuntimeError(f"{name} missing in {folder} and {PREBUILT}: build it first")


def adapt_driver(out: Path) -> None:
    """Wrap the unchanged preview1 driver (out's folder, else prebuilt/) with the adapter."""
    preview1, adapter = (_input(out.parent, name) for name in (PREVIEW1, ADAPTER))
    bc.ensure_jco()
    cmd = [str(bc.JCO), "new", str(preview1), "--wasi-command"]
    cmd += ["--adapt", f"wasi_ephemeral_nn={adapter}", "-o", str(out.resolve())]
    bc._run(cmd, bc.NODE_DIR)


def register_into(build: ModuleType) -> None:
    """Register the adapter, then the adapted driver, in build.py's registry."""
    build.register(
        build.Artifact(
            name=ADAPTER,
            sources=(ADAPTER_SRC, bc.WIT, *NODE_SOURCES),
            command=(
                "wat2wasm",
                ADAPTER_SRC.name,
                "&&",
                "node",
                "embed.mjs",
                "wit/wasi-nn.wit",
                bc.WORLD,
            ),
            build=build_adapter,
            toolchain=lambda: {"wasmtime-py": version("wasmtime"), **bc.node_versions()},
        )
    )
    build.register(
        build.Artifact(
            name=ADAPTED,
            sources=(PREBUILT / PREVIEW1, PREBUILT / ADAPTER, *NODE_SOURCES),
            command=(
                "jco",
                "new",
                PREVIEW1,
                "--wasi-command",
                "--adapt",
                f"wasi_ephemeral_nn={ADAPTER}",
            ),
            build=adapt_driver,
            toolchain=bc.node_versions,
        )
    )
