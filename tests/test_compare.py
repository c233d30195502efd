"""The regression rule on recorded real runs (results/fixtures) and on edge cases."""

from __future__ import annotations

import argparse
import json
import re
import shutil
from pathlib import Path

import pandas as pd
import pytest

from bench.analyze.compare import compare_runs
from bench.analyze.runs import load_run
from bench.analyze.summarize import summarize
from bench.cli import main
from bench.present.comparison import to_markdown
from contracts.cells import Cell
from tests.helpers import RUN_A, RUN_B
from tests.synthetic_run import (
    NATIVE,
    NATIVE_C,
    P1,
    basic_cells,
    cell_mask,
    make_run,
    two_baseline_cells,
)

SLOW = Cell("mlp-tiny", "preview1", "wasmtime-py", "onnx", "cpu")


def compare_cmd(ns: argparse.Namespace) -> int:
    """`wasinn-bench compare` as the user runs it (exit code included)."""
    argv = ["compare", ns.base, ns.head, "--metric", ns.metric, "--factor", str(ns.factor)]
    return main(argv + (["--markdown", str(ns.markdown)] if ns.markdown else []))


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


def _scale(key: tuple[str, ...], factor: float):
    def edit(samples: pd.DataFrame, cells: pd.DataFrame):
        m = cell_mask(samples, key)
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
    assert "❌ regressed: ×1.300 above ×1.1; 95% CI excludes 1; 5+5 rounds cannot reach" in md
    assert "1 regressed" in capsys.readouterr().out
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
        samples = samples[~cell_mask(samples, gone) & ~cell_mask(samples, SLOW)]
        cells = cells[~cell_mask(cells, gone)].copy()
        cells.loc[cell_mask(cells, SLOW), ["status", "reason"]] = ["failed", "trap: boom"]
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
    # and the words say that rule, not another: no "p < 0.002" claimed for this cell
    md = re.sub(r"\\(.)", r"\1", to_markdown(cmp))  # as rendered: escapes are their character
    assert "1+1 rounds cannot reach MWU p < 0.002: the CI decides" in md
    assert "p < 0.002 and a 95% CI" not in md


def test_bad_input_exit_2_names_the_path(tmp_path, capsys):
    assert compare_cmd(_args(tmp_path / "missing", RUN_A)) == 2
    assert str(tmp_path / "missing") in capsys.readouterr().err
    (tmp_path / "notarun").mkdir()
    assert compare_cmd(_args(RUN_A, tmp_path / "notarun")) == 2
    assert "notarun: not a run folder" in capsys.readouterr().err
    with pytest.raises(SystemExit) as bad:  # a usage error from argparse: exit 2, one line
        compare_cmd(_args(RUN_A, RUN_A, factor=0.9))
    assert bad.value.code == 2 and "--factor: must be > 1" in capsys.readouterr().err


def test_compare_refuses_mixed_schema_versions(tmp_path, capsys):
    head = tmp_path / "v2"
    shutil.copytree(RUN_A, head)
    meta = json.loads((head / "meta.json").read_text())
    meta["schema_version"] = 99
    (head / "meta.json").write_text(json.dumps(meta))
    assert compare_cmd(_args(RUN_A, head)) == 2
    assert "schema_version" in capsys.readouterr().err


def test_compare_head_failed_after_some_rounds_is_newly_failed(tmp_path):
    """A cell ok on base that failed on head keeps its earlier rounds' samples: the
    gate must still say 'failed' (exit 1), not compare the partial samples."""

    def failed_in_round_2(samples, cells):
        cells.loc[cell_mask(cells, SLOW), ["status", "reason"]] = ["failed", "round 2: trap"]
        return samples, cells  # the samples of the rounds before stay

    head = _edit_run(RUN_A, tmp_path / "head", failed_in_round_2)
    cmp = compare_runs(load_run(RUN_A), load_run(head))
    failed = [r for r in cmp.rows if r.verdict == "failed"]
    assert [r.key for r in failed] == [SLOW]
    assert cmp.exit_code == 1


def test_compare_never_passes_on_cells_left_out_for_missing_samples(tmp_path: Path) -> None:
    base = load_run(make_run(tmp_path / "base", basic_cells()))
    head = load_run(make_run(tmp_path / "head", basic_cells()))
    head.samples = head.samples[head.samples["variant"] != "preview1"]  # lost after loading
    cmp = compare_runs(base, head)
    assert cmp.not_compared and all(why.split(": ", 1)[1] for _, why in cmp.not_compared)
    assert cmp.exit_code == 1


def test_compare_metric_overhead_c(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    base = make_run(tmp_path / "base", two_baseline_cells(), rounds=4, seed=1)
    head = make_run(tmp_path / "head", two_baseline_cells(), rounds=4, seed=2)
    cmp = compare_runs(load_run(base), load_run(head), metric="overhead_c")
    keys = {r.key for r in cmp.rows}
    # every wasm cell is compared with its run's native-c cell; both baselines are references
    assert Cell(*P1) in keys and Cell(*NATIVE) not in keys and Cell(*NATIVE_C) not in keys
    assert cmp.count("unchanged") == len(cmp.rows)
    # native-c 1.5x slower in head: every wasm cell's overhead_c improves by 1.5x
    slow = make_run(tmp_path / "slow", two_baseline_cells(c_ms=1.2), rounds=4, seed=3)
    cmp = compare_runs(load_run(base), load_run(slow), metric="overhead_c")
    row = next(r for r in cmp.rows if r.key == Cell(*P1))
    assert row.ratio.value == pytest.approx(0.8 / 1.2, rel=0.05) and row.verdict == "improved"
    assert main(["compare", str(base), str(head), "--metric", "overhead_c"]) == 0
    assert "native-c" in capsys.readouterr().out


def test_compare_overhead_c_without_native_c_says_so(tmp_path: Path) -> None:
    cells = {NATIVE: 1.0, P1: 2.0}
    base, head = make_run(tmp_path / "b", cells), make_run(tmp_path / "h", cells, seed=1)
    cmp = compare_runs(load_run(base), load_run(head), metric="overhead_c")
    assert not cmp.rows and any("native-c" in why for _, why in cmp.not_compared)


def test_compare_metric_ttft_compares_generations_only(tmp_path: Path) -> None:
    """Generative cells' time to first token (one sample per generation); the cells of
    other workloads have none and are listed without failing the gate."""
    import pandas as pd

    runs = []
    for name, ms in (("base", 40.0), ("head", 60.0)):
        run = load_run(make_run(tmp_path / name, basic_cells()))
        one = run.samples[run.samples["variant"] == "preview1"].iloc[0]
        rows = [
            {
                **one.to_dict(),
                "round": r,
                "iteration": g,
                "phase": "ttft",
                "ns": int((ms + 0.1 * g + 0.05 * r) * 1e6),
            }
            for r in range(4)
            for g in range(3)
        ]
        run.samples = pd.concat([run.samples, pd.DataFrame(rows)], ignore_index=True)
        runs.append(run)
    cmp = compare_runs(*runs, metric="ttft")
    assert [r.verdict for r in cmp.rows] == ["regressed"]
    assert cmp.rows[0].ratio.value == pytest.approx(1.5, rel=0.01)
    ok_left_out = [why for _, why in cmp.not_compared if why.startswith("base ok, head ok")]
    assert ok_left_out and all("not a generative workload" in why for why in ok_left_out)
    assert cmp.not_compared and cmp.exit_code == 1  # the regression, not the others
    same = compare_runs(runs[0], runs[0], metric="ttft")
    assert same.exit_code == 0 and same.count("unchanged") == 1
