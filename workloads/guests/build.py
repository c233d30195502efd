"""Reproducible build of the guest modules into `workloads/guests/prebuilt/`.

    python -m workloads.guests.build            # build every artifact, update manifest.json
    python -m workloads.guests.build --out DIR  # build into DIR (manifest there too)
    python -m workloads.guests.build --only driver-preview1.wasm

Each artifact is a `recipe.Artifact` declared in a `build_<what>.py` beside this
file; `RECIPES` lists those modules once, in build order (an artifact made from
another comes after it). `write_manifest` merges entries by artifact name.
"""

from __future__ import annotations

import argparse
import json
import os
from collections.abc import Sequence
from pathlib import Path

from contracts import paths
from contracts.digests import file_sha256
from workloads.guests import build_adapter, build_bench, build_component, build_driver
from workloads.guests.recipe import Artifact, source_sha256

PREBUILT = paths.PREBUILT
MANIFEST = "manifest.json"
RECIPES = (build_driver, build_component, build_adapter, build_bench)
ARTIFACTS: dict[str, Artifact] = {a.name: a for r in RECIPES for a in r.ARTIFACTS}


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
        "sha256": file_sha256(built),
        "size": built.stat().st_size,
        "source_sha256": source_sha256(artifact),
        "sources": sorted(p.relative_to(paths.GUESTS).as_posix() for p in artifact.sources),
        "command": list(artifact.command),
        "toolchain": artifact.toolchain(),
    }


def build(names: Sequence[str] | None = None, out_dir: Path = PREBUILT) -> dict[str, dict]:
    """Build the named artifacts (all by default) into out_dir; return their entries."""
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
