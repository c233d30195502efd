"""Program workloads: a whole wasi-nn program, benchmarked the sightglass way
(docs/programs.md, docs/workloads.md).

A `[program]` table replaces `model`/`inputs`: the cells are the program as given
(`preview1`), adapted by the harness (`adapted`), and its own component (`component`),
each on wasmtime-py and the wasmtime CLI. There is no native twin, so no native cell:
summaries compare against the preview1 cell of the same host.

Everything program-specific lives here, with small hooks in the stages:

- load: `load_program` (from workload.load_workload) validates the table;
- prepare: `prepare_program` stages the files and adapts the module (cached by content);
- plan: `cell_problem` marks the cells an unavailable adapter keeps from running;
- run: `write_job` (runner) and `run_round` (worker) run `runs` programs per (cell, round);
- finish: `program_agreement` checks that every cell printed the same.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from contracts import paths, wasm_binary
from contracts.cells import BACKENDS, HOST_VARIANTS, Cell
from contracts.jobs import CellFailed, ModelFiles, peak_rss_kb, reset_peak_rss
from contracts.phases import PROCESS, TOTAL

if TYPE_CHECKING:
    from bench.measure.prepare import PreparedWorkload
    from bench.measure.workload import Workload, _Fields
    from bench.results.progress import CellState

PROGRAM_VARIANTS = ("preview1", "adapted", "component")
PROGRAM_HOSTS = ("wasmtime-py", "wasmtime-cli")
TIMINGS = ("bench", "process")
OUTPUT_NAMES = ("stdout", "stderr")  # what outputs/<cell>.npz holds for a program cell
# Top-level fields of a model workload that mean nothing for a program.
MODEL_ONLY = ("model", "inputs", "outputs", "guests", "backends", "warmup", "iterations")
JOB_KIND = "program"


@dataclass
class ProgramSpec:
    preview1: Path
    component: Path | None = None
    files: list[Path] = field(default_factory=list)
    args: list[str] = field(default_factory=list)
    timing: str = "bench"
    runs: int = 5
    encoding: str = "openvino"
    expect_stdout: Path | None = None
    expect_stderr: Path | None = None


# -- load: validation ----------------------------------------------------------------


def load_program(w: Workload, top: _Fields, data: dict[str, Any]) -> Workload:
    """Fill w from a workload file with a `[program]` table (the common fields are read)."""
    for key in MODEL_ONLY:
        if key in data:
            raise top.error(key, "does not apply to a program workload (it has a [program])")
    t = top.table_of("program")
    base = w.path.parent

    def existing(key: str, value: str) -> Path:
        p = (base / value).resolve()
        if not p.is_file():
            raise t.error(key, f"file {p} does not exist")
        return p

    spec = ProgramSpec(preview1=existing("preview1", t.get("preview1", str, required=True)))
    if (component := t.get("component", str)) is not None:
        spec.component = existing("component", component)
        if _kind(spec.component) != "component":
            raise t.error("component", f"{spec.component} is a core module, not a component")
    files = t.get("files", list, [])
    if not all(isinstance(f, str) for f in files):
        raise t.error("files", f"must be a list of file names, got {files!r}")
    spec.files = [existing("files", f) for f in files]
    names = [p.name for p in spec.files]
    if dup := next((n for n in names if names.count(n) > 1), None):
        raise t.error("files", f"two files are named {dup!r}; they would land on one '{dup}'")
    spec.args = t.get("args", list, [])
    if not all(isinstance(a, str) for a in spec.args):
        raise t.error("args", f"must be a list of strings, got {spec.args!r}")
    spec.timing = t.get("timing", str, "bench")
    if spec.timing not in TIMINGS:
        raise t.error("timing", f"unknown timing {spec.timing!r}; known: {', '.join(TIMINGS)}")
    spec.runs = t.positive_int("runs", 5)
    spec.encoding = t.get("encoding", str, "openvino")
    if spec.encoding not in BACKENDS:
        raise t.error("encoding", f"unknown {spec.encoding!r}; known: {', '.join(BACKENDS)}")
    for key in ("expect_stdout", "expect_stderr"):
        if (value := t.get(key, str)) is not None:
            setattr(spec, key, existing(key, value))
    t.reject_unknown()

    given = tuple(v for v in PROGRAM_VARIANTS if v != "component" or spec.component)
    w.variants = _program_axis(top, data, "variants", given)
    w.hosts = _program_axis(top, data, "hosts", PROGRAM_HOSTS)
    w.backends = [spec.encoding]  # the program picks its backend; the cell column says which
    _check_module(t, spec.preview1, adapting="adapted" in w.variants)
    w.program = spec
    top.reject_unknown()
    return w


def _program_axis(
    top: _Fields, data: dict[str, Any], key: str, allowed: tuple[str, ...]
) -> list[str]:
    """variants/hosts of a program: the given ones (checked), else all it can run."""
    if key not in data:
        return list(allowed)
    return top.choices(key, allowed, list(allowed))


def _kind(path: Path) -> str | None:
    try:
        return wasm_binary.file_kind(path)
    except (OSError, wasm_binary.WasmFormatError):
        return None


def _check_module(t: _Fields, module: Path, adapting: bool) -> None:
    """A preview1 command whose every import some host (and adapt) provides."""
    from workloads.guests import adapt

    data = module.read_bytes()
    try:
        if wasm_binary.kind_of(data) != "core":
            raise t.error("preview1", f"{module} is a component, not a preview1 core module")
        mod = wasm_binary.read_core_module(data)
    except wasm_binary.WasmFormatError as e:
        raise t.error("preview1", f"{module}: {e}") from None
    if mod.exports.get("_start") != wasm_binary.FUNC:
        raise t.error("preview1", f"{module} is not a WASI preview1 command (no _start export)")
    if not adapting:  # only the imports matter then: what the hosts define
        handled = (adapt.LEGACY_MODULE, adapt.WASI_MODULE, adapt.BENCH_MODULE)
        for m, name, _ in mod.imports:
            if m not in handled:
                raise t.error("preview1", f"{module} imports {m}.{name}, which no host provides")
        return
    try:  # adapt's own refusals: an import no adapter handles, no memory export, ...
        adapt.check_module(module, data, adapt.provided_functions(adapt.ADAPTER))
    except adapt.AdaptError as e:
        raise t.error("preview1", str(e)) from None


# -- prepare: files and the adapted module -------------------------------------------


@dataclass
class PreparedProgram:
    spec: ProgramSpec
    files_dir: Path  # the folder laid into the guest's '.' (links to the workload's files)
    wasm: dict[str, Path]  # variant -> the binary that runs
    adapt_error: str | None = None  # why `adapted` cannot run here (e.g. no WASI adapter)


def prepare_program(w: Workload, run_dir: Path, adapt: bool = True) -> PreparedWorkload:
    """Stage the files and adapt the module; a PreparedWorkload whose `model` is the
    program's identity (its sha256), so cells.csv and meta.json need no new columns."""
    from bench.measure.prepare import PreparedWorkload

    spec = w.program
    assert spec is not None
    files_dir = run_dir / "programs" / w.name
    shutil.rmtree(files_dir, ignore_errors=True)
    files_dir.mkdir(parents=True)
    for f in spec.files:
        # Links: lay_out copies them (following links) into a fresh guest folder per run.
        (files_dir / f.name).symlink_to(f)
    wasm = {"preview1": spec.preview1}
    if spec.component:
        wasm["component"] = spec.component
    prog = PreparedProgram(spec, files_dir, wasm)
    if adapt and "adapted" in w.variants:
        try:
            wasm["adapted"] = adapted_module(spec.preview1)
        except Exception as e:  # the toolchain (npm, wasm-tools): those cells fail, not the run
            prog.adapt_error = f"adapt {spec.preview1.name}: {e}"
    sha = hashlib.sha256(spec.preview1.read_bytes()).hexdigest()
    model = ModelFiles(onnx="", ir_xml=None, ir_bin=None, sha256=sha)
    info = {
        "model": f"program:{spec.preview1.name}",
        "sha256": sha,
        "program": {
            "preview1": str(spec.preview1),
            "component": str(spec.component) if spec.component else None,
            "files": [str(f) for f in spec.files],
            "args": spec.args,
            "timing": spec.timing,
            "runs": spec.runs,
            "encoding": spec.encoding,
            "adapted": str(wasm.get("adapted", "")) or None,
        },
    }
    return PreparedWorkload(w, model, [], [], info, program=prog)


def adapted_module(module: Path) -> Path:
    """`adapt(module)` in the project cache, keyed by the module's and the adapters' bytes."""
    from workloads.guests import adapt

    h = hashlib.sha256(module.read_bytes())
    for part in (adapt.ADAPTER, adapt.BENCH_ADAPTER):
        h.update(part.read_bytes() if part.exists() else b"")
    out = paths.cache_root() / "programs" / f"{module.stem}-{h.hexdigest()[:16]}.adapted.wasm"
    if not out.exists():
        adapt.adapt(module, out)  # writes a temporary file, then renames: whole or absent
    return out


def cell_problem(cell: Cell, p: PreparedWorkload) -> tuple[str, str] | None:
    """(status, reason) for a program cell that cannot run here, else None."""
    assert p.program is not None
    if cell.variant == "adapted" and p.program.adapt_error:
        return "failed", p.program.adapt_error
    if cell.variant not in HOST_VARIANTS.get(cell.host, ()):
        return "unsupported", f"{cell.host} does not run {cell.variant}"
    return None


# -- run: the job (runner side) and the round (worker side) ------------------------------


@dataclass
class ProgramRoundJob:
    """One (cell, round) of a program: `runs` runs, each its own ProgramJob."""

    cell: Cell
    wasm: str
    files: str
    args: list[str]
    argv0: str
    timing: str
    runs: int
    threads: int
    timeout_s: float
    workdir: str
    round: int = 0
    expect_stdout: str | None = None
    expect_stderr: str | None = None
    kind: str = JOB_KIND

    def to_json(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> ProgramRoundJob:
        return cls(**{**d, "cell": Cell(**d["cell"])})


def is_program_job(d: dict[str, Any]) -> bool:
    return d.get("kind") == JOB_KIND


def write_job(cell: Cell, r: int, workdir: Path, p: PreparedWorkload) -> None:
    """The runner's hook: job.json for a program cell's round."""
    prog = p.program
    assert prog is not None
    spec, w = prog.spec, p.workload
    job = ProgramRoundJob(
        cell=cell, wasm=str(prog.wasm[cell.variant]), files=str(prog.files_dir),
        args=list(spec.args), argv0=spec.preview1.stem, timing=spec.timing, runs=spec.runs,
        threads=w.threads, timeout_s=w.timeout_s, workdir=str(workdir), round=r,
        expect_stdout=str(spec.expect_stdout) if spec.expect_stdout else None,
        expect_stderr=str(spec.expect_stderr) if spec.expect_stderr else None,
    )  # fmt: skip
    (workdir / "job.json").write_text(job.to_json())


def first_difference(got: str, want: str) -> tuple[int, str, str] | None:
    """(1-based line, got's line, want's line) where two outputs first differ, else None.
    A missing line reads "<end>"; a missing final newline counts as a difference."""
    if got == want:
        return None
    a, b = got.split("\n"), want.split("\n")
    for i in range(max(len(a), len(b))):
        x = a[i] if i < len(a) else "<end>"
        y = b[i] if i < len(b) else "<end>"
        if x != y:
            return i + 1, x, y
    return len(a), got, want  # unreachable: equal line lists are equal strings


def _describe(stream: str, got: str, want: str, against: str) -> str | None:
    diff = first_difference(got, want)
    if diff is None:
        return None
    line, x, y = diff
    return f"{stream} differs from {against} at line {line}: {x!r}, expected {y!r}"


def run_round(raw: dict[str, Any], out_dir: Path) -> dict[str, Any]:
    """The worker's hook: run the program `runs` times (each a fresh guest folder), check
    every run's output, and return the worker's result (samples, outputs, notes).
    Raises CellFailed with the first run's reason that does not count."""
    from hosts import get_host
    from hosts.programs import ProgramJob

    job = ProgramRoundJob.from_dict(raw)
    host = get_host(job.cell.host)
    # stream -> (file name, text): checked after every run
    expected = {
        stream: (Path(p).name, Path(p).read_text())
        for stream, p in zip(OUTPUT_NAMES, (job.expect_stdout, job.expect_stderr), strict=True)
        if p
    }
    regions: list[int] = []
    process: list[int] = []
    first: dict[str, str] = {}
    notes: dict[str, str] = {}
    reset_peak_rss()
    for i in range(job.runs):
        run_dir = Path(job.workdir) / f"run{i}"
        run_dir.mkdir(parents=True, exist_ok=True)
        pj = ProgramJob(
            wasm=Path(job.wasm), workdir=run_dir, files=Path(job.files), args=tuple(job.args),
            timing=job.timing, argv0=job.argv0, device=job.cell.device, threads=job.threads,
            timeout_s=job.timeout_s,
        )  # fmt: skip
        result = host.run_program(pj)
        out = {"stdout": result.stdout, "stderr": result.stderr}
        problem = None if result.ok else f"run {i + 1} of {job.runs}: {result.failure}"
        for stream in OUTPUT_NAMES:
            if problem is None and stream in expected:
                name, text = expected[stream]
                problem = _describe(stream, out[stream], text, name)
            if problem is None and first:
                problem = _describe(stream, out[stream], first[stream], "run 1's")
                problem = problem and f"run {i + 1}: {problem}"
        if problem:
            _keep_output(run_dir, Path(job.workdir))  # the runner keeps them in logs/
            raise CellFailed(problem)
        first = first or out
        regions += result.samples_ns if job.timing == "bench" else [result.wall_ns]
        process.append(result.wall_ns)
        notes |= result.notes
        shutil.rmtree(run_dir / "guest", ignore_errors=True)
    arrays = [np.frombuffer(first[s].encode(), np.uint8) for s in OUTPUT_NAMES]
    np.savez(out_dir / "outputs.npz", *arrays)
    notes.pop("compile_ns", None)  # per binary, cached: not a per-cell fact
    notes |= {"program_runs": str(job.runs), "timing": job.timing}
    return {
        "status": "ok",
        "iterations": {TOTAL: regions, PROCESS: process},
        "host_phases": {},
        "peak_rss_kb": peak_rss_kb(),
        "notes": notes,
        "output_names": list(OUTPUT_NAMES),
    }


def _keep_output(run_dir: Path, workdir: Path) -> None:
    for name in ("stdout.txt", "stderr.txt"):
        if (run_dir / name).exists():
            os.replace(run_dir / name, workdir / name)


# -- finish: the same output everywhere ---------------------------------------------------


def program_agreement(
    states: list[CellState], prepared: dict[str, PreparedWorkload], outputs_dir: Path
) -> dict[str, tuple[Any, Any]]:
    """cell key -> (agrees, None) for the program cells: stdout and stderr (marks taken
    out) must be identical in every variant and host. The reference is the first ok cell
    in the summary's order (preview1 on wasmtime-py when it ran); a cell that differs is
    failed here, its reason the first differing line."""
    from bench.results.outputs import load_outputs

    def text(cell: Cell) -> dict[str, str] | None:
        path = outputs_dir / f"{cell.slug}.npz"
        if not path.exists():
            return None
        return {k: bytes(v).decode("utf-8", "replace") for k, v in load_outputs(path).items()}

    order = {v: i for i, v in enumerate(PROGRAM_VARIANTS)}
    hosts = {h: i for i, h in enumerate(PROGRAM_HOSTS)}
    groups: dict[tuple[str, str, str], list[CellState]] = {}
    for s in states:
        c = s.cell
        p = prepared.get(c.workload)
        if p is None or p.program is None or s.status != "ok":
            continue
        groups.setdefault((c.workload, c.backend, c.device), []).append(s)
    result: dict[str, tuple[Any, Any]] = {}
    for (workload, _, _), members in groups.items():
        members.sort(key=lambda s: (order.get(s.cell.variant, 9), hosts.get(s.cell.host, 9)))
        spec = prepared[workload].program.spec  # type: ignore[union-attr]
        ref: CellState | None = None
        ref_out: dict[str, str] = {}
        for s in members:
            mine = text(s.cell)
            if mine is None:
                result[s.cell.key] = (None, None)
                continue
            if ref is None:
                ref, ref_out = s, mine
                continue
            against = f"{ref.cell.variant} on {ref.cell.host}"
            diffs = (
                _describe(st, mine.get(st, ""), ref_out.get(st, ""), against) for st in OUTPUT_NAMES
            )
            problem = next((d for d in diffs if d), None)
            result[s.cell.key] = (problem is None, None)
            if problem:
                s.status, s.reason = "failed", problem
        if ref is not None:
            compared = len(members) > 1 or spec.expect_stdout or spec.expect_stderr
            result[ref.cell.key] = (True, None) if compared else (None, None)
    return result
