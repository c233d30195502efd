"""Joining shard runs: a recorded real run split the way `run --shard i/n` splits it."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pandas as pd

from bench.analyze.compare import compare_runs
from bench.analyze.runs import load_run
from bench.cli import main
from tests.helpers import RUN_A


def _shard(src: Path, dst: Path, backend: str, shard: str, machine: str | None = None) -> Path:
    """The cells of one (workload, backend, device) group of `src` as a shard folder."""
    dst.mkdir(parents=True)
    samples = pd.read_parquet(src / "samples.parquet")
    cells = pd.read_csv(src / "cells.csv", keep_default_na=False, na_values=[""])
    samples = samples[samples["backend"] == backend].copy()
    cells = cells[cells["backend"] == backend].copy()
    meta = json.loads((src / "meta.json").read_text())
    meta.update(shard=shard, run_id=dst.name)
    if machine:
        samples["machine"] = machine
        cells["machine"] = machine
        meta["machine"] = {**meta["machine"], "fingerprint": machine}
    samples.to_parquet(dst / "samples.parquet", index=False)
    cells.to_csv(dst / "cells.csv", index=False)
    (dst / "meta.json").write_text(json.dumps(meta))
    return dst


def merge_cmd(ns: argparse.Namespace) -> int:
    """`wasinn-bench merge` as the user runs it (exit code included)."""
    mixed = ["--allow-mixed-sha"] if ns.allow_mixed_sha else []
    return main(["merge", *ns.run_dirs, "--out", ns.out, *mixed])


def _args(dirs, out) -> argparse.Namespace:
    return argparse.Namespace(run_dirs=[str(d) for d in dirs], out=str(out), allow_mixed_sha=False)


def test_merge_shards_gives_back_the_run(tmp_path):
    s1 = _shard(RUN_A, tmp_path / "s1", "onnx", "1/2")
    s2 = _shard(RUN_A, tmp_path / "s2", "openvino", "2/2", machine="othermachine")
    out = tmp_path / "merged"
    assert merge_cmd(_args([s1, s2], out)) == 0
    merged, orig = load_run(out), load_run(RUN_A)
    assert len(merged.samples) == len(orig.samples)
    assert set(merged.samples["run_id"]) == {"merged"}
    key = ["workload", "variant", "host", "backend", "device"]
    m = merged.summary.set_index(key).sort_index()
    o = orig.summary.set_index(key).sort_index()
    assert list(m.index) == list(o.index)
    # same samples -> same statistics (overhead too: each shard holds its native baseline)
    pd.testing.assert_series_equal(m["p50_ms"], o["p50_ms"])
    pd.testing.assert_series_equal(m["overhead_vs_native"], o["overhead_vs_native"])
    # the machine that measured each cell is kept per cell and per sample
    assert set(m.loc[m.index.get_level_values("backend") == "openvino", "machine"]) == {
        "othermachine"
    }
    assert set(merged.samples.loc[merged.samples.backend == "onnx", "machine"]) == {
        orig.fingerprint
    }
    assert merged.meta["machine"]["fingerprint"] == "mixed"
    assert [s["shard"] for s in merged.meta["merged_from"]] == ["1/2", "2/2"]
    assert merged.meta["shard"] is None
    # and the merged folder is a run like any other
    assert compare_runs(orig, merged).count("regressed") == 0


def test_merge_rejects_overlap_and_bad_sets(tmp_path, capsys):
    s1 = _shard(RUN_A, tmp_path / "s1", "onnx", "1/2")
    again = _shard(RUN_A, tmp_path / "again", "onnx", "2/2")
    assert merge_cmd(_args([s1, again], tmp_path / "m1")) == 2
    err = capsys.readouterr().err
    assert "mlp-tiny/native/native/onnx/cpu is in both" in err and str(s1) in err
    assert not (tmp_path / "m1").exists()  # nothing half-written
    s2 = _shard(RUN_A, tmp_path / "s2", "openvino", "1/2")
    assert merge_cmd(_args([s1, s2], tmp_path / "m2")) == 2
    assert "shard 1/2 given twice" in capsys.readouterr().err
    assert merge_cmd(_args([s1], tmp_path / "m3")) == 2
    assert merge_cmd(_args([s1, tmp_path / "nope"], tmp_path / "m4")) == 2
    assert str(tmp_path / "nope") in capsys.readouterr().err


def test_merge_rejects_different_code_unless_asked(tmp_path, capsys):
    s1 = _shard(RUN_A, tmp_path / "s1", "onnx", "1/2")
    s2 = _shard(RUN_A, tmp_path / "s2", "openvino", "2/2")
    meta = json.loads((s2 / "meta.json").read_text())
    meta["git_sha"] = "f" * 40
    (s2 / "meta.json").write_text(json.dumps(meta))
    assert merge_cmd(_args([s1, s2], tmp_path / "m")) == 2
    assert "differ in git_sha" in capsys.readouterr().err
    args = _args([s1, s2], tmp_path / "m")
    args.allow_mixed_sha = True
    assert merge_cmd(args) == 0
    assert load_run(tmp_path / "m").meta["git_sha"].startswith("mixed:")


def test_merge_refuses_a_non_empty_output(tmp_path, capsys):
    s1 = _shard(RUN_A, tmp_path / "s1", "onnx", "1/2")
    s2 = _shard(RUN_A, tmp_path / "s2", "openvino", "2/2")
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "notes.txt").write_text("x")
    assert merge_cmd(_args([s1, s2], tmp_path / "out")) == 2
    assert "not empty" in capsys.readouterr().err
    assert [p.name for p in (tmp_path / "out").iterdir()] == ["notes.txt"]


def test_merge_keeps_every_column_the_target_and_each_shards_stop(tmp_path):
    """Nothing the shards recorded is dropped: extra sample and cell columns, the
    --target-ci (target_ci_pct in summary.csv) and each shard's stop."""
    target = {"target_ci": {"pct": 5.0, "max_time_s": 60.0}}
    shards = []
    for i, backend in enumerate(("onnx", "openvino"), start=1):
        s = _shard(RUN_A, tmp_path / f"s{i}", backend, f"{i}/2")
        meta = json.loads((s / "meta.json").read_text())
        meta["config"] = {**meta.get("config", {}), **target}
        meta["stop"] = {"kind": "time-out", "rounds": 3 + i}
        (s / "meta.json").write_text(json.dumps(meta))
        samples = pd.read_parquet(s / "samples.parquet")
        samples["load_avg"] = float(i)  # a column a later writer may add
        samples.to_parquet(s / "samples.parquet", index=False)
        shards.append(s)
    out = tmp_path / "merged"
    assert merge_cmd(_args(shards, out)) == 0
    merged = load_run(out)
    assert set(merged.samples["load_avg"]) == {1.0, 2.0}
    assert set(merged.summary["target_ci_pct"].dropna()) == {5.0}
    assert [s["stop"]["rounds"] for s in merged.meta["merged_from"]] == [4, 5]
    assert merged.meta["config"]["target_ci"] == target["target_ci"]
