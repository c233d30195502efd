"""Running a whole wasi-nn program the sightglass way (docs/programs.md): the contract
below the harness, shared by the hosts.

A `ProgramJob` names a program (a preview1 core module, or a component: adapted or
native), a folder of files laid into the guest's preopened '.', its arguments and how
it is timed:

- timing "bench": each bench.start .. bench.end is one sample (`regions`, ns on the
  monotonic clock); a run with no complete region is a failure;
- timing "process": the sample is the whole run's wall time (`wall_ns`).

Each host runs the program once per `run_program(job)` call and returns a
`ProgramResult`. Where the marks come from: wasmtime-py's preview1 linker defines
bench.start/end as host functions; everywhere else (the CLI's `--preload bench=`
module, the bench adapter inside a component) `bench.end` writes one line to stderr,

    wasinn-bench region <start ns> <end ns>

which `split_marks` takes out of stderr, so `stderr` is what the program wrote.
"""

from __future__ import annotations

import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path

from contracts import paths, wasm_binary
from contracts.jobs import CellFailed
from contracts.logtail import MAX_OUTPUT_BYTES, telling

TIMINGS = ("bench", "process")
MARK = re.compile(rb"wasinn-bench region (\d+) (\d+)\n")
BENCH_MODULE = "bench"
BENCH_PRELOAD = paths.PREBUILT / "bench_preload.wasm"


@dataclass(frozen=True)
class ProgramJob:
    wasm: Path  # preview1 core module or component
    workdir: Path  # scratch: the guest folder and the captured stdout/stderr go here
    files: Path | None = None  # its files are copied into the guest's '.' for every run
    args: tuple[str, ...] = ()
    timing: str = "bench"  # "bench" | "process"
    argv0: str = "program"
    device: str = "cpu"  # our wasi-nn's load-by-name device (wasmtime-py)
    threads: int = 1  # backend threads (wasmtime-py backends; the CLI's plugins.xml)
    timeout_s: float | None = None  # the CLI only: kill the run past it

    def __post_init__(self) -> None:
        if self.timing not in TIMINGS:
            raise ValueError(f"timing must be one of {TIMINGS}, not {self.timing!r}")

    @property
    def argv(self) -> list[str]:
        return [self.argv0, *self.args]


@dataclass
class ProgramResult:
    exit_code: int  # -1: trapped or killed before exiting
    stdout: str
    stderr: str  # the program's own, marks taken out
    regions: list[tuple[int, int]] = field(default_factory=list)  # (start, end) ns
    wall_ns: int = 0  # the whole run: process (CLI) or compile+instantiate+run (in-process)
    failure: str | None = None  # None: the run counts
    notes: dict[str, str] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.failure is None

    @property
    def samples_ns(self) -> list[int]:
        return [end - start for start, end in self.regions]


@dataclass
class GuestDir:
    """Where one run happens: the preopened folder and the captured output files."""

    root: Path
    guest: Path
    stdout: Path
    stderr: Path


def lay_out(job: ProgramJob) -> GuestDir:
    """A fresh copy of job.files as the guest's '.' (copies: a program may write there,
    and the WASI sandbox refuses symlinks that leave the folder)."""
    root = job.workdir
    guest = root / "guest"
    shutil.rmtree(guest, ignore_errors=True)
    if job.files is not None:
        if not job.files.is_dir():
            raise FileNotFoundError(f"program files folder {job.files} does not exist")
        shutil.copytree(job.files, guest)
    else:
        guest.mkdir(parents=True)
    return GuestDir(root, guest, root / "stdout.txt", root / "stderr.txt")


def imports_bench(wasm: Path) -> bool:
    """A core module that imports the bench module (so it needs one provided)."""
    data = wasm.read_bytes()
    if wasm_binary.kind_of(data) != "core":
        return False
    return any(m == BENCH_MODULE for m, _, _ in wasm_binary.read_core_module(data).imports)


def read_output(path: Path) -> bytes:
    """What a program printed on one stream (b'' when absent); over MAX_OUTPUT_BYTES
    its run fails instead: outputs are compared whole, and kept in outputs/."""
    if not path.exists():
        return b""
    size = path.stat().st_size
    if size > MAX_OUTPUT_BYTES:
        raise CellFailed(f"{path.name}: {size} bytes, over the {MAX_OUTPUT_BYTES >> 20} MiB "
                         "a program may print")  # fmt: skip
    return path.read_bytes()


def split_marks(stderr: bytes) -> tuple[list[tuple[int, int]], str]:
    """(regions, stderr without the mark lines)."""
    regions = [(int(m[1]), int(m[2])) for m in MARK.finditer(stderr)]
    return regions, MARK.sub(b"", stderr).decode("utf-8", "replace")


def finish(
    job: ProgramJob,
    exit_code: int,
    stdout: str,
    stderr: str,
    regions: list[tuple[int, int]],
    wall_ns: int,
    trap: str | None = None,
) -> ProgramResult:
    """The result, with the reason when the run does not count."""
    failure = None
    if trap is not None:
        failure = f"trapped: {trap}"
    elif exit_code != 0:
        failure = f"exited {exit_code}" + (f": {telling(stderr, keep=3)}" if stderr.strip() else "")
    elif job.timing == "bench" and not regions:
        failure = "never called bench.end (timing 'bench' needs at least one region)"
    elif any(end < start for start, end in regions):
        failure = "a bench region ends before it starts"
    return ProgramResult(exit_code, stdout, stderr, regions, wall_ns, failure)
