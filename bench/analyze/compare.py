"""Compare two runs cell by cell.

Per cell present in both runs: head/base ratio with a 95% bootstrap CI and a
Mann-Whitney U p-value, and an asv-style verdict (bench.analyze.stats.verdict). Rounds are
the independent unit (iterations of one round share that moment's machine state):
the CI resamples rounds and then iterations within them, and the rank test compares
per-round values, so `n` counts rounds. Exit 1
when any cell regressed (or newly failed), 0 otherwise, 2 on bad input.

Metrics:
  overhead  (default) ratio of the overhead_vs_native ratios: each run's cell is divided by
            the native cell of the same workload, backend and device *in the same
            run*, so drift of the machine between the two runs cancels. The CI
            resamples the cell and its native baseline in both runs; the MWU test
            compares the cell's samples scaled by their run's native median.
            The default, because these machines drift ~2x within minutes: the gate
            must rest on ratios measured side by side in one run.
  overhead_c  the same with the native-c cell (the same C driver compiled natively,
            Cell.native_c_baseline) in place of the native one: the change of the cost of
            wasm itself. Cells of a run without native-c samples are not compared.
  p50       ratio of the medians of the per-iteration `total` samples (for a quiet,
            dedicated machine; compare warns when the fingerprints differ).
  ttft      generative workloads (docs/decoding.md): ratio of the medians of the time
            to first token, one sample per generation, as p50 does for `total`. Their
            per-token latency is what the other metrics compare (their iterations are
            decode steps).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from bench.analyze import headline, stats
from bench.analyze.runs import Run, same_measure
from bench.analyze.summarize import phase_rounds
from contracts.cells import Cell
from contracts.phases import TOTAL, TTFT

METRICS = (*headline.METRICS, "ttft")
# the samples each metric compares: per-iteration `total`, or one TTFT per generation
PHASES = {"ttft": TTFT}
PLAIN = ("p50", "ttft")  # metrics of the cell's own samples, no in-run reference
VERDICT_ORDER = ("failed", "regressed", "improved", "unchanged")
VERDICT_MARK = {"failed": "❌", "regressed": "❌", "improved": "✅", "unchanged": ""}


@dataclass
class CellComparison:
    key: Cell
    base_value: float  # p50 ms, or overhead ratio
    head_value: float
    ratio: stats.Ratio
    p: float
    n_base: int
    n_head: int
    verdict: str  # failed | regressed | improved | unchanged
    note: str = ""
    rule: str = ""  # the rule that decided the verdict, in words (stats.decide)

    @property
    def cell(self) -> str:
        return self.key.key


@dataclass
class Comparison:
    base: Run
    head: Run
    metric: str
    factor: float
    rows: list[CellComparison] = field(default_factory=list)
    only_base: list[tuple[Cell, str]] = field(default_factory=list)  # (key, status)
    only_head: list[tuple[Cell, str]] = field(default_factory=list)
    not_compared: list[tuple[Cell, str]] = field(default_factory=list)  # (key, why)

    def count(self, verdict: str) -> int:
        return sum(r.verdict == verdict for r in self.rows)

    @property
    def exit_code(self) -> int:
        # a cell left out for missing samples is a broken run, never a pass
        lost = any(why.endswith(NO_SAMPLES) for _, why in self.not_compared)
        return 1 if self.count("regressed") or self.count("failed") or lost else 0

    def warnings(self) -> list[str]:
        out = []
        if self.base.fingerprint != self.head.fingerprint:
            out.append(
                f"runs come from different machines ({self.base.fingerprint} vs "
                f"{self.head.fingerprint}): p50 ratios mix code and hardware; "
                "prefer --metric overhead"
            )
        return out


def _statuses(run: Run) -> dict[Cell, tuple[str, str]]:
    return {
        Cell.from_row(r): (str(r["status"]), str(r["reason"])) for _, r in run.summary.iterrows()
    }


def compare_runs(
    base: Run, head: Run, metric: str = "overhead", factor: float = 1.10
) -> Comparison:
    """Compare every cell of `head` with the same cell of `base`."""
    if metric not in METRICS:
        raise ValueError(f"--metric: unknown metric {metric!r} ({', '.join(METRICS)})")
    if not factor > 1:
        raise ValueError(f"--factor: must be > 1, got {factor}")
    versions = {r.path: r.meta.get("schema_version") for r in (base, head)}
    if len(set(versions.values())) > 1:
        listing = ", ".join(f"{p}: {v}" for p, v in versions.items())
        raise ValueError(f"runs have different schema_version ({listing}); re-record one")
    same_measure([base, head])
    cmp = Comparison(base, head, metric, factor)
    bs, hs = _statuses(base), _statuses(head)
    # Rounds are the independent unit: CIs resample rounds (then iterations within them)
    # and the rank test compares per-round values (bench.analyze.headline).
    phase = PHASES.get(metric, TOTAL)
    br, hr = phase_rounds(base.samples, phase), phase_rounds(head.samples, phase)
    cmp.only_base = [(k, bs[k][0]) for k in bs if k not in hs]
    cmp.only_head = [(k, hs[k][0]) for k in hs if k not in bs]
    for key in (k for k in hs if k in bs):
        b, h = br.get(key), hr.get(key)
        # Failed on head after some rounds: its earlier samples must not hide the failure.
        newly_failed = hs[key][0] == "failed" and bs[key][0] != "failed"
        if not b or not h or newly_failed:
            if b and hs[key][0] == "failed":
                # a cell that ran on base and breaks on head is a regression of its own
                ref = br.get(headline.reference(metric, key, set(br)))
                m = headline.Measured(b, ref if metric not in PLAIN else None)
                nan = stats.Ratio(np.nan, np.nan, np.nan)
                cmp.rows.append(
                    CellComparison(key, m.value(), np.nan, nan, np.nan, len(b), len(h or {}),
                                   "failed", hs[key][1], "failed on head")
                )  # fmt: skip
            else:
                why = hs[key][1] or bs[key][1] or _no_samples(b, h, phase)
                cmp.not_compared.append((key, f"base {bs[key][0]}, head {hs[key][0]}: {why}"))
            continue
        bm, hm = _measured(metric, key, b, h, br, hr, cmp)
        if bm is None or hm is None:
            continue
        c = headline.change(bm, hm, factor, seed=stats.seed_for(*key, metric))
        cmp.rows.append(
            CellComparison(key, bm.value(), hm.value(), c.ratio, c.p, c.n_base, c.n_head,
                           c.verdict, rule=c.rule)
        )  # fmt: skip
    cmp.rows.sort(key=lambda r: VERDICT_ORDER.index(r.verdict))  # stable: run order kept
    return cmp


def _measured(
    metric: str, key: Cell, b: stats.Rounds, h: stats.Rounds,
    br: dict[Cell, stats.Rounds], hr: dict[Cell, stats.Rounds], cmp: Comparison,
) -> tuple[headline.Measured | None, headline.Measured | None]:  # fmt: skip
    """The cell's headline rounds in base and head; (None, None) when it is not compared
    (a reference itself, or a run without the reference: noted in cmp.not_compared)."""
    if metric in PLAIN:
        return headline.Measured(b), headline.Measured(h)
    ref = headline.reference(metric, key, set(hr))  # a program's cells: its preview1 cell
    if key == ref or key.is_native:
        # the references: overhead 1 by definition, and the other baseline's ratio
        # is Python's per-call cost, not a question about wasm (docs/compare.md)
        return None, None
    bn, hn = br.get(ref), hr.get(ref)
    if not bn or not hn:
        cmp.not_compared.append((key, f"no {ref.host} baseline in {'base' if not bn else 'head'}"))
        return None, None
    return headline.Measured(b, bn), headline.Measured(h, hn)


NO_SAMPLES = "samples"  # how the reason of a cell left out for missing samples ends


def _no_samples(b: stats.Rounds | None, h: stats.Rounds | None, phase: str = TOTAL) -> str:
    """The reason when neither run gave one: which side's samples are missing (a cell
    without TTFT samples on both sides is simply not a generative one)."""
    if phase == TTFT and not b and not h:
        return "no ttft in either run (not a generative workload)"
    return f"{'base' if not b else 'head'} has no {phase} {NO_SAMPLES}"
