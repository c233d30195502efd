"""The committed guest binaries match their sources and rebuild to the same bytes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from contracts.digests import file_sha256
from workloads.guests import build, recipe

ARTIFACTS = build.ARTIFACTS
MANIFEST = build.read_manifest()["artifacts"]


@pytest.mark.parametrize("name", sorted(ARTIFACTS))
def test_sources_match_manifest(name: str) -> None:
    assert name in MANIFEST, f"{name} is not in prebuilt/manifest.json: run nox -s guests"
    recorded = MANIFEST[name]["source_sha256"]
    assert recipe.source_sha256(ARTIFACTS[name]) == recorded, (
        f"the sources of {name} changed since it was built: run nox -s guests and commit"
    )


@pytest.mark.parametrize("name", sorted(MANIFEST))
def test_prebuilt_matches_manifest(name: str) -> None:
    path = build.PREBUILT / name
    assert path.is_file(), f"{path} is missing"
    assert file_sha256(path) == MANIFEST[name]["sha256"]
    assert path.stat().st_size == MANIFEST[name]["size"]


def test_rebuild_gives_the_same_bytes(tmp_path: Path) -> None:
    name = "driver-preview1.wasm"
    entry = build.build([name], tmp_path)[name]
    assert (tmp_path / name).read_bytes() == (build.PREBUILT / name).read_bytes()
    assert entry["toolchain"] == MANIFEST[name]["toolchain"]


def test_manifest_entries_merge(tmp_path: Path) -> None:
    build.write_manifest(tmp_path, {"a.wasm": {"sha256": "1"}})
    build.write_manifest(tmp_path, {"b.wasm": {"sha256": "2"}})
    build.write_manifest(tmp_path, {"a.wasm": {"sha256": "3"}})
    data = json.loads((tmp_path / build.MANIFEST).read_text())
    assert data["artifacts"] == {"a.wasm": {"sha256": "3"}, "b.wasm": {"sha256": "2"}}
