"""The experimental backend-properties query (docs/properties.md) and the graph-encoding
versions recorded with results: legacy `wasi_ephemeral_nn.properties` on our preview1
host, the WIT `wasi-nn-bench:properties/query` on our component host, the driver's
`--properties`, the hosts without the query (CLI, adapter), and the opset check."""

from __future__ import annotations

import json
import struct
import subprocess
from importlib.metadata import version
from pathlib import Path

import onnx
import onnxruntime as ort
import openvino as ov
import pandas as pd
import pytest
import wasmtime
from onnx import TensorProto, helper
from wasmtime.component import Component, Linker

from bench.measure.plan import cell_problem
from bench.measure.prepare import prepare
from contracts.cells import Cell
from contracts.jobs import CellJob, TensorSpec
from hosts import get_host, guest_io, properties
from hosts.abi import witx
from hosts.backends import get_backend
from hosts.wasmtime_cli import WasmtimeCliHost
from hosts.wasmtime_cli.binary import CORE_MODULE_FLAGS, cli_binary
from hosts.wasmtime_py import component
from hosts.wasmtime_py.component import NnConfig, NnState
from hosts.wasmtime_py.preview1 import Preview1Nn, wasi_config
from tests.helpers import run_cli
from workloads.guests import build_adapter
from workloads.models import prepare_model
from workloads.spec.workload import find_workload

QUERY = "wasi-nn-bench:properties/query@0.1.0"
ONNX, OPENVINO = witx.ENCODINGS.index("onnx"), witx.ENCODINGS.index("openvino")
CPU, GPU = witx.TARGETS.index("cpu"), witx.TARGETS.index("gpu")


@pytest.fixture(scope="module")
def mlp(tmp_path_factory: pytest.TempPathFactory) -> tuple:
    folder = tmp_path_factory.mktemp("mlp")
    pm = prepare_model("mlp_tiny", {}, None, None, cache_dir=folder / "cache")
    inputs = []
    for i, t in enumerate(pm.inputs):
        path = folder / f"in{i}.bin"
        path.write_bytes(bytes(4 * t.shape[0] * t.shape[1]))
        inputs.append(TensorSpec(t.name, i, t.dtype, list(t.shape), str(path)))
    outputs = [TensorSpec(t.name, i, t.dtype, list(t.shape)) for i, t in enumerate(pm.outputs)]
    return pm, inputs, outputs


def job(mlp: tuple, tmp_path: Path, variant: str, host: str, backend: str) -> CellJob:
    pm, inputs, outputs = mlp
    cell = Cell("mlp-tiny", variant, host, backend, "cpu")
    return CellJob(cell, pm.files, inputs, outputs, 1, 2, 1, str(tmp_path))


# -- legacy ABI: the pairs a preview1 guest sees ------------------------------------


@pytest.mark.parametrize("backend", ["onnx", "openvino"])
def test_preview1_guest_sees_real_backend_versions(mlp, tmp_path: Path, backend: str) -> None:
    result = get_host("wasmtime-py").run_round(
        job(mlp, tmp_path, "preview1", "wasmtime-py", backend)
    )
    seen = json.loads(result.notes["guest_properties"])
    assert seen["host"] == "wasmtime-py" and seen["host.version"] == version("wasmtime")
    assert seen["device"] == "cpu"
    if backend == "onnx":
        low, high = get_backend("onnx").onnx_opset_range()
        assert seen["backend"] == "onnxruntime"
        assert seen["backend.version"] == ort.__version__
        assert (int(seen["onnx.opset.min"]), int(seen["onnx.opset.max"])) == (low, high)
        assert int(seen["onnx.opset.min"]) <= mlp[0].opset <= int(seen["onnx.opset.max"])
        assert int(seen["onnx.ir_version.max"]) >= mlp[0].onnx_ir_version
    else:
        assert seen["backend"] == "openvino"
        assert seen["backend.version"] == ov.get_version()
        # the IR version it writes = the version of the IR the harness made for this model
        assert int(seen["openvino.ir_version"]) == mlp[0].openvino_ir_version
    # the per-cell properties name the host too
    assert result.notes["prop.host"] == "wasmtime-py"


PROBE_WAT = """
(module
  (import "wasi_ephemeral_nn" "properties" (func $p (param i32 i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (func (export "call") (param i32 i32 i32 i32 i32) (result i32)
    (call $p (local.get 0) (local.get 1) (local.get 2) (local.get 3) (local.get 4))))
"""


@pytest.fixture()
def legacy() -> tuple:
    """A core guest that calls wasi_ephemeral_nn.properties with the test's arguments."""
    engine = wasmtime.Engine()
    linker = wasmtime.Linker(engine)
    nn = Preview1Nn()
    nn.define(linker)
    store = wasmtime.Store(engine)
    instance = linker.instantiate(store, wasmtime.Module(engine, wasmtime.wat2wasm(PROBE_WAT)))
    memory = instance.exports(store)["memory"]
    nn.bind(store, memory)
    call = instance.exports(store)["call"]
    return store, memory, lambda *args: call(store, *args)


def test_legacy_count_survives_a_buffer_over_written(legacy) -> None:
    """The data is written before its byte count (as get_output does), so a buffer that
    overlaps `written` still leaves the guest the right count."""
    store, memory, call = legacy
    want = properties.pack(properties.describe("onnx", "cpu", 1))
    # `written` (at 8) lies inside the buffer (0..4096): the count must win
    assert call(ONNX, CPU, 0, 4096, 8) == 0
    assert struct.unpack("<I", memory.read(store, 8, 12))[0] == len(want)


def test_legacy_too_large_then_exact_buffer(legacy) -> None:
    store, memory, call = legacy
    want = properties.pack(properties.describe("onnx", "cpu", 1))
    assert call(ONNX, CPU, 64, 16, 0) == witx.ERRNO["too_large"]
    needed = struct.unpack("<I", memory.read(store, 0, 4))[0]
    assert needed == len(want)
    assert call(ONNX, CPU, 64, needed, 0) == 0
    assert struct.unpack("<I", memory.read(store, 0, 4))[0] == needed
    got = properties.unpack(memory.read(store, 64, 64 + needed))
    assert dict(got)["backend"] == "onnxruntime" and got == properties.unpack(want)


@pytest.mark.parametrize(
    ("args", "errno"),
    [
        ((42, CPU, 64, 4096, 0), "invalid_encoding"),  # no such encoding
        ((witx.ENCODINGS.index("tensorflow"), CPU, 64, 4096, 0), "invalid_encoding"),  # no backend
        ((ONNX, GPU, 64, 4096, 0), "unsupported_operation"),  # no GPU on this machine
        ((ONNX, 7, 64, 4096, 0), "invalid_argument"),  # no such target
        ((ONNX, CPU, 65536 - 8, 4096, 0), "invalid_argument"),  # buffer leaves memory
        ((ONNX, CPU, 64, 4096, 65536), "invalid_argument"),  # out pointer leaves memory
    ],
)
def test_legacy_errnos(legacy, args: tuple, errno: str) -> None:
    if errno == "unsupported_operation" and get_backend("onnx").devices()["gpu"] is None:
        pytest.skip("this machine has a GPU")
    assert legacy[2](*args) == witx.ERRNO[errno]


def test_driver_retries_with_the_size_the_host_needs(mlp, tmp_path: Path, monkeypatch) -> None:
    """More than the driver's first 4 KiB: too_large, then a retry with *written bytes.
    (No real backend says that much: the pairs are enlarged to force the path.)"""
    real = properties.describe

    def big(encoding: str, device: str, threads: int) -> list[tuple[str, str]]:
        return real(encoding, device, threads) + [(f"x.{i}", "v" * 40) for i in range(200)]

    monkeypatch.setattr(properties, "describe", big)
    result = get_host("wasmtime-py").run_round(
        job(mlp, tmp_path, "preview1", "wasmtime-py", "onnx")
    )
    seen = json.loads(result.notes["guest_properties"])
    assert len(properties.pack(big("onnx", "cpu", 1))) > 4096
    assert seen == dict(big("onnx", "cpu", 1))


def test_driver_writes_error_for_other_errnos(mlp, tmp_path: Path) -> None:
    """An errno other than 6 is recorded as error=<name>; the driver carries on to load."""
    j = job(mlp, tmp_path, "preview1", "wasmtime-py", "onnx")
    run = guest_io.prepare(j)
    run.argv[run.argv.index("--encoding") + 1] = "tensorflow"
    engine = wasmtime.Engine()
    linker = wasmtime.Linker(engine)
    linker.define_wasi()
    nn = Preview1Nn(preopen=run.preopen)
    nn.define(linker)
    store = wasmtime.Store(engine)
    store.set_wasi(wasi_config(run))
    instance = linker.instantiate(store, wasmtime.Module(engine, run.wasm.read_bytes()))
    nn.bind(store, instance.exports(store)["memory"])
    with pytest.raises(wasmtime.ExitTrap) as exit_:
        instance.exports(store)["_start"](store)
    assert exit_.value.code == 4  # load of a tensorflow graph fails after the query
    assert guest_io.parse_properties(run.preopen / guest_io.PROPERTIES_FILE) == {
        "error": "invalid_encoding"
    }


# -- hosts without the query carry on -----------------------------------------------


def test_cli_preview1_carries_on_with_no_pairs(mlp, tmp_path: Path) -> None:
    j = job(mlp, tmp_path, "preview1", "wasmtime-cli", "openvino")
    host = WasmtimeCliHost()
    result = host.run_round(j)
    assert json.loads(result.notes["guest_properties"]) == {}
    assert len(result.outputs) == 1 and all(len(v) == 2 for v in result.per_iteration.values())
    assert result.notes["prop.host.version"].startswith("wasmtime 49.")
    assert Path(result.notes["prop.openvino.library"]).name.startswith("libopenvino_c.so")
    assert "INFERENCE_PRECISION_HINT=f32" in result.notes["prop.openvino.plugins_xml"]
    run = guest_io.prepare(j)
    assert " ".join(CORE_MODULE_FLAGS) in " ".join(host.command(run, run.wasm))
    component_run = guest_io.prepare(j, "component")
    assert CORE_MODULE_FLAGS[1] not in host.command(component_run, component_run.wasm)
    # a workload's own guest keeps the documented argv and the CLI's import check
    own = tmp_path / "own.wasm"
    own.write_bytes(run.wasm.read_bytes())
    own_run = guest_io.prepare(j, wasm=own)
    assert "--properties" not in own_run.argv
    assert CORE_MODULE_FLAGS[1] not in host.command(own_run, own)


def test_unknown_imports_default_can_only_stub_properties() -> None:
    """Every other import of the preview1 driver is one the CLI defines itself, so the
    flag changes nothing but `properties` (and without the flag the CLI refuses it)."""
    wasm = guest_io.guest_wasm("preview1")
    module = wasmtime.Module(wasmtime.Engine(), wasm.read_bytes())
    legacy = {"load", "load_by_name", "init_execution_context", "set_input", "compute",
              "get_output"}  # fmt: skip
    others = {
        (i.module, i.name)
        for i in module.imports
        if i.module != "wasi_snapshot_preview1"
        and (i.module, i.name) not in {("wasi_ephemeral_nn", n) for n in legacy}
    }
    assert others == {("wasi_ephemeral_nn", "properties")}
    proc = subprocess.run(
        [cli_binary(), "run", "-S", "nn", str(wasm)], capture_output=True, text=True
    )
    assert proc.returncode != 0 and "wasi_ephemeral_nn::properties" in proc.stderr


def test_adapted_carries_on(mlp, tmp_path: Path) -> None:
    result = get_host("wasmtime-py").run_round(job(mlp, tmp_path, "adapted", "wasmtime-py", "onnx"))
    assert json.loads(result.notes["guest_properties"]) == {}
    assert len(result.outputs) == 1


def test_adapter_properties_returns_unsupported_operation() -> None:
    """The adapter's own export, called directly: errno 6 (what the driver maps to no pairs)."""
    engine = wasmtime.Engine()
    module = wasmtime.Module(engine, wasmtime.wat2wasm(build_adapter.ADAPTER_SRC.read_text()))
    linker = wasmtime.Linker(engine)
    store = wasmtime.Store(engine)
    linker.define(
        store,
        "env",
        "memory",
        wasmtime.Memory(store, wasmtime.MemoryType(wasmtime.Limits(1, None))),
    )
    linker.define_unknown_imports_as_traps(module)
    props = linker.instantiate(store, module).exports(store)["properties"]
    assert props(store, ONNX, CPU, 0, 1024, 0) == witx.ERRNO["unsupported_operation"]


# -- WIT: wasi-nn-bench:properties/query on the component host -----------------------

# A component that imports the query and re-exports it: the host's list is lowered
# into the guest's memory (through its realloc) and lifted back from there.
PROBE_COMPONENT_WAT = """
(component
  (import "QUERY" (instance $q
    (type $e (enum "openvino" "onnx" "tensorflow" "pytorch" "tensorflowlite" "ggml" "autodetect"))
    (export "graph-encoding" (type $enc (eq $e)))
    (type $t (enum "cpu" "gpu" "tpu"))
    (export "execution-target" (type $tgt (eq $t)))
    (export "properties"
      (func (param "encoding" $enc) (param "target" $tgt) (result (list (tuple string string)))))))
  (alias export $q "graph-encoding" (type $enc))
  (alias export $q "execution-target" (type $tgt))
  (core module $mem
    (memory (export "memory") 1)
    (global $heap (mut i32) (i32.const 1024))
    (func (export "realloc") (param i32 i32) (param $align i32) (param $size i32) (result i32)
      (local $p i32)
      (local.set $p (i32.and (i32.add (global.get $heap) (i32.sub (local.get $align) (i32.const 1)))
                             (i32.sub (i32.const 0) (local.get $align))))
      (global.set $heap (i32.add (local.get $p) (local.get $size)))
      (if (i32.gt_u (global.get $heap) (i32.shl (memory.size) (i32.const 16)))
        (then (if (i32.lt_s (memory.grow (i32.add (i32.shr_u (global.get $heap) (i32.const 16))
                                                  (i32.const 1))) (i32.const 0))
          (then unreachable))))
      (local.get $p)))
  (core instance $mi (instantiate $mem))
  (alias core export $mi "memory" (core memory $memory))
  (alias core export $mi "realloc" (core func $realloc))
  (alias export $q "properties" (func $props))
  (core func $lowered (canon lower (func $props) (memory $memory) (realloc $realloc)))
  (core module $main
    (import "q" "properties" (func $p (param i32 i32 i32)))
    (func (export "query") (param i32 i32) (result i32)
      (call $p (local.get 0) (local.get 1) (i32.const 16))
      (i32.const 16)))
  (core instance $main_i (instantiate $main
    (with "q" (instance (export "properties" (func $lowered))))))
  (func (export "query") (param "encoding" $enc) (param "target" $tgt)
    (result (list (tuple string string)))
    (canon lift (core func $main_i "query") (memory $memory) (realloc $realloc))))
""".replace("QUERY", QUERY)


@pytest.fixture(scope="module")
def wit_query():
    engine = wasmtime.Engine()
    probe = Component(engine, wasmtime.wat2wasm(PROBE_COMPONENT_WAT))
    linker = Linker(engine)
    NnState(NnConfig(threads=1)).define(linker)  # wasi:nn + the query, as in a round
    store = wasmtime.Store(engine)
    instance = linker.instantiate(store, probe)
    func = instance.get_func(store, instance.get_export_index(store, "query"))

    def query(encoding: str, target: str) -> list[tuple[str, str]]:
        pairs = func(store, encoding, target)
        func.post_return(store)
        return [tuple(p) for p in pairs]

    return query


@pytest.mark.parametrize("encoding", ["onnx", "openvino"])
def test_wit_query_on_component_host(wit_query, encoding: str) -> None:
    pairs = wit_query(encoding, "cpu")
    assert pairs == properties.describe(encoding, "cpu", 1)
    seen = dict(pairs)
    assert seen["host"] == "wasmtime-py" and seen["device"] == "cpu"
    if encoding == "onnx":
        assert seen["backend.version"] == ort.__version__ and "onnx.opset.max" in seen


def test_wit_query_unserved_is_one_error_pair(wit_query) -> None:
    ((key, value),) = wit_query("ggml", "cpu")
    assert key == "error" and value.startswith("invalid-encoding: ")
    if get_backend("onnx").devices()["gpu"] is not None:
        ((key, value),) = wit_query("onnx", "gpu")
        assert key == "error" and value.startswith("unsupported-operation: ")
        assert "CUDAExecutionProvider" in value


def test_component_driver_does_not_import_the_query() -> None:
    """WIT imports are not optional: our component guests must run on the CLI too."""
    assert component.PROPERTIES_QUERY == QUERY
    for variant in ("component", "adapted"):
        assert QUERY.encode() not in guest_io.guest_wasm(variant).read_bytes()


# -- graph-encoding versions: recorded, and checked before a cell runs ---------------


def _opset29_workload(tmp_path: Path) -> Path:
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 4])
    graph = helper.make_graph([helper.make_node("Relu", ["x"], ["y"])], "relu29", [x], [y])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 29)])
    onnx.checker.check_model(model, full_check=True)  # a real, valid model
    onnx.save(model, tmp_path / "relu29.onnx")
    toml = tmp_path / "relu29.toml"
    toml.write_text(
        'name = "relu29"\nwarmup = 1\niterations = 2\nrounds = 1\n'
        '[model]\npath = "relu29.onnx"\n'
        '[inputs.x]\nshape = [1, 4]\ndtype = "f32"\ngenerator = "normal"\nseed = 1\n'
    )
    return toml


def test_opset_outside_backend_range_is_flagged(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("WASINN_BENCH_CACHE", str(tmp_path / "cache"))
    toml = _opset29_workload(tmp_path)
    p = prepare(find_workload(str(toml)), tmp_path / "inputs")
    assert p.model.opset == 29 > get_backend("onnx").onnx_opset_range()[1]
    flagged = cell_problem(Cell("relu29", "native", "native", "onnx", "cpu"), p)
    assert flagged == ("unsupported", "model opset 29 outside onnx's supported range 1-28")
    # OpenVINO states no range: not flagged (it fails per operator, if at all)
    assert cell_problem(Cell("relu29", "native", "native", "openvino", "cpu"), p) is None

    out = tmp_path / "run"
    proc = run_cli("run", str(toml), "--hosts", "native", "--backends", "onnx",
                   "--offline", "0", "--out", str(out))  # fmt: skip
    assert proc.returncode == 1, proc.stderr  # its only cell unsupported: nothing measured
    cells = pd.read_csv(out / "cells.csv")
    assert list(cells["status"]) == ["unsupported"] and list(cells["rounds"]) == [0]
    assert "model opset 29 outside" in cells["reason"][0]
    assert list(cells["opset"]) == [29]
    assert list(cells["onnx_ir_version"]) == [p.model_info["onnx_ir_version"]]
    plan = json.loads((out / "plan.json").read_text())
    assert plan["cells"][0]["status"] == "unsupported"  # decided before anything ran
