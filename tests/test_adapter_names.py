"""The adapter sends the model's own input names (docs/adapter.md, "Input names").

A user's preview1 program (tests/adapter_fixtures/named_inputs.c, built here with zig,
adapted with `wasinn-bench adapt`) runs models made here whose inputs have real names
(`x`; `input_ids`, `mask`; and "1", "0" swapped, which the old decimal-name convention
would have fed crosswise) with no "0", "1"... aliases. Adapted prints exactly what
preview1 prints, and that matches onnxruntime run natively: on the official wasmtime CLI
(OpenVINO IR, and ONNX bytes under the openvino encoding) and on our wasmtime-py host
(IR and ONNX). Hostile model bytes go through the adapter's parsers without a trap.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper, numpy_helper

from contracts.paths import NODE_DIR
from hosts.wasmtime_py.component import HOSTCALL_CAP, NnConfig, run_component
from tests.fuzz import models as fuzz_models
from tests.helpers import REPO, run_cli, run_py_preview1
from workloads.models import prepare_model
from workloads.spec.workload import find_workload, workload_files

PROGRAM = Path(__file__).parent / "adapter_fixtures" / "named_inputs.c"
F32, I64 = TensorProto.FLOAT, TensorProto.INT64


def _value(name: str, elem: int, shape: list[int]) -> onnx.ValueInfoProto:
    return helper.make_tensor_value_info(name, elem, shape)


def _x_model() -> onnx.ModelProto:
    """One input `x` [1, 4]: y = 2x + 1."""
    nodes = [
        helper.make_node("Mul", ["x", "two"], ["t"]),
        helper.make_node("Add", ["t", "one"], ["y"]),
    ]
    inits = [
        numpy_helper.from_array(np.array(2, np.float32), "two"),
        numpy_helper.from_array(np.array(1, np.float32), "one"),
    ]
    graph = helper.make_graph(
        nodes, "x", [_value("x", F32, [1, 4])], [_value("y", F32, [1, 4])], inits
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])


def _ids_model() -> onnx.ModelProto:
    """`input_ids`, `mask` (i64 [1, 5]) and `scale` (f32 [1, 3]): a masked embedding sum
    and a count. The embedding table is an initializer that is also listed first among
    the graph's inputs (as old exporters do): not an input to the legacy ABI."""
    table = numpy_helper.from_array(np.arange(21, dtype=np.float32).reshape(7, 3) / 8 - 1, "table")
    nodes = [
        helper.make_node("Gather", ["table", "input_ids"], ["emb"]),
        helper.make_node("Cast", ["mask"], ["maskf"], to=F32),
        helper.make_node("Unsqueeze", ["maskf", "axis"], ["mask3"]),
        helper.make_node("Mul", ["emb", "mask3"], ["masked"]),
        helper.make_node("ReduceSum", ["masked", "one_axis"], ["pooled"], keepdims=0),
        helper.make_node("Mul", ["pooled", "scale"], ["summary"]),
        helper.make_node("ReduceSum", ["maskf", "one_axis"], ["count"], keepdims=0),
    ]
    inits = [
        table,
        numpy_helper.from_array(np.array([-1], np.int64), "axis"),
        numpy_helper.from_array(np.array([1], np.int64), "one_axis"),
    ]
    inputs = [
        _value("table", F32, [7, 3]),
        _value("input_ids", I64, [1, 5]),
        _value("mask", I64, [1, 5]),
        _value("scale", F32, [1, 3]),
    ]
    outputs = [_value("summary", F32, [1, 3]), _value("count", F32, [1])]
    graph = helper.make_graph(nodes, "ids", inputs, outputs, inits)
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])


def _swapped_model() -> onnx.ModelProto:
    """Inputs named "1" (position 0) and "0" (position 1): y = "1" - 2 * "0"."""
    nodes = [
        helper.make_node("Add", ["0", "0"], ["twice"]),
        helper.make_node("Sub", ["1", "twice"], ["y"]),
    ]
    graph = helper.make_graph(
        nodes, "swapped", [_value("1", F32, [1, 4]), _value("0", F32, [1, 4])],
        [_value("y", F32, [1, 4])],
    )  # fmt: skip
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])


# name -> (model, program input specs, number of outputs)
MODELS = {
    "x": (_x_model, [("f32", "1x4")], 1),
    "ids": (_ids_model, [("i64", "1x5"), ("i64", "1x5"), ("f32", "1x3")], 2),
    "swapped": (_swapped_model, [("f32", "1x4"), ("f32", "1x4")], 1),
}


def _feeds(specs: list[tuple[str, str]]) -> list[np.ndarray]:
    """The inputs named_inputs.c makes (see its header)."""
    arrays = []
    for k, (ty, dims) in enumerate(specs):
        shape = [] if dims == "scalar" else [int(d) for d in dims.split("x")]
        j = np.arange(int(np.prod(shape)))
        if ty == "f32":
            arrays.append((((7 * j + 3 * k) % 11) / 4 - 1).astype(np.float32).reshape(shape))
        else:
            arrays.append(((3 * j + k) % 5).astype(ty.replace("i", "int")).reshape(shape))
    return arrays


def _onnxruntime(path: Path, specs: list[tuple[str, str]]) -> list[np.ndarray]:
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    names = [i.name for i in session.get_inputs()]
    return session.run(None, dict(zip(names, _feeds(specs), strict=True)))


@pytest.fixture(scope="module")
def user(tmp_path_factory) -> dict:
    """The program (preview1 and adapted) and every model as .onnx and as IR, no aliases."""
    import openvino as ov

    from workloads.guests import toolchain

    try:  # adapt needs the WASI command adapter (the pinned jco package)
        toolchain.wasi_adapter("command")
    except toolchain.ToolError as e:
        pytest.skip(f"WASI adapters unavailable: {e}")
    folder = tmp_path_factory.mktemp("named")
    p1 = folder / "named.wasm"
    cmd = [sys.executable, "-m", "ziglang", "cc", "--target=wasm32-wasi", "-O2", "-s"]
    proc = subprocess.run([*cmd, "-o", str(p1), str(PROGRAM)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    adapted = folder / "named-adapted.wasm"
    proc = run_cli("adapt", str(p1), "-o", str(adapted))
    assert proc.returncode == 0, proc.stderr
    (folder / "empty.bin").write_bytes(b"")
    for name, (make, _, _) in MODELS.items():
        onnx.save(make(), folder / f"{name}.onnx")
        # read_model runs convert_model's ONNX frontend; convert_model itself leaves threads
        # that can hang numpy later in this process (workloads/models/prepare.py)
        model = ov.Core().read_model(str(folder / f"{name}.onnx"))
        ov.save_model(model, str(folder / f"{name}.xml"), compress_to_fp16=False)
    return {"folder": folder, "preview1": p1, "adapted": adapted}


def _argv(name: str, encoding: str) -> list[str]:
    _, specs, nout = MODELS[name]
    enc, weights, model = {
        "openvino": ("0", f"{name}.bin", f"{name}.xml"),
        "onnx": ("1", "-", f"{name}.onnx"),
        "onnx-as-openvino": ("0", "empty.bin", f"{name}.onnx"),  # OpenVINO reads ONNX too
    }[encoding]
    return ["named", enc, weights, str(nout), str(len(specs)),
            *(x for spec in specs for x in spec), model]  # fmt: skip


def _outputs(stdout: str) -> list[np.ndarray]:
    assert re.search(r": load 0 compute 0\n", stdout), stdout
    return [
        np.array([float(v) for v in line.split(":")[1].split()], np.float32)
        for line in stdout.splitlines()
        if line.startswith("output ")
    ]


def _check(stdout: str, user: dict, name: str) -> None:
    _, specs, _ = MODELS[name]
    want = _onnxruntime(user["folder"] / f"{name}.onnx", specs)
    got = _outputs(stdout)
    assert len(got) == len(want)
    for g, w in zip(got, want, strict=True):
        np.testing.assert_allclose(g, w.ravel(), rtol=1e-5, atol=1e-5)


def _cli(user: dict, wasm: Path, argv: list[str]) -> str:
    """`wasinn-bench wasmtime run -S nn --dir FOLDER::. WASM ARGS` (the documented way)."""
    cmd = [sys.executable, "-m", "bench", "wasmtime", "run", "-S", "nn",
           "--dir", f"{user['folder']}::.", str(wasm), *argv[1:]]  # fmt: skip
    proc = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return proc.stdout


def _py_preview1(user: dict, argv: list[str]) -> str:
    return run_py_preview1(user["preview1"], user["folder"], argv, "p1.txt")


def _py_adapted(user: dict, argv: list[str]) -> str:
    out = user["folder"] / "adapted.txt"
    run = run_component(user["adapted"], argv, user["folder"], NnConfig(), stdout=out)
    assert run.exit_code == 0 and run.trap is None, (run.trap, out.read_text())
    return out.read_text()


def test_ir_has_only_the_real_names(user: dict) -> None:
    import openvino as ov

    model = ov.Core().read_model(str(user["folder"] / "ids.xml"))
    assert [p.get_names() for p in model.inputs] == [{"input_ids"}, {"mask"}, {"scale"}]


@pytest.mark.cli
@pytest.mark.parametrize("name", sorted(MODELS))
@pytest.mark.parametrize("encoding", ["openvino", "onnx-as-openvino"])
def test_cli_adapted_prints_what_preview1_prints(user: dict, name: str, encoding: str) -> None:
    argv = _argv(name, encoding)
    p1 = _cli(user, user["preview1"], argv)
    assert _cli(user, user["adapted"], argv) == p1
    _check(p1, user, name)


@pytest.mark.parametrize("name", sorted(MODELS))
@pytest.mark.parametrize("encoding", ["openvino", "onnx"])
def test_wasmtime_py_adapted_prints_what_preview1_prints(
    user: dict, name: str, encoding: str
) -> None:
    argv = _argv(name, encoding)
    p1 = _py_preview1(user, argv)
    assert _py_adapted(user, argv) == p1
    _check(p1, user, name)


# -- hostile model bytes --------------------------------------------------------------


def test_hostile_model_bytes_never_break_the_adapter(tmp_path: Path) -> None:
    """~200 derandomized hostile models (tests/fuzz/models.py; `nox -s fuzz` runs more)."""
    if not (NODE_DIR / "node_modules").is_dir():
        pytest.skip("jco is not installed (workloads/guests/component: npm ci)")
    tally = fuzz_models.fuzz_model_bytes(tmp_path, examples=12)
    assert tally.models >= 200, tally
    assert not tally.bugs, tally.bugs[:5]
    # the parsers found names (not only decimal fallbacks) on some of them
    assert tally.real_names > 0 and tally.decimal_names > 0, tally


# -- what the adapter reads on every zoo model -------------------------------------


def _recorded_names(user: dict, argv: list[str]) -> list[str]:
    """The input names compute receives from the adapted program (a recording host)."""
    from hosts.wasmtime_py import component as comp

    fuzz_models.RecordingState.computes = []
    original = comp.NnState
    comp.NnState = fuzz_models.RecordingState  # type: ignore[misc]
    try:
        out = user["folder"] / "recorded.txt"
        run = run_component(user["adapted"], argv, user["folder"], NnConfig(), stdout=out)
    finally:
        comp.NnState = original  # type: ignore[misc]
    assert run.trap is None and run.exit_code == 0, run.trap
    (names,) = fuzz_models.RecordingState.computes
    return names


@pytest.mark.parametrize(
    "toml", [p.stem for p in workload_files() if find_workload(p.stem).program is None]
)
def test_adapter_reads_openvinos_input_order_and_names_on_the_zoo(user: dict, toml: str) -> None:
    """On every zoo IR (bert-encoder has two inputs) the adapter sends, for index i, a
    tensor name of OpenVINO's input i; on the .onnx, onnxruntime's input i."""
    import openvino as ov

    w = find_workload(toml)
    pm = prepare_model(w.builder, w.params, None, None)
    n = len(pm.inputs)
    specs = [x for _ in range(n) for x in ("f32", "1x4")]  # the recording host ignores data
    # copies (WASI does not follow a link out of the preopen); no weights: not read
    (user["folder"] / "zoo.xml").write_bytes(Path(pm.files.ir_xml).read_bytes())
    got = _recorded_names(user, ["named", "0", "-", "0", str(n), *specs, "zoo.xml"])
    ov_inputs = ov.Core().read_model(pm.files.ir_xml).inputs
    assert len(got) == len(ov_inputs) == n
    for name, port in zip(got, ov_inputs, strict=True):
        assert name in port.get_names()
    if Path(pm.files.onnx).stat().st_size < HOSTCALL_CAP:  # larger: wasmtime-py loads by name
        (user["folder"] / "zoo.onnx").write_bytes(Path(pm.files.onnx).read_bytes())
        got = _recorded_names(user, ["named", "1", "-", "0", str(n), *specs, "zoo.onnx"])
        session = ort.InferenceSession(pm.files.onnx, providers=["CPUExecutionProvider"])
        assert got == [i.name for i in session.get_inputs()] == [t.name for t in pm.inputs]


def test_thousands_of_initializers_listed_as_inputs(user: dict) -> None:
    """Old exporters list every weight as a graph input: 3,000 of them before the real
    inputs stay within the parser's budget (the initializer names go into a hash set)."""
    field = fuzz_models._field
    weights = [b"w%d" % i for i in range(3000)]
    graph = b"".join(field(11, field(1, w)) for w in weights)
    graph += b"".join(field(11, field(1, b"in%d" % i)) for i in range(4))
    graph += b"".join(field(5, field(8, w) + field(9, b"\0" * 4)) for w in weights)
    (user["folder"] / "old.onnx").write_bytes(field(7, graph))
    specs = [x for _ in range(4) for x in ("f32", "1x4")]
    got = _recorded_names(user, ["named", "1", "-", "0", "4", *specs, "old.onnx"])
    assert got == ["in0", "in1", "in2", "in3"]
