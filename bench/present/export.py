"""`wasinn-bench export RUN_DIR --format sightglass|pytest-benchmark [-o FILE]`

So that existing tools read our runs (mapping documented in docs/compare.md):

sightglass raw CSV, one row per sample:
  arch          meta.machine.arch
  engine        the host (native, wasmtime-py, wasmtime-cli)
  engine_flags  "variant=V backend=B device=D" (with engine: one sightglass configuration per cell)
  wasm          the workload name
  process       the round (each round runs in its own worker process)
  iteration     the iteration (0 for once-per-round phases)
  phase/event   compile -> Compilation/nanoseconds, instantiate -> Instantiation/nanoseconds,
                total -> Execution/nanoseconds; the finer phases stay apart as Execution
                events named "<phase>-nanoseconds" (load, init, set_input, compute, get_output)
  count         nanoseconds

pytest-benchmark JSON (`pytest-benchmark compare FILE` loads it): one benchmark per
measured cell, group = workload, name = "<workload>[variant-host-backend-device]",
stats in seconds from the per-iteration `total` phase (rounds = samples, iterations = 1),
raw samples in stats.data, our extra statistics in extra_info.
"""

from __future__ import annotations

import csv
import io

import numpy as np
import pandas as pd

from bench.analyze.runs import Run
from bench.analyze.summarize import phase_ms
from contracts.cells import KEY_COLUMNS, Cell

SIGHTGLASS_COLUMNS = [
    "arch", "engine", "engine_flags", "wasm", "process", "iteration", "phase", "event", "count",
]  # fmt: skip
SIGHTGLASS_PHASE = {
    "compile": ("Compilation", "nanoseconds"),
    "instantiate": ("Instantiation", "nanoseconds"),
    "total": ("Execution", "nanoseconds"),
    "load": ("Execution", "load-nanoseconds"),
    "init": ("Execution", "init-nanoseconds"),
    "set_input": ("Execution", "set_input-nanoseconds"),
    "compute": ("Execution", "compute-nanoseconds"),
    "get_output": ("Execution", "get_output-nanoseconds"),
}
PYTEST_BENCHMARK_FORMAT = "5.1.0"  # the pytest-benchmark JSON layout we write


def to_sightglass(run: Run) -> str:
    s = run.samples
    s = s[s["phase"].isin(list(SIGHTGLASS_PHASE))]
    mapped = s["phase"].map(SIGHTGLASS_PHASE)
    frame = pd.DataFrame(
        {
            "arch": str((run.meta.get("machine") or {}).get("arch", "unknown")),
            "engine": s["host"].astype(str),
            "engine_flags": "variant=" + s["variant"].astype(str) + " backend="
            + s["backend"].astype(str) + " device=" + s["device"].astype(str),
            "wasm": s["workload"].astype(str),
            "process": s["round"].astype("int64"),
            "iteration": s["iteration"].clip(lower=0).astype("int64"),
            "phase": [p for p, _ in mapped],
            "event": [e for _, e in mapped],
            "count": s["ns"].astype("int64"),
        }
    )  # fmt: skip
    buf = io.StringIO()
    frame.to_csv(buf, index=False, columns=SIGHTGLASS_COLUMNS, quoting=csv.QUOTE_MINIMAL)
    return buf.getvalue()


def _quartiles(x: np.ndarray) -> tuple[float, float]:
    q1, q3 = np.percentile(x, [25, 75])
    return float(q1), float(q3)


def _pb_stats(x: np.ndarray) -> dict:
    """pytest-benchmark's Stats fields for samples `x` in seconds."""
    q1, q3 = _quartiles(x)
    iqr = q3 - q1
    mean = float(x.mean())
    std = float(x.std(ddof=1)) if x.size > 1 else 0.0
    inside = x[(x >= q1 - 1.5 * iqr) & (x <= q3 + 1.5 * iqr)]
    iqr_out = int(x.size - inside.size)
    std_out = int(((x < mean - std) | (x > mean + std)).sum())
    total = float(x.sum())
    return {
        "min": float(x.min()), "max": float(x.max()), "mean": mean, "stddev": std,
        "rounds": int(x.size), "median": float(np.median(x)), "iqr": iqr, "q1": q1, "q3": q3,
        "iqr_outliers": iqr_out, "stddev_outliers": std_out, "outliers": f"{std_out};{iqr_out}",
        "ld15iqr": float(inside.min()), "hd15iqr": float(inside.max()),
        "ops": x.size / total if total else 0.0, "total": total, "iterations": 1,
        "data": x.tolist(),
    }  # fmt: skip


def _finite(v: object) -> object:
    if isinstance(v, float | np.floating):
        return float(v) if np.isfinite(v) else None
    if isinstance(v, np.integer):
        return int(v)
    return v


def to_pytest_benchmark(run: Run) -> dict:
    totals = phase_ms(run.samples, "total")
    summary = {Cell.from_row(r): r for _, r in run.summary.iterrows()}
    machine = run.meta.get("machine") or {}
    benchmarks = []
    for key, x_ms in totals.items():
        params = dict(zip(KEY_COLUMNS, key, strict=True))
        param = "-".join(tuple(key)[1:])
        name = f"{key.workload}[{param}]"
        row = summary.get(key)
        extra = {"run_id": run.run_id, "unit_source": "ns", **params}
        if row is not None:
            for col in ("status", "machine", "p50_ms", "p50_ci_low_ms", "p50_ci_high_ms", "cv",
                        "overhead_vs_native", "overhead_ci_low", "overhead_ci_high", "agrees"):  # fmt: skip
                if col in row:
                    extra[col] = _finite(row[col])
        benchmarks.append(
            {
                "group": key.workload,
                "name": name,
                "fullname": f"wasinn-bench::{name}",
                "params": {k: params[k] for k in ("variant", "host", "backend", "device")},
                "param": param,
                "extra_info": extra,
                "options": {
                    "disable_gc": False,
                    "timer": "monotonic clock (ns)",
                    "min_rounds": 1,
                    "max_time": 0.0,
                    "min_time": 0.0,
                    "warmup": True,
                },  # fmt: skip
                "stats": _pb_stats(x_ms / 1000.0),
            }
        )
    sha = str(run.meta.get("git_sha", ""))
    return {
        "machine_info": {
            "node": str(machine.get("hostname", "")),
            "processor": str(machine.get("cpu", "")),
            "machine": str(machine.get("arch", "")),
            "python_version": str(machine.get("python", "")),
            "system": str(machine.get("os", "")),
            "release": "",
            "cpu": {"brand_raw": str(machine.get("cpu", "")), "count": machine.get("cores")},
            "fingerprint": str(machine.get("fingerprint", "")),
        },
        "commit_info": {
            "id": sha.removesuffix("-dirty"),
            "dirty": sha.endswith("-dirty"),
            "project": "wasi-nn bench",
            "time": str(run.meta.get("created", "")),
        },
        "benchmarks": benchmarks,
        "datetime": str(run.meta.get("created", "")),
        "version": PYTEST_BENCHMARK_FORMAT,
    }
