"""The clock shim (clockshim.c), built once per source and compiler into the cache."""

from __future__ import annotations

import hashlib
import importlib.metadata
import os
import platform
import subprocess
import sys
from pathlib import Path

from contracts import paths
from contracts.jobs import CellUnsupported

SOURCE = Path(__file__).with_name("clockshim.c")
# What the shim reads to answer CLOCK_MONOTONIC with CPU time in every thread.
CPU_CLOCK_ENV = "WASINN_CPU_CLOCK"


# valgrind's client-request headers (Debian's valgrind package ships them)
VALGRIND_INCLUDE = Path("/usr/include/valgrind")


def _command(output: Path) -> list[str]:
    target = f"{platform.machine()}-linux-gnu"
    cmd = [sys.executable, "-m", "ziglang", "cc", "-target", target, "-O2", "-shared",
           "-fPIC", "-Wall", "-Wextra", "-Werror", str(SOURCE), "-o", str(output)]  # fmt: skip
    if (VALGRIND_INCLUDE / "callgrind.h").is_file():
        cmd += ["-DWASINN_HAVE_CALLGRIND", "-isystem", str(VALGRIND_INCLUDE)]
    return cmd


def library() -> Path:
    """The shim's shared library: from the cache, else compiled now (race-safe)."""
    if sys.platform != "linux":
        raise CellUnsupported(
            f"the CPU-time clock shim is built for Linux only, not {sys.platform}"
        )
    h = hashlib.sha256(SOURCE.read_bytes())
    h.update("\0".join(_command(Path("OUT"))).encode())
    try:
        h.update(importlib.metadata.version("ziglang").encode())
    except importlib.metadata.PackageNotFoundError:
        raise CellUnsupported("the ziglang package is absent (pip install ziglang)") from None
    lib = paths.cache_root() / "measures" / f"clockshim-{h.hexdigest()[:16]}.so"
    if lib.is_file():
        return lib
    lib.parent.mkdir(parents=True, exist_ok=True)
    tmp = lib.with_name(f"{lib.name}.tmp-{os.getpid()}")
    proc = subprocess.run(_command(tmp), capture_output=True, text=True, timeout=300)
    if proc.returncode != 0:
        tmp.unlink(missing_ok=True)
        words = " | ".join(proc.stderr.strip().splitlines()[:3]) or "no output"
        raise CellUnsupported(f"building the CPU-time clock shim failed: {words}")
    os.replace(tmp, lib)
    return lib


def preload(env: dict[str, str], every_thread: bool) -> dict[str, str]:
    """`env` with the shim preloaded; `every_thread`: the monotonic clock is CPU time in
    every thread from the start (else only after wasinn_cpu_clock_thread(1))."""
    env = dict(env)
    env["LD_PRELOAD"] = " ".join(x for x in (str(library()), env.get("LD_PRELOAD", "")) if x)
    if every_thread:
        env[CPU_CLOCK_ENV] = "1"
    else:
        env.pop(CPU_CLOCK_ENV, None)
    return env
