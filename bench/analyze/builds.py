"""Builds side by side (docs/engines.md): with two or more `--engine` builds in one run,
each cell of a build against the same cell (workload, variant, backend, device) of the
base build, which ran interleaved with it round by round.

The ratio is the median of `total` over the base's, with the paired two-level
bootstrap CI over rounds (stats.round_ratio: the rounds both ran in are drawn
together, so drift they shared cancels); the verdict is compare's rule
(stats.decide: ×1.10 and significant over rounds), so a build A/B reads like
`wasinn-bench compare` of two runs, measured better.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd

from bench.analyze import stats
from bench.analyze.summarize import phase_rounds
from contracts.cells import Cell
from contracts.hosts import NO_PREVIEW1_NN, parse_host
from contracts.phases import TOTAL

FACTOR = 1.10  # compare's default threshold (bench/cli/compare.py --threshold)
COLUMNS = [
    "workload", "variant", "host", "backend", "device", "base", "base_p50_ms", "p50_ms",
    "ratio", "ratio_low", "ratio_high", "p", "rounds", "verdict", "rule",
]  # fmt: skip


def is_engine(host: str) -> bool:
    """A host run from a build the user pointed at (`NAME[ID]`, `--engine`)."""
    return parse_host(host).instance is not None


def engine_base(meta: dict[str, object], hosts: list[str]) -> str | None:
    """The build the others are compared with: meta.json `engine_base`, else (a run of
    an older harness) the first engine host; None with fewer than two engines."""
    engines = [h for h in dict.fromkeys(hosts) if is_engine(h)]
    if len(engines) < 2:
        return None
    base = meta.get("engine_base")
    return base if isinstance(base, str) and base in engines else engines[0]


def compare_builds(samples: pd.DataFrame, base: str, factor: float = FACTOR) -> pd.DataFrame:
    """One row per cell of every other engine that has the base's same cell measured."""
    rounds = phase_rounds(samples, TOTAL)
    rows = []
    for cell, head in rounds.items():
        if cell.host == base or not is_engine(cell.host) or not head:
            continue
        ref = rounds.get(replace(cell, host=base))
        if not ref:
            continue
        rows.append(_row(cell, head, ref, base, factor))
    return pd.DataFrame(rows, columns=COLUMNS)


def _row(
    cell: Cell, head: stats.Rounds, ref: stats.Rounds, base: str, factor: float
) -> dict[str, object]:
    ratio = stats.round_ratio(head, ref, paired=True, seed=stats.seed_for(*cell))
    h, b = stats.round_medians(head), stats.round_medians(ref)
    p = stats.mann_whitney_p(h, b)
    verdict, rule = stats.decide(ratio, p, b.size, h.size, factor)
    return {
        "workload": cell.workload, "variant": cell.variant, "host": cell.host,
        "backend": cell.backend, "device": cell.device, "base": base,
        "base_p50_ms": float(np.median(np.concatenate(list(ref.values())))),
        "p50_ms": float(np.median(np.concatenate(list(head.values())))),
        "ratio": ratio.value, "ratio_low": ratio.low, "ratio_high": ratio.high, "p": p,
        "rounds": int(min(h.size, b.size)), "verdict": verdict, "rule": rule,
    }  # fmt: skip


def summary_columns(summary: pd.DataFrame, builds: pd.DataFrame) -> pd.DataFrame:
    """summary.csv's vs_engine_base columns (bench/results/schema.py: BUILD_COLUMNS)."""
    out = summary.copy()
    keys = ["workload", "variant", "host", "backend", "device"]
    picked = builds[[*keys, "ratio", "ratio_low", "ratio_high", "verdict"]].rename(
        columns={
            "ratio": "vs_engine_base",
            "ratio_low": "vs_engine_base_low",
            "ratio_high": "vs_engine_base_high",
            "verdict": "engine_verdict",
        }
    )
    out = out.drop(columns=[c for c in picked.columns if c not in keys and c in out.columns])
    return out.merge(picked, on=keys, how="left")


def with_builds(
    summary: pd.DataFrame, samples: pd.DataFrame, meta: dict[str, object]
) -> pd.DataFrame:
    """The summary with its vs_engine_base columns filled where the run has builds."""
    base = engine_base(meta, [str(h) for h in summary.get("host", [])])
    if base is None:
        return summary
    return summary_columns(summary, compare_builds(samples, base))


def preview1_gone(cells: pd.DataFrame) -> pd.DataFrame:
    """Builds without preview1 wasi-nn whose adapted cell ran: (workload, host, backend,
    device) where the preview1 cell is unsupported for that reason and adapted is ok."""
    keys = ["workload", "host", "backend", "device"]
    if cells.empty:
        return pd.DataFrame(columns=keys)
    gone = cells[
        (cells["variant"] == "preview1")
        & (cells["status"] == "unsupported")
        & cells["reason"].astype(str).str.contains(NO_PREVIEW1_NN, regex=False)
    ]
    adapted = cells[(cells["variant"] == "adapted") & (cells["status"] == "ok")]
    return gone[keys].merge(adapted[keys], on=keys).drop_duplicates().reset_index(drop=True)
