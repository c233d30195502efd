"""A run folder, loaded for reading: its frames and meta.json.

Every reader (report, compare, history, merge, export) starts here. A summary.csv
that is missing or older than the schema is recomputed from the samples; a run
killed before it wrote cells.csv reads back from plan.json and progress.jsonl.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from bench.analyze.builds import with_builds
from bench.analyze.meta_check import check_meta
from bench.analyze.summarize import summarize
from bench.results.checksums import verify
from bench.results.progress import cell_row, read_progress, replay
from bench.results.run_plan import Plan, TargetCI
from bench.results.schema import CELL_COLUMNS, PHASE_MEDIAN_COLUMNS, STAT_COLUMNS
from bench.results.store import RunFolderError, read_csv, read_samples
from contracts.cells import KEY_COLUMNS, Cell
from contracts.paths import confined


@dataclass
class Run:
    """One run folder, loaded: the frames of bench.results.schema plus meta.json."""

    path: Path
    meta: dict[str, Any]
    samples: pd.DataFrame
    cells: pd.DataFrame
    summary: pd.DataFrame

    @property
    def run_id(self) -> str:
        return str(self.meta.get("run_id") or self.path.resolve().name)

    def folder_in(self, base: Path) -> Path:
        """base/<run-id>, refused unless it stays inside base (run_id comes from a file)."""
        try:
            return confined(base, self.run_id)
        except ValueError as e:
            raise RunFolderError(f"{self.path / 'meta.json'}: field 'run_id': {e}") from None

    @property
    def measure(self) -> str:
        return measure_of(self.meta)

    @property
    def fingerprint(self) -> str:
        return str((self.meta.get("machine") or {}).get("fingerprint", "unknown"))


def measure_of(meta: dict[str, Any]) -> str:
    """What a run's samples measure (`run --measure`): wall (the default, also for runs
    recorded before the choice existed), cpu or instructions."""
    config = meta.get("config") or {}
    return str(meta.get("measure") or config.get("measure") or "wall")


def load_run(run_dir: str | Path) -> Run:
    """The frames of a run folder (also one that was interrupted).

    Raises RunFolderError naming the path when it is not a readable run folder.
    A summary.csv that is missing or older than the schema is recomputed.
    """
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise RunFolderError(f"{run_dir}: no such run folder")
    meta_path = run_dir / "meta.json"
    if not meta_path.exists():
        raise RunFolderError(f"{run_dir}: not a run folder (no meta.json)")
    verify(meta_path)
    try:
        meta = json.loads(meta_path.read_text())
    except (OSError, ValueError) as e:  # ValueError: bad JSON or not UTF-8
        raise RunFolderError(f"{meta_path}: corrupt JSON: {e}") from None
    if not isinstance(meta, dict):
        raise RunFolderError(f"{meta_path}: not a JSON object")
    check_meta(meta, meta_path)
    try:
        samples = read_samples(run_dir)
    except (OSError, ValueError) as e:
        raise RunFolderError(f"{run_dir / 'samples.parquet'}: unreadable: {e}") from None
    missing = [c for c in KEY_COLUMNS + ["phase", "iteration", "ns"] if c not in samples]
    if missing:
        raise RunFolderError(f"{run_dir / 'samples.parquet'}: missing columns {', '.join(missing)}")
    cells = read_csv(run_dir / "cells.csv", CELL_COLUMNS)
    if cells.empty and (run_dir / "plan.json").exists():
        cells = _cells_from_plan(run_dir)  # killed before cells.csv: what the plan and progress say
    _check_samples_cover_cells(run_dir, samples, cells)
    summary = read_csv(run_dir / "summary.csv", [])
    stale = any(c not in summary for c in STAT_COLUMNS + PHASE_MEDIAN_COLUMNS)
    if stale or (summary.empty and not cells.empty):  # the statistics only: the rest is read
        target = TargetCI.of_meta(meta)
        summary = summarize(samples, cells, target_ci=target.pct if target else None)
        summary = with_builds(summary, samples, meta)
    return Run(run_dir, meta, samples, cells, summary)


def _check_samples_cover_cells(run_dir: Path, samples: pd.DataFrame, cells: pd.DataFrame) -> None:
    """A cell that finished rounds must have samples: without them summary.csv would
    show old numbers and compare/export would pass on nothing (a broken run)."""
    if cells.empty or "rounds" not in cells:
        return
    rounds = pd.to_numeric(cells["rounds"], errors="coerce").fillna(0)
    ran = {Cell.from_row(r) for _, r in cells[(cells["status"] == "ok") & (rounds > 0)].iterrows()}
    have = {Cell.from_row(r) for _, r in samples[KEY_COLUMNS].drop_duplicates().iterrows()}
    missing = sorted(c.key for c in ran - have)
    if not missing:
        return
    if samples.empty:
        raise RunFolderError(
            f"{run_dir}: broken run: samples.parquet (and parts/) missing or empty, but "
            f"{len(missing)} cell(s) finished rounds (e.g. {missing[0]})"
        )
    raise RunFolderError(
        f"{run_dir / 'samples.parquet'}: broken run: no samples for {len(missing)} cell(s) "
        f"that finished rounds: {', '.join(missing[:3])}{' ...' if len(missing) > 3 else ''}"
    )


def _cells_from_plan(run_dir: Path) -> pd.DataFrame:
    """cells.csv as far as plan.json and progress.jsonl tell it (a run killed with no
    chance to finish): each cell's state as `cell_row` reads it; agreement is unknown
    until `run --resume` finishes the run."""
    plan = Plan.read(run_dir)
    states, _ = replay(plan, read_progress(run_dir))
    rows = [cell_row(s, plan.offline_k) for s in states]
    return pd.DataFrame(rows).reindex(columns=CELL_COLUMNS)


def same_measure(runs: list[Run]) -> str:
    """The measure all `runs` share; RunFolderError listing them when they differ
    (a ratio of wall time to instructions means nothing)."""
    measures = {r.measure for r in runs}
    if len(measures) > 1:
        listing = ", ".join(f"{r.path}: {r.measure}" for r in runs)
        raise RunFolderError(
            f"runs measured different quantities ({listing}); compare like with like"
        )
    return measures.pop() if measures else "wall"


def run_folders(paths: list[str | Path], command: str) -> list[Path]:
    """The run folders among `paths`, so that `history results/*` works: a path that
    exists but is no run folder (a README, a folder of fixtures) is skipped with a note;
    a path that does not exist is an error."""
    folders = []
    for p in map(Path, paths):
        if not p.exists():
            raise RunFolderError(f"{p}: no such run folder")
        if p.is_dir() and (p / "meta.json").exists():
            folders.append(p)
        else:
            print(f"wasinn-bench {command}: skipping {p}: not a run folder", file=sys.stderr)
    if not folders:
        raise RunFolderError(f"no run folder among {', '.join(map(str, paths))}")
    return folders


def check_output(out: Path, runs: list[Run], flag: str) -> None:
    """Refuse an output file inside a run folder being read (it would overwrite or add
    to the run: `export -o RUN/samples.parquet`), or one that is a folder."""
    if out.is_dir():
        raise RunFolderError(f"{flag} {out}: is a folder; name the file to write")
    target = out.resolve()
    for run in runs:
        if target.is_relative_to(run.path.resolve()):
            raise RunFolderError(
                f"{flag} {out}: inside the run folder {run.path} that this command reads; "
                "write it elsewhere"
            )
