"""The `program` workload kind: a whole wasi-nn program, benchmarked the sightglass way
(docs/programs.md, docs/workloads.md).

A `[program]` table replaces `model`/`inputs`: the cells are the program as given
(`preview1`), adapted by the harness (`adapted`), and its own component (`component`),
each on wasmtime-py and the wasmtime CLI. There is no native twin, so no native cell:
summaries compare against the preview1 cell of the same host.

The table is read by `workloads/spec/program_file.read_program` (from `load_workload`); the
rest is `ProgramKind` (bench/measure/workload_kind.py): `prepare` stages the files and
adapts the module (cached by content), `cell_problem` marks the cells an unavailable
adapter keeps from running, `job`/`run_round` run `runs` programs per (cell, round), and
`agreement` checks that every cell printed the same.
"""

from __future__ import annotations

import hashlib
import os
import shutil
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from bench.measure.workload_kind import Agreement, CellProblem, PreparedWorkload
from bench.results.outputs import load_outputs
from bench.results.progress import CellState
from contracts import marks, paths
from contracts.cells import Cell
from contracts.digests import file_sha256
from contracts.hosts import host_variants
from contracts.jobs import CellFailed, WorkerResult, peak_rss_kb, reset_peak_rss
from contracts.measures import WALL
from contracts.phases import PROCESS, TOTAL
from hosts import get_host
from hosts.programs import ProgramJob
from workloads.spec.program_file import PROGRAM_HOSTS, PROGRAM_VARIANTS, ProgramSpec
from workloads.spec.workload import Workload

OUTPUT_NAMES = ("stdout", "stderr")  # what outputs/<cell>.npz holds for a program cell


@dataclass
class PreparedProgram(PreparedWorkload):
    """A program workload, ready: its files staged and its variants' binaries."""

    spec: ProgramSpec
    files_dir: Path  # the folder laid into the guest's '.' (links to the workload's files)
    wasm: dict[str, Path]  # variant -> the binary that runs
    adapt_error: str | None = None  # why `adapted` cannot run here (e.g. no WASI adapter)
    mark_token: str | None = None  # the adapted program's bench mark secret (contracts/marks.py)

    def rebase(self, run_dir: Path) -> None:
        self.files_dir = run_dir / "programs" / self.workload.name


class ProgramKind:
    name = "program"
    native_baselines = False  # no native twin: ratios against preview1 (summarize.baseline_of)
    measures = (WALL,)  # it times itself (docs/measures.md)

    def prepare(self, w: Workload, run_dir: Path, data_dir: Path) -> PreparedProgram:
        return prepare_program(w, run_dir)

    def cell_problem(self, cell: Cell, p: PreparedWorkload) -> CellProblem | None:
        """A program loads its own model: only its adapter (or the host) can be missing."""
        assert isinstance(p, PreparedProgram)
        if cell.variant == "adapted" and p.adapt_error:
            return "failed", p.adapt_error
        if cell.variant not in host_variants(cell.host):
            return "unsupported", f"{cell.host} does not run {cell.variant}"
        return None

    def job(
        self, cell: Cell, round_index: int, workdir: Path, p: PreparedWorkload, measure: str
    ) -> dict[str, Any]:
        assert isinstance(p, PreparedProgram)
        spec, w = p.spec, p.workload
        job = ProgramRoundJob(
            cell=cell, wasm=str(p.wasm[cell.variant]), files=str(p.files_dir),
            args=list(spec.args), argv0=spec.preview1.stem, timing=spec.timing, runs=spec.runs,
            threads=w.threads, timeout_s=w.timeout_s, workdir=str(workdir), round=round_index,
            expect_stdout=str(spec.expect_stdout) if spec.expect_stdout else None,
            expect_stderr=str(spec.expect_stderr) if spec.expect_stderr else None,
            mark_token=p.mark_token if cell.variant == "adapted" else None,
        )  # fmt: skip
        return asdict(job)

    def run_round(self, job: dict[str, Any], out_dir: Path) -> WorkerResult:
        return run_round(ProgramRoundJob.from_dict(job), out_dir)

    def agreement(
        self, states: list[CellState], prepared: dict[str, PreparedWorkload], outputs_dir: Path
    ) -> dict[str, Agreement]:
        return program_agreement(states, prepared, outputs_dir)


# -- prepare: files and the adapted module -------------------------------------------


def prepare_program(w: Workload, run_dir: Path, adapt: bool = True) -> PreparedProgram:
    """Stage the files and adapt the module; `model_info` names the program and its
    sha256, so cells.csv and meta.json need no new columns."""

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
    adapt_error = mark_token = None
    if adapt and "adapted" in w.variants:
        try:
            wasm["adapted"] = adapted_module(spec.preview1)
            mark_token = mark_token_file(wasm["adapted"]).read_text().strip()
        except Exception as e:  # the toolchain (npm, wasm-tools): those cells fail, not the run
            adapt_error = f"adapt {spec.preview1.name}: {e}"
    sha = file_sha256(spec.preview1)
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
    return PreparedProgram(w, spec, files_dir, wasm, adapt_error, mark_token, model_info=info)


def adapted_module(module: Path) -> Path:
    """`adapt(module)` in the project cache, keyed by the module's and the adapters' bytes."""
    from workloads.guests import adapt

    h = hashlib.sha256(module.read_bytes())
    for part in (adapt.ADAPTER, adapt.BENCH_ADAPTER):
        h.update(part.read_bytes() if part.exists() else b"")
    out = paths.cache_root() / "programs" / f"{module.stem}-{h.hexdigest()[:16]}.adapted.wasm"
    if not (out.exists() and mark_token_file(out).exists()):
        token = marks.new_token()  # its bench adapter's secret (contracts/marks.py)
        tmp = mark_token_file(out).with_suffix(f".tmp-{os.getpid()}")
        tmp.parent.mkdir(parents=True, exist_ok=True)
        tmp.write_text(token)
        os.replace(tmp, mark_token_file(out))  # first: a component never lacks its token
        adapt.adapt(module, out, mark_token=token)  # a temporary file, renamed: whole or absent
    return out


def mark_token_file(adapted: Path) -> Path:
    """Where the token of an adapted program's bench marks is kept, beside it (the cache,
    never a folder the program sees)."""
    return adapted.with_name(adapted.name + ".mark-token")


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
    mark_token: str | None = None  # the adapted program's bench marks (contracts/marks.py)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> ProgramRoundJob:
        return cls(**{**d, "cell": Cell(**d["cell"])})


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


def run_round(job: ProgramRoundJob, out_dir: Path) -> WorkerResult:
    """In the worker: run the program `runs` times (each a fresh guest folder), check
    every run's output, and return its samples (a `total` per timed region or run, and
    `process` per run), outputs and notes. Raises CellFailed with the first run's reason
    that does not count."""
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
            timeout_s=job.timeout_s, mark_token=job.mark_token,
        )  # fmt: skip
        result = host.run_program(pj)
        out = {"stdout": result.stdout, "stderr": result.stderr}
        problem = None if result.ok else f"run {i + 1} of {job.runs}: {result.failure}"
        if problem := problem or _output_problem(out, expected, first, i):
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
    return WorkerResult(
        "ok", per_iteration={TOTAL: regions, PROCESS: process}, peak_rss_kb=peak_rss_kb(),
        notes=notes, output_names=list(OUTPUT_NAMES),
    )  # fmt: skip


def _output_problem(
    out: dict[str, str], expected: dict[str, tuple[str, str]], first: dict[str, str], i: int
) -> str | None:
    """Why run i's output does not count: not the expected text, or not run 1's."""
    for stream in OUTPUT_NAMES:
        if stream in expected:
            name, text = expected[stream]
            if problem := _describe(stream, out[stream], text, name):
                return problem
        if first and (problem := _describe(stream, out[stream], first[stream], "run 1's")):
            return f"run {i + 1}: {problem}"
    return None


def _keep_output(run_dir: Path, workdir: Path) -> None:
    for name in ("stdout.txt", "stderr.txt"):
        if (run_dir / name).exists():
            os.replace(run_dir / name, workdir / name)


# -- finish: the same output everywhere ---------------------------------------------------


def program_agreement(
    states: list[CellState], prepared: dict[str, PreparedWorkload], outputs_dir: Path
) -> dict[str, Agreement]:
    """cell key -> (agrees, None) for the program cells: stdout and stderr (marks taken
    out) must be identical in every variant and host. The reference is the first ok cell
    in the summary's order (preview1 on wasmtime-py when it ran); a cell that differs is
    failed here, its reason the first differing line."""

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
        if not isinstance(p, PreparedProgram) or s.status != "ok":
            continue
        groups.setdefault((c.workload, c.backend, c.device), []).append(s)
    result: dict[str, Agreement] = {}
    for (workload, _, _), members in groups.items():
        members.sort(key=lambda s: (order.get(s.cell.variant, 9), hosts.get(s.cell.host, 9)))
        p = prepared[workload]
        assert isinstance(p, PreparedProgram)
        spec = p.spec
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


KIND = ProgramKind()
