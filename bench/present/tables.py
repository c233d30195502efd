"""What `run` prints when it ends: a compact summary that fits 100 columns (a CI log
wraps nothing), or the same as JSON for machines (`--format json`)."""

from __future__ import annotations

import math
import os
import sys
from typing import Any

import pandas as pd
from rich.console import Console

from bench.analyze.headline import MEASURE_UNITS
from bench.analyze.outcome import Outcome
from bench.analyze.outcome import outcome as run_outcome
from bench.analyze.summarize import program_rows
from bench.results.schema import NOISE_CV
from contracts.cells import Cell

WIDTH = 100  # columns the summary fits
_NUMBERS = 58  # columns of a summary line after the cell name


def plain_console(**options: object) -> Console:
    """A rich console that never reads markup: names, reasons and paths come from guests,
    workload files, run folders and the command line, and `[/x]` in any of them would
    otherwise raise MarkupError (or restyle the text). Style with `style=`, not markup."""
    return Console(markup=False, **options)  # type: ignore[arg-type]


def stdout_console() -> Console:
    # Logs (CI, nox) are not terminals: rich would wrap the table at 80 columns.
    if sys.stdout.isatty():
        return plain_console()
    return plain_console(width=int(os.environ.get("COLUMNS", 200)))


def width() -> int:
    """The summary's width: WIDTH, or $COLUMNS where it is set (a wide terminal)."""
    try:
        return max(WIDTH, int(os.environ.get("COLUMNS", WIDTH)))
    except ValueError:
        return WIDTH


def num(value: object, sig: int = 3) -> str:
    """`sig` significant digits in fixed notation (never 1.8e+02); '-' when missing."""
    try:
        v = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return "-"
    if not math.isfinite(v):
        return "-"
    if v == 0:
        return "0"
    digits = max(0, sig - 1 - math.floor(math.log10(abs(v))))
    return f"{v:.{digits}f}"


def fmt(value: object, digits: int = 3) -> str:
    """A value for a console cell: numbers as num(), anything else as text."""
    return num(value, digits) if isinstance(value, float) else str(value)


def _clip(text: str, width: int) -> str:
    """`text` in at most `width` columns, cut in the middle (both ends say most)."""
    if len(text) <= width:
        return text
    half = (width - 1) // 2
    return text[:half] + "…" + text[len(text) - (width - 1 - half) :]


def _name(key: Cell) -> str:
    """A cell as the summary names it: its key, without the device when that is the cpu."""
    return key.key.removesuffix("/cpu")


def _truthy(value: object) -> bool:
    # summary.csv read back gives "True"/"False" strings; a fresh frame gives bools
    return str(value).strip().lower() in ("true", "1", "1.0")


def summary_lines(
    summary: pd.DataFrame, result: Outcome | None = None, measure: str = "wall"
) -> list[str]:
    """The run's cells in at most WIDTH columns: one line per measured cell, then one
    line per cell that did not run (status: reason), then the counts."""
    outcome = result or run_outcome(summary)
    cols = width()
    unit = MEASURE_UNITS.get(measure, measure)
    ok = summary[summary["status"].astype(str) == "ok"]
    names = {i: _name(Cell.from_row(r)) for i, r in ok.iterrows()}
    name_w = min(max([len(n) for n in names.values()] + [4]), cols - _NUMBERS)
    head = f"{'cell':<{name_w}}  {'p50 ' + unit:>9}  {'95% CI':<17}  ×native  ×native-c  CI±%"
    noisy = set(outcome.noisy)
    missed = set(outcome.target_missed)
    programs = program_rows(ok)
    lines = [] if len(ok) and programs.all() else [head]
    # program workloads last, under their own head: their time is a bench region or a
    # run, and their ratio is against preview1 on the same host (no native twin)
    for at, (i, r) in enumerate(pd.concat([ok[~programs], ok[programs]]).iterrows()):
        if at == (~programs).sum() and programs.any():
            lines += ['program workloads: p50 per bench region (per run where timing = "process"),',
                      "×preview1 against the preview1 cell of the same host, backend and device:",
                      f"{'cell':<{name_w}}  {'p50 ' + unit:>9}  {'95% CI':<17}  ×preview1"]  # fmt: skip
        key = Cell.from_row(r)
        ci = f"[{num(r.get('p50_ci_low_ms'))}, {num(r.get('p50_ci_high_ms'))}]"
        marks = ("!" if key in noisy else "") + ("✗" if key in missed else "")
        lines.append(
            f"{_clip(names[i], name_w):<{name_w}}  {num(r.get('p50_ms')):>9}  {ci:<17}  "
            f"{num(r.get('overhead_vs_native')):>7}  {num(r.get('overhead_vs_native_c')):>9}  "
            f"{num(r.get('headline_ci_pct'), 2):>4} {marks}".rstrip()
        )
    for _, r in summary[summary["status"].astype(str) != "ok"].iterrows():
        reason = " ".join(str(r.get("reason") or "").split())  # one line
        head = f"{r['status']:<11} {_name(Cell.from_row(r))}: "
        lines.append(head + _clip(reason, max(cols - len(head), 10)))
    counts = ", ".join(f"{n} {s}" for s, n in outcome.counts.items())
    lines.append(f"{outcome.cells} cells: {counts}")
    if outcome.noisy:
        lines.append(
            f"{len(outcome.noisy)} of {len(ok)} measured cells noisy (CV > {NOISE_CV:.0%}, "
            "marked !): differences within their CI are not findings"
        )
    if outcome.target_missed:
        lines.append(f"{len(outcome.target_missed)} wasm cell(s) short of --target-ci (✗)")
    return [_clip(line, cols) for line in lines]


def print_summary(
    summary: pd.DataFrame, result: Outcome | None = None, measure: str = "wall"
) -> None:
    """summary_lines on stdout, as they are (no markup is read: names and reasons come
    from guests and run folders)."""
    for line in summary_lines(summary, result, measure):
        print(line)


def _json_value(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if hasattr(value, "item"):  # numpy scalars
        return _json_value(value.item())
    return value


JSON_COLUMNS = (
    "status", "reason", "rounds", "n", "p50_ms", "p50_ci_low_ms", "p50_ci_high_ms", "cv",
    "cv_robust", "overhead_vs_native", "overhead_ci_low", "overhead_ci_high",
    "overhead_vs_native_c", "overhead_c_ci_low", "overhead_c_ci_high", "headline_vs",
    "headline_ci_pct", "target_ci_met", "binding_bound", "agrees",
)  # fmt: skip


def run_json(
    run_dir: str, summary: pd.DataFrame, outcome: Outcome, code: int, measure: str = "wall"
) -> dict[str, Any]:
    """`run --format json`: the run folder, exit code and why, counts, and per cell its
    key and summary statistics (NaN as null; the columns of docs/results.md)."""
    cells = []
    for _, r in summary.iterrows():
        entry = Cell.from_row(r).to_dict()
        for col in JSON_COLUMNS:
            if col in r:
                value = r[col]
                if col in ("target_ci_met", "binding_bound", "agrees") and not pd.isna(value):
                    value = _truthy(value)
                entry[col] = None if pd.isna(value) else _json_value(value)
        cells.append(entry)
    return {
        "run_dir": run_dir,
        "exit_code": code,
        "exit_reason": outcome.why(code),
        "measure": measure,
        "counts": outcome.counts,
        "noisy": [k.key for k in outcome.noisy],
        "failed": [k.key for k in outcome.failed],
        "target_missed": [k.key for k in outcome.target_missed],
        "cells": cells,
    }


def builds_lines(base: str, build_rows: pd.DataFrame) -> list[str]:
    """Builds side by side (bench/analyze/builds.py) in at most width() columns: one line
    per compared cell, its ratio to the base build's same cell and compare's verdict."""
    from bench.analyze import stats

    lines = [
        f"builds vs {base} (same run, interleaved; median total ratio [95% CI]; compare's rule)"
    ]
    for _, r in build_rows.iterrows():
        key = f"{r['workload']}/{r['variant']}/{r['host']}/{r['backend']}/{r['device']}"
        ratio = stats.Ratio(r["ratio"], r["ratio_low"], r["ratio_high"]).pct()
        lines.append(f"{key}  {ratio}  {r['verdict']}")
    return [_clip(line, width()) for line in lines]


def print_builds(base: str, build_rows: pd.DataFrame) -> None:
    if not build_rows.empty:
        for line in builds_lines(base, build_rows):
            print(line)
