"""Statistics for latency samples: percentiles, bootstrap CIs, Mann-Whitney U.

All bootstrap functions are seeded (same input -> same interval) and vectorised:
resample indices are drawn as one integer matrix per chunk and the medians taken
along the rows. The `round_*` functions (used for every reported interval and
test) treat rounds as the independent unit; the plain ones below them treat
their input as independent draws and serve single samples (e.g. per-round values).
"""

from __future__ import annotations

import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from math import comb

import numpy as np
from scipy import stats as _sps

from bench.results.schema import Latency

N_BOOT = 2000
CONFIDENCE = 0.95
# Bound on the size of one resample matrix (elements) so long runs stay in memory.
_CHUNK_ELEMENTS = 4_000_000
# asv's significance threshold for the Mann-Whitney U test.
MWU_ALPHA = 0.002


def seed_for(*parts: object) -> int:
    """A stable seed from any labels (e.g. a cell key), independent of row order."""
    return zlib.crc32("/".join(map(str, parts)).encode())


def _as_array(x: Sequence[float] | np.ndarray) -> np.ndarray:
    a = np.asarray(x, dtype=np.float64).ravel()
    return a[np.isfinite(a)]


def describe(x: Sequence[float] | np.ndarray) -> Latency:
    """Percentiles, mean, sample std, coefficient of variation and its robust twin of
    latencies in ms (NaN when empty). Latency samples have rare spikes (GC, another
    process) that dominate std; the robust CV (IQR / 1.349 / median: equals cv for
    normal data) describes the bulk of the distribution."""
    a = _as_array(x)
    if a.size == 0:
        nan = float("nan")
        return Latency(0, nan, nan, nan, nan, nan, nan, nan)
    p25, p50, p75, p90, p99 = np.percentile(a, [25, 50, 75, 90, 99])
    mean = float(a.mean())
    std = float(a.std(ddof=1)) if a.size > 1 else 0.0
    cv = std / mean if mean != 0 else float("nan")
    cv_robust = float((p75 - p25) / 1.349 / p50) if p50 != 0 else float("nan")
    return Latency(int(a.size), float(p50), float(p90), float(p99), mean, std, cv, cv_robust)


def _interval(boot: np.ndarray, confidence: float) -> tuple[float, float]:
    boot = boot[np.isfinite(boot)]
    if boot.size == 0:
        return float("nan"), float("nan")
    tail = (1 - confidence) / 2 * 100
    lo, hi = np.percentile(boot, [tail, 100 - tail])
    return float(lo), float(hi)


@dataclass(frozen=True)
class Ratio:
    value: float  # point estimate
    low: float
    high: float

    def excludes_one(self) -> bool:
        return self.low > 1.0 or self.high < 1.0

    def pct(self) -> str:
        """'+1.8% [0.9, 2.7]' style text for titles and tables."""
        if not np.isfinite(self.value):
            return "n/a"
        return (
            f"{(self.value - 1) * 100:+.1f}% "
            f"[{(self.low - 1) * 100:+.1f}, {(self.high - 1) * 100:+.1f}]"
        )


def mann_whitney_p(a: Sequence[float] | np.ndarray, b: Sequence[float] | np.ndarray) -> float:
    """Two-sided Mann-Whitney U p-value; NaN when a side is empty or all values tie."""
    x, y = _as_array(a), _as_array(b)
    if x.size == 0 or y.size == 0:
        return float("nan")
    if np.ptp(np.concatenate([x, y])) == 0:
        return 1.0
    return float(_sps.mannwhitneyu(x, y, alternative="two-sided").pvalue)


def mwu_can_reach(n_a: int, n_b: int, alpha: float = MWU_ALPHA) -> bool:
    """Whether samples this size can reach p < alpha at all: the smallest two-sided
    exact p-value is 2 / C(n_a + n_b, n_a) (complete separation). Below that the
    test cannot speak and the bootstrap CI decides instead (as asv does)."""
    if n_a < 1 or n_b < 1:
        return False
    return 2 / comb(n_a + n_b, n_a) < alpha


def decide(
    ratio: Ratio, p: float, n_a: int, n_b: int, factor: float = 1.10, alpha: float = MWU_ALPHA
) -> tuple[str, str]:
    """The one rule for a change between two sets of rounds (compare, steps, history,
    the dashboard): (verdict, the rule that decided it, in words).

    asv-style: 'regressed' when the ratio is above `factor` AND significant; 'improved'
    symmetrically below 1/factor; otherwise 'unchanged'. Significant = the bootstrap CI
    of the ratio excludes 1 and, where the numbers of rounds can reach it, the
    Mann-Whitney U p-value over per-round values is below alpha (asv's test; the CI
    adds sightglass's effect-size view). Where they cannot (fewer than 7+7 rounds at
    alpha 0.002: mwu_can_reach), the CI alone decides, and the rule says so."""
    if not np.isfinite(ratio.value):
        return "unchanged", "no ratio"
    rounds = f"{n_a}+{n_b} rounds"
    can_test = mwu_can_reach(n_a, n_b, alpha) and np.isfinite(p)
    test = (
        f"MWU p={p:.2g} {'<' if p < alpha else '≥'} {alpha:g} over {rounds}"
        if can_test
        else f"{rounds} cannot reach MWU p < {alpha:g}: the CI decides"
    )
    ci = f"95% CI {'excludes' if ratio.excludes_one() else 'includes'} 1"
    if 1 / factor <= ratio.value <= factor:
        return "unchanged", f"×{ratio.value:.3f} within ×{factor:g}"
    if not ratio.excludes_one():
        return "unchanged", ci
    if can_test and not p < alpha:
        return "unchanged", f"{ci}; {test}"
    direction = "above" if ratio.value > factor else "below"
    limit = f"×{factor:g}" if ratio.value > factor else f"×{1 / factor:.3f}"
    rule = f"×{ratio.value:.3f} {direction} {limit}; {ci}; {test}"
    return ("regressed" if ratio.value > factor else "improved"), rule


def verdict(
    ratio: Ratio, p: float, n_a: int, n_b: int, factor: float = 1.10, alpha: float = MWU_ALPHA
) -> str:
    """The verdict of `decide` (its rule left out)."""
    return decide(ratio, p, n_a, n_b, factor, alpha)[0]


# -- rounds: the independent unit -------------------------------------------------
# Iterations of one round run back to back in one process: they share that moment's
# machine state (frequency, caches, neighbours), so they are not independent draws.
# Treating them as such gives intervals that are far too narrow and p-values that
# call every drift "significant" (two runs of identical code differed by 11% with
# p = 1e-176 on 1000 iterations, while their five per-round values overlapped).
# The functions below resample at both levels: rounds with replacement, then
# iterations within each chosen round (a two-level, "hierarchical" bootstrap), and
# test with per-round values.

Rounds = dict[int, np.ndarray]  # round number -> that round's samples


def _stack(rounds: Rounds) -> tuple[list[int], np.ndarray, np.ndarray]:
    ids = sorted(r for r, v in rounds.items() if np.asarray(v).size)
    arrays = [_as_array(rounds[r]) for r in ids]
    arrays = [a for a in arrays if a.size]
    width = max((a.size for a in arrays), default=0)
    stacked = np.full((len(arrays), width), np.nan)
    for i, a in enumerate(arrays):
        stacked[i, : a.size] = a
    return ids, stacked, np.array([a.size for a in arrays])


def _hier_medians(
    stacked: np.ndarray, lengths: np.ndarray, picks: np.ndarray, rng: np.random.Generator
) -> np.ndarray:
    """Medians of two-level resamples: `picks` (n_boot, k) chooses the rounds; within
    each chosen round its own number of iterations is drawn with replacement."""
    n_boot, k = picks.shape
    width = stacked.shape[1]
    out = np.empty(n_boot)
    rows = max(1, _CHUNK_ELEMENTS // max(1, k * width))
    for start in range(0, n_boot, rows):
        p = picks[start : start + rows]
        u = rng.random((p.shape[0], k, width))
        lens = lengths[p][..., None]
        idx = np.minimum((u * lens).astype(np.int64), lens - 1)
        values = stacked[p[..., None], idx]
        values[np.arange(width)[None, None, :] >= lens] = np.nan  # shorter rounds
        out[start : start + p.shape[0]] = np.nanmedian(values.reshape(p.shape[0], -1), axis=1)
    return out


def round_median_ci(
    rounds: Rounds, n_boot: int = N_BOOT, confidence: float = CONFIDENCE, seed: int = 0
) -> tuple[float, float]:
    """CI of the median of all samples, resampling rounds and iterations within them."""
    _, stacked, lengths = _stack(rounds)
    if stacked.size == 0:
        return float("nan"), float("nan")
    rng = np.random.default_rng(seed)
    picks = rng.integers(0, len(lengths), size=(n_boot, len(lengths)))
    return _interval(_hier_medians(stacked, lengths, picks, rng), confidence)


def _pooled_median(rounds: Rounds) -> float:
    values = [_as_array(v) for v in rounds.values()]
    values = [v for v in values if v.size]
    return float(np.median(np.concatenate(values))) if values else float("nan")


def round_ratio(
    num: Rounds, den: Rounds, paired: bool, n_boot: int = N_BOOT, confidence: float = CONFIDENCE,
    seed: int = 0,
) -> Ratio:  # fmt: skip
    """median(num) / median(den) with a two-level bootstrap CI.

    paired: the two cells ran interleaved in the same rounds (same run), so the same
    rounds are drawn for both and the drift they share cancels; otherwise (different
    runs) each side's rounds are drawn independently."""
    if paired:
        common = sorted(set(num) & set(den))
        num, den = {r: num[r] for r in common}, {r: den[r] for r in common}
    n_ids, n_st, n_len = _stack(num)
    d_ids, d_st, d_len = _stack(den)
    if n_st.size == 0 or d_st.size == 0:
        nan = float("nan")
        return Ratio(nan, nan, nan)
    rng = np.random.default_rng(seed)
    n_picks = rng.integers(0, len(n_len), size=(n_boot, len(n_len)))
    d_picks = (
        n_picks
        if paired and n_ids == d_ids
        else rng.integers(0, len(d_len), size=(n_boot, len(d_len)))
    )
    boot = _hier_medians(n_st, n_len, n_picks, rng) / _hier_medians(d_st, d_len, d_picks, rng)
    lo, hi = _interval(boot, confidence)
    return Ratio(_pooled_median(num) / _pooled_median(den), lo, hi)


def round_ratio_of_ratios(
    head_cell: Rounds, head_base: Rounds, base_cell: Rounds, base_base: Rounds,
    n_boot: int = N_BOOT, confidence: float = CONFIDENCE, seed: int = 0,
) -> Ratio:  # fmt: skip
    """Change of an overhead ratio between two runs: (head cell / head native) /
    (base cell / base native); each run's pair is resampled by shared rounds (they ran
    interleaved), the two runs independently."""
    rng = np.random.default_rng(seed)
    boots, points = [], []
    for cell, native in ((head_cell, head_base), (base_cell, base_base)):
        common = sorted(set(cell) & set(native))
        c_ids, c_st, c_len = _stack({r: cell[r] for r in common})
        n_ids, n_st, n_len = _stack({r: native[r] for r in common})
        if c_st.size == 0 or n_st.size == 0 or c_ids != n_ids:
            nan = float("nan")
            return Ratio(nan, nan, nan)
        picks = rng.integers(0, len(c_len), size=(n_boot, len(c_len)))
        boots.append(
            _hier_medians(c_st, c_len, picks, rng) / _hier_medians(n_st, n_len, picks, rng)
        )
        points.append(_pooled_median(cell) / _pooled_median(native))
    lo, hi = _interval(boots[0] / boots[1], confidence)
    return Ratio(points[0] / points[1], lo, hi)


def round_medians(rounds: Rounds) -> np.ndarray:
    """One value per round (its median): the unit for rank tests across runs."""
    return np.array(
        [float(np.median(_as_array(v))) for _, v in sorted(rounds.items()) if np.asarray(v).size]
    )


def round_overheads(cell: Rounds, native: Rounds) -> np.ndarray:
    """Per shared round: median(cell) / median(native) — drift of that moment cancels."""
    common = sorted(set(cell) & set(native))
    return np.array(
        [float(np.median(_as_array(cell[r])) / np.median(_as_array(native[r]))) for r in common]
    )
