"""Statistics against known distributions, and summary.csv rows (bench.analyze.summarize)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from bench.analyze import stats
from bench.analyze.runs import load_run
from bench.analyze.summarize import summarize
from bench.results.schema import SUMMARY_COLUMNS
from bench.results.store import RunFolderError
from tests.synthetic_run import basic_cells, make_run


def test_describe_normal_and_exponential():
    rng = np.random.default_rng(1)
    x = rng.normal(10.0, 1.0, 200_000)
    d = stats.describe(x)
    assert d.n == x.size
    assert d.p50_ms == pytest.approx(10.0, abs=0.02)
    assert d.p90_ms == pytest.approx(10.0 + 1.2816, abs=0.03)
    assert d.std_ms == pytest.approx(1.0, abs=0.01)
    assert d.cv == pytest.approx(0.1, abs=0.002)
    e = stats.describe(rng.exponential(2.0, 200_000))
    assert e.p50_ms == pytest.approx(2.0 * math.log(2), abs=0.02)
    assert e.p99_ms == pytest.approx(2.0 * math.log(100), rel=0.03)


def test_describe_empty_and_nan_is_nan():
    d = stats.describe([])
    assert d.n == 0 and math.isnan(d.p50_ms) and math.isnan(d.cv)
    assert stats.describe([1.0, np.nan, 3.0]).n == 2


def _in_rounds(x: np.ndarray, rounds: int = 10) -> stats.Rounds:
    return dict(enumerate(np.array_split(x, rounds)))


def _naive_median_ci(x: np.ndarray, n_boot: int, seed: int) -> tuple[float, float]:
    """The iteration-level bootstrap (every sample independent): the contrast that
    shows why the harness resamples rounds."""
    rng = np.random.default_rng(seed)
    medians = np.median(x[rng.integers(0, x.size, size=(n_boot, x.size))], axis=1)
    lo, hi = np.percentile(medians, [2.5, 97.5])
    return float(lo), float(hi)


def test_round_median_ci_contains_true_median_and_is_seeded():
    rng = np.random.default_rng(2)
    x = rng.exponential(1.0, 500)
    lo, hi = stats.round_median_ci(_in_rounds(x), seed=7)
    assert lo < np.median(x) < hi
    assert (lo, hi) == stats.round_median_ci(_in_rounds(x), seed=7)
    # wider for fewer samples
    lo2, hi2 = stats.round_median_ci(_in_rounds(x[:50]), seed=7)
    assert hi2 - lo2 > hi - lo


def test_round_median_ci_coverage_is_about_95_percent():
    rng = np.random.default_rng(3)
    true_median = math.log(2)
    hits = 0
    trials = 300
    for t in range(trials):
        lo, hi = stats.round_median_ci(_in_rounds(rng.exponential(1.0, 100)), n_boot=500, seed=t)
        hits += lo <= true_median <= hi
    # a binomial(300, 0.95) is within [0.90, 0.99] with overwhelming probability;
    # a broken interval (too narrow / always containing) falls outside.
    assert 0.90 <= hits / trials <= 0.99


def test_round_ratio_of_scaled_sample_is_the_scale():
    rng = np.random.default_rng(4)
    a = rng.lognormal(0, 0.05, 300)
    r = stats.round_ratio(_in_rounds(a * 1.3), _in_rounds(a), paired=False, seed=1)
    assert r.value == pytest.approx(1.3)
    assert r.low < 1.3 < r.high and r.excludes_one()
    same = stats.round_ratio(_in_rounds(a), _in_rounds(rng.permutation(a)), paired=False, seed=1)
    assert same.value == pytest.approx(1.0) and not same.excludes_one()
    assert math.isnan(stats.round_ratio({}, _in_rounds(a), paired=False).value)


def test_ratio_of_ratios_cancels_common_drift():
    rng = np.random.default_rng(5)
    cell = {r: rng.lognormal(0.5, 0.03, 40) for r in range(5)}
    native = {r: rng.lognormal(0, 0.03, 40) for r in range(5)}

    def scaled(run: dict, k: float) -> dict:
        return {r: v * k for r, v in run.items()}

    # the head run is 2x slower across the board (machine drift): overhead unchanged
    r = stats.round_ratio_of_ratios(scaled(cell, 2), scaled(native, 2), cell, native, seed=3)
    assert r.value == pytest.approx(1.0)
    assert not r.excludes_one()
    r2 = stats.round_ratio_of_ratios(scaled(cell, 2 * 1.3), scaled(native, 2), cell, native, seed=3)
    assert r2.value == pytest.approx(1.3) and r2.low > 1.1


def test_mann_whitney():
    rng = np.random.default_rng(6)
    a = rng.normal(10, 1, 100)
    assert stats.mann_whitney_p(a, a + 2) < 1e-10
    assert stats.mann_whitney_p(a, rng.permutation(a)) > 0.5
    assert stats.mann_whitney_p([1.0, 1.0], [1.0, 1.0]) == 1.0
    assert math.isnan(stats.mann_whitney_p([], a))


def test_mwu_reachability_and_verdict_rule():
    assert not stats.mwu_can_reach(3, 3)  # min p = 0.1
    assert stats.mwu_can_reach(10, 10)
    slow = stats.Ratio(1.3, 1.2, 1.4)
    assert stats.verdict(slow, 1e-6, 100, 100) == "regressed"
    assert stats.verdict(slow, 0.01, 100, 100) == "unchanged"  # not significant
    assert stats.verdict(stats.Ratio(1.05, 1.03, 1.07), 1e-9, 100, 100) == "unchanged"
    assert stats.verdict(stats.Ratio(0.8, 0.75, 0.85), 1e-9, 100, 100) == "improved"
    # few samples: the CI decides
    assert stats.verdict(slow, float("nan"), 3, 3) == "regressed"
    assert stats.verdict(stats.Ratio(1.3, 0.9, 1.6), 0.0, 3, 3) == "unchanged"
    assert stats.Ratio(1.018, 1.009, 1.027).pct() == "+1.8% [+0.9, +2.7]"


def test_summarize_rows_overhead_and_order(tmp_path):
    run = make_run(tmp_path / "run", basic_cells(), rounds=3, iterations=40, cv=0.01)
    samples = pd.read_parquet(run / "samples.parquet")
    cells = pd.read_csv(run / "cells.csv", keep_default_na=False, na_values=[""])
    s = summarize(samples, cells, n_boot=300)
    assert list(s.columns[: len(SUMMARY_COLUMNS)]) == SUMMARY_COLUMNS
    assert len(s) == len(cells)
    # failed first; then workload/backend/device/variant order
    assert s.iloc[0]["status"] == "failed"
    ok = s[s.status == "ok"]
    assert list(ok["variant"][:4]) == ["native", "preview1", "adapted", "component"]
    assert list(ok["workload"].unique()) == ["mlp-tiny", "squeezenet"]
    native = s[(s.workload == "squeezenet") & (s.variant == "native") & (s.backend == "onnx")]
    pre = s[(s.workload == "squeezenet") & (s.variant == "preview1") & (s.backend == "onnx")]
    n, p = native.iloc[0], pre.iloc[0]
    assert n["n"] == 120 and n["overhead_vs_native"] == 1.0
    assert n["p50_ms"] == pytest.approx(3.0, rel=0.01)
    assert n["p50_ci_low_ms"] < n["p50_ms"] < n["p50_ci_high_ms"]
    assert n["throughput_ips"] == pytest.approx(1000 / n["p50_ms"])
    assert p["overhead_vs_native"] == pytest.approx(1.5, rel=0.01)
    assert p["overhead_ci_low"] < p["overhead_vs_native"] < p["overhead_ci_high"]
    assert p["compute_p50_ms"] == pytest.approx(0.8 * 4.5, rel=0.02)
    assert p["compile_p50_ms"] == pytest.approx(5.0)
    # cells without samples keep their row, stats NaN, reason kept
    uns = s[s.status == "unsupported"].iloc[0]
    assert uns["n"] == 0 and math.isnan(uns["p50_ms"]) and "invalid-encoding" in uns["reason"]
    assert math.isnan(uns["overhead_vs_native"])


def test_summarize_keeps_cells_missing_from_cells_frame(tmp_path):
    run = make_run(tmp_path / "run", {("m", "native", "native", "onnx", "cpu"): 1.0})
    samples = pd.read_parquet(run / "samples.parquet")
    s = summarize(samples, pd.DataFrame(), n_boot=100)
    assert len(s) == 1 and s.iloc[0]["n"] == 90 and s.iloc[0]["status"] == "ok"


def test_load_run_recomputes_a_missing_or_stale_summary(tmp_path):
    run = make_run(tmp_path / "run", {("m", "native", "native", "onnx", "cpu"): 2.0})
    (run / "summary.csv").unlink()
    r = load_run(run)
    assert r.summary.iloc[0]["p50_ms"] == pytest.approx(2.0, rel=0.02)
    old = r.summary.drop(columns=["overhead_ci_low", "compute_p50_ms"])  # an older writer
    old.to_csv(run / "summary.csv", index=False)
    assert "compute_p50_ms" in load_run(run).summary
    with pytest.raises(RunFolderError, match="no such run folder"):
        load_run(tmp_path / "nope")


def test_robust_cv_matches_cv_on_normal_data_and_ignores_spikes() -> None:
    rng = np.random.default_rng(3)
    x = rng.normal(100.0, 5.0, 20_000)
    d = stats.describe(x)
    assert abs(d.cv - 0.05) < 0.003 and abs(d.cv_robust - 0.05) < 0.003
    spiky = np.concatenate([x[:1000], [100_000.0]])  # one GC pause among a thousand
    s = stats.describe(spiky)
    assert s.cv > 1.0 and abs(s.cv_robust - 0.05) < 0.01


def _drifting_run(
    rng: np.random.Generator, rounds: int = 5, n: int = 400, scale: float = 1.0
) -> dict:
    """Rounds whose level drifts (machine state), iterations tight around it."""
    return {
        r: scale * rng.normal(100 * np.exp(0.05 * rng.standard_normal()), 1.0, n)
        for r in range(rounds)
    }


def test_rounds_not_iterations_are_the_independent_unit() -> None:
    """Two runs of the same code on a drifting machine: the iteration-level test calls the
    drift significant; the round-level ratio does not claim a change it cannot see."""
    false_alarms_naive = false_alarms_rounds = 0
    for t in range(30):
        rng = np.random.default_rng(t)
        a, b = _drifting_run(rng), _drifting_run(rng)
        flat_a, flat_b = np.concatenate(list(a.values())), np.concatenate(list(b.values()))
        # the iteration-level ratio CI: every sample counted as independent
        rng_t = np.random.default_rng(t)
        boot = np.median(flat_b[rng_t.integers(0, flat_b.size, (300, flat_b.size))], axis=1) / (
            np.median(flat_a[rng_t.integers(0, flat_a.size, (300, flat_a.size))], axis=1)
        )
        lo, hi = np.percentile(boot, [2.5, 97.5])
        false_alarms_naive += lo > 1.0 or hi < 1.0
        false_alarms_rounds += stats.round_ratio(
            b, a, paired=False, n_boot=300, seed=t
        ).excludes_one()
    assert false_alarms_naive >= 20  # pseudo-replication: nearly always "significant"
    assert false_alarms_rounds <= 4  # about 5% of 30 expected


def test_round_ratio_finds_a_real_change_and_pairing_cancels_shared_drift() -> None:
    rng = np.random.default_rng(11)
    base = _drifting_run(rng)
    slower = {r: v * 1.3 for r, v in _drifting_run(rng).items()}
    r = stats.round_ratio(slower, base, paired=False, n_boot=500, seed=1)
    assert r.low > 1.0 and abs(r.value - 1.3) < 0.15
    # interleaved cells share each round's drift: paired, the ratio is tight
    same_rounds = {k: v * 1.05 for k, v in base.items()}
    paired = stats.round_ratio(same_rounds, base, paired=True, n_boot=500, seed=1)
    assert 1.04 < paired.low < paired.high < 1.06
    overhead_change = stats.round_ratio_of_ratios(same_rounds, base, base, base, n_boot=500, seed=2)
    assert overhead_change.low > 1.03 and overhead_change.high < 1.07


def test_round_median_ci_sees_between_round_spread() -> None:
    rng = np.random.default_rng(5)
    run = _drifting_run(rng)
    lo, hi = stats.round_median_ci(run, n_boot=500, seed=1)
    nlo, nhi = _naive_median_ci(np.concatenate(list(run.values())), n_boot=500, seed=1)
    assert (hi - lo) > 5 * (nhi - nlo)
    assert lo <= np.median(np.concatenate(list(run.values()))) <= hi
    assert (
        stats.round_medians(run).size == 5 and stats.round_overheads(run, run).tolist() == [1.0] * 5
    )
