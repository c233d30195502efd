"""Statistics for latency samples: percentiles, bootstrap CIs, Mann-Whitney U.

All bootstrap functions are seeded (same input -> same interval) and vectorised:
resample indices are drawn as one (n_boot, n) integer matrix per chunk and the
medians taken along the rows. Samples are treated as independent draws; the
runner interleaves cells in rounds so slow machine drift hits all cells alike.
"""

from __future__ import annotations

import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from math import comb

import numpy as np
from scipy import stats as _sps

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


@dataclass(frozen=True)
class Describe:
    n: int
    p50: float
    p90: float
    p99: float
    mean: float
    std: float
    cv: float  # std / mean (sample std, ddof=1)
    cv_robust: float  # IQR / 1.349 / median: equals cv for normal data, ignores rare spikes


def describe(x: Sequence[float] | np.ndarray) -> Describe:
    """Percentiles, mean, sample std, coefficient of variation and its robust twin
    (NaN when empty). Latency samples have rare spikes (GC, another process) that
    dominate std; the robust CV describes the bulk of the distribution."""
    a = _as_array(x)
    if a.size == 0:
        nan = float("nan")
        return Describe(0, nan, nan, nan, nan, nan, nan, nan)
    p25, p50, p75, p90, p99 = np.percentile(a, [25, 50, 75, 90, 99])
    mean = float(a.mean())
    std = float(a.std(ddof=1)) if a.size > 1 else 0.0
    cv = std / mean if mean != 0 else float("nan")
    cv_robust = float((p75 - p25) / 1.349 / p50) if p50 != 0 else float("nan")
    return Describe(int(a.size), float(p50), float(p90), float(p99), mean, std, cv, cv_robust)


def bootstrap_medians(
    x: Sequence[float] | np.ndarray, n_boot: int = N_BOOT, rng: np.random.Generator | None = None
) -> np.ndarray:
    """`n_boot` medians of resamples (with replacement) of `x`; empty -> all NaN."""
    a = _as_array(x)
    rng = rng if rng is not None else np.random.default_rng(0)
    if a.size == 0:
        return np.full(n_boot, np.nan)
    rows = max(1, _CHUNK_ELEMENTS // a.size)
    out = np.empty(n_boot)
    for start in range(0, n_boot, rows):
        stop = min(n_boot, start + rows)
        idx = rng.integers(0, a.size, size=(stop - start, a.size))
        out[start:stop] = np.median(a[idx], axis=1)
    return out


def _interval(boot: np.ndarray, confidence: float) -> tuple[float, float]:
    boot = boot[np.isfinite(boot)]
    if boot.size == 0:
        return float("nan"), float("nan")
    tail = (1 - confidence) / 2 * 100
    lo, hi = np.percentile(boot, [tail, 100 - tail])
    return float(lo), float(hi)


def median_ci(
    x: Sequence[float] | np.ndarray,
    n_boot: int = N_BOOT,
    confidence: float = CONFIDENCE,
    seed: int = 0,
) -> tuple[float, float]:
    """Percentile-bootstrap confidence interval of the median of `x`."""
    boot = bootstrap_medians(x, n_boot, np.random.default_rng(seed))
    return _interval(boot, confidence)


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


def median_ratio(
    num: Sequence[float] | np.ndarray,
    den: Sequence[float] | np.ndarray,
    n_boot: int = N_BOOT,
    confidence: float = CONFIDENCE,
    seed: int = 0,
) -> Ratio:
    """median(num) / median(den) with a bootstrap CI; the two samples are resampled
    independently (they come from different cells or runs)."""
    a, b = _as_array(num), _as_array(den)
    if a.size == 0 or b.size == 0:
        nan = float("nan")
        return Ratio(nan, nan, nan)
    rng = np.random.default_rng(seed)
    boot = bootstrap_medians(a, n_boot, rng) / bootstrap_medians(b, n_boot, rng)
    lo, hi = _interval(boot, confidence)
    return Ratio(float(np.median(a) / np.median(b)), lo, hi)


def ratio_of_ratios(
    head_cell: Sequence[float] | np.ndarray,
    head_base: Sequence[float] | np.ndarray,
    base_cell: Sequence[float] | np.ndarray,
    base_base: Sequence[float] | np.ndarray,
    n_boot: int = N_BOOT,
    confidence: float = CONFIDENCE,
    seed: int = 0,
) -> Ratio:
    """(med(head_cell)/med(head_base)) / (med(base_cell)/med(base_base)) with a CI,
    resampling all four samples independently: the change of an overhead ratio
    between two runs, each measured against its own native baseline."""
    arrs = [_as_array(x) for x in (head_cell, head_base, base_cell, base_base)]
    if any(a.size == 0 for a in arrs):
        nan = float("nan")
        return Ratio(nan, nan, nan)
    rng = np.random.default_rng(seed)
    hc, hb, bc, bb = (bootstrap_medians(a, n_boot, rng) for a in arrs)
    lo, hi = _interval((hc / hb) / (bc / bb), confidence)
    m = [float(np.median(a)) for a in arrs]
    return Ratio((m[0] / m[1]) / (m[2] / m[3]), lo, hi)


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


def verdict(
    ratio: Ratio, p: float, n_a: int, n_b: int, factor: float = 1.10, alpha: float = MWU_ALPHA
) -> str:
    """asv-style rule: 'regressed' when head/base > factor AND the difference is
    significant; 'improved' symmetrically below 1/factor; otherwise 'unchanged'.
    Significant = the bootstrap CI of the ratio excludes 1 and, where the sample
    sizes can reach it, the Mann-Whitney U p-value is below alpha (asv's test; the
    CI requirement adds sightglass's effect-size view and guards against a tiny p
    from a huge n)."""
    if not np.isfinite(ratio.value):
        return "unchanged"
    significant = ratio.excludes_one()
    if mwu_can_reach(n_a, n_b, alpha) and np.isfinite(p):
        significant = significant and p < alpha
    if significant and ratio.value > factor:
        return "regressed"
    if significant and ratio.value < 1 / factor:
        return "improved"
    return "unchanged"
