"""The decoding answer (docs/decoding.md): per-token cost by variant and KV mode, and
the measured saving of keeping the KV cache in the backend.

A run's generative workloads are paired by model: two workloads whose prepared model
has the same sha256 and whose `[generate]` tables differ only in `kv` ("io": the cache
crosses wasi-nn every step; "state": it stays in the backend) are the same decoder
measured both ways. For each (variant, host, backend, device) both ran, the saving is
the ratio of their inter-token latencies, with a paired round bootstrap CI (the two
cells ran interleaved in the same rounds).
"""

from __future__ import annotations

from dataclasses import replace

import pandas as pd

from bench.analyze import stats
from bench.analyze.summarize import phase_rounds
from contracts.cells import Cell
from contracts.phases import TOTAL

PER_TOKEN_COLUMNS = [
    "workload", "kv", "variant", "host", "backend", "device", "itl_p50_ms", "ttft_ms",
    "tokens_per_s", "set_input_p50_ms", "compute_p50_ms", "get_output_p50_ms", "abi_share",
    "abi_bytes_per_token", "overhead_vs_native_c", "agrees",
]  # fmt: skip
SAVING_COLUMNS = [
    "io_workload", "state_workload", "variant", "host", "backend", "device", "io_itl_ms",
    "state_itl_ms", "ratio", "ci_low", "ci_high",
]  # fmt: skip


def kv_modes(meta: dict) -> dict[str, str]:
    """workload -> its kv mode, for the run's generative workloads."""
    out = {}
    for name, info in (meta.get("models") or {}).items():
        g = info.get("generate") if isinstance(info, dict) else None
        if isinstance(g, dict) and g.get("kv"):
            out[name] = str(g["kv"])
    return out


def per_token(summary: pd.DataFrame, meta: dict) -> pd.DataFrame:
    """One row per ok generative cell: its per-token cost and where it goes."""
    modes = kv_modes(meta)
    s = summary[summary["workload"].isin(list(modes)) & (summary["status"] == "ok")].copy()
    if s.empty:
        return pd.DataFrame(columns=PER_TOKEN_COLUMNS)
    s["kv"] = s["workload"].map(modes)
    return s.reindex(columns=PER_TOKEN_COLUMNS).reset_index(drop=True)


def pairs(meta: dict) -> list[tuple[str, str]]:
    """(io workload, state workload) pairs of the same model."""
    models = meta.get("models") or {}
    modes = kv_modes(meta)

    def key(name: str) -> tuple:
        info = models[name]
        g = {k: v for k, v in info["generate"].items() if k != "kv"}
        return (info.get("sha256"), sorted(g.items()))

    io = [n for n, m in modes.items() if m == "io"]
    state = [n for n, m in modes.items() if m == "state"]
    return [(a, b) for a in io for b in state if key(a) == key(b)]


def savings(samples: pd.DataFrame, summary: pd.DataFrame, meta: dict) -> pd.DataFrame:
    """Per cell present in both forms: ITL(io) / ITL(state), paired over rounds."""
    by_round = phase_rounds(samples, TOTAL)
    ok = summary[summary["status"] == "ok"]
    rows = []
    for io_name, state_name in pairs(meta):
        for _, r in ok[ok["workload"] == state_name].iterrows():
            state_cell = Cell.from_row(r)
            io_cell = replace(state_cell, workload=io_name)
            num, den = by_round.get(io_cell), by_round.get(state_cell)
            if not num or not den:
                continue
            ratio = stats.round_ratio(
                num, den, paired=True, seed=stats.seed_for(*state_cell, "kv-saving")
            )
            io_p50 = ok.loc[ok["workload"] == io_name].set_index(
                ["variant", "host", "backend", "device"]
            )["itl_p50_ms"]
            where = (state_cell.variant, state_cell.host, state_cell.backend, state_cell.device)
            rows.append({
                "io_workload": io_name, "state_workload": state_name,
                "variant": state_cell.variant, "host": state_cell.host,
                "backend": state_cell.backend, "device": state_cell.device,
                "io_itl_ms": float(io_p50.get(where, float("nan"))),
                "state_itl_ms": float(r["itl_p50_ms"]),
                "ratio": ratio.value, "ci_low": ratio.low, "ci_high": ratio.high,
            })  # fmt: skip
    return pd.DataFrame(rows, columns=SAVING_COLUMNS)
