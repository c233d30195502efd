"""wasmtime-py host: the guest runs in-process, wasi-nn is implemented in Python.

Variant preview1 -> `hosts.wasmtime_py.preview1` (the witx ABI over our backends);
component and adapted -> `hosts.wasmtime_py.component` (the WIT ABI).
"""

from __future__ import annotations

from contracts.jobs import CellJob, CellSkipped, CellUnsupported, RoundResult
from contracts.measures import CPU
from hosts import measures
from hosts.backends import device_problem
from hosts.base import RUNNABLE, Host, Probe
from hosts.programs import ProgramJob, ProgramResult


class WasmtimePyHost(Host):
    name = "wasmtime-py"
    variants = ("preview1", "adapted", "component")

    def probe(self, variant: str, backend: str, device: str) -> Probe:
        if variant not in self.variants:
            return Probe.unsupported(f"wasmtime-py runs {', '.join(self.variants)}, not {variant}")
        reason = device_problem(backend, device)
        return Probe.skipped(reason) if reason else RUNNABLE

    def run_round(self, job: CellJob) -> RoundResult:
        if job.measure != CPU:
            return self._run_round(job)
        # cpu: this thread's monotonic clock (the guest's WASI clock, our perf_counter_ns)
        # reads the process's CPU time for the round (hosts/measures)
        measures.guest_cpu_clock(True)
        try:
            return self._run_round(job)
        finally:
            measures.guest_cpu_clock(False)

    def _run_round(self, job: CellJob) -> RoundResult:
        variant = job.cell.variant
        if reason := device_problem(job.cell.backend, job.cell.device):
            raise CellSkipped(reason)
        if variant == "preview1":
            from hosts.wasmtime_py import preview1

            return preview1.run_round(job)
        if variant in ("component", "adapted"):
            from hosts.wasmtime_py import component

            return component.run_round(job)
        raise CellUnsupported(f"wasmtime-py runs {', '.join(self.variants)}, not {variant}")

    def run_program(self, job: ProgramJob) -> ProgramResult:
        """A whole wasi-nn program, once (hosts/programs.py, docs/programs.md)."""
        from hosts.wasmtime_py.program import run_program

        return run_program(job)
