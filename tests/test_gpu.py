"""GPU cells (docs/gpu.md): on a machine without the device every host probes them
`skipped` with the backend's reason, a `--devices gpu` run exits 0, and the wasm hosts
pass the `gpu` execution target through to the backend (shown by the backend's own
refusal when the probe is forced past)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from contracts.cells import BACKENDS, Cell
from contracts.hosts import HOST_TABLE
from contracts.jobs import CellFailed, CellJob, CellSkipped, CellUnsupported, TensorSpec
from contracts.logtail import telling_file
from hosts import get_host
from hosts.backends import get_backend
from hosts.wasmtime_py import component, preview1
from tests.helpers import run_cli
from workloads.models import prepare_model

HAS_GPU = any(get_backend(b).devices()["gpu"] is None for b in BACKENDS)
pytestmark = pytest.mark.skipif(HAS_GPU, reason="this machine has a GPU backend device")


@pytest.fixture(scope="module")
def mlp(tmp_path_factory: pytest.TempPathFactory) -> tuple:
    folder = tmp_path_factory.mktemp("mlp")
    pm = prepare_model("mlp_tiny", {}, None, None, cache_dir=folder / "cache")
    path = folder / "in0.bin"
    path.write_bytes(bytes(4 * 64))
    inputs = [TensorSpec(pm.inputs[0].name, 0, "f32", [1, 64], str(path))]
    outputs = [TensorSpec(t.name, i, t.dtype, list(t.shape)) for i, t in enumerate(pm.outputs)]
    return pm.files, inputs, outputs


def gpu_job(mlp: tuple, tmp_path: Path, variant: str, host: str, backend: str) -> CellJob:
    files, inputs, outputs = mlp
    cell = Cell("mlp-tiny", variant, host, backend, "gpu")
    return CellJob(cell, files, inputs, outputs, 1, 2, 1, str(tmp_path))


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize(
    ("host", "variant"),
    [(h, v) for h, f in HOST_TABLE.items() if not f.instances_only for v in f.variants],
)  # a host that runs only as NAME[ID] (cmd:) has nothing to probe without the user's runtime
def test_every_host_probes_gpu_skipped_with_reason(host: str, variant: str, backend: str) -> None:
    said = get_host(host).probe(variant, backend, "gpu")
    assert said.status == "skipped"
    assert "CUDAExecutionProvider" in said.reason or "GPU device" in said.reason


@pytest.mark.parametrize("host", ["wasmtime-py", "wasmtime-cli"])
def test_a_round_on_gpu_is_skipped_not_failed(mlp, tmp_path: Path, host: str) -> None:
    with pytest.raises(CellSkipped, match="GPU"):
        get_host(host).run_round(gpu_job(mlp, tmp_path, "preview1", host, "openvino"))


def test_run_devices_gpu_skips_every_cell_and_exits_1(tmp_path: Path) -> None:
    out = tmp_path / "run"
    proc = run_cli("run", "mlp-tiny", "--devices", "gpu", "--offline", "0", "--out", str(out))
    # every cell skipped: the run folder says why, and nothing measured is exit 1
    assert proc.returncode == 1 and "no cell measured" in proc.stderr, proc.stderr
    cells = pd.read_csv(out / "cells.csv")
    assert set(cells["device"]) == {"gpu"}
    assert set(cells["host"]) == {"native", "native-c", "wasmtime-py", "wasmtime-cli"}
    assert (cells["status"] == "skipped").all() and (cells["rounds"] == 0).all()
    assert cells["reason"].str.contains("CUDAExecutionProvider|GPU device").all()


# -- the target reaches the backend (probe forced past: the backend itself refuses) --


def test_preview1_host_passes_gpu_to_onnxruntime(mlp, tmp_path: Path) -> None:
    with pytest.raises(CellFailed) as failed:
        preview1.run_round(gpu_job(mlp, tmp_path, "preview1", "wasmtime-py", "onnx"))
    # the driver's load failed with errno 6 and the host kept onnxruntime's words
    assert "load failed: errno 6 (unsupported_operation)" in str(failed.value)
    assert "CUDAExecutionProvider" in str(failed.value)


@pytest.mark.parametrize("variant", ["component", "adapted"])
def test_component_host_passes_gpu_to_onnxruntime(mlp, tmp_path: Path, variant: str) -> None:
    with pytest.raises(CellUnsupported, match="unsupported_operation"):
        component.run_round(gpu_job(mlp, tmp_path, variant, "wasmtime-py", "onnx"))
    if variant == "component":  # the WIT carries the backend's message to the guest
        assert "CUDAExecutionProvider" in telling_file(tmp_path / "stderr.txt", "driver")


def test_cli_maps_gpu_to_openvino_gpu_plugin(mlp, tmp_path: Path, monkeypatch) -> None:
    from hosts import wasmtime_cli

    # the CLI host's probe passes, so the real CLI is asked for the GPU
    monkeypatch.setattr(wasmtime_cli, "device_problem", lambda _backend, _device: None)
    with pytest.raises(CellFailed, match="load failed"):
        get_host("wasmtime-cli").run_round(
            gpu_job(mlp, tmp_path, "preview1", "wasmtime-cli", "openvino")
        )
    # OpenVINO was asked for its GPU plugin (absent here: no OpenCL runtime)
    assert "intel_gpu_plugin" in (tmp_path / "stderr.txt").read_text()
