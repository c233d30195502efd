"""SYNTHETIC run folders for tests: syntactically correct, numbers drawn from known
distributions (not measurements). Recorded real runs live in results/fixtures/."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from bench.analyze.summarize import summarize
from bench.results.schema import CELL_COLUMNS, SAMPLE_COLUMNS, SCHEMA_VERSION
from contracts.cells import Cell

MACHINE = "synthetic000"


def make_run(
    out: Path,
    cells: dict[tuple[str, str, str, str, str], float | str],
    rounds: int = 3,
    iterations: int = 30,
    cv: float = 0.02,
    seed: int = 0,
    run_id: str | None = None,
    created: str = "2026-11-25T12:00:00+00:00",
    git_sha: str = "0" * 40,
    machine: str = MACHINE,
    extra_meta: dict | None = None,
) -> Path:
    """Write a run folder. `cells` maps a cell key (workload, variant, host, backend,
    device) to its median latency in ms, or to "failed: ..." / "unsupported: ..." /
    "skipped: ..." for a cell without samples."""
    rng = np.random.default_rng(seed)
    out.mkdir(parents=True, exist_ok=True)
    run_id = run_id or out.name
    sample_rows: list[dict] = []
    cell_rows: list[dict] = []
    for key, spec in cells.items():
        workload, variant, host, backend, device = key
        base = dict(zip(("workload", "variant", "host", "backend", "device"), key, strict=True))
        status, reason = "ok", ""
        if isinstance(spec, str):
            status, reason = spec.split(":", 1)[0], spec.split(":", 1)[1].strip()
        cell_rows.append(
            {
                **base,
                "model": f"{workload}.onnx",
                "status": status,
                "reason": reason,
                "rounds": rounds if status == "ok" else 0,
                "agrees": status == "ok",
                "max_abs_diff": 0.0 if status == "ok" else np.nan,
                "peak_rss_mb": 100.0,
                "load_mode": "" if variant == "native" else "bytes",
                "model_sha256": "ab" * 32,
                "opset": 17,
                "machine": machine,
                "properties": "{}",
            }
        )
        if status != "ok":
            continue
        p50_ns = float(spec) * 1e6
        for r in range(rounds):
            for phase, ns in (("compile", 5e6), ("instantiate", 1e6), ("load", 2e6)):
                sample_rows.append(
                    {**base, "round": r, "iteration": -1, "phase": phase, "ns": int(ns)}
                )
            total = p50_ns * rng.lognormal(0.0, cv, size=iterations)
            parts = {"set_input": 0.1, "compute": 0.8, "get_output": 0.1}
            for i, t in enumerate(total):
                for phase, share in parts.items():
                    sample_rows.append(
                        {**base, "round": r, "iteration": i, "phase": phase, "ns": int(t * share)}
                    )
                sample_rows.append(
                    {**base, "round": r, "iteration": i, "phase": "total", "ns": int(t)}
                )
                if host == "wasmtime-py":  # host work inside the host calls (half of each phase)
                    for phase, share in parts.items():
                        sample_rows.append({**base, "round": r, "iteration": i,
                                            "phase": f"host_{phase}", "ns": int(t * share / 2)})  # fmt: skip
    samples = pd.DataFrame(sample_rows, columns=SAMPLE_COLUMNS)
    samples["run_id"] = run_id
    samples["machine"] = machine
    samples = samples.astype({"round": "int64", "iteration": "int64", "ns": "int64"})
    cells_df = pd.DataFrame(cell_rows, columns=CELL_COLUMNS)
    samples.to_parquet(out / "samples.parquet", index=False)
    cells_df.to_csv(out / "cells.csv", index=False)
    summarize(samples, cells_df, n_boot=200).to_csv(out / "summary.csv", index=False)
    meta = {
        "schema_version": SCHEMA_VERSION,
        "run_id": run_id,
        "created": created,
        "git_sha": git_sha,
        "synthetic": True,
        "machine": {
            "fingerprint": machine,
            "cpu": "Synthetic CPU",
            "cores": 2,
            "os": "Linux",
            "python": "3.11",
        },
        "packages": {"onnxruntime": "1.32.0"},
        "models": {},
        "backends": {},
        "config": {"rounds": rounds, "iterations": iterations},
        **(extra_meta or {}),
    }
    (out / "meta.json").write_text(json.dumps(meta, indent=2))
    return out


def basic_cells(scale: float = 1.0) -> dict:
    """A small matrix: two workloads, onnx+openvino, all variants, a failure."""
    c: dict = {}
    for w, ms in (("mlp-tiny", 0.2), ("squeezenet", 3.0)):
        for b in ("onnx", "openvino"):
            c[(w, "native", "native", b, "cpu")] = ms * scale
            c[(w, "preview1", "wasmtime-py", b, "cpu")] = ms * 1.5 * scale
            c[(w, "adapted", "wasmtime-py", b, "cpu")] = ms * 1.52 * scale
            c[(w, "component", "wasmtime-py", b, "cpu")] = ms * 1.3 * scale
    c[("mlp-tiny", "preview1", "wasmtime-cli", "onnx", "cpu")] = "unsupported: invalid-encoding"
    c[("mlp-tiny", "preview1", "wasmtime-cli", "openvino", "cpu")] = 0.22 * scale
    c[("squeezenet", "component", "wasmtime-cli", "openvino", "cpu")] = "failed: trap: oops"
    return c


# A run with both baselines (host native and native-c) and two wasm cells; the p50 of
# each cell in ms, for make_run.
TWO_BASELINES = "mlp-tiny"
NATIVE = (TWO_BASELINES, "native", "native", "onnx", "cpu")
NATIVE_C = (TWO_BASELINES, "native", "native-c", "onnx", "cpu")
P1 = (TWO_BASELINES, "preview1", "wasmtime-py", "onnx", "cpu")
COMP = (TWO_BASELINES, "component", "wasmtime-py", "onnx", "cpu")


def two_baseline_cells(c_ms: float = 0.8) -> dict:
    """{cell: p50 ms}: native 1.0, native-c `c_ms`, preview1 2.0, component 1.6."""
    return {NATIVE: 1.0, NATIVE_C: c_ms, P1: 2.0, COMP: 1.6}


def summary_of(run: Path, target: float | None = None) -> pd.DataFrame:
    """summary.csv recomputed from a run folder (fewer resamples: tests)."""
    samples = pd.read_parquet(run / "samples.parquet")
    cells = pd.read_csv(run / "cells.csv", keep_default_na=False, na_values=[""])
    return summarize(samples, cells, n_boot=300, target_ci=target)


def row_of(s: pd.DataFrame, key: tuple[str, ...]) -> pd.Series:
    return s[[Cell.from_row(r) == Cell(*key) for _, r in s.iterrows()]].iloc[0]


def cell_mask(frame: pd.DataFrame, key: tuple[str, ...]) -> pd.Series:
    """The rows of a result frame (samples, cells, summary) that belong to cell `key`."""
    cols = ["workload", "variant", "host", "backend", "device"]
    return np.logical_and.reduce([frame[c] == v for c, v in zip(cols, key, strict=True)])
