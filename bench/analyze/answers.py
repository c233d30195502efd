"""The working group's question, answered per workload and host: adapted vs preview1,
component vs preview1, and each wasm variant vs native-c (vs native where the run has no
native-c cell), each a ratio measured side by side in one run with its 95% CI, and the
difference split into the ABI phases (set_input, get_output: moving tensors across the
ABI) and the backend's `compute`.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from bench.analyze import stats
from bench.analyze.summarize import phase_ms, phase_rounds
from contracts.cells import Cell
from contracts.hosts import host_facts
from contracts.phases import TOTAL

ABI_PHASES = ("set_input", "get_output")
WASM_VARIANTS = ("preview1", "adapted", "component")


@dataclass(frozen=True)
class Answer:
    cell: Cell  # the variant asked about
    vs: str  # preview1 | native-c | native
    ratio: stats.Ratio  # cell / reference, paired by round
    delta_ms: dict[str, float]  # change of each phase's median (and total), ms per iteration
    binding_bound: bool  # a host of ours whose time is mostly its Python binding

    @property
    def measurable(self) -> bool:
        """A difference only when the 95% CI of the ratio excludes 1."""
        return self.ratio.excludes_one()

    @property
    def within_pct(self) -> float:
        """How far from no difference the CI reaches, in percent (either side)."""
        return max(abs(self.ratio.low - 1), abs(self.ratio.high - 1)) * 100

    @property
    def abi_ms(self) -> float:
        return float(sum(self.delta_ms.get(p, 0.0) for p in ABI_PHASES))

    @property
    def compute_ms(self) -> float:
        return float(self.delta_ms.get("compute", 0.0))

    @property
    def in_compute(self) -> bool:
        """The difference lies in the backend's compute: compute moved the same way as
        the total and by more than the ABI phases together."""
        total = self.delta_ms.get(TOTAL, 0.0)
        return np.sign(self.compute_ms) == np.sign(total) and abs(self.compute_ms) > abs(
            self.abi_ms
        )


def _reference(key: Cell, question: str, known: set[Cell]) -> tuple[str, Cell] | None:
    if question == "preview1":
        other = replace(key, variant="preview1")
        return ("preview1", other) if other in known and other != key else None
    if key.native_c_baseline in known:
        return "native-c", key.native_c_baseline
    return ("native", key.baseline) if key.baseline in known else None


def answers(
    samples: pd.DataFrame, summary: pd.DataFrame, n_boot: int = stats.N_BOOT
) -> list[Answer]:
    """Every answer a run holds, in the order of its cells (workload, host, variant)."""
    rounds = phase_rounds(samples, TOTAL)
    phases = {p: phase_ms(samples, p) for p in (*ABI_PHASES, "compute", TOTAL)}
    known = set(rounds)
    bound = _binding_bound(summary)
    out = []
    for key in sorted(known, key=_order):
        if key.variant not in WASM_VARIANTS:
            continue
        questions = ["preview1", "native"] if key.variant != "preview1" else ["native"]
        for q in questions:
            ref = _reference(key, q, known)
            if ref is None:
                continue
            vs, other = ref
            ratio = stats.round_ratio(rounds[key], rounds[other], paired=True, n_boot=n_boot,
                                      seed=stats.seed_for(*key, "answer", vs))  # fmt: skip
            delta = {
                p: float(np.median(phases[p][key]) - np.median(phases[p][other]))
                for p in phases
                if key in phases[p] and other in phases[p]
            }
            out.append(Answer(key, vs, ratio, delta, bound.get(key, False)))
    return out


def _order(key: Cell) -> tuple:
    return (key.workload, key.backend, key.device, key.host, WASM_VARIANTS.index(key.variant)
            if key.variant in WASM_VARIANTS else -1)  # fmt: skip


def _binding_bound(summary: pd.DataFrame) -> dict[Cell, bool]:
    if "binding_bound" not in summary:
        return {}
    return {
        Cell.from_row(r): str(r["binding_bound"]).strip().lower() in ("true", "1", "1.0")
        for _, r in summary.iterrows()
    }


def is_our_host(host: str) -> bool:
    """wasmtime-py: our Python host, whose wasi-nn calls go through the Python binding
    (binding-bound); its answers are drawn apart from the official CLI's."""
    return host_facts(host).times_host_work
