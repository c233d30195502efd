"""Run a planned matrix of cells: interleaved rounds, one isolated worker per (cell, round).

The runner reads its settings from the plan (seed, offline pass, --target-ci) and
tells what it does through typed events (bench/measure/events.py). Which job runs
when is bench/measure/schedule.py, when to stop adding rounds bench/measure/stop_rule.py,
and what a finished round writes bench/results/recording.py.

Each (cell, round) runs in a fresh subprocess (`bench.measure.worker`) with a timeout
and a memory limit: a crash, trap, OOM or hang marks that cell `failed` and the run
goes on. Ctrl-C / SIGTERM keep everything that finished; `--resume` runs the rest.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pandas as pd

from bench.measure import schedule, stop_rule
from bench.measure.events import (
    JobFinished,
    JobStarted,
    OnEvent,
    Planned,
    PrecisionChecked,
    RoundAdded,
    Stopped,
    ignore,
)  # fmt: skip
from bench.measure.kinds import kind_of
from bench.measure.processes import check_disk, keep_tail
from bench.measure.spawn import run_workers
from bench.measure.worker import envelope
from bench.measure.workload_kind import PreparedWorkload
from bench.results.progress import OFFLINE_ROUND, CellState
from bench.results.recording import Recorder
from bench.results.run_plan import Plan
from bench.results.store import RunWriter, read_samples
from contracts import machine
from contracts.phases import TOTAL


class Interrupted(Exception):
    pass


class Runner:
    def __init__(
        self, run_dir: Path, plan: Plan, prepared: dict[str, PreparedWorkload],
        states: list[CellState], on_event: OnEvent = ignore,
    ):  # fmt: skip
        self.dir = run_dir
        self.plan = plan
        self.prepared = prepared
        self.states = states
        self.on_event = on_event
        self.writer = RunWriter(run_dir)
        self.fingerprint = str(machine.describe()["fingerprint"])
        self.recorder = Recorder(self.writer, run_dir.name, self.fingerprint)
        self.stop: stop_rule.StopReason | None = None  # with a target: why added rounds stopped
        self._live: list[subprocess.Popen[bytes]] = []
        self._stop = False
        self._started = time.monotonic()
        self._jobs_done = 0
        self._jobs_total = 0
        self._rounds_added = 0

    # -- the order of the jobs ------------------------------------------------
    def planned_rounds(self, done: schedule.Done) -> list[tuple[int, list[CellState]]]:
        rounds_of = {name: p.workload.rounds for name, p in self.prepared.items()}
        return schedule.planned_rounds(self.states, rounds_of, self.plan.seed, done)

    # -- running ------------------------------------------------------------
    def run(self, done: schedule.Done) -> bool:
        """Run every pending (cell, round). False when interrupted."""
        plan = self.planned_rounds(done)
        self._jobs_total = schedule.planned_jobs(plan, self.states, self.plan.offline_k)
        target = self.plan.target_ci
        budget = target.max_time_s if target is not None else None
        self.on_event(Planned(self._jobs_total, len(plan), len(done), budget))
        previous = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}
        for sig in previous:
            signal.signal(sig, self._interrupt)
        try:
            for r, todo in plan:
                self._run_round(r, todo)
            if self.plan.target_ci is not None:
                self._add_rounds(done, len(plan))
            for state in schedule.offline_order(
                self.states, self.plan.seed, self.plan.offline_k, done
            ):
                self._offline(state)
        except Interrupted:
            return False
        except OSError as e:  # e.g. disk full: what finished is on disk already
            e.strerror = f"{e.strerror or e}; kept what finished, continue with: wasinn-bench run --resume {self.dir}"
            raise
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
        return True

    def _run_round(self, r: int, todo: list[CellState]) -> None:
        for state in todo:
            if not schedule.running(state):
                continue  # failed in an earlier round
            self._check_stop()
            self.on_event(JobStarted(state.cell, r, self._elapsed()))
            self.run_one(state, r)
            self._finished(state, r, state.status)

    def _add_rounds(self, done: schedule.Done, planned: int) -> None:
        """Interleaved rounds after the planned ones until the stop rule says stop. A
        resumed run first completes the added rounds a kill left unfinished."""
        target = self.plan.target_ci
        assert target is not None
        r, last = schedule.first_added_round(planned, done)
        while True:
            if r > last:  # past what a killed run had started: ask the stop rule
                if self.recorder.totals is None:
                    self.recorder.totals = [self._totals_so_far()]
                running = {s.cell for s in self.states if s.status == "ok"}
                precision = stop_rule.precision(
                    pd.concat(self.recorder.totals), running, target.pct
                )
                self.on_event(PrecisionChecked(r, precision, target.pct))
                wasm = any(s.status == "ok" and not s.cell.is_native for s in self.states)
                self.stop = stop_rule.decide(
                    precision, r, wasm, self._elapsed(), target.pct, target.max_time_s
                )
                if self.stop is not None:
                    self.on_event(Stopped(self.stop))
                    return
            todo = schedule.added_round(self.states, self.plan.seed, r, done)
            self._jobs_total += len(todo)
            self._rounds_added += 1
            self.on_event(RoundAdded(r, len(todo), self._jobs_total, self._rounds_added))
            self._run_round(r, todo)
            r += 1

    def _totals_so_far(self) -> pd.DataFrame:
        """The `total` samples on disk: read once, at the first check; the recorder
        then keeps the new ones (re-reading every part file after each round would grow
        with the run)."""
        samples = read_samples(self.dir)
        return samples[samples["phase"] == TOTAL]

    def _interrupt(self, signum: int, _frame: object) -> None:
        # Only signal here: poll()/wait() inside a handler can deadlock with the
        # poll() it interrupted (Popen's wait lock is not reentrant). watch() sees
        # the workers exit and run_one raises Interrupted.
        self._stop = True
        for proc in list(self._live):
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)

    def _check_stop(self) -> None:
        if self._stop:
            raise Interrupted

    def _elapsed(self) -> float:
        return time.monotonic() - self._started

    def _finished(self, state: CellState, r: int, status: str) -> None:
        self._jobs_done += 1
        self.on_event(
            JobFinished(state.cell, r, status, self._jobs_done, self._jobs_total, self._elapsed())
        )

    def _job(self, state: CellState, r: int, workdir: Path) -> None:
        p = self.prepared[state.cell.workload]
        if workdir.exists():
            shutil.rmtree(workdir)
        workdir.mkdir(parents=True)
        job = kind_of(p.workload).job(state.cell, r, workdir, p, self.plan.measure)
        (workdir / "job.json").write_text(envelope(p.workload.kind, state.cell.key, job))

    def run_one(self, state: CellState, r: int) -> None:
        w = self.prepared[state.cell.workload].workload
        workdir = self.dir / "work" / f"{state.cell.slug}.r{r}"
        self._job(state, r, workdir)
        result = run_workers([workdir], w.timeout_s, w.memory_limit_mb, self._live)[0]
        self._check_stop()
        if result.ok:
            self.recorder.round_ok(state, r, result, workdir / "outputs.npz")
        else:
            if result.status == "failed":
                check_disk(self.dir)  # a worker that could not write is not a failed cell
            self.recorder.round_not_ok(state, r, result)
            self._keep_log(workdir, state.cell.slug, r)
        shutil.rmtree(workdir, ignore_errors=True)

    def _offline(self, state: CellState) -> None:
        self._check_stop()
        self.on_event(JobStarted(state.cell, OFFLINE_ROUND, self._elapsed()))
        self.run_offline(state)
        status = "ok" if state.offline_ips is not None else "offline-failed"
        self._finished(state, OFFLINE_ROUND, status)

    def run_offline(self, state: CellState) -> None:
        """Offline throughput: K instances of the cell run at once (each its own worker
        process, like K concurrent clients); bench/results/recording.py records it."""
        w = self.prepared[state.cell.workload].workload
        k = self.plan.offline_k
        workdirs = [self.dir / "work" / f"{state.cell.slug}.offline{i}" for i in range(k)]
        for wd in workdirs:
            self._job(state, OFFLINE_ROUND, wd)
        results = run_workers(workdirs, w.timeout_s, w.memory_limit_mb, self._live)
        self._check_stop()
        self.recorder.offline(state, results, k)
        for wd in workdirs:
            shutil.rmtree(wd, ignore_errors=True)

    def _keep_log(self, workdir: Path, safe: str, r: int) -> None:
        logs = self.dir / "logs"
        logs.mkdir(exist_ok=True)
        for name in ("worker.stderr", "worker.stdout", "stderr.txt", "stdout.txt"):
            src = workdir / name
            if src.exists() and src.stat().st_size:
                keep_tail(src, logs / f"{safe}.r{r}.{name}")  # a guest may print a GiB
