"""bench/measure/plan.py: setting up a run, and replaying one for --resume."""

from __future__ import annotations

from pathlib import Path

import pytest

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


# -- a folder to resume is untrusted (issue 25, defect 10) -----------------------------

BAD_PLANS = {
    "rounds nan": {"overrides": {"rounds": float("nan")}},
    "timeout nan": {"overrides": {"timeout_s": float("nan")}},
    "timeout inf": {"overrides": {"timeout_s": float("inf")}},
    "iterations 0": {"overrides": {"iterations": 0}},
    "iterations text": {"overrides": {"iterations": "5"}},
    "memory negative": {"overrides": {"memory_limit_mb": -1}},
    "seed text": {"seed": "x"},
    "offline_k negative": {"offline_k": -3},
    "a cell key with a path": {"cells": [{"key": "../../x/preview1/h/onnx/cpu", "status": "pending"}]},
    "a cell key of 3 parts": {"cells": [{"key": "a/b/c", "status": "pending"}]},
    "a cell with an odd status": {"cells": [{"key": "w/preview1/native/onnx/cpu", "status": "ok!"}]},
    "target_ci nan": {"target_ci": {"pct": float("nan"), "max_time_s": 5}},
    "workloads not paths": {"workloads": [1, 2]},
    "not an object": [],
}  # fmt: skip


@pytest.mark.parametrize("case", sorted(BAD_PLANS))
def test_a_bad_plan_value_is_one_line_naming_plan_json(tmp_path: Path, case: str) -> None:
    import json

    from bench.results.run_plan import Plan
    from bench.results.store import RunFolderError

    base = {"run_id": "r", "seed": 0, "offline_k": 0, "workloads": [], "overrides": {},
            "cells": [{"key": "w/preview1/wasmtime-py/onnx/cpu", "status": "pending"}]}  # fmt: skip
    bad = BAD_PLANS[case]
    (tmp_path / "plan.json").write_text(json.dumps(base | bad if isinstance(bad, dict) else bad))
    with pytest.raises(RunFolderError, match="plan.json"):
        Plan.read(tmp_path)


BAD_PROGRESS = [
    '{"cell": "w/native/native/onnx/cpu", "round": "0", "status": "ok"}',
    '{"cell": "w/native/native/onnx/cpu", "round": true, "status": "ok"}',
    '{"cell": "w/native/native/onnx/cpu", "round": -5, "status": "ok"}',
    '{"cell": "w/native/native/onnx/cpu", "round": 0, "status": "great"}',
    '{"cell": "w/native/native/onnx/cpu", "round": 0, "status": "ok", "peak_rss_kb": -1}',
    '{"cell": "w/native/native/onnx/cpu", "round": 0, "status": "ok", "notes": [1]}',
    '{"cell": 7, "round": 0, "status": "ok"}',
    "[1, 2]",
]


@pytest.mark.parametrize("line", BAD_PROGRESS)
def test_a_progress_line_that_says_something_impossible_names_its_line(
    tmp_path: Path, line: str
) -> None:
    from bench.results.progress import read_progress
    from bench.results.store import RunFolderError

    good = '{"cell": "w/native/native/onnx/cpu", "round": 0, "status": "ok"}'
    (tmp_path / "progress.jsonl").write_text(f"{good}\n{{cut by a kill\n{line}\n")
    with pytest.raises(RunFolderError, match=r"progress.jsonl:3: "):
        read_progress(tmp_path)


def test_resume_refuses_progress_past_the_planned_rounds_and_counts_a_line_once(
    tmp_path: Path,
) -> None:
    """`rounds=7` of 6 was accepted; a round recorded twice counted twice."""
    import json

    out = tmp_path / "run"
    fast = ["--iterations", "2", "--warmup", "0", "--rounds", "2", "--offline", "0"]
    p = run_cli("run", "mlp-tiny", "--hosts", "native", "--backends", "onnx", *fast,
                "--out", str(out))  # fmt: skip
    assert p.returncode == 0, p.stderr
    lines = (out / "progress.jsonl").read_text().splitlines()
    first = json.loads(lines[0])
    with open(out / "progress.jsonl", "a") as f:
        f.write(lines[0] + "\n")  # the same round twice: counted once
    from bench.analyze.runs import load_run
    from bench.results.progress import read_progress, replay
    from bench.results.run_plan import Plan

    states, _ = replay(Plan.read(out), read_progress(out))
    assert max(s.rounds_done for s in states) == 2
    with open(out / "progress.jsonl", "a") as f:
        f.write(json.dumps(first | {"round": 6}) + "\n")  # round 7 of 2
    p = run_cli("run", "--resume", str(out))
    assert p.returncode == 2 and "progress.jsonl" in p.stderr and "round 7 of 2" in p.stderr
    assert load_run(out).summary is not None


def test_resume_refuses_an_engine_binary_that_changed(tmp_path: Path, monkeypatch) -> None:
    """--resume of a run with --engine builds: a rebuilt binary (another sha256 than
    meta.json recorded) would mix two builds in one run."""
    import hashlib
    import json
    import os

    from bench.results.run_plan import Plan
    from hosts.engines import ENV, Engine

    monkeypatch.setenv(ENV, "[]")  # restored (removed) after the test
    binary = tmp_path / "wasmtime"
    binary.write_bytes(b"build one")
    engine = Engine("pr", path=str(binary))
    run = tmp_path / "run"
    run.mkdir()
    digest = hashlib.sha256(b"build one").hexdigest()
    (run / "meta.json").write_text(json.dumps({"engines": {engine.host: {"sha256": digest}}}))
    p = Plan(run_id="run", engines=[{"name": "pr", "path": str(binary), "template": None,
                                     "version": None}])  # fmt: skip
    plan._resume_engines(run, p)  # the same binary: the run's engines are known again
    assert json.loads(os.environ[ENV])[0]["name"] == "pr"
    binary.write_bytes(b"build two")
    os.utime(binary, ns=(1, 1))
    with pytest.raises(plan.WorkloadError, match=r"--engine pr: .* is now [0-9a-f]{16}, was"):
        plan._resume_engines(run, p)
