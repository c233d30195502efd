"""bench/measure/identity.py: `--resume` refuses inputs that changed since the run began."""

from __future__ import annotations

import shutil
from pathlib import Path

from tests.helpers import run_cli
from tests.test_reliability import FAST, workload
from workloads.models import prepare_model


def test_resume_refuses_a_changed_model_and_workload(tmp_path: Path) -> None:
    model = tmp_path / "new.onnx"
    cache = tmp_path / "cache"
    shutil.copyfile(prepare_model("mlp_tiny", {"seed": 11}, None, None, cache).files.onnx, model)
    toml = workload(
        tmp_path, "edited", variants="native", hosts="native", model='path = "new.onnx"'
    )
    out = tmp_path / "run"
    p = run_cli("run", str(toml), *FAST, "--out", str(out))
    assert p.returncode == 0, p.stderr
    inputs = {f.name: f.read_bytes() for f in (out / "inputs").iterdir()}
    shutil.copyfile(prepare_model("mlp_tiny", {"seed": 12}, None, None, cache).files.onnx, model)
    toml.write_text(toml.read_text() + "seed = 5\n")
    p = run_cli("run", "--resume", str(out))
    assert p.returncode == 2, p.stderr
    assert f"model file {model}" in p.stderr and f"workload file {toml}" in p.stderr, p.stderr
    assert {f.name: f.read_bytes() for f in (out / "inputs").iterdir()} == inputs
