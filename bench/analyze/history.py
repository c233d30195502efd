"""History: a trend per cell over runs ordered by their `created` time (with git sha),
kept apart per machine fingerprint (numbers from different machines never share a
line), on compare's headline metric (overhead vs native by default), with the steps
that bench.analyze.steps finds (E-divisive, then compare's rule over rounds)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from bench.analyze import headline
from bench.analyze.runs import Run, load_run, run_folders, same_measure
from bench.analyze.steps import detect_steps
from bench.results.store import RunFolderError
from contracts.cells import Cell


def cell_machines(run: Run) -> dict[Cell, str]:
    """The machine each cell of a run ran on (an empty field: the run's fingerprint)."""
    return {
        Cell.from_row(r): str(r.get("machine") or "") or run.fingerprint
        for _, r in run.summary.iterrows()
    }


def history_frame(runs: list[Run], metric: str = "overhead", factor: float = 1.10) -> pd.DataFrame:
    """One row per (machine, cell, run): the headline value, its rounds, and the steps."""
    runs = sorted(runs, key=lambda r: (str(r.meta.get("created", "")), r.run_id))
    rows = []
    series: dict[tuple[str, Cell], list[tuple[int, headline.Measured]]] = {}
    for i, run in enumerate(runs):
        machines = cell_machines(run)
        for key, m in headline.measured(run, metric).items():
            series.setdefault((machines.get(key, run.fingerprint), key), []).append((i, m))
    for (machine, key), points in series.items():
        steps = {s.index: s for s in detect_steps([m for _, m in points], factor)}
        for j, (i, m) in enumerate(points):
            run = runs[i]
            step = steps.get(j)
            c = step.change if step else None
            rows.append(
                {
                    "machine": machine,
                    **key.to_dict(),
                    "run_id": run.run_id,
                    "created": str(run.meta.get("created", "")),
                    "git_sha": str(run.meta.get("git_sha", "")),
                    "measure": run.measure,
                    "position": j,
                    "value": m.value(),
                    "n": int(m.per_round().size),  # rounds
                    "step": step is not None,
                    "step_ratio": c.ratio.value if c else np.nan,
                    "step_ci_low": c.ratio.low if c else np.nan,
                    "step_ci_high": c.ratio.high if c else np.nan,
                    "step_p": c.p if c else np.nan,
                    "step_rounds": f"{c.n_base}+{c.n_head}" if c else "",
                    "step_rule": c.rule if c else "",
                }
            )  # fmt: skip
    return pd.DataFrame(rows)


def load_history(
    run_dirs: list[str | Path], metric: str = "overhead", factor: float = 1.10
) -> pd.DataFrame:
    """history_frame of the run folders among `run_dirs` (see run_folders)."""
    runs = [load_run(p) for p in run_folders(run_dirs, "history")]
    versions = {r.meta.get("schema_version") for r in runs}
    if len(versions) > 1:
        listing = ", ".join(f"{r.path}: {r.meta.get('schema_version')}" for r in runs)
        raise RunFolderError(f"runs have different schema_version ({listing})")
    same_measure(runs)
    return history_frame(runs, metric, factor)
