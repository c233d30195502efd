"""The native baseline: the backend called directly from Python, no wasm.

It does the same work per iteration as the guest driver (bind every input,
compute, copy every output into a caller-owned buffer), so the difference to
a wasm cell is the cost of the wasm boundary and the host's ABI layer.
"""

from __future__ import annotations

import numpy as np

from contracts.jobs import (
    CellFailed,
    CellJob,
    CellSkipped,
    RoundResult,
    peak_rss_kb,
)
from contracts.phases import MEASURED_PHASES
from hosts import decoding
from hosts.backends import BackendError, device_problem, get_backend
from hosts.base import RUNNABLE, Host, Probe
from hosts.measures import collect_counts, self_clock


class NativeHost(Host):
    name = "native"
    variants = ("native",)

    def probe(self, variant: str, backend: str, device: str) -> Probe:
        if variant != "native":
            return Probe.unsupported(f"the native host runs only the native variant, not {variant}")
        reason = device_problem(backend, device)
        return Probe.skipped(reason) if reason else RUNNABLE

    def run_round(self, job: CellJob) -> RoundResult:
        backend = get_backend(job.cell.backend)
        paths, encoding = job.model.files_for(job.cell.backend)
        if reason := device_problem(job.cell.backend, job.cell.device):
            raise CellSkipped(reason)
        # the job's measure (wall, cpu, instructions), read at the driver's boundaries
        clock = self_clock(job)
        try:
            t0 = clock()
            graph = backend.load_files(paths, encoding, job.cell.device, job.threads)
            t1 = clock()
            ctx = graph.new_context()
            t2 = clock()
        except BackendError as e:
            raise CellFailed(f"load: {e}") from e

        if job.generate is not None:
            try:
                phases, notes, tokens = decoding.run_native(
                    job.generate, job, ctx.set_input, ctx.compute, ctx.get_output
                )
            except BackendError as e:
                raise CellFailed(str(e)) from e
            return RoundResult(
                per_iteration=phases,
                host_phases={"load": t1 - t0, "init": t2 - t1},
                outputs={decoding.TOKENS: tokens},
                peak_rss_kb=peak_rss_kb(),
                notes={"load_mode": "files", **notes},
            )
        inputs = [(spec.name, spec.read()) for spec in job.inputs]
        out_bufs = {
            spec.name: np.empty(spec.shape, dtype=spec.read_dtype()) for spec in job.outputs
        }
        phases: dict[str, list[int]] = {p: [] for p in MEASURED_PHASES}
        try:
            for i in range(job.warmup + job.iterations):
                a = clock()
                for name, array in inputs:
                    ctx.set_input(name, array)
                b = clock()
                ctx.compute()
                c = clock()
                for name, buf in out_bufs.items():
                    np.copyto(buf, ctx.get_output(name).reshape(buf.shape), casting="no")
                d = clock()
                if i >= job.warmup:
                    phases["set_input"].append(b - a)
                    phases["compute"].append(c - b)
                    phases["get_output"].append(d - c)
                    phases["total"].append(d - a)
        except BackendError as e:
            raise CellFailed(str(e)) from e
        result = RoundResult(
            per_iteration=phases,
            host_phases={"load": t1 - t0, "init": t2 - t1},
            outputs=out_bufs,
            peak_rss_kb=peak_rss_kb(),
            notes={"load_mode": "files"},
        )
        collect_counts(job, result)  # instructions: the phases from callgrind's dumps
        return result
