"""The real preview1 driver on wasmtime-py and on the wasmtime CLI, against onnxruntime."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnxruntime as ort
import pytest
import wasmtime

from contracts import paths
from contracts.cells import Cell
from contracts.jobs import CellFailed, CellJob, CellUnsupported, TensorSpec
from hosts import get_host, guest_io
from hosts.wasmtime_py.preview1 import run_round
from workloads.models import prepare_model


@pytest.fixture(scope="module")
def mlp(tmp_path_factory) -> tuple:
    """mlp_tiny from the zoo, one input file, and onnxruntime's answer."""
    folder = tmp_path_factory.mktemp("mlp")
    pm = prepare_model("mlp_tiny", {}, None, None, cache_dir=folder / "cache")
    rng = np.random.default_rng(1)
    inputs, feeds = [], {}
    for i, t in enumerate(pm.inputs):
        array = rng.standard_normal(t.shape).astype(np.float32)
        path = folder / f"in{i}.bin"
        array.tofile(path)
        inputs.append(TensorSpec(t.name, i, t.dtype, list(t.shape), str(path)))
        feeds[t.name] = array
    outputs = [TensorSpec(t.name, i, t.dtype, list(t.shape)) for i, t in enumerate(pm.outputs)]
    expected = ort.InferenceSession(pm.files.onnx).run(None, feeds)
    return pm.files, inputs, outputs, dict(zip([o.name for o in outputs], expected, strict=True))


def make_job(mlp, tmp_path: Path, host: str, backend: str, load_mode: str = "bytes") -> CellJob:
    files, inputs, outputs, _ = mlp
    return CellJob(
        cell=Cell("mlp-tiny", "preview1", host, backend, "cpu"),
        model=files,
        inputs=inputs,
        outputs=outputs,
        warmup=1,
        iterations=3,
        threads=1,
        workdir=str(tmp_path),
        load_mode=load_mode,
    )


def check_round(result, mlp, job: CellJob) -> None:
    expected = mlp[3]
    assert set(result.outputs) == set(expected)
    for name, want in expected.items():
        np.testing.assert_allclose(result.outputs[name], want, rtol=1e-5, atol=1e-5)
    assert all(len(v) == job.iterations for v in result.per_iteration.values())
    phases = {"set_input", "compute", "get_output", "total"}
    if job.cell.host == "wasmtime-py":  # host work apart (hosts/wasmtime_py/host_work.py)
        phases |= {"host_set_input", "host_compute", "host_get_output"}
    assert set(result.per_iteration) == phases
    assert result.peak_rss_kb > 0


@pytest.mark.parametrize("load_mode", ["bytes", "name"])
@pytest.mark.parametrize("backend", ["onnx", "openvino"])
def test_wasmtime_py(mlp, tmp_path: Path, backend: str, load_mode: str) -> None:
    job = make_job(mlp, tmp_path, "wasmtime-py", backend, load_mode)
    result = get_host("wasmtime-py").run_round(job)
    check_round(result, mlp, job)
    assert {"compile", "instantiate", "load", "init"} <= set(result.host_phases)
    assert result.notes["load_mode"] == load_mode


def test_guest_error_names_call_and_errno(mlp, tmp_path: Path) -> None:
    job = make_job(mlp, tmp_path, "wasmtime-py", "onnx")
    job.inputs = [TensorSpec(t.name, t.index, "i32", t.shape, t.path) for t in job.inputs]
    with pytest.raises(CellFailed, match=r"set_input failed: errno 1 \(invalid_argument\)"):
        get_host("wasmtime-py").run_round(job)


def test_bad_output_size_is_too_large(mlp, tmp_path: Path) -> None:
    job = make_job(mlp, tmp_path, "wasmtime-py", "openvino")
    out = job.outputs[0]
    job.outputs = [TensorSpec(out.name, out.index, "u8", [1], None)]  # a 1-byte buffer
    with pytest.raises(CellFailed, match=r"get_output failed: errno 7 \(too_large\)"):
        get_host("wasmtime-py").run_round(job)


def test_samples_file_is_checked(tmp_path: Path) -> None:
    path = tmp_path / "samples.txt"
    path.write_text(f"{guest_io.SAMPLES_MAGIC}\nload 5\ninit 6\niter 1 2 3 6\n")
    phases, once, _ = guest_io.parse_samples(path, 1)
    assert phases["total"] == [6] and once == {"load": 5, "init": 6}
    with pytest.raises(CellFailed, match="1 iterations, expected 2"):
        guest_io.parse_samples(path, 2)


@pytest.mark.cli
@pytest.mark.parametrize("load_mode", ["bytes", "name"])
def test_cli_openvino(mlp, tmp_path: Path, load_mode: str) -> None:
    job = make_job(mlp, tmp_path, "wasmtime-cli", "openvino", load_mode)
    result = get_host("wasmtime-cli").run_round(job)
    check_round(result, mlp, job)
    assert {"compile", "load", "init"} <= set(result.host_phases)
    assert result.notes["cli"].startswith("wasmtime ")


@pytest.mark.cli
@pytest.mark.parametrize("variant", ["preview1", "adapted", "component"])
@pytest.mark.parametrize("load_mode", ["bytes", "name"])
def test_cli_onnx_is_unsupported_with_the_cli_words(
    mlp, tmp_path: Path, load_mode: str, variant: str
) -> None:
    job = make_job(mlp, tmp_path, "wasmtime-cli", "onnx", load_mode)
    job.cell = Cell("mlp-tiny", variant, "wasmtime-cli", "onnx", "cpu")
    with pytest.raises(
        CellUnsupported, match=r"wasmtime 49\.0\.3: .*(InvalidEncoding|unsupported backend)"
    ) as e:
        get_host("wasmtime-cli").run_round(job)
    # the CLI's own words, not its Rust backtrace
    assert "backtrace" not in str(e.value).lower() and len(str(e.value)) < 400


TRAPPING_GUEST = '(module (memory (export "memory") 1) (func (export "_start") unreachable))'


@pytest.mark.parametrize(
    "host", ["wasmtime-py", pytest.param("wasmtime-cli", marks=pytest.mark.cli)]
)
@pytest.mark.parametrize(
    ("wasm", "reason"),
    [(b"\0asm garbage", r"compile"), (None, r"unreachable"), ("missing", r"is missing")],
    ids=["corrupt", "trap", "missing"],
)
def test_bad_guest_fails_the_cell(mlp, tmp_path, monkeypatch, host, wasm, reason) -> None:
    """A corrupt, trapping or missing guest binary: CellFailed with the reason."""
    import wasmtime

    prebuilt = tmp_path / "prebuilt"
    prebuilt.mkdir()
    if wasm != "missing":
        data = wasm if wasm is not None else wasmtime.wat2wasm(TRAPPING_GUEST)
        (prebuilt / "driver-preview1.wasm").write_bytes(data)
    monkeypatch.setattr(paths, "PREBUILT", prebuilt)
    monkeypatch.setenv("WASINN_BENCH_CLI_CACHE", str(tmp_path / "cli-cache"))
    job = make_job(mlp, tmp_path / "work", host, "openvino")
    with pytest.raises(CellFailed, match=reason):
        get_host(host).run_round(job)


def test_a_guest_without_start_fails_its_cell_with_a_reason(tmp_path: Path) -> None:
    guest = tmp_path / "reactor.wasm"
    guest.write_bytes(wasmtime.wat2wasm('(module (memory (export "memory") 1))'))
    cell = Cell("w", "preview1", "wasmtime-py", "onnx", "cpu")
    model = prepare_model("mlp_tiny", {}, None, None).files
    job = CellJob(cell, model, [], [], 0, 1, 1, str(tmp_path / "work"),
                  options={"guest_wasm": str(guest)})  # fmt: skip
    try:
        run_round(job)
    except CellFailed as e:
        assert "reactor.wasm" in str(e) and "_start" in str(e)
    else:
        raise AssertionError("a guest without _start ran")
