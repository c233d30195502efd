"""Build recipe for `driver-preview1.wasm`: the C driver as a preview1 core module.

zig cc --target=wasm32-wasi driver.c nn_preview1.c  -> imports wasi_ephemeral_nn
"""

from __future__ import annotations

from contracts import paths
from workloads.guests import toolchain
from workloads.guests.recipe import ZIG_FLAGS, Artifact, zig_cc

C_SOURCES = ("driver.c", "nn_preview1.c")

ARTIFACTS = (
    Artifact(
        name="driver-preview1.wasm",
        sources=tuple(paths.GUEST_SOURCES / s for s in (*C_SOURCES, "nn.h")),
        command=("zig", "cc", *ZIG_FLAGS, *C_SOURCES),
        build=lambda out: zig_cc(C_SOURCES, out),
        toolchain=toolchain.zig_version,
    ),
)
