"""How a run ended, for the command line: counts, the cells that failed or missed the
--target-ci, and the exit code (README "Exit codes").

  0  every planned cell measured or unsupported (and --target-ci reached, if given)
  1  no cell measured: every cell failed, was unsupported or skipped (never accepted)
  3  some cells failed (accept with --accept failed)
  4  --target-ci not reached by some wasm cell (accept with --accept target-ci)
  130 interrupted (set by the command: what finished is kept)
Exit 3 wins over 4 when both hold.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from bench.results.schema import NOISE_CV
from contracts.cells import Cell

EXIT_OK = 0
EXIT_NOTHING_MEASURED = 1
EXIT_CELLS_FAILED = 3
EXIT_TARGET_CI = 4
ACCEPTABLE = {"failed": EXIT_CELLS_FAILED, "target-ci": EXIT_TARGET_CI}


@dataclass
class Outcome:
    counts: dict[str, int]  # status -> cells
    noisy: list[Cell] = field(default_factory=list)  # CV above NOISE_CV
    failed: list[Cell] = field(default_factory=list)
    target_missed: list[Cell] = field(default_factory=list)  # wasm cells short of --target-ci

    @property
    def cells(self) -> int:
        return sum(self.counts.values())

    def exit_code(self, accept: set[str] | frozenset[str] = frozenset()) -> int:
        """The run's exit code; `accept` lists the ACCEPTABLE conditions to pass."""
        if not self.counts.get("ok"):
            return EXIT_NOTHING_MEASURED
        if self.failed and "failed" not in accept:
            return EXIT_CELLS_FAILED
        if self.target_missed and "target-ci" not in accept:
            return EXIT_TARGET_CI
        return EXIT_OK

    def why(self, code: int) -> str:
        """One line saying what an exit code means for this run ('' for 0)."""
        if code == EXIT_NOTHING_MEASURED:
            return f"exit 1: no cell measured ({self.cells} cells, none ok)"
        if code == EXIT_CELLS_FAILED:
            return f"exit 3: {len(self.failed)} cell(s) failed (--accept failed to pass anyway)"
        if code == EXIT_TARGET_CI:
            return (
                f"exit 4: {len(self.target_missed)} wasm cell(s) short of --target-ci "
                "(--accept target-ci to pass anyway)"
            )
        return ""


def _flag(value: object) -> str:
    return str(value).strip().lower()  # summary.csv read back: "True"/"False" strings


def outcome(summary: pd.DataFrame) -> Outcome:
    """The Outcome of a run's summary (bench.analyze.summarize.summarize)."""
    if summary.empty:
        return Outcome({})
    status = summary["status"].astype(str)
    counts = {s: int((status == s).sum()) for s in ("ok", "failed", "unsupported", "skipped")}
    counts = {s: n for s, n in counts.items() if n}
    cv = pd.to_numeric(summary.get("cv"), errors="coerce")
    met = summary["target_ci_met"].map(_flag) if "target_ci_met" in summary else None
    out = Outcome(counts)
    for i, r in summary.iterrows():
        key = Cell.from_row(r)
        if status[i] == "failed":
            out.failed.append(key)
        if status[i] == "ok" and cv is not None and cv[i] > NOISE_CV:
            out.noisy.append(key)
        if status[i] == "ok" and met is not None and met[i] == "false":
            out.target_missed.append(key)
    return out
