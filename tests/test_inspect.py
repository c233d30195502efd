"""`wasinn-bench inspect MODEL`."""

from __future__ import annotations

import json
from pathlib import Path

from tests import byo_models
from tests.helpers import run_cli


def test_inspect_shows_interface_dynamic_dims_and_backends(tmp_path: Path) -> None:
    path, _ = byo_models.if_lstm(tmp_path)
    p = run_cli("inspect", str(path))
    assert p.returncode == 0, p.stderr
    assert "x  f32  [seq, batch, 3]   dynamic: seq, batch" in p.stdout
    assert "h  f32  [batch, 4]" in p.stdout and "opset 17" in p.stdout
    assert "onnxruntime yes" in p.stdout
    # OpenVINO's CPU plugin cannot compile the dynamic-rank dead branch as declared
    assert "OpenVINO    no:" in p.stdout and "dynamic rank" in p.stdout
    assert f"run it: wasinn-bench run {path} --shape x=N,N,3" in p.stdout


def test_inspect_json_and_dtypes(tmp_path: Path) -> None:
    path, _ = byo_models.many_dtypes(tmp_path)
    p = run_cli("inspect", str(path), "--json", "--no-load")
    assert p.returncode == 0, p.stderr
    facts = json.loads(p.stdout)
    assert [(t["name"], t["dtype"], t["dynamic"]) for t in facts["inputs"]] == [
        ("a", "u8", ["n"]), ("b", "i32", ["n"]), ("c", "f16", ["n"]), ("d", "f64", ["m"])]  # fmt: skip
    assert [t["dtype"] for t in facts["outputs"]] == ["f16", "i32", "f64", "i64"]
    assert facts["size_bytes"] == path.stat().st_size and "backends" not in facts


def test_inspect_refuses_what_is_not_a_model(tmp_path: Path) -> None:
    (tmp_path / "notes.onnx").write_text("hello")
    (tmp_path / "model.xml").write_text("<net/>")
    for target in (tmp_path / "notes.onnx", tmp_path / "missing.onnx", tmp_path / "model.xml"):
        p = run_cli("inspect", str(target))
        assert p.returncode == 2 and p.stderr.count("\n") == 1, p.stderr
        assert p.stderr.startswith(f"wasinn-bench inspect: error: {target}: ")
