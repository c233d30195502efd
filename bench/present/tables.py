"""Console tables (rich): the run summary, variants side by side, compare verdicts."""

from __future__ import annotations

import math
import os
import sys

import pandas as pd
from rich.console import Console
from rich.table import Table
from rich.text import Text

from bench.analyze import stats
from bench.results.schema import NOISE_CV
from contracts.phases import ITERATION_PHASES, TOTAL


def plain_console(**options: object) -> Console:
    """A rich console that never reads markup: names, reasons and paths come from guests,
    workload files, run folders and the command line, and `[/x]` in any of them would
    otherwise raise MarkupError (or restyle the text). Style with `style=`, not markup."""
    return Console(markup=False, **options)  # type: ignore[arg-type]


def stdout_console() -> Console:
    # Logs (CI, nox) are not terminals: rich would wrap the table at 80 columns.
    if sys.stdout.isatty():
        return plain_console()
    return plain_console(width=int(os.environ.get("COLUMNS", 200)))


def fmt(value: object, digits: int = 3) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    if isinstance(value, float):
        return f"{value:.{digits}g}" if abs(value) < 1000 else f"{value:.0f}"
    return str(value)


def print_summary(summary: pd.DataFrame) -> None:
    table = Table(title="wasi-nn bench summary (p50 of set_input+compute+get_output per iteration)")
    for col in ("workload", "variant", "host", "backend", "device", "status", "p50 ms", "95% CI", "cv (robust)",
                "vs native", "vs native-c", "CI ±%", "binding", "agrees", "reason"):  # fmt: skip
        table.add_column(col, overflow="fold")
    for _, row in summary.iterrows():
        status = row["status"]
        colour = {"ok": "green", "failed": "red", "unsupported": "yellow", "skipped": "dim"}.get(
            status, ""
        )
        cv = row.get("cv")
        noisy = isinstance(cv, float) and not math.isnan(cv) and cv > NOISE_CV
        ci = (
            f"[{fmt(row.get('p50_ci_low_ms'))}, {fmt(row.get('p50_ci_high_ms'))}]"
            if status == "ok"
            else ""
        )
        table.add_row(
            row["workload"], row["variant"], row["host"], row["backend"], row["device"],
            Text(status, style=colour), fmt(row.get("p50_ms")), ci,
            Text(fmt(cv, 2) + f" ({fmt(row.get('cv_robust'), 2)})", style="yellow" if noisy else ""), fmt(row.get("overhead_vs_native")),
            fmt(row.get("overhead_vs_native_c")), _ci_cell(row), _binding_cell(row),
            fmt(row.get("agrees")), str(row.get("reason") or "")[:160],
        )  # fmt: skip
    stdout_console().print(table)


def _truthy(value: object) -> bool:
    # summary.csv read back gives "True"/"False" strings; a fresh frame gives bools
    return str(value).strip().lower() in ("true", "1", "1.0")


def _ci_cell(row: pd.Series) -> str | Text:
    """The headline CI half-width, red when the run's --target-ci was not reached."""
    width = fmt(row.get("headline_ci_pct"), 2)
    met = row.get("target_ci_met")
    if met is None or (isinstance(met, float) and math.isnan(met)) or width == "-":
        return width
    if _truthy(met):
        return width
    return Text(f"{width} (target {fmt(row.get('target_ci_pct'))})", style="red")


def _binding_cell(row: pd.Series) -> str:
    """Binding share of the total; marked when the time is mostly binding."""
    share = row.get("binding_share")
    if share is None or (isinstance(share, float) and math.isnan(share)):
        return "-"
    text = f"{share:.0%}"
    return f"[magenta]{text} binding-bound[/]" if _truthy(row.get("binding_bound")) else text


def print_variant_ratios(ratios: pd.DataFrame) -> None:
    """adapted and component vs preview1 (bench.analyze.summarize.variant_ratios)."""
    if ratios.empty:
        return
    table = Table(
        title="adapted and component vs preview1 (same run; median ratio [95% CI], Δ µs per iteration)"
    )
    for col in ("workload", "host", "backend", "device", "variant", "vs preview1", "Δ total", "Δ set_input",
                "Δ compute", "Δ get_output"):  # fmt: skip
        table.add_column(col)
    for _, r in ratios.iterrows():
        deltas = [fmt(r[f"delta_{p}_us"]) for p in (TOTAL, *ITERATION_PHASES)]
        ratio = stats.Ratio(r["ratio"], r["ci_low"], r["ci_high"]).pct()
        table.add_row(
            r["workload"], r["host"], r["backend"], r["device"], r["variant"], ratio, *deltas
        )
    stdout_console().print(table)
