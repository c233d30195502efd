"""bench/analyze/history.py (and `wasinn-bench history`): many runs per machine as
series, their steps and trend charts."""

from __future__ import annotations

import argparse

import pandas as pd
import pytest

from bench.analyze.history import load_history
from bench.cli import main
from tests.synthetic_run import make_run


def history_cmd(ns: argparse.Namespace) -> int:
    """`wasinn-bench history` as the user runs it (exit code included)."""
    return main(["history", *ns.run_dirs, "--out", ns.out, "--metric", ns.metric,
                 "--factor", str(ns.factor)])  # fmt: skip


def test_history_per_machine_with_step_and_chart(tmp_path, capsys):
    cells = {
        ("w", "native", "native", "onnx", "cpu"): 1.0,
        ("w", "preview1", "wasmtime-py", "onnx", "cpu"): 2.0,
    }
    dirs = []
    for i in range(6):
        slow = {k: v * (1.4 if i >= 3 and k[1] == "preview1" else 1.0) for k, v in cells.items()}
        dirs.append(
            make_run(tmp_path / f"r{i}", slow, rounds=1, iterations=40, seed=i,
                     created=f"2026-11-2{i}T10:00:00+00:00", git_sha=f"{i:x}" * 40)
        )  # fmt: skip
    # the same cells on another machine, twice as slow: a separate series, not a step
    dirs.append(
        make_run(tmp_path / "other", {k: v * 2 for k, v in cells.items()}, rounds=1,
                 iterations=40, machine="bigiron0000", created="2026-11-30T10:00:00+00:00")
    )  # fmt: skip
    out = tmp_path / "hist"
    assert history_cmd(argparse.Namespace(run_dirs=[str(d) for d in reversed(dirs)],
                                           out=str(out), metric="p50", factor=1.10)) == 0  # fmt: skip
    frame = pd.read_csv(out / "history.csv")
    steps = frame[frame["step"]]
    assert list(zip(steps["variant"], steps["run_id"], steps["machine"], strict=True)) == [
        ("preview1", "r3", "synthetic000")
    ]
    assert set(frame["machine"]) == {"synthetic000", "bigiron0000"}
    assert list(frame[frame.machine == "synthetic000"]["run_id"].unique()) == [
        f"r{i}" for i in range(6)
    ]  # ordered by created time, whatever the argument order
    md = (out / "history.md").read_text()
    assert (
        "| w/preview1/wasmtime-py/onnx/cpu | r3 (2026-11-23T10:00:00+00:00) | 333333333333 |" in md
    )
    for name in ("trend-synthetic000", "trend-bigiron0000"):
        assert (out / f"{name}.png").stat().st_size > 5000 and (out / f"{name}.svg").is_file()
    assert "step: w/preview1/wasmtime-py/onnx/cpu" in capsys.readouterr().out
    # on the overhead metric the step shows as well (native did not move)
    ov = load_history(dirs[:6], metric="overhead")
    assert list(ov[ov["step"]]["run_id"]) == ["r3"]


def test_five_identical_runs_no_step_a_10pct_change_one_step(tmp_path, capsys):
    """The acceptance of issue 21 on synthetic runs: compare's metric and rule over
    rounds, so five runs of the same code show no step (on the overhead default and on
    p50), and one run whose host got 10% slower shows one step, at that run."""
    cells = {
        ("w", "native", "native", "onnx", "cpu"): 1.0,
        ("w", "preview1", "wasmtime-py", "onnx", "cpu"): 2.0,
        ("w", "component", "wasmtime-py", "onnx", "cpu"): 1.6,
    }

    def runs(root, slow_last: float) -> list[str]:
        out = []
        for i in range(5):
            scale = slow_last if i == 4 else 1.0
            c = {k: v * (scale if k[1] == "preview1" else 1.0) for k, v in cells.items()}
            out.append(str(make_run(root / f"r{i}", c, rounds=3, seed=10 + i,
                                    created=f"2026-11-2{i}T10:00:00+00:00")))  # fmt: skip
        return out

    same = runs(tmp_path / "same", 1.0)
    for metric in ("overhead", "p50"):
        out = tmp_path / f"h-{metric}"
        assert main(["history", *same, "--out", str(out), "--metric", metric,
                     "--factor", "1.05"]) == 0  # fmt: skip
        assert not pd.read_csv(out / "history.csv")["step"].any()
        assert "No steps detected." in (out / "history.md").read_text()
    changed = runs(tmp_path / "changed", 1.10)
    out = tmp_path / "h-changed"
    assert main(["history", *changed, "--out", str(out), "--factor", "1.05"]) == 0
    frame = pd.read_csv(out / "history.csv")
    steps = frame[frame["step"]]
    assert list(zip(steps["variant"], steps["run_id"], strict=True)) == [("preview1", "r4")]
    assert steps["step_ratio"].iloc[0] == pytest.approx(1.10, rel=0.03)
    assert set(frame["n"]) == {3}  # rounds, not iterations
    assert "1 step(s)" in capsys.readouterr().out
    assert (
        "12+3 rounds cannot reach MWU p < 0.002: the CI decides" in (out / "history.md").read_text()
    )
