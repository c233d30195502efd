"""The regression rule on recorded real runs (results/fixtures) and on edge cases."""

from __future__ import annotations

import argparse
import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from synthetic_run import make_run

from bench.analyze.compare import compare_runs
from bench.analyze.history import load_history
from bench.analyze.runs import load_run
from bench.analyze.steps import detect_steps
from bench.analyze.summarize import summarize
from bench.cli import main
from bench.present.comparison import to_markdown
from contracts.cells import Cell

FIXTURES = Path(__file__).resolve().parent.parent / "results" / "fixtures"
RUN_A, RUN_B = FIXTURES / "mlp-tiny-a", FIXTURES / "mlp-tiny-b"
SLOW = Cell("mlp-tiny", "preview1", "wasmtime-py", "onnx", "cpu")


def compare_cmd(ns: argparse.Namespace) -> int:
    """`wasinn-bench compare` as the user runs it (exit code included)."""
    argv = ["compare", ns.base, ns.head, "--metric", ns.metric, "--factor", str(ns.factor)]
    return main(argv + (["--markdown", str(ns.markdown)] if ns.markdown else []))


def history_cmd(ns: argparse.Namespace) -> int:
    return main(["history", *ns.run_dirs, "--out", ns.out, "--metric", ns.metric,
                 "--factor", str(ns.factor)])  # fmt: skip


def _args(base: Path, head: Path, **kw) -> argparse.Namespace:
    return argparse.Namespace(
        base=str(base), head=str(head), metric=kw.get("metric", "overhead"),
        factor=kw.get("factor", 1.10), markdown=kw.get("markdown"),
    )  # fmt: skip


def _edit_run(src: Path, dst: Path, edit) -> Path:
    """Copy a run folder, change its samples/cells with `edit`, recompute summary.csv."""
    shutil.copytree(src, dst)
    samples = pd.read_parquet(dst / "samples.parquet")
    cells = pd.read_csv(dst / "cells.csv", keep_default_na=False, na_values=[""])
    samples, cells = edit(samples, cells)
    samples.to_parquet(dst / "samples.parquet", index=False)
    cells.to_csv(dst / "cells.csv", index=False)
    summarize(samples, cells, n_boot=200).to_csv(dst / "summary.csv", index=False)
    return dst


def _is(frame: pd.DataFrame, key: tuple[str, ...]) -> pd.Series:
    cols = ["workload", "variant", "host", "backend", "device"]
    return np.logical_and.reduce([frame[c] == v for c, v in zip(cols, key, strict=True)])


def _scale(key: tuple[str, ...], factor: float):
    def edit(samples: pd.DataFrame, cells: pd.DataFrame):
        m = _is(samples, key)
        samples.loc[m, "ns"] = (samples.loc[m, "ns"] * factor).round().astype("int64")
        return samples, cells

    return edit


def test_fixtures_are_real_and_small():
    for run in (RUN_A, RUN_B):
        r = load_run(run)
        assert "synthetic" not in r.meta and r.meta["machine"]["cpu"]
        assert (r.summary["status"] == "ok").sum() >= 5
        assert sum(p.stat().st_size for p in run.iterdir()) < 200_000


def test_same_run_against_itself_is_unchanged(capsys):
    a = load_run(RUN_A)
    cmp = compare_runs(a, a, metric="p50")
    assert cmp.rows and {r.verdict for r in cmp.rows} == {"unchanged"}
    assert all(r.ratio.value == pytest.approx(1.0) for r in cmp.rows)
    assert cmp.exit_code == 0
    assert compare_cmd(_args(RUN_A, RUN_A)) == 0  # the default metric: overhead
    assert compare_cmd(_args(RUN_A, RUN_A, metric="p50")) == 0
    assert "0 regressed" in capsys.readouterr().out


def test_one_cell_slowed_by_1_3_is_regressed_exit_1(tmp_path, capsys):
    head = _edit_run(RUN_A, tmp_path / "slow", _scale(SLOW, 1.3))
    cmp = compare_runs(load_run(RUN_A), load_run(head), metric="p50")
    verdicts = {r.key: r.verdict for r in cmp.rows}
    assert verdicts[SLOW] == "regressed"
    assert [k for k, v in verdicts.items() if v != "unchanged"] == [SLOW]
    row = next(r for r in cmp.rows if r.key == SLOW)
    assert row.ratio.value == pytest.approx(1.3, rel=0.01) and row.ratio.low > 1.1
    md_file = tmp_path / "pr" / "comment.md"
    assert compare_cmd(_args(RUN_A, head, metric="p50", markdown=md_file)) == 1
    md = md_file.read_text()
    assert md.startswith("### ❌") and "| mlp-tiny/preview1/wasmtime-py/onnx/cpu |" in md
    assert "❌ regressed" in md and "1 regressed" in capsys.readouterr().out
    # the default overhead metric sees it too (its native baseline did not move)
    assert compare_cmd(_args(RUN_A, head)) == 1
    # a speed-up is reported, and does not fail the gate
    fast = _edit_run(RUN_A, tmp_path / "fast", _scale(SLOW, 1 / 1.3))
    cmp = compare_runs(load_run(RUN_A), load_run(fast), metric="p50")
    assert {r.key: r.verdict for r in cmp.rows}[SLOW] == "improved" and cmp.exit_code == 0


def test_two_real_runs_of_the_same_code_overhead_no_regression(tmp_path):
    cmp = compare_runs(load_run(RUN_A), load_run(RUN_B), metric="overhead")
    assert len(cmp.rows) >= 5 and cmp.count("regressed") == 0
    assert compare_cmd(_args(RUN_A, RUN_B, metric="overhead")) == 0
    # native cells are the reference of this metric, never compared with themselves
    assert all(r.key.variant != "native" for r in cmp.rows)


def test_overhead_metric_cancels_machine_drift(tmp_path):
    def everything_2x(samples, cells):
        samples["ns"] = samples["ns"] * 2
        return samples, cells

    head = _edit_run(RUN_A, tmp_path / "drift", everything_2x)
    p50 = compare_runs(load_run(RUN_A), load_run(head), metric="p50")
    assert p50.count("regressed") == len(p50.rows)
    ov = compare_runs(load_run(RUN_A), load_run(head), metric="overhead")
    assert ov.count("unchanged") == len(ov.rows) and ov.exit_code == 0


def test_cells_on_one_side_and_newly_failed_are_listed(tmp_path):
    gone = Cell("mlp-tiny", "component", "wasmtime-cli", "openvino", "cpu")

    def drop_and_fail(samples, cells):
        samples = samples[~_is(samples, gone) & ~_is(samples, SLOW)]
        cells = cells[~_is(cells, gone)].copy()
        cells.loc[_is(cells, SLOW), ["status", "reason"]] = ["failed", "trap: boom"]
        return samples, cells

    head = _edit_run(RUN_A, tmp_path / "head", drop_and_fail)
    cmp = compare_runs(load_run(RUN_A), load_run(head))
    assert [k for k, _ in cmp.only_base] == [gone] and cmp.only_head == []
    failed = [r for r in cmp.rows if r.verdict == "failed"]
    assert [r.key for r in failed] == [SLOW] and failed[0].note == "trap: boom"
    assert cmp.exit_code == 1
    # unsupported on both sides: listed as not compared, with the reason
    assert any("unsupported" in why for _, why in cmp.not_compared)
    md = to_markdown(cmp)
    assert "Only in base (1)" in md and "mlp-tiny/component/wasmtime-cli/openvino/cpu" in md
    assert "1 newly failed" in md
    # reversed, the dropped cell is only in head
    rev = compare_runs(load_run(head), load_run(RUN_A))
    assert [k for k, _ in rev.only_head] == [gone]


def test_few_samples_fall_back_to_the_ci(tmp_path):
    cells = {("w", "native", "native", "onnx", "cpu"): 1.0}
    base = make_run(tmp_path / "b", cells, rounds=1, iterations=3, cv=0.001, seed=1)
    slow = {k: 1.5 for k in cells}
    head = make_run(tmp_path / "h", slow, rounds=1, iterations=3, cv=0.001, seed=2)
    cmp = compare_runs(load_run(base), load_run(head), metric="p50")
    # 3 vs 3 samples can never give p < 0.002, yet the CI clearly excludes 1
    assert cmp.rows[0].p > 0.002 and cmp.rows[0].verdict == "regressed"


def test_bad_input_exit_2_names_the_path(tmp_path, capsys):
    assert compare_cmd(_args(tmp_path / "missing", RUN_A)) == 2
    assert str(tmp_path / "missing") in capsys.readouterr().err
    (tmp_path / "notarun").mkdir()
    assert compare_cmd(_args(RUN_A, tmp_path / "notarun")) == 2
    assert "notarun: not a run folder" in capsys.readouterr().err
    assert compare_cmd(_args(RUN_A, RUN_A, factor=0.9)) == 2


# ---------------------------------------------------------------- history


def _series(levels: list[float], n: int = 60, seed: int = 0) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    return [lvl * rng.lognormal(0, 0.03, n) for lvl in levels]


def test_detect_steps_names_the_first_run_of_each_shift():
    assert detect_steps(_series([1.0] * 8)) == []
    steps = detect_steps(_series([1.0] * 5 + [1.3] * 4))
    assert [s.index for s in steps] == [5] and steps[0].ratio == pytest.approx(1.3, rel=0.03)
    up_down = detect_steps(_series([1.0] * 4 + [1.5] * 3 + [1.0] * 4))
    assert [s.index for s in up_down] == [4, 7]
    assert up_down[1].ratio < 1
    assert detect_steps(_series([1.0] * 4 + [1.04] * 4)) == []  # below the factor
    assert [s.index for s in detect_steps(_series([1.0] * 6 + [1.25]))] == [6]  # the latest run


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


def test_compare_refuses_mixed_schema_versions(tmp_path, capsys):
    head = tmp_path / "v2"
    shutil.copytree(RUN_A, head)
    meta = json.loads((head / "meta.json").read_text())
    meta["schema_version"] = 99
    (head / "meta.json").write_text(json.dumps(meta))
    assert compare_cmd(_args(RUN_A, head)) == 2
    assert "schema_version" in capsys.readouterr().err
