"""Step detection over a series of runs: E-divisive means for where, the one rule of
compare for whether (docs/compare.md).

Where: E-divisive means (Matteson & James 2014, the detector of MongoDB's
signal-processing-algorithms and Apache Otava) on the runs' headline values (log of
the overhead ratio, or of p50): the split of a segment at tau, against the runs up to
kappa after it, that maximises the energy statistic
    Q = m n / (m + n) * (2/(m n) sum|x - y| - mean_{i<k}|x_i - x_k| - mean_{j<l}|y_j - y_l|),
found by bisection: a split found divides its segment and both halves are searched.
Whether: like Otava (which tests each candidate with a t-test instead of
permutations, so that short series can have steps), each candidate is tested, but
with compare's rule over rounds: the rounds of the runs before the split against those
of the runs after it, each round as its one headline value (its median, or its
cell/reference ratio), a bootstrap CI over rounds of the ratio of their medians,
Mann-Whitney U over the same values, beyond the factor (headline.change). A candidate that fails ends the
search in its segment. Finally each step is re-tested against its final neighbours
(the previous and next step), and a lone run that differs from the runs on both sides
of it is an odd run, not a step: a step is a change that persists (the newest run
still counts; the next run will tell).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from bench.analyze import headline


@dataclass
class Step:
    index: int  # position of the first run after the shift
    change: headline.Change  # the runs after it vs the runs before it

    @property
    def ratio(self) -> float:
        return self.change.ratio.value

    @property
    def p(self) -> float:
        return self.change.p


def energy_split(x: np.ndarray) -> tuple[int, int] | None:
    """E-divisive means (alpha = 1) on one segment: (tau, kappa) maximising Q between
    x[:tau] and x[tau:kappa]; None when the segment has fewer than two values."""
    n = len(x)
    if n < 2:
        return None
    d = np.abs(x[:, None] - x[None, :])
    c = np.zeros((n + 1, n + 1))  # c[i, j] = sum of d[:i, :j]
    c[1:, 1:] = d.cumsum(0).cumsum(1)

    def block(a: int, b: int, e: int, f: int) -> float:  # sum of d[a:b, e:f]
        return c[b, f] - c[a, f] - c[b, e] + c[a, e]

    best, where = -np.inf, None
    for tau in range(1, n):
        m = tau
        within_x = block(0, tau, 0, tau) / (m * (m - 1)) if m > 1 else 0.0
        for kappa in range(tau + 1, n + 1):
            k = kappa - tau
            within_y = block(tau, kappa, tau, kappa) / (k * (k - 1)) if k > 1 else 0.0
            between = 2 * block(0, tau, tau, kappa) / (m * k)
            q = m * k / (m + k) * (between - within_x - within_y)
            if q > best + 1e-12:
                best, where = q, (tau, kappa)
    return where


def _log_values(runs: list[headline.Measured]) -> np.ndarray:
    values = np.array([m.value() for m in runs], dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.log(values)


def _test(runs: list[headline.Measured], a: int, k: int, b: int, factor: float) -> Step:
    before, after = headline.merge(runs[a:k]), headline.merge(runs[k:b])
    return Step(k, headline.change(before, after, factor, seed=k, per_round=True))


def detect_steps(runs: list[headline.Measured], factor: float = 1.10) -> list[Step]:
    """Steps in a series of one cell's runs (oldest first); each names its first run."""
    logs = _log_values(runs)
    keep = [i for i, v in enumerate(logs) if np.isfinite(v)]
    runs, logs = [runs[i] for i in keep], logs[keep]
    found: set[int] = set()
    segments = [(0, len(runs))]
    while segments:
        a, b = segments.pop()
        split = energy_split(logs[a:b])
        if split is None:
            continue
        tau, kappa = a + split[0], a + split[1]
        if _test(runs, a, tau, kappa, factor).change.verdict == "unchanged":
            continue
        found.add(tau)
        segments += [(a, tau), (tau, b)]
    steps = _final(runs, sorted(found), factor)
    return [Step(keep[s.index], s.change) for s in steps]


def _final(runs: list[headline.Measured], ks: list[int], factor: float) -> list[Step]:
    """Each step re-tested between its final neighbours, until none drops out; then
    one-run excursions (up at k, back at k+1) taken out as odd runs."""
    while True:
        bounds = [0, *ks, len(runs)]
        steps = [_test(runs, bounds[i], k, bounds[i + 2], factor) for i, k in enumerate(ks)]
        kept = [s.index for s in steps if s.change.verdict != "unchanged"]
        if kept == ks:
            break
        ks = kept
    odd = {
        k
        for s, t in zip(steps, steps[1:], strict=False)
        if t.index == s.index + 1 and (s.ratio > 1) != (t.ratio > 1)
        for k in (s.index, t.index)
    }
    return [s for s in steps if s.index not in odd]
