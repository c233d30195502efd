"""What a run is made of, by hash: recorded in plan.json at the start, checked by
`--resume` so that a resumed run never mixes two models, two input sets, two
guests or two tool versions (it refuses and names what changed).

`sources` are read before anything is prepared (so a refusal leaves the run folder
untouched); `products` (the prepared model and the generated inputs) after.
"""

from __future__ import annotations

from pathlib import Path

from bench.measure.meta import package_versions
from bench.measure.workload_kind import PreparedWorkload
from contracts import paths
from contracts.digests import file_sha256
from workloads.spec.workload import Workload


def sources(workloads: list[Workload]) -> dict[str, str]:
    """The files and tools a run is built from: workload TOMLs, user models, input
    files, guests (a workload's own and the prebuilt drivers), package versions."""
    found: dict[str, str] = {}
    for w in workloads:
        found[f"workload file {w.path.resolve()}"] = file_sha256(w.path)
        if w.model_path:
            found[f"model file {w.model_path}"] = file_sha256(w.model_path)
        for spec in w.inputs:
            if spec.file:
                found[f"input file {spec.file}"] = file_sha256(spec.file)
        guests = {v: w.guests.get(v, paths.PREBUILT / f"driver-{v}.wasm") for v in w.variants}
        for wasm in guests.values():
            if Path(wasm).is_file():  # "native" and unbuilt drivers have none
                found[f"guest {wasm}"] = file_sha256(wasm)
    found |= {f"package {name}": v for name, v in package_versions().items()}
    return found


def products(prepared: dict[str, PreparedWorkload]) -> dict[str, str]:
    """What each workload's kind prepared (a model and its generated inputs...), by hash."""
    found: dict[str, str] = {}
    for p in prepared.values():
        found |= p.identity()
    return found


def changes(recorded: dict[str, str], now: dict[str, str]) -> list[str]:
    """What differs, one phrase each (only keys `now` knows how to compute)."""
    out = []
    for key in sorted(set(recorded) | set(now)):
        before, after = recorded.get(key), now.get(key)
        if before == after:
            continue
        if before is None:
            out.append(f"{key} is new")
        elif after is None:
            out.append(f"{key} is gone")
        else:
            out.append(f"{key} changed ({before[:12]} -> {after[:12]})")
    return out
