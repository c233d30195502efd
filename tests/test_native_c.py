"""Host native-c: the guest driver compiled natively over a backend's C API.

Real builds (zig cc) and real runs: outputs agree with the Python native host,
the build is cached, a broken build is an `unsupported` cell with the compiler's
words, and `bench run` gives ok, agreeing cells.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper

from contracts import paths
from contracts.cells import Cell
from contracts.jobs import CellFailed, CellJob, CellUnsupported, RoundResult, TensorSpec
from hosts import get_host, native_c
from tests.helpers import run_cli
from workloads.models import prepare_model


@pytest.fixture(scope="module")
def cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One build cache for the module (the first test pays for the compile)."""
    return tmp_path_factory.mktemp("native-c-cache")


@pytest.fixture(autouse=True)
def _cache_env(cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(paths.NATIVE_C_CACHE_ENV, str(cache))


def _model(folder: Path, builder: str | None, onnx_path: Path | None, seed: int) -> tuple:
    pm = prepare_model(builder, {}, onnx_path, None, cache_dir=folder / "models")
    rng = np.random.default_rng(seed)
    inputs = []
    for i, t in enumerate(pm.inputs):
        if t.dtype == "i64":
            array = rng.integers(-50, 50, size=t.shape, dtype=np.int64)
        else:
            array = rng.standard_normal(t.shape).astype(np.float32)
        path = folder / f"{pm.files.sha256[:8]}-in{i}.bin"
        array.tofile(path)
        inputs.append(TensorSpec(t.name, i, t.dtype, list(t.shape), str(path)))
    outputs = [TensorSpec(t.name, i, t.dtype, list(t.shape)) for i, t in enumerate(pm.outputs)]
    return pm.files, inputs, outputs


@pytest.fixture(scope="module")
def mlp(tmp_path_factory: pytest.TempPathFactory) -> tuple:
    return _model(tmp_path_factory.mktemp("mlp"), "mlp_tiny", None, 1)


@pytest.fixture(scope="module")
def multi(tmp_path_factory: pytest.TempPathFactory) -> tuple:
    """Three inputs (two f32, one i64) and three outputs, in an order where the
    names and positions must line up: sum, product, and the i64 input plus one."""
    folder = tmp_path_factory.mktemp("multi")
    f32 = [helper.make_tensor_value_info(n, TensorProto.FLOAT, [1, 4]) for n in ("a", "b")]
    ids = helper.make_tensor_value_info("ids", TensorProto.INT64, [1, 3])
    graph = helper.make_graph(
        [
            helper.make_node("Add", ["a", "b"], ["sum"]),
            helper.make_node("Mul", ["a", "b"], ["product"]),
            helper.make_node("Add", ["ids", "one"], ["ids_plus_one"]),
        ],
        "multi",
        [*f32, ids],
        [
            helper.make_tensor_value_info("sum", TensorProto.FLOAT, [1, 4]),
            helper.make_tensor_value_info("product", TensorProto.FLOAT, [1, 4]),
            helper.make_tensor_value_info("ids_plus_one", TensorProto.INT64, [1, 3]),
        ],
        initializer=[helper.make_tensor("one", TensorProto.INT64, [1], [1])],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    path = folder / "multi.onnx"
    onnx.save(model, path)
    return _model(folder, None, path, 2)


def job(model: tuple, tmp_path: Path, host: str, backend: str = "openvino") -> CellJob:
    files, inputs, outputs = model
    return CellJob(
        cell=Cell("w", "native", host, backend, "cpu"),
        model=files,
        inputs=inputs,
        outputs=outputs,
        warmup=2,
        iterations=5,
        threads=1,
        workdir=str(tmp_path / host),
    )


def run_both(model: tuple, tmp_path: Path, backend: str) -> tuple[RoundResult, RoundResult]:
    python = get_host("native").run_round(job(model, tmp_path, "native", backend))
    c = get_host("native-c").run_round(job(model, tmp_path, "native-c", backend))
    return python, c


@pytest.mark.parametrize("backend", ["openvino", "onnx"])
@pytest.mark.parametrize("which", ["mlp", "multi"])
def test_outputs_agree_with_the_python_native_host(
    which: str, backend: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    model = request.getfixturevalue(which)
    python, c = run_both(model, tmp_path, backend)
    assert list(c.outputs) == list(python.outputs)
    for name, want in python.outputs.items():
        assert c.outputs[name].dtype == want.dtype
        np.testing.assert_allclose(c.outputs[name], want, rtol=1e-5, atol=1e-6)
    assert set(c.per_iteration) == {"set_input", "compute", "get_output", "total"}
    assert all(len(v) == 5 for v in c.per_iteration.values())
    assert {"load", "init"} <= set(c.host_phases)
    assert c.peak_rss_kb > 0
    props = json.loads(c.notes["guest_properties"])
    assert props["threads"] == "1"
    if backend == "openvino":  # asked of OpenVINO itself: the CLI's settings reached it
        assert props["precision"] == "f32" and props["performance_hint"] == "LATENCY"
    else:  # the version check of the declared OrtApi entries passed
        import onnxruntime

        assert props["version"] == onnxruntime.__version__
    assert c.notes["prop.host"] == "native-c"


@pytest.mark.parametrize("backend", ["openvino", "onnx"])
def test_multi_input_values(multi: tuple, backend: str, tmp_path: Path) -> None:
    """Not only agreement: the right input reached the right port."""
    files, inputs, outputs = multi
    c = get_host("native-c").run_round(job(multi, tmp_path, "native-c", backend))
    a, b, ids = (s.read() for s in inputs)
    np.testing.assert_allclose(c.outputs["sum"], a + b, rtol=1e-6)
    np.testing.assert_allclose(c.outputs["product"], a * b, rtol=1e-6)
    np.testing.assert_array_equal(c.outputs["ids_plus_one"], ids + 1)


@pytest.mark.parametrize("backend", ["openvino", "onnx"])
def test_build_is_cached(backend: str, monkeypatch: pytest.MonkeyPatch) -> None:
    first = native_c.build(backend)  # compiled by an earlier test, or now
    assert first.binary.is_file()

    def no_compiler(cmd: list[str]) -> None:
        raise AssertionError(f"the compiler ran again: {cmd}")

    monkeypatch.setattr(native_c, "_compile", no_compiler)
    again = native_c.build(backend)
    assert again.cached and again.binary == first.binary


def test_broken_build_is_unsupported_with_the_compiler_words(
    mlp: tuple, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(native_c.OV_INCLUDE_ENV, str(tmp_path / "nothing"))
    with pytest.raises(CellUnsupported, match=r"native-c build failed.*openvino/c/openvino\.h"):
        get_host("native-c").run_round(job(mlp, tmp_path, "native-c"))


def test_missing_library_is_unsupported(
    mlp: tuple, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(native_c.OV_LIB_ENV, str(tmp_path / "libopenvino_c.so.0"))
    with pytest.raises(CellUnsupported, match="libopenvino_c.so.0 is missing"):
        native_c.build("openvino")


def test_probe() -> None:
    host = get_host("native-c")
    assert host.probe("native", "openvino", "cpu").ok
    assert host.probe("native", "onnx", "cpu").ok
    said = host.probe("preview1", "openvino", "cpu")
    assert said.status == "unsupported" and "native variant" in said.reason


def test_bench_run_end_to_end(tmp_path: Path) -> None:
    out = tmp_path / "run"
    proc = run_cli(
        "run", "mlp-tiny", "--hosts", "native,native-c", "--rounds", "1", "--iterations", "3",
        "--offline", "0", "--out", str(out),
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-2000:]
    import pandas as pd

    cells = pd.read_csv(out / "cells.csv")
    mine = cells[cells["host"] == "native-c"]
    assert sorted(mine["backend"]) == ["onnx", "openvino"]
    for _, row in mine.iterrows():
        assert row["status"] == "ok", row["reason"]
        assert bool(row["agrees"]) and float(row["max_abs_diff"]) <= 1e-5


@pytest.mark.parametrize("backend", ["openvino", "onnx"])
def test_load_by_name(mlp: tuple, backend: str, tmp_path: Path) -> None:
    j = job(mlp, tmp_path, "native-c", backend)
    j.load_mode = "name"
    by_name = get_host("native-c").run_round(j)
    python = get_host("native").run_round(job(mlp, tmp_path, "native", backend))
    for name, want in python.outputs.items():
        np.testing.assert_allclose(by_name.outputs[name], want, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("backend", ["openvino", "onnx"])
def test_backend_error_fails_the_cell_with_its_words(
    mlp: tuple, backend: str, tmp_path: Path
) -> None:
    files, inputs, outputs = mlp
    wrong = [TensorSpec(s.name, s.index, "i32", s.shape, s.path) for s in inputs]  # same size
    with pytest.raises(
        CellFailed,
        match=r"exited 4: (set_input|compute) failed: errno \d \(\w+\): .*([Tt]ype|precision)",
    ):
        get_host("native-c").run_round(job((files, wrong, outputs), tmp_path, "native-c", backend))


def test_library_the_loader_cannot_complete_is_unsupported_with_its_words(
    mlp: tuple, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """libopenvino_c alone in a folder: it links, but the loader misses libopenvino."""
    import shutil

    lonely = tmp_path / "lonely" / native_c.openvino_binding().library.name
    lonely.parent.mkdir()
    shutil.copy(native_c.openvino_binding().library, lonely)
    monkeypatch.setenv(native_c.OV_LIB_ENV, str(lonely))
    with pytest.raises(CellUnsupported, match="error while loading shared libraries: libopenvino"):
        get_host("native-c").run_round(job(mlp, tmp_path, "native-c"))
