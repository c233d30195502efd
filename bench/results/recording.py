"""Recording what a worker measured while the run goes on: a round's samples (one part
file per (cell, round)), its outputs (outputs/<cell>.npz), and its progress line, and
the cell's state updated to match; the offline pass's throughput likewise.

Written in this order so that a kill at any moment leaves a run `--resume` can finish:
the part and the outputs first (each whole or absent), the progress line last.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from bench.results.outputs import write_outputs
from bench.results.progress import OFFLINE_ROUND, CellState
from bench.results.schema import ROUND_STATE_COLUMNS
from bench.results.store import RunWriter, sample_columns
from contracts.jobs import WorkerResult
from contracts.phases import TOTAL

ROUND_ITERATION = -1  # samples.parquet `iteration` of the once-per-round phases


def samples_frame(
    result: WorkerResult, state: CellState, r: int, run_id: str, machine: str
) -> pd.DataFrame:
    """A round's samples in the long form of samples.parquet (SAMPLE_COLUMNS)."""
    rows: list[tuple[int, str, int]] = []
    for phase, values in result.per_iteration.items():
        rows += [(i, phase, int(ns)) for i, ns in enumerate(values)]
    rows += [(ROUND_ITERATION, phase, int(ns)) for phase, ns in result.per_round.items()]
    frame = pd.DataFrame(rows, columns=["iteration", "phase", "ns"])
    for col, value in (("run_id", run_id), *state.cell.to_dict().items(), ("round", r),
                       ("machine", machine)):  # fmt: skip
        frame[col] = value
    frame = frame.astype({"iteration": "int64", "ns": "int64", "round": "int64"})
    for col in ROUND_STATE_COLUMNS:  # the round's machine state, on every row
        if col in result.machine_state:
            frame[col] = result.machine_state[col]
    return frame[sample_columns(frame)]


class Recorder:
    """Records finished rounds into one run folder (through its RunWriter)."""

    def __init__(self, writer: RunWriter, run_id: str, machine: str):
        self.writer = writer
        self.run_id = run_id
        self.machine = machine  # the machine fingerprint, on every sample row
        # `total` samples recorded in this session, for whoever keeps a running view
        # (the --target-ci stop rule); None: nobody does
        self.totals: list[pd.DataFrame] | None = None

    def round_ok(self, state: CellState, r: int, result: WorkerResult, outputs: Path) -> None:
        """A round that ran: its samples, the outputs it saved (`outputs`: the worker's
        outputs.npz, arr_0.. in result.output_names order), its progress line."""
        c = state.cell
        frame = samples_frame(result, state, r, self.run_id, self.machine)
        # Named by (cell, round): a round re-run after a kill -9 (its part written,
        # its progress line not) replaces its part instead of doubling its samples.
        self.writer.append_samples(frame, name=f"{c.slug}.r{r}")
        if self.totals is not None:
            self.totals.append(frame[frame["phase"] == TOTAL])
        if outputs.exists():
            self._keep_outputs(c.slug, outputs, result.output_names)
        state.status = "ok"
        state.rounds_done += 1
        state.peak_rss_kb = max(state.peak_rss_kb, result.peak_rss_kb)
        state.notes.update({k: str(v) for k, v in result.notes.items()})
        self.writer.record_progress({"cell": c.key, "round": r, "status": "ok",
                                     "peak_rss_kb": state.peak_rss_kb, "notes": state.notes})  # fmt: skip

    def round_not_ok(self, state: CellState, r: int, result: WorkerResult) -> None:
        """A round that did not run (failed, unsupported, skipped): the cell stops."""
        state.status = result.status
        state.reason = result.reason or "no reason given"
        self.writer.record_progress(
            {"cell": state.cell.key, "round": r, "status": state.status, "reason": state.reason}
        )

    def offline(self, state: CellState, results: list[WorkerResult], k: int) -> None:
        """The offline pass: K instances at once; samples/s = sum over instances of
        iterations / their summed per-iteration time. Not part of the latency samples."""
        entry: dict[str, Any] = {"cell": state.cell.key, "round": OFFLINE_ROUND}
        totals = [o.per_iteration.get(TOTAL, []) for o in results]
        # A guest writes its own samples: an all-zero total must not divide by zero.
        if all(o.ok and sum(t) > 0 for o, t in zip(results, totals, strict=True)):
            rate = sum(len(t) / (sum(t) / 1e9) for t in totals)
            state.offline_ips = rate
            entry |= {"status": "ok", "offline_ips": rate, "offline_k": k}
        else:
            no_time = WorkerResult("failed", "the guest reported no time (its totals sum to 0)")
            state.offline_reason = next((o for o in results if not o.ok), no_time).reason
            entry |= {"status": "offline-failed", "reason": state.offline_reason}
        self.writer.record_progress(entry)

    def _keep_outputs(self, slug: str, outputs: Path, names: list[str]) -> None:
        with np.load(outputs) as npz:
            arrays = {name: npz[f"arr_{i}"] for i, name in enumerate(names)}
        write_outputs(self.writer.outputs / f"{slug}.npz", arrays)  # whole or absent, sealed
