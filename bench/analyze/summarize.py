"""summary.csv: one row per cell = cells.csv + statistics of its samples."""

from __future__ import annotations

import re
from dataclasses import asdict, replace

import numpy as np
import pandas as pd

from bench.analyze import stats
from bench.results.schema import (
    BINDING_BOUND,
    CELL_COLUMNS,
    PHASE_MEDIAN_COLUMNS,
    SUMMARY_COLUMNS,
    CellStats,
    Decoding,
    Latency,
)
from contracts.cells import BACKENDS, DEVICES, KEY_COLUMNS, VARIANTS, Cell
from contracts.hosts import HOST_NAMES, base_host, host_facts, host_version
from contracts.phases import (
    HOST_WORK_PHASES,
    ITERATION_PHASES,
    MEASURED_PHASES,
    ROUND_PHASES,
    TOTAL,
    TTFT,
)

NS_PER_MS = 1e6


def phase_ms(samples: pd.DataFrame, phase: str = TOTAL) -> dict[Cell, np.ndarray]:
    """Per cell, the samples of one phase in milliseconds (iteration phases use
    iteration >= 0, host phases the once-per-round rows)."""
    if samples.empty:
        return {}
    sel = samples[samples["phase"] == phase]
    sel = sel[sel["iteration"] == -1] if phase in ROUND_PHASES else sel[sel["iteration"] >= 0]
    return {
        Cell(*map(str, k)): g["ns"].to_numpy(dtype=np.float64) / NS_PER_MS
        for k, g in sel.groupby(KEY_COLUMNS, sort=False)
    }


def phase_rounds(samples: pd.DataFrame, phase: str = TOTAL) -> dict[Cell, stats.Rounds]:
    """Per cell, {round: that round's samples of one phase in ms} (iteration phases):
    the input of the round-aware statistics in bench.analyze.stats."""
    if samples.empty:
        return {}
    sel = samples[(samples["phase"] == phase) & (samples["iteration"] >= 0)]
    out: dict[Cell, stats.Rounds] = {}
    for (*k, r), g in sel.groupby([*KEY_COLUMNS, "round"], sort=False):
        out.setdefault(Cell(*map(str, k)), {})[int(r)] = (
            g["ns"].to_numpy(dtype=np.float64) / NS_PER_MS
        )
    return out


def cell_ratios(
    key: Cell, by_round: dict[Cell, stats.Rounds], known: set[Cell], n_boot: int = stats.N_BOOT
) -> dict[str, stats.Ratio]:
    """The cell's paired ratios of `total` (same run, shared rounds): "native" (vs
    `baseline_of`: Cell.baseline, or a program's preview1 cell), "native-c" (vs
    Cell.native_c_baseline) and, for adapted and component, "preview1" (vs the preview1
    cell of the same host). Missing sides: absent. `known`: the run's cells."""
    mine = by_round.get(key, {})
    if not mine:
        return {}
    out = {}
    others = {"native": baseline_of(key, known), "native-c": key.native_c_baseline}
    if key.variant in ("adapted", "component"):
        others["preview1"] = replace(key, variant="preview1")
    for name, other in others.items():
        if other == key:
            out[name] = stats.Ratio(1.0, 1.0, 1.0)
        elif by_round.get(other):
            tag = "ov" if name == "native" else f"ov-{name}"  # "ov": the seed it always had
            out[name] = stats.round_ratio(
                mine, by_round[other], paired=True, n_boot=n_boot, seed=stats.seed_for(*key, tag)
            )
    return out


def halfwidth_pct(r: stats.Ratio) -> float:
    """The 95% CI half-width of a ratio in percent of the ratio (NaN: no interval)."""
    if not (np.isfinite(r.value) and np.isfinite(r.low) and np.isfinite(r.high)) or r.value <= 0:
        return float("nan")
    return float((r.high - r.low) / 2 / r.value * 100)


def headline(ratios: dict[str, stats.Ratio], key: Cell) -> tuple[str, float]:
    """(baseline, widest CI half-width %) of a wasm cell's headline ratios: vs native-c
    where it was measured, else vs native, plus adapted/component vs preview1. Native
    cells are the baselines: ("", NaN)."""
    if key.is_native:
        return "", float("nan")
    vs = next((b for b in ("native-c", "native") if b in ratios), "")
    widths = [halfwidth_pct(ratios[n]) for n in (vs, "preview1") if n in ratios]
    if not vs or not widths or any(np.isnan(w) for w in widths):
        return vs, float("nan")
    return vs, max(widths)


def headline_widths(
    samples: pd.DataFrame, n_boot: int = stats.N_BOOT
) -> dict[Cell, tuple[str, float]]:
    """headline() of every measured wasm cell of a run (the --target-ci stop rule)."""
    by_round = phase_rounds(samples, TOTAL)
    return {
        k: headline(cell_ratios(k, by_round, set(by_round), n_boot), k)
        for k in by_round
        if not k.is_native
    }


def _binding_ms(samples: pd.DataFrame) -> dict[Cell, np.ndarray]:
    """Per cell and iteration: total minus the host work of its three phases (cells
    whose host records host_* phases: the wasmtime-py hosts)."""
    if samples.empty:
        return {}
    phases = [TOTAL, *HOST_WORK_PHASES.values()]
    sel = samples[samples["phase"].isin(phases) & (samples["iteration"] >= 0)]
    if not sel["phase"].isin(list(HOST_WORK_PHASES.values())).any():
        return {}
    wide = sel.pivot_table(
        index=[*KEY_COLUMNS, "round", "iteration"], columns="phase", values="ns", aggfunc="first"
    )
    host = [c for c in HOST_WORK_PHASES.values() if c in wide.columns]
    wide = wide.dropna(subset=host, how="all")
    rest = (wide[TOTAL] - wide[host].fillna(0).sum(axis=1)) / NS_PER_MS
    return {
        Cell(*map(str, k)): g.to_numpy(dtype=np.float64)
        for k, g in rest.groupby(level=list(range(len(KEY_COLUMNS))), sort=False)
    }


def order_cells(df: pd.DataFrame) -> pd.DataFrame:
    """Failed cells first, then workload (first appearance), backend, device, variant
    (native, preview1, adapted, component), host."""
    if df.empty:
        return df.reset_index(drop=True)
    workloads = list(dict.fromkeys(df["workload"].astype(str)))

    def rank(values: pd.Series, order: list[str] | tuple[str, ...]) -> pd.Series:
        pos = {v: i for i, v in enumerate(order)}
        return values.astype(str).map(lambda v: pos.get(v, len(pos)))

    keys = pd.DataFrame(
        {
            "_failed": (df["status"].astype(str) != "failed").astype(int),
            "_w": rank(df["workload"], workloads),
            "_b": rank(df["backend"], BACKENDS),
            "_d": rank(df["device"], DEVICES),
            "_v": rank(df["variant"], VARIANTS),
            "_h": rank(df["host"].astype(str).map(base_host), HOST_NAMES),
            # releases of one host: oldest first (numeric, so 9.x sorts before 10.x)
            "_r": df["host"].astype(str).map(_release_rank),
        },
        index=df.index,
    )
    order = keys.sort_values(list(keys.columns), kind="stable").index
    return df.loc[order].reset_index(drop=True)


def _release_rank(host: str) -> str:
    version = host_version(host)  # zero-padded numbers sort as strings
    return ".".join(f"{int(x):06d}" for x in re.findall(r"\d+", version)) if version else ""


PROGRAM_UNIT = (
    'p50 per bench region (timing = "bench") or per program run (timing = "process"); '
    "reference: the preview1 cell of the same host, backend and device in this run"
)


def program_rows(summary: pd.DataFrame) -> pd.Series:
    """Which summary rows are program workloads (docs/programs.md): their `total` is one
    bench region or one run, and their ratio is against preview1 on the same host."""
    if "model" not in summary:
        return pd.Series(False, index=summary.index)
    return summary["model"].astype(str).str.startswith("program:")


def baseline_of(key: Cell, known: set[Cell]) -> Cell:
    """The cell key's overhead is measured against: its native baseline, or, where the
    run has no native cell for it (a program workload: no native twin), the preview1
    cell of the same host, backend and device (docs/programs.md)."""
    if key.is_native or key.baseline in known:
        return key.baseline
    return replace(key, variant="preview1")


def _cell_stats(
    key: Cell, d: Latency, ratios: dict[str, stats.Ratio], by_round: dict[Cell, stats.Rounds],
    binding: dict[Cell, np.ndarray], n_boot: int, target_ci: float | None,
) -> CellStats:  # fmt: skip
    """One cell's summary.csv statistics from its latency description and ratios."""
    # rounds, not iterations, are the independent unit (bench.analyze.stats)
    lo, hi = stats.round_median_ci(by_round.get(key, {}), n_boot=n_boot, seed=stats.seed_for(*key))
    nan = stats.Ratio(np.nan, np.nan, np.nan)
    ov, ovc = ratios.get("native", nan), ratios.get("native-c", nan)
    vs, width = headline(ratios, key)
    b = binding.get(key)
    b_ms = float(np.median(b)) if b is not None and b.size else np.nan
    share = b_ms / d.p50_ms if d.n and d.p50_ms > 0 else np.nan
    return CellStats(
        **asdict(d), p50_ci_low_ms=lo, p50_ci_high_ms=hi,
        throughput_ips=1000.0 / d.p50_ms if d.n and d.p50_ms > 0 else np.nan,
        overhead_vs_native=ov.value, overhead_ci_low=ov.low, overhead_ci_high=ov.high,
        overhead_vs_native_c=ovc.value, overhead_c_ci_low=ovc.low, overhead_c_ci_high=ovc.high,
        headline_vs=vs, headline_ci_pct=width, target_ci_pct=target_ci,
        target_ci_met=None if target_ci is None or not vs else bool(width <= target_ci),
        binding_ms=b_ms, binding_share=share,
        binding_bound=bool(share > BINDING_BOUND) if np.isfinite(share) else None,
    )  # fmt: skip


def summarize(
    samples: pd.DataFrame, cells: pd.DataFrame, n_boot: int = stats.N_BOOT,
    target_ci: float | None = None,
) -> pd.DataFrame:  # fmt: skip
    """summary.csv rows (bench.results.schema.SUMMARY_COLUMNS), one per cell of `cells`.

    Latency statistics come from the per-iteration `total` phase. Cells without
    samples (failed/unsupported/skipped) keep their row with NaN statistics.
    Cells that have samples but no row in `cells` get one (status "ok") so that
    no measured data is silently dropped. target_ci: the run's --target-ci (percent),
    for the target_ci_met column.
    """
    cells = cells.copy()
    for col in CELL_COLUMNS:
        if col not in cells.columns:
            cells[col] = pd.NA
    total = phase_ms(samples, TOTAL)
    known = {Cell.from_row(r) for _, r in cells.iterrows()}
    extra = [k for k in total if k not in known]
    if extra:
        add = pd.DataFrame([k.to_dict() for k in extra])
        add["status"] = "ok"
        add["reason"] = ""
        cells = pd.concat([cells, add.reindex(columns=CELL_COLUMNS)], ignore_index=True)

    phases = {
        p: phase_ms(samples, p)
        for p in (*ITERATION_PHASES, *ROUND_PHASES, *HOST_WORK_PHASES.values())
    }
    binding = _binding_ms(samples)
    ttft = phase_ms(samples, TTFT)
    by_round = phase_rounds(samples, TOTAL)
    rows = []
    for _, cell in cells.iterrows():
        key = Cell.from_row(cell)
        row = {c: cell[c] for c in cells.columns}
        d = stats.describe(total.get(key, np.empty(0)))
        ratios = cell_ratios(key, by_round, known, n_boot)
        row |= asdict(_cell_stats(key, d, ratios, by_round, binding, n_boot, target_ci))
        for col in PHASE_MEDIAN_COLUMNS:
            v = phases[col.removesuffix("_p50_ms")].get(key)
            row[col] = float(np.median(v)) if v is not None and v.size else np.nan
        row |= asdict(decode_stats(row, total.get(key, np.empty(0)), ttft.get(key)))
        rows.append(row)
    extra_cols = [c for c in cells.columns if c not in SUMMARY_COLUMNS]
    out = pd.DataFrame(rows, columns=SUMMARY_COLUMNS + extra_cols)
    out["n"] = out["n"].fillna(0).astype(int)
    return order_cells(out)


def decode_stats(row: dict, itl_ms: np.ndarray, ttft_ms: np.ndarray | None) -> Decoding:
    """The generative columns (docs/decoding.md) of a cell whose iterations are decode
    steps; NaN for every other cell (no ttft samples)."""
    if ttft_ms is None or not ttft_ms.size or not itl_ms.size:
        return Decoding()
    p50, p90, p99 = np.percentile(itl_ms, [50, 90, 99])
    moving = row.get("set_input_p50_ms", np.nan) + row.get("get_output_p50_ms", np.nan)
    return Decoding(
        ttft_ms=float(np.median(ttft_ms)), itl_p50_ms=float(p50), itl_p90_ms=float(p90),
        itl_p99_ms=float(p99), tokens_per_s=1000.0 / float(np.mean(itl_ms)),
        abi_share=float(moving / p50) if p50 > 0 else np.nan,
    )  # fmt: skip


VARIANT_RATIO_COLUMNS = [
    "workload", "host", "backend", "device", "variant", "vs", "ratio", "ci_low", "ci_high",
    *(f"delta_{p}_us" for p in MEASURED_PHASES),
]  # fmt: skip


def variant_ratios(samples: pd.DataFrame, n_boot: int = stats.N_BOOT) -> pd.DataFrame:
    """The working group's question, per (workload, host, backend, device): adapted and
    component against preview1 measured interleaved in the same run — the median ratio
    of `total` with a bootstrap CI — and where the difference goes, as the change of each
    phase's median in microseconds."""
    phases = {p: phase_ms(samples, p) for p in MEASURED_PHASES}
    by_round = phase_rounds(samples, TOTAL)
    rows = []
    for key in phases[TOTAL]:
        workload, variant, host, backend, device = key
        if variant != "preview1":
            continue
        for other in ("adapted", "component"):
            okey = replace(key, variant=other)
            if okey not in phases[TOTAL]:
                continue
            r = stats.round_ratio(
                by_round[okey],
                by_round[key],
                paired=True,
                n_boot=n_boot,
                seed=stats.seed_for(*okey, "vs-p1"),
            )
            row = {"workload": workload, "host": host, "backend": backend, "device": device,
                   "variant": other, "vs": "preview1", "ratio": r.value, "ci_low": r.low, "ci_high": r.high}  # fmt: skip
            for p in MEASURED_PHASES:
                a, b = phases[p].get(okey), phases[p].get(key)
                row[f"delta_{p}_us"] = (
                    float(np.median(a) - np.median(b)) * 1000
                    if a is not None and b is not None
                    else np.nan
                )
            rows.append(row)
    # Its columns even with no row: a run without adapted or component cells is a normal
    # run, and every reader selects columns by name.
    return pd.DataFrame(rows, columns=VARIANT_RATIO_COLUMNS)


def binding_cost(summary: pd.DataFrame, io_bytes: dict[str, int]) -> pd.DataFrame:
    """The binding's cost per MB on the wasmtime-py component cells (adapted, component):
    per cell, (set_input - host work) + (get_output - host work) in ms, medians, over the
    MB that cross per iteration (inputs + outputs: meta.json workloads.*.io_bytes). It
    holds the per-call cost too: small tensors overstate the per-MB figure."""
    cols = ["set_input_p50_ms", "host_set_input_p50_ms", "get_output_p50_ms",
            "host_get_output_p50_ms"]  # fmt: skip
    if any(c not in summary for c in cols):
        return pd.DataFrame()
    rows = []
    for _, r in summary.iterrows():
        key = Cell.from_row(r)
        mb = io_bytes.get(key.workload, 0) / 1e6
        timed = host_facts(key.host).times_host_work  # the host_* phases are measured
        if not timed or key.variant not in ("adapted", "component") or mb <= 0:
            continue
        vals = [float(r[c]) for c in cols]
        if not all(np.isfinite(vals)):
            continue
        conv = (vals[0] - vals[1]) + (vals[2] - vals[3])
        rows.append({**key.to_dict(), "io_mb": mb, "binding_io_ms": conv,
                     "ms_per_mb": conv / mb})  # fmt: skip
    return pd.DataFrame(rows)
