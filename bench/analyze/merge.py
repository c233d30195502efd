"""`wasinn-bench merge RUN_DIR... --out DIR`: join shard runs into one run folder.

Shards come from `wasinn-bench run --shard i/n` (each holds whole
(workload, backend, device) groups, native baselines included). The merged folder
is an ordinary run folder: samples and cells concatenated with every column they
have (each row keeps the fingerprint of the machine that measured it), summary.csv
recomputed (with the shards' --target-ci), meta.json from the shards with
`merged_from` listing them and each one's stop. Shards must not share a cell and
must come from the same code (git sha) and schema version.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd

from bench.analyze.runs import Run, load_run
from bench.analyze.summarize import summarize
from bench.results.run_plan import TargetCI
from bench.results.schema import CELL_COLUMNS, SAMPLE_COLUMNS
from bench.results.store import write_frame_csv, write_frame_parquet, write_json
from contracts.cells import Cell
from contracts.errors import UserError


class MergeError(UserError):
    """Shards that cannot be joined; the message names the folders and the cell."""


def _with_machine(frame: pd.DataFrame, fingerprint: str) -> pd.DataFrame:
    frame = frame.copy()
    if "machine" not in frame:
        frame["machine"] = fingerprint
    frame["machine"] = frame["machine"].fillna("").astype(str).replace("", fingerprint)
    return frame


def check_shards(runs: list[Run], allow_mixed_sha: bool = False) -> list[str]:
    """Raise MergeError on shards that cannot be joined; return warnings."""
    warnings: list[str] = []
    if len(runs) < 2:
        raise MergeError("merge needs at least two run folders")
    seen: dict[tuple[str, ...], Path] = {}
    for run in runs:
        for _, row in run.cells.iterrows():
            key = Cell.from_row(row)
            if key in seen:
                raise MergeError(
                    f"cell {key.key} is in both {seen[key]} and {run.path}: "
                    "merge joins disjoint shards (made with `run --shard i/n`)"
                )
            seen[key] = run.path
    for field in ("schema_version", "git_sha"):
        values = {str(r.meta.get(field)) for r in runs}
        if len(values) > 1:
            listing = ", ".join(f"{r.path}: {r.meta.get(field)}" for r in runs)
            message = f"shards differ in {field} ({listing})"
            if field == "git_sha" and allow_mixed_sha:
                warnings.append(message)
                continue
            hint = " (--allow-mixed-sha to merge anyway)" if field == "git_sha" else ""
            raise MergeError(f"{message}; merge only shards of one run{hint}")
    shards = [r.meta.get("shard") for r in runs]
    if all(shards):
        parsed = [tuple(int(x) for x in str(s).split("/")) for s in shards]
        counts = {n for _, n in parsed}
        if len(counts) > 1:
            raise MergeError(f"shards of different splits: {', '.join(map(str, shards))}")
        indices = [i for i, _ in parsed]
        dupes = {i for i in indices if indices.count(i) > 1}
        if dupes:
            raise MergeError(f"shard {min(dupes)}/{counts.pop()} given twice")
        missing = sorted(set(range(1, parsed[0][1] + 1)) - set(indices))
        if missing:
            n = parsed[0][1]
            warnings.append(f"shards {', '.join(f'{i}/{n}' for i in missing)} not given")
    else:
        warnings.append("some folders are not shards (no meta 'shard'); merging their cells")
    return warnings


def merged_meta(runs: list[Run], run_id: str) -> dict:
    first = runs[0].meta
    meta = dict(first)
    shas = list(dict.fromkeys(str(r.meta.get("git_sha", "")) for r in runs))
    created = sorted(str(r.meta.get("created", "")) for r in runs)
    finished = sorted(str(r.meta.get("finished") or "") for r in runs)
    machines = {r.fingerprint: r.meta.get("machine") or {} for r in runs}
    meta.update(
        run_id=run_id,
        created=created[0],
        finished=finished[-1] or None,
        interrupted=any(bool(r.meta.get("interrupted")) for r in runs),
        shard=None,
        git_sha=shas[0] if len(shas) == 1 else "mixed:" + ",".join(shas),
        merged_from=[
            {
                "path": str(r.path),
                "run_id": r.run_id,
                "shard": r.meta.get("shard"),
                "created": r.meta.get("created"),
                "machine": r.fingerprint,
                "interrupted": r.meta.get("interrupted"),
                "stop": r.meta.get("stop"),  # why its added rounds stopped (--target-ci)
            }
            for r in runs
        ],  # fmt: skip
    )
    if len(machines) > 1:
        # per-cell fingerprints live in cells.csv / samples.parquet; here the set of them
        meta["machine"] = {"fingerprint": "mixed", "machines": machines}
    for field in ("models", "backends", "workloads", "runtimes"):  # shards: each its own CLIs
        union: dict = {}
        for r in runs:
            union.update(r.meta.get(field) or {})
        meta[field] = union
    return meta


def _first(frame: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    """The schema's columns first, then every other column the shards have (none dropped)."""
    return frame.reindex(columns=columns + [c for c in frame.columns if c not in columns])


def _target(runs: list[Run]) -> float | None:
    """The shards' --target-ci (shards of one run share it); None when they differ."""
    targets = {t.pct if (t := TargetCI.of_meta(r.meta)) else None for r in runs}
    return targets.pop() if len(targets) == 1 else None


def merge_runs(run_dirs: list[str | Path], out: str | Path, allow_mixed_sha: bool = False) -> Path:
    """Validate every shard first, then write the merged folder (nothing half-written)."""
    out = Path(out)
    if out.exists() and any(out.iterdir()):
        raise MergeError(f"{out}: output folder exists and is not empty")
    runs = [load_run(p) for p in run_dirs]
    for w in check_shards(runs, allow_mixed_sha):
        print(f"wasinn-bench merge: warning: {w}", file=sys.stderr)
    samples = pd.concat([_with_machine(r.samples, r.fingerprint) for r in runs], ignore_index=True)
    samples["run_id"] = out.name
    cells = pd.concat([_with_machine(r.cells, r.fingerprint) for r in runs], ignore_index=True)
    summary = summarize(_first(samples, SAMPLE_COLUMNS), _first(cells, CELL_COLUMNS),
                        target_ci=_target(runs))  # fmt: skip
    out.mkdir(parents=True, exist_ok=True)
    write_frame_parquet(out / "samples.parquet", _first(samples, SAMPLE_COLUMNS))
    write_frame_csv(out / "cells.csv", _first(cells, CELL_COLUMNS))
    write_frame_csv(out / "summary.csv", summary)
    write_json(out / "meta.json", merged_meta(runs, out.name))
    return out
