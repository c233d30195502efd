"""One run, start to end: `execute(options) -> Outcome`.

Setup (a new run's plan, or a resumed one's), the runner, and finish (agreement,
cells.csv, summary.csv, meta.json), with the run folder's lock held throughout and
released at the end, whatever happens. `wasinn-bench run` and `list`'s trial run both
run through here; what they show is theirs (the events, the outcome).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from bench.measure import finish, plan
from bench.measure.events import OnEvent, ignore
from bench.measure.options import ResumeOptions, RunOptions
from bench.measure.runner import Runner
from bench.measure.stop_rule import StopReason
from bench.results.progress import CellState
from bench.results.run_plan import Plan


@dataclass
class Outcome:
    run_dir: Path
    finished: bool  # False: interrupted (Ctrl-C, SIGTERM); --resume finishes it
    stop: StopReason | None  # with --target-ci: why the added rounds stopped
    states: list[CellState]  # every cell's final state
    summary: pd.DataFrame  # summary.csv as written
    plan: Plan  # what the run was asked to do (plan.json)


def _quiet(_message: str) -> None:
    pass


def execute(
    options: RunOptions | ResumeOptions, say: Callable[[str], None] = _quiet,
    on_event: OnEvent = ignore,
) -> Outcome:  # fmt: skip
    """Run (or resume) a run and finish it. Bad input raises a UserError before anything
    is measured, leaving nothing behind; `say` gets one-line notes (preparing, the run
    folder), `on_event` the runner's progress (bench/measure/events.py)."""
    if isinstance(options, ResumeOptions):
        setup = plan.setup_resume(options.run_dir, say)
    else:
        setup = plan.setup_new(options, say)
    try:
        say(f"run folder: {setup.run_dir}")
        runner = Runner(setup.run_dir, setup.plan, setup.prepared, setup.states, on_event)
        finished = runner.run(setup.done)
        summary = finish.finish(
            setup, runner.writer, runner.fingerprint, interrupted=not finished, stop=runner.stop
        )
        return Outcome(setup.run_dir, finished, runner.stop, setup.states, summary, setup.plan)
    finally:
        if setup.lock:
            setup.lock.release()  # exit releases it too; in-process callers need it now
