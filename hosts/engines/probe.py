"""Which wasi-nn an engine really has, found by running it (not read from its version).

A probe guest per encoding (WAT, assembled here by wasmtime-py's wat2wasm) calls the
preview1 `wasi_ephemeral_nn.load` with four junk bytes and exits with 100 + the errno:

- the module does not link (no `wasi_ephemeral_nn`): the build has no preview1 wasi-nn;
- the runtime says the encoding is invalid (wasmtime logs `InvalidEncoding`; the witx
  errno `invalid_encoding` is 2): the build lacks that backend;
- any other answer (the backend refused the junk): the build has it.

A module that only exits 42 first tells whether the engine runs wasm at all. Results
are cached by the engine's identity (a binary's sha256; a template and its version).
"""

from __future__ import annotations

import json
import os
import subprocess
import tempfile
from functools import cache
from pathlib import Path

from contracts import paths
from contracts.hosts import NO_PREVIEW1_NN
from contracts.logtail import telling
from hosts.abi.witx import ENCODINGS
from hosts.base import RUNNABLE, Probe
from hosts.engines import Engine, expand, identity
from hosts.openvino_c import library_env

ENCODING_OF = {"onnxruntime": "onnx", "openvino": "openvino"}  # a cell's backend -> encoding
# openvino, onnx, tensorflow, pytorch, tensorflowlite: the same numbers on every runtime
PROBED = ENCODINGS[:5]
EXIT_BASE = 100
SANITY_EXIT = 42
INVALID_ENCODING_ERRNO = 2  # the witx nn_errno invalid_encoding
INVALID_ENCODING_WORDS = ("InvalidEncoding", "invalid-encoding", "unsupported backend")
TIMEOUT_S = 60.0
LOG_FILTER = "wasmtime_wasi_nn=debug"  # the wasmtime CLI's own words for the error

_EXIT = '(import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))'
SANITY_WAT = f'(module {_EXIT} (memory (export "memory") 1) (func (export "_start") (call $exit (i32.const {SANITY_EXIT}))))'  # fmt: skip
LOAD_WAT = """(module
  (import "wasi_ephemeral_nn" "load" (func $load (param i32 i32 i32 i32 i32) (result i32)))
  EXIT
  (memory (export "memory") 1)
  (data (i32.const 0) "\\10\\00\\00\\00\\04\\00\\00\\00")  ;; one graph_builder {ptr 16, len 4}
  (data (i32.const 16) "junk")
  (func (export "_start")
    (call $exit (i32.add (i32.const BASE)
      (call $load (i32.const 0) (i32.const 1) (i32.const ENCODING) (i32.const 0) (i32.const 32))))))
"""


def _wasm(folder: Path, name: str, wat: str) -> Path:
    import wasmtime

    path = folder / f"{name}.wasm"
    path.write_bytes(wasmtime.wat2wasm(wat))
    return path


def run_module(engine: Engine, wasm: Path, folder: Path) -> tuple[int, str]:
    """(exit code, stderr) of the engine running a preview1 module with `folder` as '.'."""
    if engine.path is not None:
        cmd = [engine.path, "run", "-S", "nn", "--dir", f"{folder}::.", str(wasm)]
    else:
        cmd = expand(engine, wasm, folder, [], argv0=wasm.name)
    env = library_env(1) | {"WASMTIME_LOG": LOG_FILTER}
    try:
        proc = subprocess.run(
            cmd, capture_output=True, text=True, errors="replace", env=env, timeout=TIMEOUT_S,
            cwd=folder,
        )  # fmt: skip
    except subprocess.TimeoutExpired:
        return -1, f"no answer in {TIMEOUT_S:g} s"
    except OSError as e:
        return -1, str(e)
    return proc.returncode, proc.stderr


def runs_wasm(engine: Engine) -> str | None:
    """Why the engine does not run a preview1 module (None: it does)."""
    with tempfile.TemporaryDirectory(prefix="wasinn-engine-") as tmp:
        code, err = run_module(engine, _wasm(Path(tmp), "exit42", SANITY_WAT), Path(tmp))
    if code == SANITY_EXIT:
        return None
    return f"a module that exits {SANITY_EXIT} gave exit {code}" + (
        f" ({telling(err, keep=2)})" if err.strip() else ""
    )


def link_error(stderr: str) -> bool:
    """The module did not link because the runtime defines no `wasi_ephemeral_nn`."""
    text = stderr.lower()
    return "wasi_ephemeral_nn" in text and any(
        w in text for w in ("unknown import", "not defined", "failed to link", "not found")
    )


def link_line(stderr: str) -> str:
    """The runtime's line that names the missing `wasi_ephemeral_nn` import."""
    lines = [line.strip() for line in stderr.splitlines() if "wasi_ephemeral_nn" in line]
    return (lines or [telling(stderr, keep=1)])[0][:300]


def _answer(code: int, stderr: str) -> str:
    if code < EXIT_BASE or code > EXIT_BASE + 99:
        return f"no (exit {code}: {telling(stderr, keep=2) or 'no output'})"
    errno = code - EXIT_BASE
    if errno == INVALID_ENCODING_ERRNO or any(w in stderr for w in INVALID_ENCODING_WORDS):
        return f"no (errno {errno}: invalid encoding)"
    return "yes" if errno == 0 else f"yes (errno {errno} for junk bytes)"


def _probe(engine: Engine) -> dict[str, object]:
    backends: dict[str, str] = {}
    with tempfile.TemporaryDirectory(prefix="wasinn-engine-") as tmp:
        for number, encoding in enumerate(PROBED):
            wat = LOAD_WAT.replace("EXIT", _EXIT).replace("BASE", str(EXIT_BASE))
            wasm = _wasm(Path(tmp), encoding, wat.replace("ENCODING", str(number)))
            code, err = run_module(engine, wasm, Path(tmp))
            if link_error(err):
                return {"preview1": False, "reason": link_line(err), "backends": {}}
            backends[encoding] = _answer(code, err)
    return {"preview1": True, "backends": backends}


@cache
def wasi_nn(engine: Engine) -> dict[str, object]:
    """{"preview1": has wasi_ephemeral_nn, "backends": {encoding: "yes" | "no (...)"}},
    cached on disk by the engine's identity."""
    cached = paths.cli_cache() / "engines" / f"probe-{identity(engine)[:24]}.json"
    if cached.is_file():
        return json.loads(cached.read_text())
    found = _probe(engine)
    cached.parent.mkdir(parents=True, exist_ok=True)
    tmp = cached.with_name(f"{cached.name}.tmp-{os.getpid()}")
    tmp.write_text(json.dumps(found))
    os.replace(tmp, cached)
    return found


def has_preview1(engine: Engine) -> bool:
    return bool(wasi_nn(engine)["preview1"])


NO_PREVIEW1 = NO_PREVIEW1_NN


def backend_probe(engine: Engine, encoding: str) -> Probe:
    """Whether the engine's preview1 wasi-nn has this encoding's backend (as probed)."""
    found = wasi_nn(engine)
    if not found["preview1"]:
        return Probe.unsupported(NO_PREVIEW1)
    answer = str(dict(found["backends"]).get(encoding, "yes"))  # type: ignore[call-overload]
    if answer.startswith("no"):
        return Probe.unsupported(f"{engine.host} has no {encoding} backend: {answer}")
    return RUNNABLE
