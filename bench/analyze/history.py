"""History: a trend per cell over runs ordered by their `created` time (with git sha),
kept apart per machine fingerprint (numbers from different machines never share a
line), with the steps that bench.analyze.steps finds."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from bench.analyze.runs import Run, load_run, run_folders
from bench.analyze.steps import detect_steps
from bench.analyze.summarize import baseline_of, phase_ms
from bench.results.store import RunFolderError
from contracts.cells import Cell


def metric_samples(run: Run, metric: str) -> dict[Cell, np.ndarray]:
    totals = phase_ms(run.samples, "total")
    if metric == "p50":
        return totals
    out = {}
    for key, x in totals.items():
        base = baseline_of(key, set(totals))  # a program's cells: its preview1 cell
        native = totals.get(base)
        if key != base and native is not None and native.size:
            out[key] = x / np.median(native)
    return out


def history_frame(runs: list[Run], metric: str = "p50", factor: float = 1.10) -> pd.DataFrame:
    """One row per (machine, cell, run): value (median), and the steps found."""
    runs = sorted(runs, key=lambda r: (str(r.meta.get("created", "")), r.run_id))
    rows = []
    series: dict[tuple[str, Cell], list[tuple[int, np.ndarray]]] = {}
    for i, run in enumerate(runs):
        machines = {
            Cell.from_row(r): str(r.get("machine") or "") or run.fingerprint
            for _, r in run.summary.iterrows()
        }
        for key, x in metric_samples(run, metric).items():
            series.setdefault((machines.get(key, run.fingerprint), key), []).append((i, x))
    for (machine, key), points in series.items():
        steps = {s.index: s for s in detect_steps([x for _, x in points], factor)}
        for j, (i, x) in enumerate(points):
            run = runs[i]
            step = steps.get(j)
            rows.append(
                {
                    "machine": machine,
                    **key.to_dict(),
                    "run_id": run.run_id,
                    "created": str(run.meta.get("created", "")),
                    "git_sha": str(run.meta.get("git_sha", "")),
                    "position": j,
                    "value": float(np.median(x)),
                    "n": int(x.size),
                    "step": step is not None,
                    "step_ratio": step.ratio if step else np.nan,
                    "step_p": step.p if step else np.nan,
                }
            )  # fmt: skip
    return pd.DataFrame(rows)


def load_history(
    run_dirs: list[str | Path], metric: str = "p50", factor: float = 1.10
) -> pd.DataFrame:
    """history_frame of the run folders among `run_dirs` (see run_folders)."""
    runs = [load_run(p) for p in run_folders(run_dirs, "history")]
    versions = {r.meta.get("schema_version") for r in runs}
    if len(versions) > 1:
        listing = ", ".join(f"{r.path}: {r.meta.get('schema_version')}" for r in runs)
        raise RunFolderError(f"runs have different schema_version ({listing})")
    return history_frame(runs, metric, factor)
