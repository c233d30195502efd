"""The wasi_ephemeral_nn -> wasi:nn adapter (docs/adapter.md).

- the adapter module keeps wit-component's adapter rules, with the legacy signatures;
- driver-adapted.wasm carries the byte-identical preview1 driver, and the build is
  reproducible;
- `wasinn-bench adapt` refuses bad input with a reason;
- a preview1 program this project did not write (tests/adapter_fixtures/user_program.c,
  built here with zig) gives the same answers preview1 and adapted, on wasmtime-py and
  on the CLI, with 8 inputs/8 outputs, two graphs and two contexts, and leaks neither
  guest memory pages nor host resources over 10,000 iterations;
- the project's driver, adapted, agrees with onnxruntime on both hosts.
"""

from __future__ import annotations

import dataclasses
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import onnx
import pytest
import wasmtime
from onnx import TensorProto, helper

from contracts import paths, wasm_binary
from hosts import get_host
from hosts.wasmtime_py.component import NnConfig, run_component
from tests import test_preview1
from tests.helpers import cli_run, run_cli, run_py_preview1
from workloads.guests import adapt as adapt_mod
from workloads.guests import toolchain
from workloads.guests.adapt import (
    AdaptError,
    adapt,
    embedded_core_modules,
    read_core_module,
    sections,
)

PREBUILT = paths.PREBUILT
ADAPTER = PREBUILT / "wasi_ephemeral_nn_adapter.wasm"
PREVIEW1 = PREBUILT / "driver-preview1.wasm"
ADAPTED = PREBUILT / "driver-adapted.wasm"
# The mlp-tiny model, inputs and onnxruntime answer of the preview1 tests (a fixture).
mlp = test_preview1.mlp
USER_C = Path(__file__).parent / "adapter_fixtures" / "user_program.c"
NN = "@0.2.0-rc-2024-10-28"

I32 = 0x7F
# The WIT functions the adapter may import, with their canonical core signatures
# (params, results): results through a return pointer where they do not fit flat.
WIT_IMPORTS = {
    (f"wasi:nn/graph{NN}", "load"): ([I32] * 5, []),
    (f"wasi:nn/graph{NN}", "load-by-name"): ([I32] * 3, []),
    (f"wasi:nn/graph{NN}", "[method]graph.init-execution-context"): ([I32] * 2, []),
    (f"wasi:nn/tensor{NN}", "[constructor]tensor"): ([I32] * 5, [I32]),
    (f"wasi:nn/tensor{NN}", "[method]tensor.data"): ([I32] * 2, []),
    (f"wasi:nn/tensor{NN}", "[resource-drop]tensor"): ([I32], []),
    (f"wasi:nn/inference{NN}", "[method]graph-execution-context.compute"): ([I32] * 4, []),
    (f"wasi:nn/errors{NN}", "[method]error.code"): ([I32], [I32]),
    (f"wasi:nn/errors{NN}", "[resource-drop]error"): ([I32], []),
}
# Section ids wit-component accepts in an adapter (custom 0 aside): type, import,
# function, table, memory, global, export, code. No data (11), element (9), start (8).
ADAPTER_SECTIONS = {1, 2, 3, 4, 5, 6, 7, 10}


# -- reading signatures (the part of the format workloads.guests.adapt does not need) --------


def _leb(data: bytes, pos: int) -> tuple[int, int]:
    return wasm_binary._leb(data, pos)


def _signatures(wasm: bytes) -> tuple[dict, dict]:
    """(imports, exports): (module, name) / name -> (params, results) for functions."""
    types, func_types, imports, exports = [], [], {}, {}
    for sid, body in sections(wasm):
        if sid == 1:
            count, pos = _leb(body, 0)
            for _ in range(count):
                assert body[pos] == 0x60
                n, pos = _leb(body, pos + 1)
                params = list(body[pos : pos + n])
                m, pos = _leb(body, pos + n)
                types.append((params, list(body[pos : pos + m])))
                pos += m
        elif sid == 2:
            count, pos = _leb(body, 0)
            for _ in range(count):
                module, pos = wasm_binary._name(body, pos)
                name, pos = wasm_binary._name(body, pos)
                kind = body[pos]
                if kind == 0:
                    t, pos = _leb(body, pos + 1)
                    imports[(module, name)] = types[t]
                    func_types.append(t)
                else:
                    assert (module, name, kind) == ("env", "memory", 2)
                    pos = wasm_binary._read_limits(body, pos + 1)[2]
        elif sid == 3:
            count, pos = _leb(body, 0)
            for _ in range(count):
                t, pos = _leb(body, pos)
                func_types.append(t)
        elif sid == 7:
            count, pos = _leb(body, 0)
            for _ in range(count):
                name, pos = wasm_binary._name(body, pos)
                kind = body[pos]
                index, pos = _leb(body, pos + 1)
                if kind == 0:
                    exports[name] = types[func_types[index]]
    return imports, exports


def test_adapter_keeps_the_adapter_rules() -> None:
    wasm = ADAPTER.read_bytes()
    ids = {sid for sid, _ in sections(wasm)}
    assert ids - {0} <= ADAPTER_SECTIONS, f"sections wit-component refuses: {ids - {0}}"
    mod = read_core_module(wasm)
    assert ("env", "memory", 2) in mod.imports
    imports, exports = _signatures(wasm)
    for key, sig in imports.items():
        assert WIT_IMPORTS.get(key) == sig, f"{key}: {sig} is not its canonical signature"
    # exactly what the preview1 driver imports (the legacy six and the experimental
    # `properties`), each with the driver's signature: all i32 -> i32 errno
    driver_imports, _ = _signatures(PREVIEW1.read_bytes())
    legacy = {name: sig for (m, name), sig in driver_imports.items() if m == "wasi_ephemeral_nn"}
    assert set(adapt_mod.LEGACY_FUNCS) <= set(legacy)
    assert set(exports) == {*legacy, adapt_mod.REALLOC}
    assert sorted(adapt_mod.provided_functions()) == sorted(legacy)
    for name, sig in legacy.items():
        assert exports[name] == sig
        assert sig[0] and set(sig[0]) == {I32} and sig[1] == [I32]
    assert exports[adapt_mod.REALLOC] == ([I32] * 4, [I32])


def test_adapter_carries_the_wit_world() -> None:
    customs = {}
    for sid, body in sections(ADAPTER.read_bytes()):
        if sid == 0:
            name, pos = wasm_binary._name(body, 0)
            customs[name] = body[pos:]
    world = [v for k, v in customs.items() if k.startswith("component-type")]
    assert world, f"no component-type section (custom sections: {list(customs)})"
    assert f"wasi:nn/inference{NN}".encode() in world[0]


def test_adapted_driver_holds_the_byte_identical_preview1_module() -> None:
    modules = embedded_core_modules(ADAPTED.read_bytes())
    assert PREVIEW1.read_bytes() in modules
    # and the adapter went in too (trimmed by wit-component to what the driver uses)
    assert any(
        ("env", "memory", 2) in read_core_module(m).imports
        and "get_output" in read_core_module(m).exports
        for m in modules
    )


# -- jco --------------------------------------------------------------------------


@pytest.fixture(scope="session")
def wasi_adapters() -> Path:
    """The WASI preview1 adapters `adapt` plugs in (npm-fetched once, or node_modules)."""
    try:
        return toolchain.wasi_adapter("command")
    except toolchain.ToolError as e:
        pytest.skip(f"WASI adapters unavailable: {e}")


def test_build_is_reproducible(jco: Path, tmp_path: Path) -> None:
    from workloads.guests import build

    entries = build.build(["wasi_ephemeral_nn_adapter.wasm", "driver-adapted.wasm"], tmp_path)
    for name, entry in entries.items():
        assert (tmp_path / name).read_bytes() == (PREBUILT / name).read_bytes(), name
        assert build.read_manifest()["artifacts"][name]["sha256"] == entry["sha256"]


def _wat_module(
    tmp_path: Path, name: str, imports: str, exports: str = "", memory: str = "(memory 1)"
) -> Path:
    path = tmp_path / name
    path.write_bytes(wasmtime.wat2wasm(f"(module {imports} {memory} {exports})"))
    return path


def test_adapt_refuses_with_a_reason(wasi_adapters: Path, tmp_path: Path, monkeypatch) -> None:
    out = tmp_path / "out.wasm"
    text = tmp_path / "notes.txt"
    text.write_text("hello")
    no_nn = _wat_module(tmp_path, "no_nn.wasm", "", '(export "memory" (memory 0))')
    odd = _wat_module(
        tmp_path,
        "odd.wasm",
        '(import "wasi_ephemeral_nn" "set_output" (func (param i32) (result i32)))',
        '(export "memory" (memory 0))',
    )
    hidden_memory = _wat_module(
        tmp_path,
        "hidden.wasm",
        '(import "wasi_ephemeral_nn" "compute" (func (param i32) (result i32)))',
    )
    fixed = _wat_module(
        tmp_path,
        "fixed.wasm",
        '(import "wasi_ephemeral_nn" "compute" (func (param i32) (result i32)))',
        memory='(memory (export "memory") 2 4)',
    )
    cases = [
        (text, "not a WebAssembly file"),
        (fixed, "its memory may grow by 2 pages only"),
        (ADAPTED, "already a component"),
        (no_nn, "does not import wasi_ephemeral_nn"),
        (odd, "wasi_ephemeral_nn.set_output, which the adapter does not provide"),
        (hidden_memory, "does not export its memory"),
        (tmp_path / "absent.wasm", "cannot read"),
    ]
    for module, why in cases:
        with pytest.raises(AdaptError, match=re.escape(why)):
            adapt(module, out)
    assert not out.exists()
    # WASI adapters not cached and npm missing: say exactly what is missing
    monkeypatch.setattr(toolchain, "NODE_DIR", tmp_path / "no-node-modules")
    monkeypatch.setenv(paths.CACHE_ROOT_ENV, str(tmp_path / "empty-cache"))
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(AdaptError, match="node and npm is missing"):
        adapt(PREVIEW1, out)


def test_adapt_command_line(wasi_adapters: Path, tmp_path: Path) -> None:
    out = tmp_path / "adapted.wasm"
    proc = run_cli("adapt", str(PREVIEW1), "-o", str(out))
    assert proc.returncode == 0, proc.stderr
    assert PREVIEW1.read_bytes() in embedded_core_modules(out.read_bytes())
    bad = run_cli("adapt", str(ADAPTED), "-o", str(tmp_path / "x.wasm"))
    assert bad.returncode == 2
    assert "already a component" in bad.stderr and len(bad.stderr.strip().splitlines()) == 1


# -- a preview1 program from outside the project ----------------------------------


def _io_model(folder: Path, n: int) -> dict[str, Path]:
    """n inputs in_i [1,4], n outputs out_i = in_i + in_(i+1 mod n), as ONNX and IR."""
    ins = [helper.make_tensor_value_info(f"in{i}", TensorProto.FLOAT, [1, 4]) for i in range(n)]
    outs = [helper.make_tensor_value_info(f"out{i}", TensorProto.FLOAT, [1, 4]) for i in range(n)]
    nodes = [helper.make_node("Add", [f"in{i}", f"in{(i + 1) % n}"], [f"out{i}"]) for i in range(n)]
    model = helper.make_model(
        helper.make_graph(nodes, f"io{n}", ins, outs), opset_imports=[helper.make_opsetid("", 17)]
    )
    model.ir_version = 8
    onnx_path = folder / f"io{n}.onnx"
    onnx.save(model, onnx_path)
    import openvino as ov

    # no "0", "1"... names: the adapter reads the IR's own names (docs/adapter.md)
    ir = ov.Core().read_model(str(onnx_path))  # not convert_model: it can hang numpy later
    ov.save_model(ir, folder / f"io{n}.xml")
    return {"onnx": onnx_path, "xml": folder / f"io{n}.xml", "bin": folder / f"io{n}.bin"}


def _expected(n: int) -> list[list[float]]:
    x = [[10.0 * k + j for j in range(4)] for k in range(n)]
    return [[a + b for a, b in zip(x[k], x[(k + 1) % n], strict=True)] for k in range(n)]


@pytest.fixture(scope="module")
def user(tmp_path_factory, wasi_adapters: Path) -> dict:
    """The user program as preview1 and adapted, and the 2- and 8-tensor models."""
    folder = tmp_path_factory.mktemp("user")
    p1 = folder / "user.wasm"
    cmd = [sys.executable, "-m", "ziglang", "cc", "--target=wasm32-wasi", "-O2", "-s"]
    proc = subprocess.run([*cmd, "-o", str(p1), str(USER_C)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    adapted = folder / "user-adapted.wasm"
    adapt(p1, adapted)
    return {"folder": folder, "preview1": p1, "adapted": adapted, 2: _io_model(folder, 2),
            8: _io_model(folder, 8)}  # fmt: skip


def _argv(user: dict, encoding: str, n: int, iterations: int) -> list[str]:
    files = user[n]
    models = [files["onnx"].name] if encoding == "onnx" else [files["xml"].name, files["bin"].name]
    enc = "1" if encoding == "onnx" else "0"
    return ["user", enc, *models, "--", str(n), str(n), str(iterations)]


def _parse(stdout: str) -> dict:
    """The user program's report: outputs, the two errnos, memory pages (first, last)."""
    lines = stdout.strip().splitlines()
    fields = dict(line.split(" ", 1) for line in lines if not line.startswith("output "))
    outputs = [
        [float(v) for v in line.split(":")[1].split()]
        for line in lines
        if line.startswith("output ")
    ]
    return {
        "outputs": outputs,
        "too_large": int(fields["too_large"]),
        "bad_context": int(fields["bad_context"]),
        "pages": [int(p) for p in fields["pages"].split()],
    }


def _run_py_preview1(user: dict, argv: list[str]) -> str:
    return run_py_preview1(user["preview1"], user["folder"], argv, "p1-stdout.txt")


def _run_py_adapted(user: dict, argv: list[str]):  # noqa: ANN202
    out = user["folder"] / "adapted-stdout.txt"
    run = run_component(user["adapted"], argv, user["folder"], NnConfig(), stdout=out)
    assert run.exit_code == 0 and run.trap is None, (run.trap, out.read_text())
    return out.read_text(), run.state


@pytest.mark.parametrize("backend", ["onnx", "openvino"])
def test_user_program_wasmtime_py_8_inputs_8_outputs(user: dict, backend: str) -> None:
    argv = _argv(user, backend, 8, 2)
    p1 = _parse(_run_py_preview1(user, argv))
    text, state = _run_py_adapted(user, argv)
    ad = _parse(text)
    assert ad["outputs"] == p1["outputs"] == _expected(8)
    assert ad["too_large"] == p1["too_large"] == 7
    assert ad["bad_context"] == p1["bad_context"] == 1
    assert "handles 0 1 0 1" in text  # legacy ids count from 0, per kind
    assert "malloc_after_load 7" in text  # malloc works above the adapters' pages
    # left alive: the last outputs of both contexts; inputs went to compute, errors dropped
    assert state.sizes() == {"graph": 2, "graph-execution-context": 2, "tensor": 16, "error": 0}


def test_user_program_no_leak_over_10000_iterations(user: dict) -> None:
    text, state = _run_py_adapted(user, _argv(user, "onnx", 2, 10_000))
    result = _parse(text)
    assert result["outputs"] == _expected(2)
    first, last = result["pages"]
    assert first == last, f"guest memory grew from {first} to {last} pages"
    # host side: per context at most 2 inputs + 2 outputs alive at once
    assert state.sizes()["tensor"] == 4 and state.sizes()["error"] == 0
    assert state.peaks()["tensor"] <= 8 and state.peaks()["error"] <= 1


def _cli(user: dict, wasm: Path, argv: list[str]) -> str:
    proc = cli_run(wasm, user["folder"], args=tuple(argv[1:]))
    assert proc.returncode == 0, proc.stderr[-2000:]
    return proc.stdout


@pytest.mark.cli
def test_user_program_cli_openvino(user: dict) -> None:
    argv = _argv(user, "openvino", 8, 2)
    p1 = _parse(_cli(user, user["preview1"], argv))
    ad = _parse(_cli(user, user["adapted"], argv))
    assert ad["outputs"] == p1["outputs"] == _expected(8)
    assert ad["too_large"] == p1["too_large"] == 7
    # an unknown context: wasmtime's witx host says unsupported_operation (all its usage
    # errors are), the adapter invalid_argument like our Python host (docs/adapter.md)
    assert (p1["bad_context"], ad["bad_context"]) == (6, 1)
    leak = _parse(_cli(user, user["adapted"], _argv(user, "openvino", 2, 10_000)))
    assert leak["pages"][0] == leak["pages"][1]


# -- the project's driver, adapted, through the hosts ------------------------------


def _round(mlp: tuple, tmp_path: Path, variant: str, host: str, backend: str):  # noqa: ANN202
    job = test_preview1.make_job(mlp, tmp_path / variant, host, backend)
    job.cell = dataclasses.replace(job.cell, variant=variant)
    (tmp_path / variant).mkdir()
    return get_host(host).run_round(job)


def _agrees(result, mlp: tuple) -> None:  # noqa: ANN001
    for name, want in mlp[3].items():
        np.testing.assert_allclose(result.outputs[name], want, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("backend", ["onnx", "openvino"])
def test_driver_adapted_wasmtime_py(mlp: tuple, tmp_path: Path, backend: str) -> None:
    adapted = _round(mlp, tmp_path, "adapted", "wasmtime-py", backend)
    _agrees(adapted, mlp)
    preview1 = _round(mlp, tmp_path, "preview1", "wasmtime-py", backend)
    for name in mlp[3]:
        np.testing.assert_array_equal(adapted.outputs[name], preview1.outputs[name])


@pytest.mark.cli
def test_driver_adapted_cli(mlp: tuple, tmp_path: Path) -> None:
    adapted = _round(mlp, tmp_path, "adapted", "wasmtime-cli", "openvino")
    _agrees(adapted, mlp)
    preview1 = _round(mlp, tmp_path, "preview1", "wasmtime-cli", "openvino")
    for name in mlp[3]:
        np.testing.assert_array_equal(adapted.outputs[name], preview1.outputs[name])
