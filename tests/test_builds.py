"""Builds side by side (bench/analyze/builds.py, bench/present/builds.py): each engine
build's cell against the base build's same cell, by compare's rule over rounds."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from bench.analyze.builds import compare_builds, engine_base, preview1_gone
from bench.analyze.runs import load_run
from bench.present.report import write_report
from contracts.hosts import NO_PREVIEW1_NN
from tests.synthetic_run import make_run

W, B, D = "mlp-tiny", "openvino", "cpu"
OLD, NEW, GONE = "wasmtime-cli[old]", "wasmtime-cli[new]", "wasmtime-cli[nop1]"


def _run(tmp_path: Path) -> Path:
    """SYNTHETIC: new is 1.5x slower on preview1, equal on adapted; nop1 lost preview1."""
    cells = {
        (W, "native", "native", B, D): 0.010,
        (W, "preview1", OLD, B, D): 0.020,
        (W, "preview1", NEW, B, D): 0.030,
        (W, "adapted", OLD, B, D): 0.025,
        (W, "adapted", NEW, B, D): 0.025,
        (W, "preview1", GONE, B, D): f"unsupported: {NO_PREVIEW1_NN} (unknown import)",
        (W, "adapted", GONE, B, D): 0.026,
    }
    return make_run(tmp_path / "run", cells, rounds=8, cv=0.02,
                    extra_meta={"engine_base": OLD})  # fmt: skip


def test_each_build_cell_is_compared_with_the_base_cell_by_compares_rule(tmp_path: Path) -> None:
    run = load_run(_run(tmp_path))
    base = engine_base(run.meta, list(run.cells["host"]))
    assert base == OLD
    df = compare_builds(run.samples, base).set_index(["variant", "host"])
    slower = df.loc[("preview1", NEW)]
    assert slower["verdict"] == "regressed" and 1.4 < slower["ratio"] < 1.6
    assert slower["ratio_low"] > 1.10 and slower["rounds"] == 8
    assert df.loc[("adapted", NEW), "verdict"] == "unchanged"
    assert ("preview1", GONE) not in df.index  # nothing to compare: it did not run
    assert df.loc[("adapted", GONE), "verdict"] == "unchanged"
    assert not (df["base"] != OLD).any() and (OLD not in df.index.get_level_values("host"))


def test_summary_csv_carries_the_ratio_to_the_base(tmp_path: Path) -> None:
    run = load_run(_run(tmp_path))  # its summary.csv predates the columns: filled on load
    from bench.analyze.builds import with_builds

    s = with_builds(run.summary, run.samples, run.meta).set_index(["variant", "host"])
    assert s.loc[("preview1", NEW), "engine_verdict"] == "regressed"
    assert s.loc[("preview1", NEW), "vs_engine_base_low"] > 1.10
    assert pd.isna(s.loc[("preview1", OLD), "vs_engine_base"])  # the base itself


def test_no_builds_side_by_side_with_fewer_than_two_engines() -> None:
    assert engine_base({}, ["native", "wasmtime-cli", OLD]) is None
    assert engine_base({"engine_base": "nope"}, [OLD, NEW]) == OLD  # an unknown base: the first


def test_preview1_gone_names_builds_whose_adapted_cell_ran(tmp_path: Path) -> None:
    run = load_run(_run(tmp_path))
    gone = preview1_gone(run.cells)
    assert list(gone["host"]) == [GONE]


def test_report_shows_builds_side_by_side_and_preview1_gone(tmp_path: Path) -> None:
    md = write_report(_run(tmp_path), tmp_path / "report", slides=True).read_text()
    assert "## Builds side by side" in md and "regressed" in md
    assert "adapted works where preview1 is gone" in md and "wasmtime-cli\\[nop1\\]" in md
    assert any(p.name.endswith("-builds.png") for p in (tmp_path / "report" / "slides").iterdir())
