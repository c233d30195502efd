"""The `model` workload kind: an ONNX model (zoo or the user's) run by the driver
guest, the C driver natively, or the backend from Python; `iterations` inferences per
round; outputs compared numerically with the cell's reference (`Cell.reference`)."""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np

from bench.measure.prepare import PreparedModel, prepare
from bench.measure.workload_kind import Agreement, CellProblem, PreparedWorkload
from bench.results.outputs import load_outputs
from bench.results.progress import CellState
from contracts.cells import Cell
from contracts.hosts import host_facts
from contracts.jobs import CellJob, WorkerResult, reset_peak_rss
from contracts.machine import StateWindow
from contracts.measures import MEASURES
from hosts import get_host
from hosts.backends import get_backend
from workloads.spec.workload import Workload


class ModelKind:
    name = "model"
    native_baselines = True  # the backend called from Python (native) and from C (native-c)
    measures = MEASURES  # wall, cpu, instructions (hosts/measures)

    def prepare(self, w: Workload, run_dir: Path, data_dir: Path) -> PreparedModel:
        return prepare(w, data_dir)

    def cell_problem(self, cell: Cell, p: PreparedWorkload) -> CellProblem | None:
        """A model the cell's backend cannot take: an opset outside its range, or
        (OpenVINO) a model its reader rejected when the IR was made."""
        assert isinstance(p, PreparedModel)
        if cell.backend == "openvino" and not p.model.ir_xml:
            why = p.model_info.get("ir_error") or "no IR"
            return "unsupported", f"OpenVINO cannot read this model: {why}"
        if host_facts(cell.host).own_backends:
            return None  # its wasi-nn backends are its own: found by trying
        opset = p.model.opset
        known = get_backend(cell.backend).onnx_opset_range()
        if opset is None or known is None or known[0] <= opset <= known[1]:
            return None
        why = f"model opset {opset} outside {cell.backend}'s supported range {known[0]}-{known[1]}"
        return "unsupported", why

    def job(
        self, cell: Cell, round_index: int, workdir: Path, p: PreparedWorkload, measure: str
    ) -> dict[str, Any]:
        assert isinstance(p, PreparedModel)
        w = p.workload
        options = {"timeout_s": str(w.timeout_s)}
        if cell.variant in w.guests:
            options["guest_wasm"] = str(w.guests[cell.variant])
        job = CellJob(
            cell=cell, model=p.model, inputs=p.inputs, outputs=p.outputs, warmup=w.warmup,
            iterations=w.iterations, threads=w.threads, workdir=str(workdir), round=round_index,
            load_mode="bytes", options=options, measure=measure,
        )  # fmt: skip
        return job.to_dict()

    def run_round(self, job: dict[str, Any], out_dir: Path) -> WorkerResult:
        cell_job = CellJob.from_dict(job)
        host = get_host(cell_job.cell.host)
        # Import the backend's libraries first, then start the peak-memory window: the
        # round's peak should be its own work (model, tensors, guest), not import spikes.
        get_backend(cell_job.cell.backend)
        reset_peak_rss()
        window = StateWindow()  # the machine's state during the round (docs/measures.md)
        r = host.run_round(cell_job)
        state = window.close()
        np.savez(out_dir / "outputs.npz", *r.outputs.values())  # arr_0.. in output_names order
        return WorkerResult.of_round(r, machine_state=asdict(state))

    def agreement(
        self, states: list[CellState], prepared: dict[str, PreparedWorkload], outputs_dir: Path
    ) -> dict[str, Agreement]:
        """Each ok cell against its reference (`Cell.reference`): wasm cells and the C
        baseline against the Python native cell of the same backend and device, Python
        native cells against the native onnxruntime cell of their device (a
        cross-backend check); every output within the workload's tolerance."""

        def outputs_of(cell: Cell) -> dict[str, np.ndarray] | None:
            path = outputs_dir / f"{cell.slug}.npz"
            return load_outputs(path) if path.exists() else None

        result: dict[str, Agreement] = {}
        for s in states:
            if s.status != "ok":
                continue
            c = s.cell
            mine, theirs = outputs_of(c), outputs_of(c.reference)
            if mine is None or theirs is None:
                result[c.key] = (None, None)
                continue
            p = prepared[c.workload]
            assert isinstance(p, PreparedModel)
            result[c.key] = _compare(mine, theirs, p)
        return result


def _compare(
    mine: dict[str, np.ndarray], theirs: dict[str, np.ndarray], p: PreparedModel
) -> Agreement:
    agrees, worst = True, 0.0
    for spec in p.outputs:
        a = _by_name_or_position(mine, spec.name, spec.index)
        b = _by_name_or_position(theirs, spec.name, spec.index)
        if a is None or b is None or a.size != b.size:
            agrees, worst = False, float("inf")
            continue
        a64, b64 = a.reshape(-1).astype(np.float64), b.reshape(-1).astype(np.float64)
        diff = float(np.max(np.abs(a64 - b64))) if a.size else 0.0
        worst = diff if np.isnan(diff) or diff > worst else worst  # max() drops a NaN
        tol = p.workload.tolerance_for(spec.name)
        agrees &= bool(np.allclose(a64, b64, atol=tol.atol, rtol=tol.rtol))
    return agrees, worst


def _by_name_or_position(
    outputs: dict[str, np.ndarray], name: str, index: int
) -> np.ndarray | None:
    if name in outputs:
        return outputs[name]
    values = list(outputs.values())
    return values[index] if index < len(values) else None


KIND = ModelKind()
