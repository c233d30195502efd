"""`--measure instructions`: a round under valgrind's callgrind, its counters dumped at
every phase boundary, so each phase of each iteration gets its own instruction count
(docs/measures.md).

callgrind dumps (and zeroes) its counters each time the process enters a function
named by --dump-before: the C library's clock_gettime for the native driver (it reads
CLOCK_MONOTONIC at every phase boundary; our Python native host instead asks for the
dump itself, a client request through hosts/measures/clockshim.c), the CLI's WASI
clock functions for a guest on the wasmtime CLI (preview1's clock_time_get, and the
host function behind wasi:clocks/monotonic-clock.now for components: the CLI's own
clock reads, e.g. tokio's, are not boundaries). Dump k holds what ran between boundary
k-1 and k. The driver's boundaries are the last 3 + 4 x (warmup + iterations) dumps:
t0, load, init, then per iteration start, set_input, compute, get_output; what ran
before t0 (start-up, imports, reading files, compilation) is in the dumps before them
and is not counted.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

from contracts.errors import UserError
from contracts.jobs import CellUnsupported
from contracts.phases import MEASURED_PHASES

VALGRIND_ENV = "WASINN_BENCH_VALGRIND"  # a valgrind binary to use instead of PATH's
OUT_NAME = "cg.out"
LOG_NAME = "valgrind.log"
# valgrind's own words for "cannot run this" (its log, not the program's stderr)
FATAL = re.compile(
    r"(valgrind: |unhandled instruction|Valgrind's memory management|VALGRIND INTERNAL ERROR"
    r"|Fatal error|the 'impossible' happened|killed by signal)",
    re.IGNORECASE,
)


class ValgrindMissing(UserError):
    """--measure instructions on a machine where valgrind is absent and cannot be installed."""


def valgrind() -> str | None:
    return os.environ.get(VALGRIND_ENV) or shutil.which("valgrind")


def ensure_valgrind(say: Callable[[str], None]) -> str:
    """valgrind's path, installed through apt-get on first use (with a message)."""
    if (given := os.environ.get(VALGRIND_ENV)) is not None:
        if not (os.path.isfile(given) and os.access(given, os.X_OK)):
            raise ValgrindMissing(f"--measure instructions: {VALGRIND_ENV}={given!r} is not an "
                                  "executable valgrind")  # fmt: skip
        return given
    if found := valgrind():
        return found
    apt = shutil.which("apt-get")
    if apt is None:
        raise ValgrindMissing("--measure instructions: valgrind is not installed and there "
                              "is no apt-get to install it (install valgrind >= 3.19)")  # fmt: skip
    cmd = [apt, "install", "-y", "-q", "valgrind"]
    if os.geteuid() != 0:
        sudo = shutil.which("sudo")
        cmd = [sudo, "-n", *cmd] if sudo else cmd
    say("--measure instructions: valgrind is missing; installing it: " + " ".join(cmd))
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=900)
    except (OSError, subprocess.TimeoutExpired) as e:
        raise ValgrindMissing(f"--measure instructions: installing valgrind failed: {e}") from None
    if proc.returncode != 0 or not (found := valgrind()):
        last = (proc.stderr.strip().splitlines() or ["no output"])[-1]
        raise ValgrindMissing(
            f"--measure instructions: valgrind is not installed and `{' '.join(cmd)}` "
            f"failed: {last}"
        )
    return found


# The driver's clock read natively, as callgrind names glibc's (clock_gettime@@GLIBC_2.17).
LIBC_CLOCK = ("clock_gettime*",)
# The wasmtime CLI's WASI monotonic clock, preview1 and wasi:clocks (one function per read).
CLI_CLOCK = (
    "wasmtime_wasi::p1::wasi_snapshot_preview1::clock_time_get*",
    "<wasmtime::runtime::vm::component::ComponentInstance>::enter_host_from_wasm::*"
    "::monotonic_clock::add_to_linker_instance<*{closure#0}, (), (u64,)>*",
)


def command(out_dir: Path, dump_at: tuple[str, ...], instrument_at_start: bool = True) -> list[str]:
    """The valgrind prefix of a round's command; its files go to out_dir.
    `instrument_at_start` False: the program turns callgrind on itself (a client request)."""
    path = valgrind()
    if path is None:
        raise CellUnsupported("valgrind: not installed (--measure instructions)")
    out_dir.mkdir(parents=True, exist_ok=True)
    return [
        path,
        "--tool=callgrind",
        f"--callgrind-out-file={out_dir / OUT_NAME}",
        *(f"--dump-before={name}" for name in dump_at),
        "--dump-instr=no",
        "--dump-line=no",
        "--collect-systime=no",
        f"--log-file={out_dir / LOG_NAME}",
        *(() if instrument_at_start else ("--instr-atstart=no",)),
    ]


def failure(out_dir: Path) -> str | None:
    """valgrind's own words when it could not run the program (None: it ran)."""
    log = out_dir / LOG_NAME
    if not log.is_file():
        return None
    lines = [
        re.sub(r"^==\d+==\s*|^--\d+--\s*", "", x)
        for x in log.read_text(errors="replace").splitlines()
    ]
    telling = [x.strip() for x in lines if FATAL.search(x)]
    return "; ".join(telling[:2])[:400] if telling else None


def intervals(out_dir: Path) -> list[int]:
    """Instructions between consecutive dumps, in dump order (dump k: file cg.out.k)."""
    numbered = []
    for path in out_dir.glob(f"{OUT_NAME}.*"):
        suffix = path.name.rsplit(".", 1)[1]
        if suffix.isdigit():
            numbered.append((int(suffix), path))
    counts = []
    for _, path in sorted(numbered):
        counts.append(_summary(path))
    return counts


def _summary(path: Path) -> int:
    total = None
    with open(path, errors="replace") as f:
        for line in f:
            if line.startswith("summary:"):
                return int(line.split()[1])
            if line.startswith("totals:"):
                total = int(line.split()[1])
    if total is None:
        raise CellUnsupported(f"callgrind wrote no summary in {path.name}")
    return total


def phases(
    counts: list[int], warmup: int, iterations: int
) -> tuple[dict[str, list[int]], dict[str, int]]:
    """(per-iteration phases, {"load", "init"}) from the dumps of a round whose last
    3 + 4 x (warmup + iterations) boundaries are the driver's (see the module doc)."""
    bounds = 3 + 4 * (warmup + iterations)
    if len(counts) < bounds:
        raise CellUnsupported(
            f"callgrind saw {len(counts)} phase boundaries, the driver makes {bounds} (the "
            "host's clock function is not one callgrind dumps at: docs/measures.md)"
        )
    base = len(counts) - bounds  # counts[base + j]: what ran up to boundary j
    out: dict[str, list[int]] = {p: [] for p in MEASURED_PHASES}
    for it in range(warmup, warmup + iterations):
        s, c, g = (counts[base + 4 + 4 * it + k] for k in range(3))
        for phase, value in zip(MEASURED_PHASES, (s, c, g, s + c + g), strict=True):
            out[phase].append(value)
    return out, {"load": counts[base + 1], "init": counts[base + 2]}
