"""The witx ABI conformance cases: one small WAT command per case.

Each case is (name, body, expected errno). The body is WAT instructions that
leave the errno of the call under test on the stack; helpers in the prelude
($graph, $ctx, $ready, $computed) do the setup and exit with 100 + errno if a
setup call fails. `_start` exits with the errno, so one module answers the
same way on every host: wasmtime-py (ExitTrap code), the wasmtime CLI (exit
status), or wrapped as a component by the adapter.

    for case in cases():
        wasm = build(case, model)    # model = conformance_model(folder, "onnx")

The model is a 4 -> 3 MLP: input "x" f32 [1, 4], output "y" f32 [1, 3].
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import wasmtime

from hosts import openvino_c
from hosts.abi.witx import ENCODINGS, ERRNO
from hosts.wasmtime_cli import binary as wasmtime_binary

# Guest memory map (2 pages = 128 KiB).
OUT_GRAPH, OUT_CTX, OUT_WRITTEN = 0, 4, 8
BUILDERS = 16  # up to 2 x {ptr, len}
TENSOR = 64  # tensor record: +0 dims ptr, +4 ndims, +8 type, +12 data ptr, +16 data len
DIMS = 96  # [1, 4]
DATA = 128  # 4 x f32
OUTBUF = 256  # 64 bytes
NAME = 512  # "graph"
MODEL = 4096  # builder bytes
MEMORY_BYTES = 2 * 65536
OOB = 0x20000  # just past the end of memory
HUGE = 0xFFFFFFFF  # 2^32 - 1, as an i32 constant: -1
INPUT = np.array([[0.5, -1.0, 2.0, 0.25]], dtype=np.float32)
GRAPH_NAME = "graph"  # load_by_name: a folder in the preopen (docs/hosts.md)


@dataclass(frozen=True)
class Case:
    name: str
    body: str  # WAT instructions leaving an i32 errno
    expected: str  # errno name (hosts.abi.witx.ERRNOS)

    @property
    def errno(self) -> int:
        return ERRNO[self.expected]


@dataclass(frozen=True)
class Model:
    encoding: str  # "onnx" | "openvino"
    builders: tuple[bytes, ...]
    folder: Path  # holds graph/ (model.onnx or model.xml + model.bin) for load_by_name


def conformance_model(folder: Path, encoding: str) -> Model:
    """Build the 4 -> 3 MLP as ONNX (and OpenVINO IR) under folder/graph/."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    rng = np.random.default_rng(7)
    w1 = numpy_helper.from_array(rng.standard_normal((4, 8)).astype(np.float32), "w1")
    w2 = numpy_helper.from_array(rng.standard_normal((8, 3)).astype(np.float32), "w2")
    nodes = [
        helper.make_node("MatMul", ["x", "w1"], ["h"]),
        helper.make_node("Relu", ["h"], ["r"]),
        helper.make_node("MatMul", ["r", "w2"], ["y"]),
    ]
    graph = helper.make_graph(
        nodes,
        "conformance",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 3])],
        [w1, w2],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    gdir = folder / GRAPH_NAME
    gdir.mkdir(parents=True, exist_ok=True)
    onnx_path = gdir / "model.onnx"
    onnx.save(model, onnx_path)
    if encoding == "onnx":
        return Model("onnx", (onnx_path.read_bytes(),), folder)
    import openvino as ov

    # read_model, not convert_model: the latter can hang numpy later in this process
    ov.save_model(ov.Core().read_model(str(onnx_path)), gdir / "model.xml", compress_to_fp16=False)
    onnx_path.unlink()
    files = (gdir / "model.xml", gdir / "model.bin")
    return Model("openvino", tuple(f.read_bytes() for f in files), folder)


def _c(value: int) -> str:
    return f"(i32.const {value - (1 << 32) if value >= 1 << 31 else value})"


def _store(addr: int, value: int, op: str = "i32.store") -> str:
    return f"({op} {_c(addr)} {_c(value)})"


def cases() -> Iterator[Case]:
    """Every case, good calls first."""
    load = f"(call $load {_c(BUILDERS)} (global.get $nb) (global.get $enc) {_c(0)} {_c(OUT_GRAPH)})"
    set_in = f"(call $set_input (call $ctx) {_c(0)} {_c(TENSOR)})"
    get_out = "(call $get_output (call $computed) {idx} {buf} {max} {written})"

    def out(idx: int = 0, buf: int = OUTBUF, max: int = 64, written: int = OUT_WRITTEN) -> str:
        return get_out.format(idx=_c(idx), buf=_c(buf), max=_c(max), written=_c(written))

    def loadx(builders: int = BUILDERS, n: str = "(global.get $nb)", enc: str = "(global.get $enc)",
              target: int = 0, out_graph: int = OUT_GRAPH) -> str:  # fmt: skip
        return f"(call $load {_c(builders)} {n} {enc} {_c(target)} {_c(out_graph)})"

    yield Case("load_ok", load, "success")
    yield Case(
        "load_by_name_ok",
        f"(call $load_by_name {_c(NAME)} {_c(len(GRAPH_NAME))} {_c(OUT_GRAPH)})",
        "success",
    )
    yield Case("init_ok", f"(call $init_execution_context (call $graph) {_c(OUT_CTX)})", "success")
    yield Case("set_input_ok", set_in, "success")
    yield Case("compute_ok", "(call $compute (call $ready))", "success")
    # written must be 12 (3 x f32): any other value exits 50
    yield Case(
        "get_output_ok",
        f"{out()} (if (i32.ne (i32.load {_c(OUT_WRITTEN)}) {_c(12)}) (then (return {_c(50)})))",
        "success",
    )
    yield Case("get_output_exact_size", out(max=12), "success")

    # load
    yield Case("load_builders_oob", loadx(builders=OOB), "invalid_argument")
    yield Case("load_builders_huge_count", loadx(n=_c(HUGE)), "invalid_argument")
    yield Case(
        "load_builder_data_oob", _store(BUILDERS, MEMORY_BYTES - 4) + loadx(), "invalid_argument"
    )
    yield Case("load_builder_huge_len", _store(BUILDERS + 4, HUGE) + loadx(), "invalid_argument")
    yield Case("load_out_graph_oob", loadx(out_graph=MEMORY_BYTES - 2), "invalid_argument")
    yield Case("load_unknown_encoding", loadx(enc=_c(42)), "invalid_encoding")
    yield Case(
        "load_encoding_without_backend",
        loadx(enc=_c(ENCODINGS.index("tensorflow"))),
        "invalid_encoding",
    )
    yield Case("load_wrong_encoding", loadx(enc="(global.get $wrong_enc)"), "invalid_argument")
    yield Case("load_unknown_target", loadx(target=7), "invalid_argument")
    yield Case("load_target_tpu", loadx(target=2), "unsupported_operation")
    yield Case("load_garbage_model", _store(BUILDERS, DATA) + loadx(), "invalid_argument")

    # load_by_name
    def by_name(ptr: int = NAME, length: int = len(GRAPH_NAME), out_graph: int = OUT_GRAPH) -> str:
        return f"(call $load_by_name {_c(ptr)} {_c(length)} {_c(out_graph)})"

    yield Case("load_by_name_unknown", by_name(length=3), "not_found")  # "gra"
    yield Case("load_by_name_escape", by_name(ptr=NAME + 8, length=8), "not_found")  # "../graph"
    yield Case("load_by_name_oob", by_name(ptr=OOB), "invalid_argument")
    yield Case("load_by_name_huge_len", by_name(length=HUGE), "invalid_argument")
    yield Case("load_by_name_out_oob", by_name(out_graph=OOB), "invalid_argument")

    # init_execution_context
    yield Case("init_bad_graph", f"(call $init_execution_context {_c(99)} {_c(OUT_CTX)})",
               "invalid_argument")  # fmt: skip
    yield Case(
        "init_huge_graph", f"(call $init_execution_context {_c(HUGE)} {_c(OUT_CTX)})",
        "invalid_argument",
    )  # fmt: skip
    yield Case("init_out_oob", f"(call $init_execution_context (call $graph) {_c(OOB)})",
               "invalid_argument")  # fmt: skip

    # set_input
    def with_tensor(*stores: str, index: int = 0, tensor: int = TENSOR) -> str:
        return "".join(stores) + f"(call $set_input (call $ctx) {_c(index)} {_c(tensor)})"

    yield Case("set_input_bad_ctx", f"(call $set_input {_c(7)} {_c(0)} {_c(TENSOR)})",
               "invalid_argument")  # fmt: skip
    yield Case("set_input_tensor_oob", with_tensor(tensor=MEMORY_BYTES - 8), "invalid_argument")
    yield Case("set_input_dims_oob", with_tensor(_store(TENSOR, OOB)), "invalid_argument")
    yield Case("set_input_dims_huge", with_tensor(_store(TENSOR + 4, HUGE)), "invalid_argument")
    yield Case("set_input_data_oob", with_tensor(_store(TENSOR + 12, OOB - 8)), "invalid_argument")
    yield Case("set_input_data_huge", with_tensor(_store(TENSOR + 16, HUGE)), "invalid_argument")
    yield Case(
        "set_input_unknown_type", with_tensor(_store(TENSOR + 8, 9, "i32.store8")),
        "invalid_argument",
    )  # fmt: skip
    yield Case(
        "set_input_wrong_type", with_tensor(_store(TENSOR + 8, 4, "i32.store8")),  # i32, same size
        "invalid_argument",
    )  # fmt: skip
    yield Case("set_input_wrong_size", with_tensor(_store(TENSOR + 16, 12)), "invalid_argument")
    yield Case(
        "set_input_wrong_dims", with_tensor(_store(DIMS, 2), _store(DIMS + 4, 2)),
        "invalid_argument",
    )  # fmt: skip
    yield Case("set_input_bad_index", with_tensor(index=5), "invalid_argument")

    # compute
    yield Case("compute_bad_ctx", f"(call $compute {_c(3)})", "invalid_argument")
    yield Case("compute_before_set_input", "(call $compute (call $ctx))", "runtime_error")

    # get_output
    yield Case(
        "get_output_before_compute",
        f"(call $get_output (call $ready) {_c(0)} {_c(OUTBUF)} {_c(64)} {_c(OUT_WRITTEN)})",
        "runtime_error",
    )
    yield Case("get_output_too_small", out(max=8), "too_large")
    yield Case("get_output_bad_index", out(idx=3), "invalid_argument")
    yield Case("get_output_bad_ctx", f"(call $get_output {_c(9)} {_c(0)} {_c(OUTBUF)} {_c(64)} "
               f"{_c(OUT_WRITTEN)})", "invalid_argument")  # fmt: skip
    yield Case("get_output_buf_oob", out(buf=MEMORY_BYTES - 4), "invalid_argument")
    yield Case("get_output_huge_max", out(max=HUGE), "invalid_argument")
    yield Case("get_output_written_oob", out(written=OOB), "invalid_argument")


def _data(addr: int, data: bytes) -> str:
    text = data.hex()
    text = "".join("\\" + text[i : i + 2] for i in range(0, len(text), 2))
    return f'(data {_c(addr)} "{text}")'


def wat(case: Case, model: Model) -> str:
    """The whole module text for one case."""
    builders, addr = [], MODEL
    segments = []
    for blob in model.builders:
        builders.append((addr, len(blob)))
        segments.append(_data(addr, blob))
        addr = (addr + len(blob) + 7) & ~7
    assert addr <= MEMORY_BYTES, "the conformance model does not fit in guest memory"
    table = b"".join(p.to_bytes(4, "little") + n.to_bytes(4, "little") for p, n in builders)
    tensor = b"".join(v.to_bytes(4, "little") for v in (DIMS, 2, 1, DATA, INPUT.nbytes))
    segments += [
        _data(BUILDERS, table),
        _data(TENSOR, tensor),
        _data(DIMS, np.array([1, 4], dtype="<u4").tobytes()),
        _data(DATA, INPUT.tobytes()),
        _data(NAME, f"{GRAPH_NAME}\0\0\0../{GRAPH_NAME}".encode()),
    ]
    wrong = "openvino" if model.encoding == "onnx" else "onnx"
    nn = '(import "wasi_ephemeral_nn"'
    return f"""(module
  {nn} "load" (func $load (param i32 i32 i32 i32 i32) (result i32)))
  {nn} "load_by_name" (func $load_by_name (param i32 i32 i32) (result i32)))
  {nn} "init_execution_context" (func $init_execution_context (param i32 i32) (result i32)))
  {nn} "set_input" (func $set_input (param i32 i32 i32) (result i32)))
  {nn} "compute" (func $compute (param i32) (result i32)))
  {nn} "get_output" (func $get_output (param i32 i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "proc_exit" (func $proc_exit (param i32)))
  (memory (export "memory") 2 2)
  (global $nb i32 {_c(len(model.builders))})
  (global $enc i32 {_c(ENCODINGS.index(model.encoding))})
  (global $wrong_enc i32 {_c(ENCODINGS.index(wrong))})
  {chr(10).join("  " + s for s in segments)}
  (func $must (param $r i32)
    (if (local.get $r) (then (call $proc_exit (i32.add (i32.const 100) (local.get $r))))))
  (func $graph (result i32)
    (call $must (call $load {_c(BUILDERS)} (global.get $nb) (global.get $enc) {_c(0)}
      {_c(OUT_GRAPH)}))
    (i32.load {_c(OUT_GRAPH)}))
  (func $ctx (result i32)
    (call $must (call $init_execution_context (call $graph) {_c(OUT_CTX)}))
    (i32.load {_c(OUT_CTX)}))
  (func $ready (result i32) (local $c i32)
    (local.set $c (call $ctx))
    (call $must (call $set_input (local.get $c) {_c(0)} {_c(TENSOR)}))
    (local.get $c))
  (func $computed (result i32) (local $c i32)
    (local.set $c (call $ready))
    (call $must (call $compute (local.get $c)))
    (local.get $c))
  (func $case (result i32)
    {case.body})
  (func (export "_start") (call $proc_exit (call $case)))
)"""


def build(case: Case, model: Model) -> bytes:
    return wasmtime.wat2wasm(wat(case, model))


# What the wasmtime 49.0.3 CLI does instead, openvino encoding (docs/hosts.md).
# "errno:<name>" = a different errno; "trap" = the call traps (wiggle guest
# error, the CLI exits 1); "panic" = the host panics (the CLI aborts, SIGABRT).
# Cases not listed answer like ours.
CLI_OUTCOMES = {
    "load_builders_oob": "panic",
    "load_builders_huge_count": "panic",
    "load_builder_data_oob": "panic",
    "load_builder_huge_len": "panic",
    "load_out_graph_oob": "trap",
    "load_unknown_encoding": "trap",
    "load_encoding_without_backend": "errno:unsupported_operation",
    "load_wrong_encoding": "errno:unsupported_operation",
    "load_unknown_target": "trap",
    "load_target_tpu": "panic",
    "load_garbage_model": "errno:runtime_error",
    "load_by_name_unknown": "errno:unsupported_operation",
    "load_by_name_escape": "errno:unsupported_operation",
    "load_by_name_oob": "panic",
    "load_by_name_huge_len": "panic",
    "load_by_name_out_oob": "trap",
    "init_bad_graph": "errno:unsupported_operation",
    "init_huge_graph": "errno:unsupported_operation",
    "init_out_oob": "trap",
    "set_input_bad_ctx": "errno:unsupported_operation",
    "set_input_tensor_oob": "trap",
    "set_input_dims_oob": "panic",
    "set_input_dims_huge": "panic",
    "set_input_data_oob": "panic",
    "set_input_data_huge": "panic",
    "set_input_unknown_type": "trap",
    "set_input_wrong_type": "errno:runtime_error",
    "set_input_wrong_size": "panic",
    "set_input_wrong_dims": "errno:runtime_error",
    "set_input_bad_index": "errno:runtime_error",
    "compute_bad_ctx": "errno:unsupported_operation",
    "compute_before_set_input": "errno:success",
    "get_output_before_compute": "errno:success",
    "get_output_bad_index": "errno:runtime_error",
    "get_output_bad_ctx": "errno:unsupported_operation",
    "get_output_buf_oob": "panic",
    "get_output_huge_max": "panic",
    "get_output_written_oob": "trap",
}


def cli_expected(case: Case) -> str:
    return CLI_OUTCOMES.get(case.name, f"errno:{case.expected}")


def cli_outcome(code: int, stderr: str) -> str:
    """Classify a CLI run: errno:<name> | trap | panic | other:<code>."""
    from hosts.abi.witx import ERRNOS

    if code < 0 or "panicked at" in stderr:
        return "panic"
    if "failed to run main module" in stderr:
        return "trap"
    if 0 <= code < len(ERRNOS):
        return f"errno:{ERRNOS[code]}"
    return f"other:{code}"


# -- runners -------------------------------------------------------------------------


def capture_imports(nn) -> dict:  # nn: hosts.wasmtime_py.preview1.Preview1Nn
    """The host's ABI functions as plain Python callables (no guest needed)."""
    captured: dict = {}
    linker = wasmtime.Linker(wasmtime.Engine())
    linker.define_func = lambda mod, name, ty, fn: captured.__setitem__(name, fn)
    nn.define(linker)
    return captured


def host_with_context(model: Model) -> tuple:
    """A preview1 host bound to a one-page memory, with the conformance graph loaded by
    name (handle at 16) and a context made (handle at 20): (store, memory, nn, abi)."""
    from hosts.wasmtime_py.preview1 import Preview1Nn

    engine = wasmtime.Engine()
    store = wasmtime.Store(engine)
    module = wasmtime.Module(engine, wasmtime.wat2wasm('(module (memory (export "memory") 1))'))
    memory = wasmtime.Instance(store, module, []).exports(store)["memory"]
    nn = Preview1Nn(preopen=model.folder)
    nn.bind(store, memory)
    abi = capture_imports(nn)
    memory.write(store, GRAPH_NAME.encode(), 0)
    assert abi["load_by_name"](0, len(GRAPH_NAME), 16) == 0, nn.last_error
    assert abi["init_execution_context"](0, 20) == 0, nn.last_error
    return store, memory, nn, abi


def run_wasmtime_py(wasm: bytes, model: Model) -> tuple[int, str]:
    """Run one case on our Python witx host: (exit code, the host's last error)."""
    from hosts.wasmtime_py.preview1 import Preview1Nn

    engine = wasmtime.Engine()
    nn = Preview1Nn("cpu", 1, preopen=model.folder)
    linker = wasmtime.Linker(engine)
    linker.define_wasi()
    nn.define(linker)
    store = wasmtime.Store(engine)
    store.set_wasi(wasmtime.WasiConfig())
    instance = linker.instantiate(store, wasmtime.Module(engine, wasm))
    exports = instance.exports(store)
    memory = exports["memory"]
    assert isinstance(memory, wasmtime.Memory)
    nn.bind(store, memory)
    start = exports["_start"]
    assert isinstance(start, wasmtime.Func)
    try:
        start(store)
    except wasmtime.ExitTrap as e:
        return e.code, nn.last_error
    return 0, nn.last_error


def run_wasmtime_cli(wasm: bytes, model: Model, workdir: Path) -> tuple[int, str]:
    """Run one case on the official CLI: (exit status, stderr)."""
    import os
    import subprocess

    path = workdir / "case.wasm"
    path.write_bytes(wasm)
    env = dict(os.environ, WASMTIME_LOG=wasmtime_binary.LOG_FILTER)
    env["LD_LIBRARY_PATH"] = str(openvino_c.library_dir(1))
    graph = model.folder / GRAPH_NAME
    cmd = [
        wasmtime_binary.cli_binary(),
        "run",
        "-S",
        "nn",
        "-S",
        f"nn-graph={model.encoding}::{graph}",
    ]
    proc = subprocess.run([*cmd, path], capture_output=True, text=True, env=env, timeout=120)
    return proc.returncode, proc.stderr
