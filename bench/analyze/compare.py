"""`wasinn-bench compare BASE_RUN HEAD_RUN [--metric overhead|p50] [--factor F] [--markdown FILE]`

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
  p50       ratio of the medians of the per-iteration `total` samples (for a quiet,
            dedicated machine; compare warns when the fingerprints differ).
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from rich.console import Console
from rich.table import Table

from bench.analyze import stats
from bench.analyze.runs import Run, load_run
from bench.analyze.summarize import cell_key, native_key, phase_ms, phase_rounds
from bench.results.store import RunFolderError

Key = tuple[str, ...]
VERDICT_ORDER = ("failed", "regressed", "improved", "unchanged")
VERDICT_MARK = {"failed": "❌", "regressed": "❌", "improved": "✅", "unchanged": ""}


@dataclass
class CellComparison:
    key: Key
    base_value: float  # p50 ms, or overhead ratio
    head_value: float
    ratio: stats.Ratio
    p: float
    n_base: int
    n_head: int
    verdict: str  # failed | regressed | improved | unchanged
    note: str = ""

    @property
    def cell(self) -> str:
        return "/".join(self.key)


@dataclass
class Comparison:
    base: Run
    head: Run
    metric: str
    factor: float
    rows: list[CellComparison] = field(default_factory=list)
    only_base: list[tuple[Key, str]] = field(default_factory=list)  # (key, status)
    only_head: list[tuple[Key, str]] = field(default_factory=list)
    not_compared: list[tuple[Key, str]] = field(default_factory=list)  # (key, why)

    def count(self, verdict: str) -> int:
        return sum(r.verdict == verdict for r in self.rows)

    @property
    def exit_code(self) -> int:
        return 1 if self.count("regressed") or self.count("failed") else 0

    def warnings(self) -> list[str]:
        out = []
        if self.base.fingerprint != self.head.fingerprint:
            out.append(
                f"runs come from different machines ({self.base.fingerprint} vs "
                f"{self.head.fingerprint}): p50 ratios mix code and hardware; "
                "prefer --metric overhead"
            )
        return out


def _statuses(run: Run) -> dict[Key, tuple[str, str]]:
    return {cell_key(r): (str(r["status"]), str(r["reason"])) for _, r in run.summary.iterrows()}


def compare_runs(
    base: Run, head: Run, metric: str = "overhead", factor: float = 1.10
) -> Comparison:
    """Compare every cell of `head` with the same cell of `base`."""
    if metric not in ("p50", "overhead"):
        raise ValueError(f"--metric: unknown metric {metric!r} (p50 or overhead)")
    if not factor > 1:
        raise ValueError(f"--factor: must be > 1, got {factor}")
    versions = {r.path: r.meta.get("schema_version") for r in (base, head)}
    if len(set(versions.values())) > 1:
        listing = ", ".join(f"{p}: {v}" for p, v in versions.items())
        raise ValueError(f"runs have different schema_version ({listing}); re-record one")
    cmp = Comparison(base, head, metric, factor)
    bs, hs = _statuses(base), _statuses(head)
    bt, ht = phase_ms(base.samples, "total"), phase_ms(head.samples, "total")
    # Rounds are the independent unit: CIs resample rounds (then iterations within them)
    # and the rank test compares per-round values (bench.analyze.stats).
    br, hr = phase_rounds(base.samples, "total"), phase_rounds(head.samples, "total")
    cmp.only_base = [(k, bs[k][0]) for k in bs if k not in hs]
    cmp.only_head = [(k, hs[k][0]) for k in hs if k not in bs]
    for key in (k for k in hs if k in bs):
        b, h = bt.get(key), ht.get(key)
        # Failed on head after some rounds: its earlier samples must not hide the failure.
        newly_failed = hs[key][0] == "failed" and bs[key][0] != "failed"
        if b is None or h is None or newly_failed:
            if b is not None and hs[key][0] == "failed":
                # a cell that ran on base and breaks on head is a regression of its own
                nan = stats.Ratio(np.nan, np.nan, np.nan)
                cmp.rows.append(
                    CellComparison(
                        key,
                        _value(metric, b, bt.get(native_key(key))),
                        np.nan,
                        nan,
                        np.nan,
                        len(br.get(key, {})),
                        len(hr.get(key, {})),
                        "failed",
                        hs[key][1],
                    )  # fmt: skip
                )
            else:
                cmp.not_compared.append(
                    (key, f"base {bs[key][0]}, head {hs[key][0]}: {hs[key][1] or bs[key][1]}")
                )
            continue
        if metric == "p50":
            ratio = stats.round_ratio(
                hr[key], br[key], paired=False, seed=stats.seed_for(*key, "p50")
            )
            hu, bu = stats.round_medians(hr[key]), stats.round_medians(br[key])
            bv, hv = float(np.median(b)), float(np.median(h))
        else:
            nk = native_key(key)
            if key == nk:
                continue  # the reference itself: overhead 1 by definition
            bn, hn = bt.get(nk), ht.get(nk)
            if bn is None or hn is None:
                side = "base" if bn is None else "head"
                cmp.not_compared.append((key, f"no native baseline in {side}"))
                continue
            ratio = stats.round_ratio_of_ratios(
                hr[key], hr[nk], br[key], br[nk], seed=stats.seed_for(*key, "overhead")
            )
            hu, bu = stats.round_overheads(hr[key], hr[nk]), stats.round_overheads(br[key], br[nk])
            bv, hv = _value(metric, b, bn), _value(metric, h, hn)
        p = stats.mann_whitney_p(hu, bu)
        verdict = stats.verdict(ratio, p, bu.size, hu.size, factor)
        cmp.rows.append(CellComparison(key, bv, hv, ratio, p, bu.size, hu.size, verdict))
    cmp.rows.sort(key=lambda r: VERDICT_ORDER.index(r.verdict))  # stable: run order kept
    return cmp


def _value(metric: str, x: np.ndarray, native: np.ndarray | None) -> float:
    if metric == "p50":
        return float(np.median(x))
    if native is None or native.size == 0:
        return float("nan")
    return float(np.median(x) / np.median(native))


def _fmt(v: float, spec: str) -> str:
    return "–" if not np.isfinite(v) else format(v, spec)


def _row_cells(c: CellComparison, metric: str) -> list[str]:
    spec = ".4g" if metric == "p50" else ".3f"
    ci = "–" if not np.isfinite(c.ratio.low) else f"[{c.ratio.low:.3f}, {c.ratio.high:.3f}]"
    p = "–" if not np.isfinite(c.p) else f"{c.p:.1e}"
    verdict = f"{VERDICT_MARK[c.verdict]} {c.verdict}".strip()
    if c.note:
        verdict += f" ({c.note})"
    return [
        c.cell, _fmt(c.base_value, spec), _fmt(c.head_value, spec), _fmt(c.ratio.value, ".3f"),
        ci, p, f"{c.n_base}/{c.n_head}", verdict,
    ]  # fmt: skip


def _headline(cmp: Comparison) -> str:
    parts = [f"{cmp.count('regressed')} regressed", f"{cmp.count('improved')} improved"]
    parts.append(f"{cmp.count('unchanged')} unchanged")
    if cmp.count("failed"):
        parts.insert(0, f"{cmp.count('failed')} newly failed")
    extra = len(cmp.not_compared) + len(cmp.only_base) + len(cmp.only_head)
    if extra:
        parts.append(f"{extra} not compared")
    return ", ".join(parts)


def _header(metric: str) -> list[str]:
    what = "p50 ms" if metric == "p50" else "× native"
    return [
        "cell",
        f"base {what}",
        f"head {what}",
        "head/base",
        "95% CI",
        "p (MWU)",
        "n",
        "verdict",
    ]


def to_markdown(cmp: Comparison) -> str:
    """A pull-request comment: headline, the table, and the cells not compared."""
    mark = "❌" if cmp.exit_code else "✅"
    lines = [
        f"### {mark} wasi-nn bench: `{cmp.head.run_id}` vs `{cmp.base.run_id}`",
        "",
        f"**{_headline(cmp)}** (metric `{cmp.metric}`, factor {cmp.factor:.2f}; "
        "a change counts when the ratio is beyond the factor and significant: "
        f"Mann-Whitney U p < {stats.MWU_ALPHA} and a 95% CI that excludes 1)",
        "",
    ]
    lines += [f"> ⚠ {w}" for w in cmp.warnings()]
    header = _header(cmp.metric)
    lines += ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(_row_cells(r, cmp.metric)) + " |" for r in cmp.rows]
    lines.append("")
    listed = [
        (cmp.only_base, "Only in base"),
        (cmp.only_head, "Only in head"),
        (cmp.not_compared, "Not compared"),
    ]
    for items, title in listed:
        if items:
            lines.append(f"<details><summary>{title} ({len(items)})</summary>\n")
            lines += [f"- `{'/'.join(k)}`: {why.replace('|', '/')[:200]}" for k, why in items]
            lines += ["", "</details>", ""]
    shas = f"{str(cmp.base.meta.get('git_sha', '?'))[:12]} → {str(cmp.head.meta.get('git_sha', '?'))[:12]}"
    lines.append(f"<sub>git {shas}; machine {cmp.head.fingerprint}</sub>")
    return "\n".join(lines) + "\n"


def print_table(cmp: Comparison, console: Console | None = None) -> None:
    # CI logs are not terminals: give the table room instead of rich's 80 columns
    console = console or Console(width=None if sys.stdout.isatty() else 180)
    table = Table(title=f"{cmp.head.run_id} vs {cmp.base.run_id} — {_headline(cmp)}")
    for h in _header(cmp.metric):
        table.add_column(h, justify="left" if h in ("cell", "verdict") else "right")
    style = {"failed": "bold red", "regressed": "bold red", "improved": "green", "unchanged": ""}
    for r in cmp.rows:
        table.add_row(*_row_cells(r, cmp.metric), style=style[r.verdict])
    console.print(table)
    for w in cmp.warnings():
        console.print(f"[yellow]warning:[/] {w}")
    for items, title in (
        (cmp.only_base, "only in base"),
        (cmp.only_head, "only in head"),
        (cmp.not_compared, "not compared"),
    ):
        for k, why in items:
            console.print(f"{title}: {'/'.join(k)} ({why[:160]})", highlight=False)


def add_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    p = subparsers.add_parser(
        "compare", help="compare two runs cell by cell; exit 1 on a regression"
    )
    p.add_argument("base", metavar="BASE_RUN")
    p.add_argument("head", metavar="HEAD_RUN")
    p.add_argument(
        "--metric",
        choices=["p50", "overhead"],
        default="overhead",
        help="overhead (default): ratio to native measured in the same run, robust to "
        "machine drift; p50: raw latency, for a quiet dedicated machine",
    )
    p.add_argument("--factor", type=float, default=1.10, help="slowdown ratio that counts (1.10)")
    p.add_argument("--markdown", metavar="FILE", type=Path, help="also write a PR comment here")
    p.set_defaults(func=run)
    return p


def run(args: argparse.Namespace) -> int:
    try:
        base, head = load_run(args.base), load_run(args.head)
        cmp = compare_runs(base, head, args.metric, args.factor)
    except (RunFolderError, ValueError) as e:
        print(f"wasinn-bench compare: error: {e}", file=sys.stderr)
        return 2
    print_table(cmp)
    if args.markdown:
        args.markdown.parent.mkdir(parents=True, exist_ok=True)
        args.markdown.write_text(to_markdown(cmp))
    return cmp.exit_code
