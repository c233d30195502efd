"""Reproducible build of the guest modules into `workloads/guests/prebuilt/`.

    python -m workloads.guests.build            # build every artifact, update manifest.json
    python -m workloads.guests.build --out DIR  # build into DIR (manifest there too)
    python -m workloads.guests.build --only driver-preview1.wasm

Each artifact is an `Artifact` in `ARTIFACTS`: its sources, a build function and
the toolchain it used. To add one (the native component, the adapter), put a
`build_<what>.py` next to this file with `register_into(build_module)` calling
`build_module.register(Artifact(...))`; `load_recipes()` picks it up.
`write_manifest` merges entries by artifact name, so artifacts built by
different recipes share one manifest.
The source hash covers the source files (path and bytes) and the build
command, so a changed flag is detected like a changed line.
"""

from __future__ import annotations

import argparse
import hashlib
import importlib
import json
import os
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from workloads.guests import toolchain

GUESTS = Path(__file__).resolve().parent
SRC = GUESTS / "src"
PREBUILT = GUESTS / "prebuilt"
MANIFEST = "manifest.json"

# No build-id, no debug info (-s): the output depends only on the sources and
# the zig version. Paths are passed relative to src/ so none leak in.
ZIG_FLAGS = ("--target=wasm32-wasi", "-O2", "-s", "-Wall", "-Wextra", "-Werror")


@dataclass(frozen=True)
class Artifact:
    name: str  # file name under prebuilt/
    sources: tuple[Path, ...]  # files whose bytes determine the output
    command: tuple[str, ...]  # recorded in the source hash (flags count as source)
    build: Callable[[Path], None]  # writes the artifact to the given path
    toolchain: Callable[[], dict[str, str]]  # tool -> version


ARTIFACTS: dict[str, Artifact] = {}


def register(artifact: Artifact) -> Artifact:
    ARTIFACTS[artifact.name] = artifact
    return artifact


def sha256_file(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def source_sha256(artifact: Artifact) -> str:
    """Hash of (relative path, bytes) of every source plus the build command."""
    h = hashlib.sha256()
    for path in sorted(artifact.sources):
        rel = path.relative_to(GUESTS).as_posix()
        data = path.read_bytes()
        h.update(f"{rel}\0{len(data)}\0".encode())
        h.update(data)
    h.update("\0".join(artifact.command).encode())
    return h.hexdigest()


def zig(*args: str, cwd: Path) -> str:
    """The ziglang wheel's zig (toolchain.zig: one-line ToolError on failure)."""
    return toolchain.zig(*args, cwd=cwd)


def zig_version() -> dict[str, str]:
    return toolchain.zig_version()


def zig_cc_build(sources: Sequence[str]) -> Callable[[Path], None]:
    def build(out: Path) -> None:
        zig("cc", *ZIG_FLAGS, "-o", str(out.resolve()), *sources, cwd=SRC)

    return build


DRIVER_PREVIEW1_SOURCES = ("driver.c", "nn_preview1.c")
register(
    Artifact(
        name="driver-preview1.wasm",
        sources=tuple(SRC / s for s in (*DRIVER_PREVIEW1_SOURCES, "nn.h")),
        command=("zig", "cc", *ZIG_FLAGS, *DRIVER_PREVIEW1_SOURCES),
        build=zig_cc_build(DRIVER_PREVIEW1_SOURCES),
        toolchain=zig_version,
    )
)


# Recipes kept in their own modules register themselves into this registry.
from workloads.guests import build_component  # noqa: E402

build_component.register_into(sys.modules[__name__])


def load_recipes() -> dict[str, Artifact]:
    """Register the artifacts of every `build_*.py` recipe beside this file."""
    for path in sorted(GUESTS.glob("build_*.py")):
        module = importlib.import_module(f"{__package__ or 'workloads.guests'}.{path.stem}")
        module.register_into(sys.modules[__name__])
    return ARTIFACTS


def read_manifest(out_dir: Path = PREBUILT) -> dict:
    path = out_dir / MANIFEST
    if not path.exists():
        return {"artifacts": {}}
    return json.loads(path.read_text())


def write_manifest(out_dir: Path, entries: dict[str, dict]) -> None:
    """Merge `entries` (artifact name -> entry) into out_dir/manifest.json."""
    manifest = read_manifest(out_dir)
    manifest.setdefault("artifacts", {}).update(entries)
    manifest["artifacts"] = dict(sorted(manifest["artifacts"].items()))
    text = json.dumps(manifest, indent=2, sort_keys=True) + "\n"
    (out_dir / MANIFEST).write_text(text)


def manifest_entry(artifact: Artifact, built: Path) -> dict:
    return {
        "sha256": sha256_file(built),
        "size": built.stat().st_size,
        "source_sha256": source_sha256(artifact),
        "sources": sorted(p.relative_to(GUESTS).as_posix() for p in artifact.sources),
        "command": list(artifact.command),
        "toolchain": artifact.toolchain(),
    }


def build(names: Sequence[str] | None = None, out_dir: Path = PREBUILT) -> dict[str, dict]:
    """Build the named artifacts (all by default) into out_dir; return their entries."""
    load_recipes()
    out_dir.mkdir(parents=True, exist_ok=True)
    entries = {}
    for name in names or list(ARTIFACTS):
        if name not in ARTIFACTS:
            raise SystemExit(f"build: unknown artifact {name!r} (have {sorted(ARTIFACTS)})")
        artifact = ARTIFACTS[name]
        target = out_dir / name
        tmp = target.with_suffix(target.suffix + ".tmp")
        artifact.build(tmp)
        os.replace(tmp, target)
        entries[name] = manifest_entry(artifact, target)
    write_manifest(out_dir, entries)
    return entries


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m workloads.guests.build")
    parser.add_argument("--out", type=Path, default=PREBUILT, help="output folder")
    parser.add_argument("--only", action="append", help="artifact name (repeatable)")
    args = parser.parse_args(argv)
    for name, entry in build(args.only, args.out).items():
        print(f"{name}: {entry['size']} bytes sha256 {entry['sha256']}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
