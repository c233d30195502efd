"""bench/analyze/summarize.py: the two baselines' ratios and the headline, against
hand-computed values on synthetic runs."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from bench.analyze import stats
from bench.analyze.summarize import phase_rounds
from contracts.cells import Cell
from tests.synthetic_run import (
    COMP,
    NATIVE,
    NATIVE_C,
    P1,
    cell_mask,
    make_run,
    row_of,
    summary_of,
    two_baseline_cells,
)


def test_both_baselines_equal_hand_computed_ratios(tmp_path: Path) -> None:
    run = make_run(tmp_path / "run", two_baseline_cells(), rounds=4, iterations=40, cv=0.01)
    samples = pd.read_parquet(run / "samples.parquet")
    s = summary_of(run, target=50.0)
    for col in ("overhead_vs_native", "overhead_vs_native_c", "overhead_c_ci_low",
                "overhead_c_ci_high", "headline_vs", "headline_ci_pct", "target_ci_met",
                "binding_ms", "binding_share", "binding_bound", "host_compute_p50_ms"):  # fmt: skip
        assert col in s.columns, col
    total = samples[(samples["phase"] == "total") & (samples["iteration"] >= 0)]

    def med(key: tuple[str, ...]) -> float:
        return float(np.median(total[cell_mask(total, key)]["ns"]))

    p1 = row_of(s, P1)
    assert p1["overhead_vs_native"] == pytest.approx(med(P1) / med(NATIVE))
    assert p1["overhead_vs_native_c"] == pytest.approx(med(P1) / med(NATIVE_C))
    assert p1["overhead_c_ci_low"] < p1["overhead_vs_native_c"] < p1["overhead_c_ci_high"]
    assert p1["headline_vs"] == "native-c"
    # the headline half-width: the ratio's own CI, in percent
    width = (p1["overhead_c_ci_high"] - p1["overhead_c_ci_low"]) / 2 / p1["overhead_vs_native_c"]
    assert p1["headline_ci_pct"] == pytest.approx(width * 100)
    assert bool(p1["target_ci_met"]) is True
    # component: its headline also holds the vs-preview1 ratio (the wider of the two)
    comp = row_of(s, COMP)
    r = stats.round_ratio(
        phase_rounds(samples)[Cell(*COMP)], phase_rounds(samples)[Cell(*P1)], paired=True,
        n_boot=300, seed=stats.seed_for(*COMP, "ov-preview1"),
    )  # fmt: skip
    vs_p1 = (r.high - r.low) / 2 / r.value * 100
    assert comp["headline_ci_pct"] >= vs_p1 - 1e-9
    # baselines have no headline; native-c against native is shown
    assert row_of(s, NATIVE_C)["overhead_vs_native"] == pytest.approx(med(NATIVE_C) / med(NATIVE))
    assert pd.isna(row_of(s, NATIVE)["headline_ci_pct"])
    # binding: synthetic host work is half of every phase -> half of the total
    assert p1["binding_share"] == pytest.approx(0.5, abs=0.01)
    assert p1["host_compute_p50_ms"] <= p1["compute_p50_ms"]


def test_without_native_c_the_headline_falls_back_to_native(tmp_path: Path) -> None:
    cells = two_baseline_cells()
    cells[NATIVE_C] = "unsupported: host native-c unavailable"
    s = summary_of(make_run(tmp_path / "run", cells, rounds=3), target=0.001)
    p1 = row_of(s, P1)
    assert p1["headline_vs"] == "native" and np.isnan(p1["overhead_vs_native_c"])
    assert bool(p1["target_ci_met"]) is False  # 0.001 % is out of reach
