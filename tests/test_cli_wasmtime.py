"""`wasinn-bench wasmtime ...`: the pinned CLI, set up as the benchmark runs it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from contracts.cells import Cell
from contracts.jobs import CellJob, TensorSpec
from hosts import guest_io
from tests.helpers import REPO
from workloads.models import prepare_model


def test_version_passes_options_through() -> None:
    p = subprocess.run([sys.executable, "-m", "bench", "wasmtime", "--version"], cwd=REPO,
                       capture_output=True, text=True, timeout=60)  # fmt: skip
    assert p.returncode == 0 and p.stdout.startswith("wasmtime 49.0.3"), p.stderr


@pytest.mark.cli
def test_runs_a_component_with_openvino_as_documented(tmp_path: Path) -> None:
    """What docs/adapter.md tells users: their component on the CLI with OpenVINO."""
    pm = prepare_model("mlp_tiny", {}, None, None, cache_dir=tmp_path / "cache")
    x = np.random.default_rng(0).standard_normal(pm.inputs[0].shape).astype(np.float32)
    x.tofile(tmp_path / "in.bin")
    job = CellJob(
        cell=Cell("mlp-tiny", "component", "wasmtime-cli", "openvino", "cpu"),
        model=pm.files,
        inputs=[TensorSpec(pm.inputs[0].name, 0, "f32", list(pm.inputs[0].shape), str(tmp_path / "in.bin"))],
        outputs=[TensorSpec(pm.outputs[0].name, 0, "f32", list(pm.outputs[0].shape))],
        warmup=0, iterations=1, threads=1, workdir=str(tmp_path / "w"),
    )  # fmt: skip
    run = guest_io.prepare(job)
    cmd = [sys.executable, "-m", "bench", "wasmtime", "run", "-S", "nn", "--dir", f"{run.preopen}::.",
           str(run.wasm), *run.argv[1:]]  # fmt: skip
    p = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stderr[-2000:]
    import onnxruntime as ort

    want = ort.InferenceSession(pm.files.onnx).run(None, {pm.inputs[0].name: x})[0]
    got = np.fromfile(run.outputs[0], np.float32).reshape(want.shape)
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)
