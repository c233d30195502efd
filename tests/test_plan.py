"""bench/measure/plan.py: setting up a run, and replaying one for --resume."""

from __future__ import annotations

from pathlib import Path

from bench.measure import plan
from tests.helpers import run_cli
from tests.test_reliability import FAST, workload


def test_resume_with_a_relative_folder_is_absolute(tmp_path: Path, monkeypatch) -> None:
    out = tmp_path / "run"
    p = run_cli(
        "run", "mlp-tiny", "--hosts", "native", "--backends", "onnx", "--iterations", "2",
        "--rounds", "1", "--offline", "0", "--out", str(out),
    )  # fmt: skip
    assert p.returncode == 0, p.stderr
    monkeypatch.chdir(tmp_path)
    setup = plan.setup_resume(Path("run"), lambda _msg: None)
    assert setup.run_dir.is_absolute()
    assert all(Path(t.path).is_absolute() for p in setup.prepared.values() for t in p.inputs)


def test_bad_input_leaves_a_given_empty_folder_empty(tmp_path: Path) -> None:
    out = tmp_path / "given"
    out.mkdir()
    bad = workload(tmp_path, "dims", shape="[1, 65]")
    p = run_cli("run", str(bad), *FAST, "--out", str(out))
    assert p.returncode == 2, p.stderr
    assert list(out.iterdir()) == []
