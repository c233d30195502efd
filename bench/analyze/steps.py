"""Step detection over a series of runs (consecutive windows).

A boundary between two runs is a step when the runs just after it differ from the
runs just before it by more than the factor (median ratio) and a Mann-Whitney U
test gives p < 0.002; the strongest boundary in a neighbourhood wins.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from bench.analyze import stats


@dataclass
class Step:
    index: int  # position of the first run after the shift
    ratio: float  # median after / median before
    p: float


def detect_steps(
    runs: list[np.ndarray],
    factor: float = 1.10,
    alpha: float = stats.MWU_ALPHA,
    window: int = 3,
) -> list[Step]:
    """Steps in a series of per-run sample arrays; each names its first run.

    At every boundary k the runs [k-window, k) are compared with [k, k+window)
    (fewer at the ends). Boundaries are scored by the difference of the mean log
    per-run medians on both sides, and taken in score order when the pooled
    samples differ by more than `factor` (median ratio) with a Mann-Whitney U
    p < alpha, and no stronger step lies within window-1 runs. A single odd run
    inside a series is outvoted by its neighbours; one at the end still counts
    (it may be the start of a shift: the next run will tell).
    """
    runs = [np.asarray(r, dtype=float) for r in runs]
    logmed = np.array([np.log(np.median(r)) if r.size else np.nan for r in runs])
    candidates = []
    for k in range(1, len(runs)):
        lo, hi = max(0, k - window), min(len(runs), k + window)
        before, after = logmed[lo:k], logmed[k:hi]
        if not (np.isfinite(before).any() and np.isfinite(after).any()):
            continue
        score = abs(np.nanmean(after) - np.nanmean(before))
        candidates.append((score, k, lo, hi))
    found: list[Step] = []
    for _score, k, lo, hi in sorted(candidates, reverse=True):
        if any(abs(k - s.index) < window for s in found):
            continue
        before, after = np.concatenate(runs[lo:k]), np.concatenate(runs[k:hi])
        ratio = float(np.median(after) / np.median(before))
        p = stats.mann_whitney_p(after, before)
        if (ratio > factor or ratio < 1 / factor) and p < alpha:
            found.append(Step(k, ratio, p))
    return sorted(found, key=lambda s: s.index)
