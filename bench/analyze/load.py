"""The machine's state while a run measured (docs/measures.md#the-machines-state):
how many rounds ran under load, and the state before the run, in words."""

from __future__ import annotations

from typing import Any

import pandas as pd

from contracts.cells import KEY_COLUMNS


def rounds_under_load(samples: pd.DataFrame) -> tuple[int, int]:
    """(rounds measured under load, rounds whose state was recorded); a round is one
    (cell, round). (0, 0) for runs from before the state was recorded."""
    if "under_load" not in samples or samples.empty:
        return 0, 0
    known = samples.dropna(subset=["under_load"])
    per_round = known.groupby([*KEY_COLUMNS, "round"])["under_load"].first()
    return int(per_round.astype(bool).sum()), int(len(per_round))


def start_state(meta: dict[str, Any]) -> str:
    """meta.json's machine_state in words ('' when not recorded)."""
    state = meta.get("machine_state")
    if not isinstance(state, dict):
        return ""
    numbers = {k: state.get(k) for k in ("load1", "others_cores", "steal_pct")}
    if not all(isinstance(v, int | float) for v in numbers.values()):
        return ""  # a meta.json from elsewhere with odd values: say nothing rather than guess
    cores = (meta.get("machine") or {}).get("cores", "?")
    mhz = state.get("cpu_mhz")
    mhz_text = f", {mhz:.0f} MHz" if isinstance(mhz, int | float) and mhz else ""
    busy = " (busy)" if state.get("under_load") is True else ""
    return (
        f"load average {numbers['load1']:.2f} on {cores} cores, other processes busy on "
        f"{numbers['others_cores']:.1f} cores, steal {numbers['steal_pct']:.1f}%{mhz_text}{busy}"
    )


def load_sentence(meta: dict[str, Any], samples: pd.DataFrame) -> str:
    """One sentence for a report: the state at the start and the rounds under load."""
    loaded, known = rounds_under_load(samples)
    parts = []
    if start := start_state(meta):
        parts.append(f"Machine at the start: {start}.")
    if known:
        parts.append(f"Rounds measured under load: {loaded} of {known}.")
    return " ".join(parts)
