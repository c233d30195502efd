"""bench/measure/execute.py: one run start to end, in process, as `list`'s trial runs it."""

from __future__ import annotations

import json
from pathlib import Path

from bench.measure import events
from bench.measure.execute import execute
from bench.measure.matrix import Filters
from bench.measure.options import RunOptions
from bench.results.lock import lock_run_folder
from bench.results.run_plan import Overrides


def test_a_run_finishes_releases_its_lock_and_tells_what_an_eta_needs(tmp_path: Path) -> None:
    seen: list[events.Event] = []
    options = RunOptions(
        targets=["mlp-tiny"], filters=Filters(hosts=["native"], backends=["onnx"]),
        overrides=Overrides(iterations=2, warmup=0, rounds=2), out=tmp_path / "run", offline_k=1,
    )  # fmt: skip
    outcome = execute(options, on_event=seen.append)
    assert outcome.finished and outcome.stop is None
    assert [s.status for s in outcome.states] == ["ok"]
    assert list(outcome.summary["status"]) == ["ok"]
    lock_run_folder(outcome.run_dir).release()  # free: the run let go of it
    meta = json.loads((outcome.run_dir / "meta.json").read_text())
    assert meta["interrupted"] is False and meta["stop"] is None
    assert "stop_reason" not in json.loads((outcome.run_dir / "plan.json").read_text())

    planned = seen[0]
    assert isinstance(planned, events.Planned)
    assert (planned.jobs_total, planned.rounds_planned, planned.jobs_done) == (3, 2, 0)
    finished = [e for e in seen if isinstance(e, events.JobFinished)]
    assert [e.jobs_done for e in finished] == [1, 2, 3]
    assert all(e.jobs_total == 3 for e in finished)
    assert [e.round for e in finished] == [0, 1, -1]  # two rounds, then the offline pass
    assert sum(isinstance(e, events.JobStarted) for e in seen) == 3
