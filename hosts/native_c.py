"""Host `native-c`: the guest driver (workloads/guests/src/driver.c) compiled natively.

The same driver the wasm cells run, built with `python -m ziglang cc` for this
machine over an `nn.h` implementation on a backend's C API
(`nn_openvino_c.c` on libopenvino_c from the openvino wheel, `nn_onnxruntime_c.c`
on libonnxruntime from the onnxruntime wheel). It is the C
baseline: same argv, same clock (CLOCK_MONOTONIC), same samples and output
files as a wasm guest (hosts/guest_io.py), and no wasm or ABI layer in between.

The binary is built on first use and cached by the hash of its sources, the
compile command, the compiler version and the C library's path, size and mtime. A build that
fails, or a C library that is missing, makes the cell `unsupported` with the
compiler's or the loader's words.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.metadata
import importlib.util
import json
import os
import platform
import re
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from contracts import paths
from contracts.jobs import CellFailed, CellJob, CellSkipped, CellUnsupported, RoundResult
from contracts.logtail import read_tail, telling_file
from hosts import guest_io, measures
from hosts.backends import device_problem
from hosts.base import RUNNABLE, Host, Probe
from hosts.child import run_child

SRC = paths.GUEST_SOURCES
# Overrides for where the OpenVINO C API lives (default: the openvino wheel).
OV_INCLUDE_ENV = "WASINN_NATIVE_C_OPENVINO_INCLUDE"
OV_LIB_ENV = "WASINN_NATIVE_C_OPENVINO_LIB"
ORT_LIB_ENV = "WASINN_NATIVE_C_ONNXRUNTIME_LIB"
CFLAGS = ("-O2", "-Wall", "-Wextra", "-Werror")
# What the dynamic loader says when a library the binary needs is absent.
LOADER_ERROR = "error while loading shared libraries"


def zig_target() -> str:
    """This machine as a zig target triple (Linux/glibc only: the wheels' libraries are)."""
    if sys.platform != "linux":
        raise CellUnsupported(f"native-c builds for Linux only, not {sys.platform}")
    return f"{platform.machine()}-linux-gnu"


@dataclass(frozen=True)
class Binding:
    """One nn.h implementation and the C library it links."""

    backend: str
    source: str  # file in workloads/guests/src
    include: Path | None  # the C API's headers (None: the source declares what it uses)
    library: Path  # the shared library to link and load
    # the name the binary asks the loader for, when the file is not there under it
    # (libonnxruntime.so.1.32.0 has the SONAME libonnxruntime.so.1): a link in the
    # build's lib/ folder, found through an $ORIGIN rpath
    soname: str | None = None
    headers: tuple[str, ...] = ()  # our own headers the source includes (part of the key)


@dataclass(frozen=True)
class Build:
    binary: Path
    cached: bool
    build_ns: int  # wall time of the compiler run that made it (stored with the binary)
    command: list[str]


def _package_dir(name: str) -> Path | None:
    spec = importlib.util.find_spec(name)
    return Path(spec.origin).parent if spec and spec.origin else None


def openvino_binding() -> Binding:
    root = _package_dir("openvino")
    include = os.environ.get(OV_INCLUDE_ENV)
    library = os.environ.get(OV_LIB_ENV)
    if root is None and not (include and library):
        raise CellUnsupported("the openvino package is absent (it ships libopenvino_c)")
    if not library:
        found = sorted((root / "libs").glob("libopenvino_c.so*")) if root else []
        if not found:
            raise CellUnsupported(f"no libopenvino_c.so* in {root / 'libs' if root else '?'}")
        library = str(found[0])
    return Binding(
        "openvino",
        "nn_openvino_c.c",
        Path(include) if include else (root / "include" if root else None),
        Path(library),
    )


def onnxruntime_binding() -> Binding:
    library = os.environ.get(ORT_LIB_ENV)
    if not library:
        root = _package_dir("onnxruntime")
        if root is None:
            raise CellUnsupported("the onnxruntime package is absent (it ships libonnxruntime)")
        found = sorted((root / "capi").glob("libonnxruntime.so.*"))
        if not found:
            raise CellUnsupported(f"no libonnxruntime.so.* in {root / 'capi'}")
        library = str(found[0])
    # the wheel has no header: nn_onnxruntime_c.c declares the entries it uses
    soname = re.sub(r"(\.so\.\d+)\..*$", r"\1", Path(library).name)
    return Binding("onnx", "nn_onnxruntime_c.c", None, Path(library), soname, ("ort_c_api.h",))


def binding(backend: str) -> Binding:
    if backend == "openvino":
        return openvino_binding()
    if backend == "onnx":
        return onnxruntime_binding()
    raise CellUnsupported(f"native-c has no nn.h binding for {backend}")


def build_command(b: Binding, output: Path) -> list[str]:
    """`zig cc` for this machine: driver.c + the binding, linked to the library by
    path, with an rpath so the loader finds it (and its siblings) at run time."""
    cmd = [sys.executable, "-m", "ziglang", "cc", "-target", zig_target(), *CFLAGS]
    if b.include is not None:
        cmd.append(f"-I{b.include}")
    cmd += ["driver.c", b.source, str(b.library), f"-Wl,-rpath,{b.library.parent}"]
    if b.soname:
        cmd.append("-Wl,-rpath,$ORIGIN/lib")
    return [*cmd, "-o", str(output)]


def _compile(cmd: list[str]) -> subprocess.CompletedProcess[str]:
    # Relative source paths (cwd = src/) keep the compiler's messages short.
    return subprocess.run(cmd, cwd=SRC, capture_output=True, text=True, timeout=600)


def _key(b: Binding) -> str:
    h = hashlib.sha256()
    for name in ("driver.c", "nn.h", b.source, *b.headers):
        h.update(name.encode() + b"\0" + (SRC / name).read_bytes() + b"\0")
    h.update("\0".join(build_command(b, Path("OUT"))).encode())
    try:
        h.update(importlib.metadata.version("ziglang").encode())
    except importlib.metadata.PackageNotFoundError:
        raise CellUnsupported("the ziglang package is absent (pip install ziglang)") from None
    if not b.library.is_file():
        raise CellUnsupported(f"the C library {b.library} is missing")
    # another build of the library, another binary: its identity by stat (hashing the
    # 35 MB libonnxruntime every round would cost ~0.1 s per round)
    st = b.library.stat()
    h.update(f"{b.library.resolve()}\0{st.st_size}\0{st.st_mtime_ns}".encode())
    return h.hexdigest()[:16]


def build(backend: str) -> Build:
    """The native driver for a backend: from the cache, else compiled now (race-safe:
    each builder writes its own temporary file and renames it into place)."""
    b = binding(backend)
    folder = paths.native_c_cache() / f"{backend}-{_key(b)}"
    binary, meta = folder / "driver", folder / "build.json"
    if binary.is_file() and meta.is_file():
        info = json.loads(meta.read_text())
        return Build(binary, True, int(info["build_ns"]), info["command"])
    folder.mkdir(parents=True, exist_ok=True)
    if b.soname:
        (folder / "lib").mkdir(exist_ok=True)
        link = folder / "lib" / b.soname
        with contextlib.suppress(FileExistsError):  # an earlier or concurrent build made it
            link.symlink_to(b.library)
    tmp = folder / f"driver.tmp-{os.getpid()}-{threading.get_ident()}"
    cmd = build_command(b, tmp)
    t0 = time.perf_counter_ns()
    proc = _compile(cmd)
    ns = time.perf_counter_ns() - t0
    if proc.returncode != 0:
        tmp.unlink(missing_ok=True)
        lines = [line for line in proc.stderr.strip().splitlines() if line]
        # the compiler's first errors say what is wrong; the rest often follows from them
        errors = [line for line in lines if "error" in line][:3] or lines[-3:]
        words = " | ".join(errors)[:800]
        raise CellUnsupported(f"native-c build failed ({b.source}): {words or 'no output'}")
    os.replace(tmp, binary)
    meta_tmp = folder / f"build.json.tmp-{os.getpid()}-{threading.get_ident()}"
    cmd = build_command(b, binary)  # as it would read without the temporary name
    meta_tmp.write_text(json.dumps({"build_ns": ns, "command": cmd}))
    os.replace(meta_tmp, meta)
    return Build(binary, False, ns, cmd)


def _driver_error(text: str) -> str:
    for line in reversed(text.splitlines()):
        if line.startswith("driver:"):
            return line.removeprefix("driver: ")
    return ""


class NativeCHost(Host):
    name = "native-c"
    variants = ("native",)

    def probe(self, variant: str, backend: str, device: str) -> Probe:
        if variant != "native":
            return Probe.unsupported(f"native-c runs only the native variant, not {variant}")
        try:
            binding(backend)
        except CellUnsupported as e:
            return Probe.unsupported(str(e))
        reason = device_problem(backend, device)
        if reason:
            return Probe.skipped(reason)
        if backend == "onnx" and device != "cpu":  # nn_onnxruntime_c.c adds no provider
            return Probe.unsupported("native-c's onnxruntime binding has the CPU provider only")
        return RUNNABLE

    def _env(self, job: CellJob) -> tuple[dict[str, str], dict[str, str]]:
        """(environment, prop.* notes) for the driver: the backend's settings."""
        env = dict(os.environ)
        notes = {"prop.host": "native-c"}
        if job.cell.backend == "openvino":
            # The very plugins.xml the wasmtime CLI gets: same precision, threads, hint.
            from hosts.openvino_c import library_dir, plugins_summary

            xml = library_dir(job.threads) / "plugins.xml"
            env["NN_OPENVINO_CONFIG"] = str(xml)
            notes |= {
                "prop.wasi_nn": "none: driver.c over nn_openvino_c.c (OpenVINO C API), native",
                "prop.openvino.library": str(binding("openvino").library),
                "prop.openvino.plugins_xml": plugins_summary(job.threads),
            }
        else:
            env["NN_ORT_THREADS"] = str(job.threads)
            notes |= {
                "prop.wasi_nn": "none: driver.c over nn_onnxruntime_c.c (ONNX Runtime C API), native",
                "prop.onnxruntime.library": str(binding("onnx").library),
            }
        env["NN_LOAD_BY_NAME_TARGET"] = job.cell.device
        return env, notes

    def run_round(self, job: CellJob) -> RoundResult:
        if reason := device_problem(job.cell.backend, job.cell.device):
            raise CellSkipped(reason)
        made = build(job.cell.backend)
        run = guest_io.prepare(job, wasm=made.binary, ours=True)
        env, prop_notes = self._env(job)
        timeout = float(job.options["timeout_s"]) if "timeout_s" in job.options else None
        # cwd is the guest's "." (paths in argv are relative)
        # the job's measure: cpu preloads the clock shim, instructions runs it under callgrind
        cmd, env = measures.child_command(job, [str(made.binary), *run.argv[1:]], env, False)
        child = run_child(cmd, run.stdout, run.stderr, env, run.preopen, timeout)
        code = child.code
        if code != 0:
            stderr = read_tail(run.stderr)
            if child.timed_out and code < 0:
                raise CellFailed(f"native-c: killed after the {timeout} s timeout")
            if why := measures.child_failure(job):
                raise CellUnsupported(f"valgrind: {why}")
            if LOADER_ERROR in stderr:
                raise CellUnsupported(f"native-c: {telling_file(run.stderr, 'driver', 2)}")
            why = _driver_error(stderr) or telling_file(run.stderr, "driver") or f"exit {code}"
            raise CellFailed(f"native-c driver exited {code}: {why}")
        result = guest_io.collect(job, run)
        measures.collect_counts(job, result)
        result.peak_rss_kb = child.peak_rss_kb
        result.notes |= prop_notes
        result.notes |= {
            "guest": f"native driver ({made.binary.parent.name})",
            "build_cached": str(made.cached).lower(),
            "build_ms": f"{made.build_ns / 1e6:.1f}",
            "process_wall_ms": f"{child.wall_ns / 1e6:.1f}",
        }
        return result
