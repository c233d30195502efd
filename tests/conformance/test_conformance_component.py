"""Conformance of the adapted guest: every witx ABI case of abi_cases, as a preview1
module and adapted into a component by our adapter, on the same host; the answers must
match but for the differences listed here (docs/adapter.md, "Conformance").

The preview1 side of the same cases is tests/conformance/test_conformance_preview1.py.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
import wasmtime

from contracts import paths
from hosts.graph_names import GraphRegistry, NamedGraph
from hosts.wasmtime_cli import binary as wasmtime_binary
from hosts.wasmtime_py.component import NnConfig, run_component
from tests.conformance import abi_cases
from tests.helpers import cli_run

ADAPTER = paths.PREBUILT / "wasi_ephemeral_nn_adapter.wasm"

# -- conformance: the witx ABI cases, preview1 vs adapted on the same host ----------

# The cases answer through their exit status, but a component's exit status is only
# ok/err (wasi:cli/exit): adapted, the case prints its errno instead. And the adapters
# take memory pages at run time, so "past the end of memory" must be further out.
FAR = 0x1000000  # 16 MiB: past the grown memory (2 pages + the adapters' pages)
SCRATCH = 0x1FF00  # 3 digits + an iovec, inside the cases' 2 pages, above the model
START = '(func (export "_start") (call $proc_exit (call $case)))'
REPORT = f"""(func (export "_start") (local $e i32)
    (local.set $e (call $case))
    (i32.store8 (i32.const {SCRATCH}) (i32.add (i32.const 48) (i32.div_u (local.get $e) (i32.const 100))))
    (i32.store8 (i32.const {SCRATCH + 1})
      (i32.add (i32.const 48) (i32.rem_u (i32.div_u (local.get $e) (i32.const 10)) (i32.const 10))))
    (i32.store8 (i32.const {SCRATCH + 2}) (i32.add (i32.const 48) (i32.rem_u (local.get $e) (i32.const 10))))
    (i32.store (i32.const {SCRATCH + 16}) (i32.const {SCRATCH}))
    (i32.store (i32.const {SCRATCH + 20}) (i32.const 3))
    (drop (call $fd_write (i32.const 1) (i32.const {SCRATCH + 16}) (i32.const 1) (i32.const {SCRATCH + 24}))))"""
PROC_EXIT = '(import "wasi_snapshot_preview1" "proc_exit" (func $proc_exit (param i32)))'
FD_WRITE = '(import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))'
FIXED_MEMORY = '(memory (export "memory") 2 2)'

# Where the adapted guest answers otherwise than the preview1 guest on the same host
# (case -> adapted outcome); docs/adapter.md, "Conformance", says why.
DEFERRED = {  # the WIT has no set_input: these are found at compute instead
    "set_input_wrong_type": "errno:success",
    "set_input_wrong_dims": "errno:success",
    "set_input_bad_index": "errno:success",
}
PY_DIFFERENCES = DEFERRED
# wasmtime 49's witx host panics or traps on a guest memory error and calls every usage
# error unsupported_operation; the adapter checks first and answers like our Python host.
CLI_DIFFERENCES = {
    **DEFERRED,
    **{
        name: "errno:invalid_argument"
        for name, outcome in abi_cases.CLI_OUTCOMES.items()
        if outcome in ("panic", "trap") and name not in ("load_unknown_encoding", "load_target_tpu")
    },
    "load_unknown_encoding": "errno:invalid_encoding",  # witx traps on the enum value
    "load_encoding_without_backend": "errno:invalid_encoding",  # WIT error-code
    "load_wrong_encoding": "errno:invalid_encoding",  # WIT: no onnx backend in the CLI
    "load_by_name_unknown": "errno:not_found",  # WIT error-code
    "load_by_name_escape": "errno:not_found",
    "init_bad_graph": "errno:invalid_argument",  # unknown ids: the adapter's own table
    "init_huge_graph": "errno:invalid_argument",
    "set_input_bad_ctx": "errno:invalid_argument",
    "compute_bad_ctx": "errno:invalid_argument",
    "get_output_bad_ctx": "errno:invalid_argument",
    "get_output_before_compute": "errno:runtime_error",  # witx serves stale outputs
    "get_output_bad_index": "errno:invalid_argument",  # outputs by position, counted
}


def _reporting(text: str) -> str:
    """A case module that prints its errno, with a growable memory."""
    for needle in (START, PROC_EXIT, FIXED_MEMORY):
        assert needle in text, f"abi_cases changed: {needle!r} not in the module text"
    text = text.replace(START, REPORT).replace(PROC_EXIT, f"{PROC_EXIT}\n  {FD_WRITE}")
    return text.replace(FIXED_MEMORY, '(memory (export "memory") 2)')


@pytest.fixture(scope="module", params=["onnx", "openvino"])
def conformance(request, tmp_path_factory, jco: Path) -> tuple:
    """(model, cases, {case: (preview1 wasm, adapted wasm)}) for one encoding."""
    encoding = request.param
    folder = tmp_path_factory.mktemp(f"conformance-{encoding}")
    model = abi_cases.conformance_model(folder, encoding)
    assert abi_cases.MODEL + sum(len(b) + 8 for b in model.builders) < SCRATCH
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(abi_cases, "OOB", FAR)
        mp.setattr(abi_cases, "MEMORY_BYTES", FAR)
        cases = list(abi_cases.cases())
        texts = {c.name: _reporting(abi_cases.wat(c, model)) for c in cases}
    made, args = {}, []
    for name, text in texts.items():
        core, comp = folder / f"{name}.wasm", folder / f"{name}.adapted.wasm"
        core.write_bytes(wasmtime.wat2wasm(text))
        made[name] = (core, comp)
        args += [str(core), str(comp)]
    script = paths.ADAPTER_DIR / "adapt_many.mjs"
    proc = subprocess.run(
        ["node", str(script), str(ADAPTER), *args], capture_output=True, text=True
    )
    assert proc.returncode == 0, proc.stderr
    return model, cases, made


def _errno_outcome(stdout: str) -> str:
    from hosts.abi.witx import ERRNOS

    return f"errno:{ERRNOS[int(stdout)]}"


def _py_preview1_case(wasm: Path, model: abi_cases.Model) -> str:
    from hosts.wasmtime_py.preview1 import Preview1Nn

    engine = wasmtime.Engine()
    nn = Preview1Nn("cpu", 1, preopen=model.folder)
    linker = wasmtime.Linker(engine)
    linker.define_wasi()
    nn.define(linker)
    store = wasmtime.Store(engine)
    wasi = wasmtime.WasiConfig()
    out = wasm.with_suffix(".p1.txt")
    wasi.stdout_file = str(out)
    store.set_wasi(wasi)
    instance = linker.instantiate(store, wasmtime.Module(engine, wasm.read_bytes()))
    nn.bind(store, instance.exports(store)["memory"])
    try:
        instance.exports(store)["_start"](store)
    except wasmtime.ExitTrap as e:
        return f"exit:{e.code}"  # a setup call failed
    return _errno_outcome(out.read_text())


def _py_adapted_case(wasm: Path, model: abi_cases.Model) -> str:
    graph = model.folder / abi_cases.GRAPH_NAME
    files = (
        [graph / "model.onnx"]
        if model.encoding == "onnx"
        else [graph / "model.xml", graph / "model.bin"]
    )
    config = NnConfig(
        graphs=GraphRegistry(
            {abi_cases.GRAPH_NAME: NamedGraph(model.encoding, tuple(str(f) for f in files))}
        )
    )
    out = wasm.with_suffix(".txt")
    run = run_component(wasm, ["case"], model.folder, config, stdout=out)
    if run.trap is not None:
        return "trap"
    text = out.read_text()
    return _errno_outcome(text) if text else f"exit:{run.exit_code}"


def test_conformance_wasmtime_py(conformance: tuple) -> None:
    model, cases, made = conformance
    diffs = {}
    for case in cases:
        core, adapted = made[case.name]
        want = PY_DIFFERENCES.get(case.name, _py_preview1_case(core, model))
        got = _py_adapted_case(adapted, model)
        if got != want:
            diffs[case.name] = f"adapted {got}, want {want}"
    assert not diffs, diffs


@pytest.mark.cli
@pytest.mark.parametrize("conformance", ["openvino"], indirect=True)  # the CLI's only backend
def test_conformance_cli(conformance: tuple) -> None:
    model, cases, made = conformance

    graph = model.folder / abi_cases.GRAPH_NAME
    diffs = {}
    for case in cases:
        proc = cli_run(made[case.name][1], model.folder, f"nn-graph=openvino::{graph}")
        got = (
            _errno_outcome(proc.stdout)
            if proc.stdout
            else abi_cases.cli_outcome(proc.returncode, proc.stderr).replace("errno:", "exit:")
        )
        want = CLI_DIFFERENCES.get(case.name, abi_cases.cli_expected(case))
        if got != want:
            diffs[case.name] = f"adapted {got}, want {want}"
    assert not diffs, (diffs, wasmtime_binary.cli_version())
