"""A workload kind: how one sort of workload is prepared, checked, run and compared.

Every stage of a run that depends on what a workload *is* asks its kind
(`bench.measure.kinds.kind_of(workload)`), never tests for it: plan, runner, worker
and finish are the same for every kind. A kind is one module in
`bench/measure/kinds/` with an object implementing `WorkloadKind`, registered in
`bench/measure/kinds/__init__.py: KINDS` (docs/architecture.md, "A workload kind"):

- `prepare`: the workload's files for a run (a built model and its inputs, a staged
  program...), as the kind's own `PreparedWorkload` subclass;
- `cell_problem`: before anything runs, whether a cell of it cannot run here;
- `job`: the JSON-able job of one (cell, round) that the worker receives (the kind's
  own fields: a model's `CellJob`, a program's `runs`...), for the run's `--measure`
  (one of the kind's `measures`);
- `run_round`: in the worker process, run that job and return a `WorkerResult`: its
  `per_iteration` samples are whatever the kind measures per iteration (an
  inference, a program run, a decoding step), phase -> ns;
- `agreement`: after the run, whether each ok cell's saved outputs agree with its
  reference (numbers within a tolerance, identical text, the same token ids...).

Samples and outputs go through the same records for every kind (samples.parquet,
outputs/<cell>.npz), so summary, report and compare need no kind-specific code.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from bench.results.progress import CellState
from contracts.cells import Cell
from contracts.jobs import WorkerResult
from workloads.spec.workload import Workload

# (status, reason) of a cell decided before it runs: unsupported | skipped | failed
CellProblem = tuple[str, str]
# (agrees, max_abs_diff) of a cell against its reference; None: not compared
Agreement = tuple[bool | None, float | None]


@dataclass
class PreparedWorkload:
    """A workload made ready to run; each kind subclasses it with its own files."""

    workload: Workload
    # meta.json `models.<workload>` and the model columns of cells.csv: at least
    # "model" (a label) and "sha256" (what ran, by content); "opset" and the IR
    # versions where the kind has them
    model_info: dict[str, Any] = field(default_factory=dict, kw_only=True)

    def identity(self) -> dict[str, str]:
        """What `--resume` checks did not change since the run started (label -> hash)."""
        return {f"prepared model of {self.workload.name}": str(self.model_info.get("sha256"))}

    def io_bytes(self) -> int:
        """Bytes that cross the wasi-nn boundary per iteration (inputs + outputs; 0: unknown)."""
        return 0

    def rebase(self, run_dir: Path) -> None:
        """Prepared again into a scratch folder to check a resumed run: point back at the
        run folder's own files (they are never rewritten)."""


class WorkloadKind(Protocol):
    name: str  # Workload.kind
    # Does each (workload, backend, device) group get its native and native-c baseline
    # cells (bench/measure/matrix.py)? A kind with no native twin compares with preview1.
    native_baselines: bool
    # The --measure values its cells can take (contracts/measures.py); a cell asked for
    # another is unsupported before anything runs (a program times itself in wall time).
    measures: tuple[str, ...]

    def prepare(self, w: Workload, run_dir: Path, data_dir: Path) -> PreparedWorkload:
        """Build or stage what the cells need; bad input raises WorkloadError (file + field).
        `run_dir`: the run folder (or a scratch one); `data_dir`: where generated data goes."""
        ...

    def cell_problem(self, cell: Cell, p: PreparedWorkload) -> CellProblem | None:
        """(status, reason) when the cell cannot run here (found before it runs), else None."""
        ...

    def job(
        self, cell: Cell, round_index: int, workdir: Path, p: PreparedWorkload, measure: str
    ) -> dict[str, Any]:
        """The job of one (cell, round) as a JSON object (the worker's input); `measure`:
        the run's --measure, one of `measures`."""
        ...

    def run_round(self, job: dict[str, Any], out_dir: Path) -> WorkerResult:
        """In the worker: run the job once. Save the outputs to compare in
        out_dir/outputs.npz (arr_0.. in `output_names` order). Raise CellUnsupported,
        CellSkipped or CellFailed (contracts.jobs) for a cell that cannot run."""
        ...

    def agreement(
        self, states: list[CellState], prepared: dict[str, PreparedWorkload], outputs_dir: Path
    ) -> dict[str, Agreement]:
        """cell key -> Agreement for this kind's cells (`states`: only this kind's). May
        fail a cell (status, reason) whose outputs show it did not do the work."""
        ...
