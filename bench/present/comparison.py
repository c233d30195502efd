"""A comparison of two runs (bench.analyze.compare) as a console table and as a
markdown PR comment."""

from __future__ import annotations

import sys

import numpy as np
from rich.console import Console
from rich.table import Table

from bench.analyze import headline, stats
from bench.analyze.compare import VERDICT_MARK, CellComparison, Comparison
from bench.present.markdown import md, md_code
from bench.present.tables import plain_console

RULE = (
    "A change counts when head/base is beyond ×{factor:.2f} (or below its inverse) and "
    "significant: its 95% CI (bootstrap over rounds, then iterations) excludes 1 and, "
    "where the numbers of rounds can reach it, Mann-Whitney U over per-round values gives "
    "p < {alpha:g}; with fewer rounds (below 7+7 at p < {alpha:g}) the CI alone decides. "
    "Each verdict says which rule decided it."
)


def _fmt(v: float, spec: str) -> str:
    return "–" if not np.isfinite(v) else format(v, spec)


def _row_cells(c: CellComparison, metric: str, rule: bool = False) -> list[str]:
    spec = ".4g" if metric == "p50" else ".3f"
    ci = "–" if not np.isfinite(c.ratio.low) else f"[{c.ratio.low:.3f}, {c.ratio.high:.3f}]"
    p = "–" if not np.isfinite(c.p) else f"{c.p:.1e}"
    verdict = f"{VERDICT_MARK[c.verdict]} {c.verdict}".strip()
    if c.note:
        verdict += f" ({c.note})"
    if rule and c.rule:
        verdict += f": {c.rule}"
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


def _header(metric: str, measure: str = "wall") -> list[str]:
    what = headline.unit(metric, measure)  # the run's measure: ms, ms CPU, M instructions
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
        f"### {mark} wasi-nn bench: {md_code(cmp.head.run_id)} vs {md_code(cmp.base.run_id)}",
        "",
        f"**{_headline(cmp)}** (metric `{cmp.metric}`, factor {cmp.factor:.2f})",
        "",
        RULE.format(factor=cmp.factor, alpha=stats.MWU_ALPHA),
        "",
    ]
    lines += [f"> ⚠ {md(w)}" for w in cmp.warnings()]
    header = _header(cmp.metric, cmp.head.measure)
    lines += ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(map(md, _row_cells(r, cmp.metric, rule=True))) + " |"
              for r in cmp.rows]  # fmt: skip
    lines.append("")
    listed = [
        (cmp.only_base, "Only in base"),
        (cmp.only_head, "Only in head"),
        (cmp.not_compared, "Not compared"),
    ]
    for items, title in listed:
        if items:
            lines.append(f"<details><summary>{title} ({len(items)})</summary>\n")
            lines += [f"- {md_code(k.key)}: {md(why[:200])}" for k, why in items]
            lines += ["", "</details>", ""]
    shas = f"{str(cmp.base.meta.get('git_sha', '?'))[:12]} → {str(cmp.head.meta.get('git_sha', '?'))[:12]}"
    lines.append(f"<sub>git {md(shas)}; machine {md(cmp.head.fingerprint)}</sub>")
    return "\n".join(lines) + "\n"


def print_table(cmp: Comparison, console: Console | None = None) -> None:
    # CI logs are not terminals: give the table room instead of rich's 80 columns
    console = console or plain_console(width=None if sys.stdout.isatty() else 180)
    table = Table(title=f"{cmp.head.run_id} vs {cmp.base.run_id} — {_headline(cmp)}")
    for h in _header(cmp.metric, cmp.head.measure):
        table.add_column(h, justify="left" if h in ("cell", "verdict") else "right")
    style = {"failed": "bold red", "regressed": "bold red", "improved": "green", "unchanged": ""}
    for r in cmp.rows:
        table.add_row(*_row_cells(r, cmp.metric), style=style[r.verdict])
    console.print(table)
    for w in cmp.warnings():
        console.print(f"warning: {w}", style="yellow")
    for items, title in (
        (cmp.only_base, "only in base"),
        (cmp.only_head, "only in head"),
        (cmp.not_compared, "not compared"),
    ):
        for k, why in items:
            console.print(f"{title}: {k.key} ({why[:160]})", highlight=False)
