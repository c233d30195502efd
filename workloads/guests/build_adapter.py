"""Build recipe for the wasi_ephemeral_nn adapter and the adapted driver.

    adapter/wasi_ephemeral_nn_adapter.wat
        -> wasmtime.wat2wasm                 core module (no data/element/start section)
        -> node component/embed.mjs ... ml   + component-type section for world `ml`
        = prebuilt/wasi_ephemeral_nn_adapter.wasm
    prebuilt/driver-preview1.wasm (the very same bytes, not rebuilt)
        -> jco new --wasi-command --adapt wasi_ephemeral_nn=prebuilt/wasi_ephemeral_nn_adapter.wasm
        = prebuilt/driver-adapted.wasm

Both outputs depend only on their inputs' bytes and the pinned tools (wasmtime-py's
wat2wasm, jco 1.35.0): building twice gives the same bytes. build.py lists this
recipe; the adapter comes before the adapted driver, which reads the adapter and driver-preview1.wasm from the same output folder.
See docs/adapter.md.
"""

from __future__ import annotations

import tempfile
from importlib.metadata import version
from pathlib import Path

import wasmtime

from contracts import paths
from workloads.guests import toolchain
from workloads.guests.build_component import WIT, WORLD
from workloads.guests.recipe import NODE_SOURCES, Artifact, prebuilt_input

ADAPTER_SRC = paths.ADAPTER_DIR / "wasi_ephemeral_nn_adapter.wat"
ADAPTER = "wasi_ephemeral_nn_adapter.wasm"
PREVIEW1 = "driver-preview1.wasm"
ADAPTED = "driver-adapted.wasm"


def build_adapter(out: Path) -> None:
    """WAT -> core module -> + WIT world `ml`, written to `out`."""
    core = wasmtime.wat2wasm(ADAPTER_SRC.read_text())
    with tempfile.TemporaryDirectory(prefix="adapter-") as tmp:
        core_path = Path(tmp) / "adapter-core.wasm"
        core_path.write_bytes(core)
        toolchain.embed_wit(core_path, WIT, WORLD, out)


def adapt_driver(out: Path) -> None:
    """Wrap the unchanged preview1 driver (out's folder, else prebuilt/) with the adapter."""
    preview1, adapter = (prebuilt_input(out.parent, name) for name in (PREVIEW1, ADAPTER))
    cmd = [str(toolchain.ensure_jco()), "new", str(preview1), "--wasi-command"]
    cmd += ["--adapt", f"wasi_ephemeral_nn={adapter}", "-o", str(out.resolve())]
    toolchain.run_tool("jco new", cmd, cwd=paths.NODE_DIR)


ARTIFACTS = (
    Artifact(
        name=ADAPTER,
        sources=(ADAPTER_SRC, WIT, *NODE_SOURCES),
        command=("wat2wasm", ADAPTER_SRC.name, "&&", "node", "embed.mjs", "wit/wasi-nn.wit", WORLD),
        build=build_adapter,
        toolchain=lambda: {"wasmtime-py": version("wasmtime"), **toolchain.node_versions()},
    ),
    Artifact(
        name=ADAPTED,
        sources=(paths.PREBUILT / PREVIEW1, paths.PREBUILT / ADAPTER, *NODE_SOURCES),
        command=(
            "jco",
            "new",
            PREVIEW1,
            "--wasi-command",
            "--adapt",
            f"wasi_ephemeral_nn={ADAPTER}",
        ),
        build=adapt_driver,
        toolchain=toolchain.node_versions,
    ),
)
