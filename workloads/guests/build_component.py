"""Build recipe for `driver-component.wasm`: the driver as a native wasi:nn component.

    zig cc driver.c nn_component.c      -> core module (imports wasi:nn/* by their WIT names)
    node component/embed.mjs ... ml      -> + component-type section for world `ml`
    jco new --wasi-command               -> component (preview1 libc calls adapted to wasi:*@0.2)

`jco embed` on the command line panics in jco 1.35.0, so embed.mjs calls
jco-transpile's `componentEmbed` instead. jco is pinned by component/package.json
and package-lock.json; `npm ci` installs it into component/node_modules (done on
demand here). build.py registers this recipe (`register_into`), so

    python -m workloads.guests.build --only driver-component.wasm

rebuilds it and records it in prebuilt/manifest.json.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from types import ModuleType

from workloads.guests import toolchain

GUESTS = Path(__file__).resolve().parent
SRC = GUESTS / "src"
WIT = GUESTS / "wit" / "wasi-nn.wit"
WORLD = "ml"
NODE_DIR = GUESTS / "component"
JCO = NODE_DIR / "node_modules" / ".bin" / "jco"
NAME = "driver-component.wasm"
C_SOURCES = ("driver.c", "nn_component.c")


def _run(cmd: list[str], cwd: Path) -> str:
    return toolchain.run_tool(Path(str(cmd[0])).name, cmd, cwd=cwd)


def ensure_jco() -> None:
    """Install the pinned jco (npm ci) unless component/node_modules has it."""
    toolchain.ensure_jco()


def node_versions() -> dict[str, str]:
    return toolchain.node_versions()


def build_component(out: Path, zig_flags: tuple[str, ...], zig) -> None:  # noqa: ANN001
    """zig -> embed WIT -> jco new, writing the component to `out`.

    `zig(*args, cwd=...)` is build.py's runner (the ziglang wheel's zig).
    """
    ensure_jco()
    with tempfile.TemporaryDirectory(prefix="component-") as tmp:
        core = Path(tmp) / "core.wasm"
        embedded = Path(tmp) / "embedded.wasm"
        zig("cc", *zig_flags, "-o", str(core), *C_SOURCES, cwd=SRC)
        _run(["node", "embed.mjs", str(core), str(WIT), WORLD, str(embedded)], NODE_DIR)
        _run([str(JCO), "new", str(embedded), "--wasi-command", "-o", str(out.resolve())], NODE_DIR)


def register_into(build: ModuleType) -> None:
    """Register the component artifact in build.py's registry (`build` is that module)."""
    flags = tuple(build.ZIG_FLAGS)
    build.register(
        build.Artifact(
            name=NAME,
            sources=(
                *(SRC / s for s in (*C_SOURCES, "nn.h")),
                WIT,
                NODE_DIR / "embed.mjs",
                NODE_DIR / "package.json",
                NODE_DIR / "package-lock.json",
            ),
            command=(
                *("zig", "cc", *flags, *C_SOURCES),
                *("&&", "node", "embed.mjs", "core.wasm", "wit/wasi-nn.wit", WORLD),
                *("&&", "jco", "new", "--wasi-command"),
            ),
            build=lambda out: build_component(out, flags, build.zig),
            toolchain=lambda: {**build.zig_version(), **node_versions()},
        )
    )
