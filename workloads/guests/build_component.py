"""Build recipe for `driver-component.wasm`: the driver as a native wasi:nn component.

    zig cc driver.c nn_component.c      -> core module (imports wasi:nn/* by their WIT names)
    node component/embed.mjs ... ml      -> + component-type section for world `ml`
    jco new --wasi-command               -> component (preview1 libc calls adapted to wasi:*@0.2)

`jco embed` on the command line panics in jco 1.35.0, so embed.mjs calls
jco-transpile's `componentEmbed` instead. jco is pinned by component/package.json
and package-lock.json; `npm ci` installs it into component/node_modules (done on
demand here). build.py lists this recipe, so

    python -m workloads.guests.build --only driver-component.wasm

rebuilds it and records it in prebuilt/manifest.json.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from contracts import paths
from workloads.guests import toolchain
from workloads.guests.recipe import NODE_SOURCES, ZIG_FLAGS, Artifact, zig_cc

WIT = paths.WIT_DIR / "wasi-nn.wit"
WORLD = "ml"
NAME = "driver-component.wasm"
C_SOURCES = ("driver.c", "nn_component.c")


def build_component(out: Path) -> None:
    """zig -> embed WIT -> jco new, writing the component to `out`."""
    jco = toolchain.ensure_jco()
    with tempfile.TemporaryDirectory(prefix="component-") as tmp:
        core = Path(tmp) / "core.wasm"
        embedded = Path(tmp) / "embedded.wasm"
        zig_cc(C_SOURCES, core)
        toolchain.embed_wit(core, WIT, WORLD, embedded)
        toolchain.run_tool(
            "jco new", [str(jco), "new", str(embedded), "--wasi-command", "-o", str(out.resolve())],
            cwd=paths.NODE_DIR,
        )  # fmt: skip


ARTIFACTS = (
    Artifact(
        name=NAME,
        sources=(
            *(paths.GUEST_SOURCES / s for s in (*C_SOURCES, "nn.h")),
            WIT,
            *NODE_SOURCES,
        ),
        command=(
            *("zig", "cc", *ZIG_FLAGS, *C_SOURCES),
            *("&&", "node", "embed.mjs", "core.wasm", "wit/wasi-nn.wit", WORLD),
            *("&&", "jco", "new", "--wasi-command"),
        ),
        build=build_component,
        toolchain=lambda: {**toolchain.zig_version(), **toolchain.node_versions()},
    ),
)
