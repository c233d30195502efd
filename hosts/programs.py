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

    wasinn-bench region <token> <start ns> <end ns>

which `split_marks` takes out of stderr, so `stderr` is what the program wrote. The
token (contracts/marks.py) is a secret of the harness: per run in the CLI's preload,
per adapted program in the bench adapter. A mark line with another token (or none) was
printed by the program itself: a forged timing fails the run. Only a native component
(`mark_token` None) brings its own bench, so its marks are taken as it prints them.
"""

from __future__ import annotations

import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path

from contracts import marks, paths, wasm_binary
from contracts.jobs import CellFailed
from contracts.logtail import MAX_OUTPUT_BYTES, telling
from contracts.phases import MAX_NS

TIMINGS = ("bench", "process")
MARK = re.compile(rb"wasinn-bench region (?:(\S{1,64}) )?(\d{1,20}) (\d{1,20})\n")
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
    # the token of the adapted program's bench marks; None: a native component's own bench
    # (a core module's host provides bench itself: host functions, or a per-run preload)
    mark_token: str | None = None

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
    """A core module that imports the bench module (so it needs one provided). Only the
    functions start and end: its memory would hand the program the preload's token."""
    data = wasm.read_bytes()
    if wasm_binary.kind_of(data) != "core":
        return False
    imports = [
        (n, k) for m, n, k in wasm_binary.read_core_module(data).imports if m == BENCH_MODULE
    ]
    for name, kind in imports:
        if name not in ("start", "end") or kind != wasm_binary.FUNC:
            raise CellFailed(f"{wasm.name} imports {BENCH_MODULE}.{name}: the bench protocol "
                             "has only the functions start and end")  # fmt: skip
    return bool(imports)


def preload_with_token(folder: Path, token: str) -> Path:
    """The prebuilt bench preload with `token` in place of its placeholder, in `folder`
    (outside the guest's '.': the program never sees the file)."""
    data = BENCH_PRELOAD.read_bytes()
    placeholder = marks.PLACEHOLDER.encode()
    if data.count(placeholder) != 1:
        raise CellFailed(f"{BENCH_PRELOAD}: no token placeholder (rebuild it: nox -s guests)")
    path = folder / "bench_preload.wasm"
    path.write_bytes(data.replace(placeholder, token.encode("ascii")))
    return path


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


def split_marks(stderr: bytes, token: str | None) -> tuple[list[tuple[int, int]], str, int]:
    """(regions, stderr without the mark lines, how many mark lines lacked `token`).
    `token` None: a native component's own marks, all taken."""
    regions, forged = [], 0
    for m in MARK.finditer(stderr):
        if token is None or m[1] == token.encode():
            regions.append((int(m[2]), int(m[3])))
        else:
            forged += 1
    return regions, MARK.sub(b"", stderr).decode("utf-8", "replace"), forged


def finish(
    job: ProgramJob,
    exit_code: int,
    stdout: str,
    stderr: str,
    regions: list[tuple[int, int]],
    wall_ns: int,
    trap: str | None = None,
    forged: int = 0,
) -> ProgramResult:
    """The result, with the reason when the run does not count."""
    failure = None
    if forged:
        failure = (f"the program printed {forged} bench mark line(s) itself; timings come "
                   "only from bench.start/bench.end")  # fmt: skip
    elif trap is not None:
        failure = f"trapped: {trap}"
    elif exit_code != 0:
        failure = f"exited {exit_code}" + (f": {telling(stderr, keep=3)}" if stderr.strip() else "")
    elif job.timing == "bench" and not regions:
        failure = "never called bench.end (timing 'bench' needs at least one region)"
    elif any(end < start for start, end in regions):
        failure = "a bench region ends before it starts"
    elif any(end - start > MAX_NS for start, end in regions):
        failure = f"a bench region is longer than {MAX_NS} ns"
    return ProgramResult(exit_code, stdout, stderr, regions, wall_ns, failure)
