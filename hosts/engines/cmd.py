"""Another runtime by its command line as a host: `--engine NAME=cmd:'TEMPLATE'` is host
`cmd[NAME]` (docs/engines.md).

The template says how the runtime runs a preview1 module: `{module}`, `{dir}` (the
folder the guest sees as "."), `{args}` (the guest's arguments), `{argv0}`, and
`{bench}` (the bench preload a program's marks need; a token holding it is dropped
when the program does not import bench). Only preview1 cells and whole programs run
here: a template runs one module. Compilation is the runtime's own affair (no
separate `compile` phase); the per-iteration phases come from the guest's clock.

Our preview1 driver imports one experimental function no other runtime defines
(`wasi_ephemeral_nn.properties`, docs/properties.md): the runtime gets a copy of the
driver whose import points at `load` instead (the same type; never called, since it
is not asked for --properties), so it links wherever the standard functions do.
"""

from __future__ import annotations

import hashlib
import os
import shlex
from pathlib import Path
from typing import Self

from contracts import marks, paths, wasm_binary
from contracts.hosts import HostName
from contracts.jobs import CellFailed, CellJob, CellSkipped, CellUnsupported, RoundResult
from contracts.logtail import telling
from hosts import guest_io
from hosts.backends import device_problem
from hosts.base import Host, Probe
from hosts.child import run_child
from hosts.engines import Engine, expand, get, identity, version_text
from hosts.engines.probe import (
    ENCODING_OF,
    LOG_FILTER,
    NO_PREVIEW1,
    backend_probe,
    has_preview1,
    link_error,
    link_line,
)
from hosts.openvino_c import library_env
from hosts.programs import (
    ProgramJob,
    ProgramResult,
    finish,
    imports_bench,
    lay_out,
    preload_with_token,
    read_output,
    split_marks,
)

INVALID_ENCODING = ("InvalidEncoding", "invalid-encoding", "unsupported backend")


def standard_driver(wasm: Path) -> Path:
    """A copy of a core module with the experimental properties import pointed at load."""
    data = wasm.read_bytes()
    mod = wasm_binary.read_core_module(data)
    if ("wasi_ephemeral_nn", "properties", wasm_binary.FUNC) not in mod.imports:
        return wasm
    out = paths.cli_cache() / "engines" / f"{wasm.stem}-standard-{len(data)}-{hash_of(data)}.wasm"
    if not out.is_file():
        out.parent.mkdir(parents=True, exist_ok=True)
        tmp = out.with_name(f"{out.name}.tmp-{os.getpid()}")
        tmp.write_bytes(wasm_binary.repoint_import(data, "wasi_ephemeral_nn", "properties", "load"))
        os.replace(tmp, out)
    return out


def hash_of(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()[:16]


def _without_properties(argv: list[str]) -> list[str]:
    if "--properties" not in argv:
        return argv
    i = argv.index("--properties")
    return argv[:i] + argv[i + 2 :]


class CmdHost(Host):
    variants = ("preview1",)

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.name = engine.host

    @classmethod
    def from_name(cls, name: HostName) -> Self:
        engine = get(name.instance or "")
        if engine.template is None:
            raise CellFailed(f"engine {engine.name} is a binary: host {engine.host}, not {name}")
        return cls(engine)

    def runtime_version(self) -> str:
        return version_text(self.engine)

    def probe(self, variant: str, backend: str, device: str) -> Probe:
        if variant not in self.variants:
            return Probe.unsupported(
                f"{self.name} runs preview1 modules only (a cmd: template runs one module)"
            )
        if reason := device_problem("openvino", device):
            return Probe.skipped(reason)
        return backend_probe(self.engine, ENCODING_OF.get(backend, backend))

    def run_round(self, job: CellJob) -> RoundResult:
        if reason := device_problem("openvino", job.cell.device):
            raise CellSkipped(reason)
        run = guest_io.prepare(job)
        argv = _without_properties(run.argv)
        module = standard_driver(run.wasm)
        cmd = expand(self.engine, module, run.preopen, argv[1:], argv0=argv[0])
        env = library_env(job.threads) | {"WASMTIME_LOG": LOG_FILTER}
        timeout = float(job.options["timeout_s"]) if "timeout_s" in job.options else None
        child = run_child(cmd, run.stdout, run.stderr, env, job.workdir, timeout)
        if child.code != 0:
            raise_failure(self.name, child.code, run.stderr.read_text(errors="replace"),
                          child.timed_out, timeout)  # fmt: skip
        result = guest_io.collect(job, run)
        result.peak_rss_kb = child.peak_rss_kb
        result.notes |= {
            "engine": version_text(self.engine),
            "engine_id": identity(self.engine)[:16],
            "command": shlex.join(cmd)[:400],
            "process_wall_ms": f"{child.wall_ns / 1e6:.1f}",
        }
        return result

    def run_program(self, job: ProgramJob) -> ProgramResult:
        """A whole preview1 program, once; a bench import gets the harness's preload with
        this run's mark token (hosts/programs.py), through the template's {bench}."""
        if not wasm_binary.is_core_module(job.wasm):
            raise CellUnsupported(f"{self.name} runs preview1 modules only, not components")
        if imports_bench(job.wasm) and "{bench}" not in (self.engine.template or ""):
            raise CellUnsupported(
                f"{self.name}: the program imports bench (its marks) and the template has no "
                "{bench} token to preload it (e.g. --preload=bench={bench} for wasmtime)"
            )
        if not has_preview1(self.engine):
            raise CellUnsupported(NO_PREVIEW1)
        run = lay_out(job)
        token = marks.new_token()
        bench = preload_with_token(run.root, token) if imports_bench(job.wasm) else None
        cmd = expand(self.engine, job.wasm, run.guest, list(job.args), job.argv0, bench)
        child = run_child(cmd, run.stdout, run.stderr, library_env(job.threads), os.getcwd(),
                          job.timeout_s)  # fmt: skip
        regions, stderr, forged = split_marks(read_output(run.stderr), token)
        trap = f"killed after the {job.timeout_s} s timeout" if child.timed_out else None
        result = finish(job, child.code, read_output(run.stdout).decode(errors="replace"),
                        stderr, regions, child.wall_ns, trap, forged)  # fmt: skip
        result.notes |= {"engine": version_text(self.engine)}
        return result


def raise_failure(
    host: str, code: int, stderr: str, timed_out: bool, timeout: float | None
) -> None:
    """The cell's outcome from a runtime that exited non-zero, in its own words."""
    told = telling(stderr, "driver", keep=3) or "no output"
    if link_error(stderr):
        raise CellUnsupported(f"{NO_PREVIEW1} ({link_line(stderr)})")
    if any(w in stderr for w in INVALID_ENCODING):
        raise CellUnsupported(f"{host}: {told}")
    if timed_out:
        raise CellFailed(f"{host}: killed after the {timeout} s timeout")
    raise CellFailed(f"{host} exited {code}: {told}")
