"""Build recipe of the classify example: classify.c -> classify.wasm (preview1).

    python -m workloads.programs.classify.build

zig from the ziglang wheel (workloads/guests/toolchain.py), the guests' flags: the same
sources and zig version give the same bytes (tests/test_programs.py rebuilds and
compares). The adapted component is made from it at test time by `wasinn-bench adapt`.
"""

from __future__ import annotations

import os
from pathlib import Path

from workloads.guests import toolchain

HERE = Path(__file__).resolve().parent
SOURCE = "classify.c"
WASM = HERE / "classify.wasm"
FLAGS = ("--target=wasm32-wasi", "-O2", "-s", "-Wall", "-Wextra", "-Werror")


def build(out: Path = WASM) -> Path:
    tmp = out.with_name(out.name + ".tmp")
    toolchain.zig("cc", *FLAGS, "-o", str(tmp.resolve()), SOURCE, cwd=HERE)
    os.replace(tmp, out)
    return out


if __name__ == "__main__":
    print(f"wrote {build()}")
