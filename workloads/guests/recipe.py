"""What a guest artifact is: its sources, its build command and how to build it.

Each `build_<what>.py` beside this file declares its artifacts as a module-level
`ARTIFACTS` tuple; `build.py` lists those modules once and builds them in order.
The source hash covers the source files (path and bytes) and the build command,
so a changed flag is detected like a changed line.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from contracts import paths
from workloads.guests import toolchain

# No build-id, no debug info (-s): the output depends only on the sources and
# the zig version. Paths are passed relative to src/ so none leak in.
ZIG_FLAGS = ("--target=wasm32-wasi", "-O2", "-s", "-Wall", "-Wextra", "-Werror")
# The files node reads when it embeds a WIT world or runs jco.
NODE_SOURCES = (
    paths.NODE_DIR / "embed.mjs",
    paths.NODE_DIR / "package.json",
    paths.NODE_DIR / "package-lock.json",
)


@dataclass(frozen=True)
class Artifact:
    name: str  # file name under prebuilt/
    sources: tuple[Path, ...]  # files whose bytes determine the output
    command: tuple[str, ...]  # recorded in the source hash (flags count as source)
    build: Callable[[Path], None]  # writes the artifact to the given path
    toolchain: Callable[[], dict[str, str]]  # tool -> version


def source_sha256(artifact: Artifact) -> str:
    """Hash of (relative path, bytes) of every source plus the build command."""
    h = hashlib.sha256()
    for path in sorted(artifact.sources):
        rel = path.relative_to(paths.GUESTS).as_posix()
        data = path.read_bytes()
        h.update(f"{rel}\0{len(data)}\0".encode())
        h.update(data)
    h.update("\0".join(artifact.command).encode())
    return h.hexdigest()


def zig_cc(sources: Sequence[str], out: Path, flags: Sequence[str] = ZIG_FLAGS) -> None:
    """Compile C sources (names relative to src/) with the ziglang wheel's zig."""
    toolchain.zig("cc", *flags, "-o", str(out.resolve()), *sources, cwd=paths.GUEST_SOURCES)


def prebuilt_input(folder: Path, name: str) -> Path:
    """An artifact another one is made from: from the output folder, else prebuilt/."""
    for path in (folder / name, paths.PREBUILT / name):
        if path.exists():
            return path.resolve()
    raise toolchain.ToolError(f"{name} missing in {folder} and {paths.PREBUILT}: build it first")
