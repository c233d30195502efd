"""bench/measure/quick.py and `run MODEL --shape`: a run without a workload file."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from bench.measure.quick import ModelFlags, model_workload
from tests import byo_models
from tests.helpers import REPO, run_cli
from workloads.spec.fields import WorkloadError
from workloads.spec.workload import load_workload


@pytest.fixture
def model(tmp_path: Path) -> Path:
    return byo_models.if_lstm(tmp_path)[0]  # x: f32 [seq, batch, 3]


def test_flags_make_the_workload_a_file_would(model: Path, tmp_path: Path) -> None:
    data = np.zeros((5, 2, 3), np.float32)
    np.save(tmp_path / "x.npy", data)
    w = model_workload(str(model), ModelFlags({"x": [5, 2, 3]}, {"x": tmp_path / "x.npy"}))
    assert w.name == "if_lstm" and w.model_path == model and w.origin == str(model)
    (tmp_path / "w.toml").write_text(w.generated or "")
    again = load_workload(tmp_path / "w.toml")  # the text stands on its own
    assert [(s.name, s.shape, s.dtype, s.generator, s.file) for s in again.inputs] == [
        ("x", [5, 2, 3], "f32", "file", tmp_path / "x.npy")
    ]


@pytest.mark.parametrize(
    ("flags", "words"),
    [
        (ModelFlags(), "input 'x' has dynamic shape [seq, batch, 3]; give it, e.g. --shape x=N,N,3"),
        (ModelFlags({"x": [5, 2, 3], "y": [1]}), "--shape y=...: the model has no input 'y' (its inputs: x)"),
        (ModelFlags({"x": [5, 2]}), "shape [5, 2] has rank 2 but the model's input is [seq, batch, 3]"),
        (ModelFlags({"x": [5, 2, 4]}), "contradicts the model's [seq, batch, 3] at dimension 2"),
        (ModelFlags({"x": [5, 2, 3]}, {"x": Path("/nonexistent.bin")}), "--input-file x=/nonexistent.bin: no such file"),
    ],
)  # fmt: skip
def test_bad_flags_name_the_model_and_the_input(model: Path, flags: ModelFlags, words: str) -> None:
    with pytest.raises(WorkloadError) as err:
        model_workload(str(model), flags)
    assert str(model) in str(err.value) and words in str(err.value)


def test_an_input_file_of_the_wrong_size_is_refused(model: Path, tmp_path: Path) -> None:
    (tmp_path / "x.bin").write_bytes(b"\0" * 12)
    with pytest.raises(WorkloadError, match=r"12 bytes, input 'x' \(f32 \[5, 2, 3\]\) takes 120"):
        model_workload(str(model), ModelFlags({"x": [5, 2, 3]}, {"x": tmp_path / "x.bin"}))


def test_run_without_a_workload_file_keeps_the_workload_it_used(
    model: Path, tmp_path: Path
) -> None:
    out = tmp_path / "run"
    p = run_cli("run", str(model), "--shape", "x=5,2,3", "--hosts", "native", "--variants",
                "native", "--iterations", "2", "--rounds", "1", "--offline", "0", "--out", str(out))  # fmt: skip
    assert p.returncode == 0, p.stderr
    kept = load_workload(out / "if_lstm.toml")
    assert kept.model_path == model and kept.inputs[0].shape == [5, 2, 3]
    assert json.loads((out / "plan.json").read_text())["workloads"] == [str(out / "if_lstm.toml")]


@pytest.mark.parametrize(
    "args",
    [["--shape", "y=1"], ["--shape", "x=5,2"], []],
    ids=["unknown-input", "wrong-rank", "dynamic-unset"],
)
def test_bad_input_is_refused_before_any_heavy_import(model: Path, tmp_path: Path, args) -> None:
    """One line naming the model and the input, exit 2, nothing written, and none of the
    slow libraries imported on the way (they take seconds on a loaded machine)."""
    out = tmp_path / "run"
    cmd = [sys.executable, "-X", "importtime", "-m", "bench", "run", str(model), *args,
           "--out", str(out)]  # fmt: skip
    p = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, env=dict(os.environ))
    assert p.returncode == 2 and not out.exists()
    lines = [line for line in p.stderr.splitlines() if not line.startswith("import time:")]
    assert len(lines) == 1 and lines[0].startswith("wasinn-bench: error: " + str(model)), lines
    imported = {line.split("|")[-1].strip() for line in p.stderr.splitlines()
                if line.startswith("import time:")}  # fmt: skip
    heavy = {"onnx", "onnxruntime", "openvino", "wasmtime", "pandas", "scipy", "matplotlib"}
    assert not heavy & imported, heavy & imported
