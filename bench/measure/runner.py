"""Run a matrix of cells: interleaved rounds, one isolated worker per (cell, round).

Order: warm-up happens inside every round (the guest's own warm-up
iterations); rounds are interleaved across cells in a seeded shuffled order so
that machine drift hits every cell alike. Each (cell, round) runs in a fresh
subprocess (`bench.measure.worker`) with a timeout and a memory limit: a crash, trap,
OOM or hang marks that cell `failed` and the run goes on.
Ctrl-C / SIGTERM keep everything that finished; `--resume` runs the rest.

With a CI target (`--target-ci`), after the planned rounds the runner keeps adding
whole interleaved rounds until every wasm cell's headline ratio has a 95% CI half-width
within the target, or the time budget (`--max-time`, counted from the run's start and
checked between rounds; the planned rounds always complete) is spent; `stop_reason`
says which.
"""

from __future__ import annotations

import contextlib
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from bench.analyze.summarize import headline_widths
from bench.measure.kinds import kind_of
from bench.measure.processes import check_disk, exit_reason, watch
from bench.measure.worker import RUNNER_PID_ENV, envelope
from bench.measure.workload_kind import PreparedWorkload
from bench.results.outputs import npz_safe
from bench.results.progress import OFFLINE_ROUND, CellState
from bench.results.schema import SAMPLE_COLUMNS
from bench.results.store import RunWriter, read_samples
from contracts import machine, paths
from contracts.jobs import WorkerResult
from contracts.logtail import telling_file
from contracts.phases import TOTAL


class Interrupted(Exception):
    pass


# Fewer rounds than this never count as precise: with one or two rounds the bootstrap
# sees no between-round spread and its interval is too narrow to trust.
MIN_ROUNDS_FOR_TARGET = 3
# Resamples of the stop rule's check after each added round (summary.csv uses N_BOOT):
# the check runs once per round and must stay cheap next to a round.
TARGET_N_BOOT = 500


class Runner:
    def __init__(
        self,
        run_dir: Path,
        prepared: dict[str, PreparedWorkload],
        states: list[CellState],
        seed: int,
        on_progress: Callable[[str], None] | None = None,
    ):
        self.dir = run_dir
        self.prepared = prepared
        self.states = states
        self.seed = seed
        self.writer = RunWriter(run_dir)
        self.machine = machine.describe()
        self.run_id = run_dir.name
        self.on_progress = on_progress or (lambda _msg: None)
        self._current: list[subprocess.Popen[bytes]] = []
        self._stop = False
        self.offline_k = 0  # > 0: after the rounds, K concurrent instances per cell
        self.target_ci: float | None = None  # percent; None: only the planned rounds
        self.max_time_s = 1800.0
        self.stop_reason = ""  # with a target: why the added rounds stopped
        self._started = time.monotonic()
        # With a target: the `total` samples so far, kept in memory once the added rounds
        # start (re-reading every part file after each round grows with the run)
        self._totals: list[pd.DataFrame] | None = None

    # -- planning -----------------------------------------------------------
    def pending_jobs(self, done: set[tuple[str, int]]) -> list[tuple[int, list[CellState]]]:
        """Per round, the cells still to run, in this round's seeded shuffled order."""
        rng = random.Random(self.seed)
        rounds = max((p.workload.rounds for p in self.prepared.values()), default=0)
        plan = []
        for r in range(rounds):
            order = [s for s in self.states if self.prepared[s.cell.workload].workload.rounds > r]
            rng.shuffle(
                order
            )  # shuffled every round, also over cells that will not run: stable on resume
            todo = [
                s for s in order if s.status in ("pending", "ok") and (s.cell.key, r) not in done
            ]
            plan.append((r, todo))
        return plan

    def offline_todo(self, done: set[tuple[str, int]]) -> list[CellState]:
        if self.offline_k <= 0:
            return []
        order = [
            s for s in self.states if s.status == "ok" and (s.cell.key, OFFLINE_ROUND) not in done
        ]
        random.Random(self.seed + 1).shuffle(order)
        return order

    def total_jobs(self, plan: list[tuple[int, list[CellState]]]) -> int:
        offline = (
            len([s for s in self.states if s.status in ("pending", "ok")])
            if self.offline_k > 0
            else 0
        )
        return sum(len(todo) for _, todo in plan) + offline

    # -- running ------------------------------------------------------------
    def run(self, done: set[tuple[str, int]]) -> bool:
        """Run every pending (cell, round). False when interrupted."""
        plan = self.pending_jobs(done)
        previous = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}
        for sig in previous:
            signal.signal(sig, self._interrupt)
        try:
            for r, todo in plan:
                self._run_round(r, todo)
            if self.target_ci is not None:
                self._add_rounds(done, len(plan))
            for state in self.offline_todo(done):
                if self._stop:
                    raise Interrupted
                self.on_progress(f"offline x{self.offline_k}: {state.cell.key}")
                self.run_offline(state)
                self.on_progress("advance")
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
            if state.status not in ("pending", "ok"):
                continue  # failed in an earlier round
            if self._stop:
                raise Interrupted
            self.on_progress(f"round {r + 1}: {state.cell.key}")
            self.run_one(state, r)
            self.on_progress("advance")

    def _round_order(self, r: int, done: set[tuple[str, int]]) -> list[CellState]:
        """An added round's cells: every cell still running, shuffled by (seed, round)
        so a resumed run draws the same order."""
        order = list(self.states)
        random.Random(f"{self.seed}/{r}").shuffle(order)
        return [s for s in order if s.status in ("pending", "ok") and (s.cell.key, r) not in done]

    def widest_ci(self) -> tuple[float, int]:
        """(widest headline CI half-width in %, cells above the target) over the wasm
        cells still running. A cell whose ratio has no interval (its baseline failed)
        cannot get there and is left out; inf when nothing was measured yet."""
        running = {s.cell for s in self.states if s.status == "ok"}
        if self._totals is None:
            samples = read_samples(self.dir)
            self._totals = [samples[samples["phase"] == "total"]]
        widths = headline_widths(pd.concat(self._totals), n_boot=TARGET_N_BOOT)
        finite = [w for k, (_, w) in widths.items() if k in running and np.isfinite(w)]
        if not finite:
            return float("inf"), 0
        assert self.target_ci is not None
        return max(finite), sum(w > self.target_ci for w in finite)

    def _add_rounds(self, done: set[tuple[str, int]], planned: int) -> None:
        """Interleaved rounds after the planned ones until precise or out of time. A
        resumed run first completes the added rounds a kill left unfinished."""
        assert self.target_ci is not None
        last = max((r for _, r in done if r >= planned), default=planned - 1)
        r = planned
        while r <= last:
            self._run_round(r, self._round_order(r, done))
            r += 1
        while True:
            widest, above = self.widest_ci()
            self.on_progress(f"widest CI ±{widest:.1f}% (target ±{self.target_ci:g}%)")
            if r >= MIN_ROUNDS_FOR_TARGET and above == 0 and np.isfinite(widest):
                self.stop_reason = (
                    f"target reached: every headline CI within ±{self.target_ci:g}% "
                    f"(widest ±{widest:.2f}%) after {r} rounds"
                )
                return
            if not any(s.status == "ok" and not s.cell.is_native for s in self.states):
                self.stop_reason = "no wasm cell left running: nothing to make precise"
                return
            if not np.isfinite(widest) and r >= MIN_ROUNDS_FOR_TARGET:
                # e.g. every baseline failed: more rounds cannot give a ratio an interval
                self.stop_reason = "no headline ratio has an interval (baselines missing)"
                return
            elapsed = time.monotonic() - self._started
            if elapsed >= self.max_time_s:
                self.stop_reason = (
                    f"time out: --max-time {self.max_time_s:g}s spent after {r} rounds; "
                    f"widest CI ±{widest:.2f}%, {above} cell(s) above ±{self.target_ci:g}%"
                )
                return
            todo = self._round_order(r, done)
            self.on_progress(f"grow:{len(todo)}")
            self._run_round(r, todo)
            r += 1

    def _interrupt(self, signum: int, _frame: object) -> None:
        # Only signal here: poll()/wait() inside a handler can deadlock with the
        # poll() it interrupted (Popen's wait lock is not reentrant). _watch sees
        # the workers exit and run_one raises Interrupted.
        self._stop = True
        for proc in list(self._current):
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)

    def _job(self, state: CellState, r: int, workdir: Path) -> None:
        p = self.prepared[state.cell.workload]
        if workdir.exists():
            shutil.rmtree(workdir)
        workdir.mkdir(parents=True)
        job = kind_of(p.workload).job(state.cell, r, workdir, p)
        (workdir / "job.json").write_text(envelope(p.workload.kind, state.cell.key, job))

    def run_one(self, state: CellState, r: int) -> None:
        w = self.prepared[state.cell.workload].workload
        safe = state.cell.slug
        workdir = self.dir / "work" / f"{safe}.r{r}"
        self._job(state, r, workdir)
        outcome = self._spawn([workdir], w.timeout_s, w.memory_limit_mb)[0]
        if self._stop:
            raise Interrupted
        if outcome.status == "failed":
            check_disk(self.dir)  # a worker that could not write is not a failed cell
        if not outcome.ok:
            state.status = outcome.status
            state.reason = outcome.reason or "no reason given"
            self.writer.record_progress(
                {"cell": state.cell.key, "round": r, "status": state.status, "reason": state.reason}
            )
            self._keep_log(workdir, safe, r)
            shutil.rmtree(workdir, ignore_errors=True)
            return
        self._record_round(state, r, outcome, workdir)
        shutil.rmtree(workdir, ignore_errors=True)

    def run_offline(self, state: CellState) -> None:
        """Offline throughput: K instances of the cell run at once (each its own worker
        process, like K concurrent clients); samples/s = sum over instances of
        iterations / their summed per-iteration time. Not part of the latency samples."""
        w = self.prepared[state.cell.workload].workload
        safe = state.cell.slug
        workdirs = [self.dir / "work" / f"{safe}.offline{k}" for k in range(self.offline_k)]
        for wd in workdirs:
            self._job(state, OFFLINE_ROUND, wd)
        outcomes = self._spawn(workdirs, w.timeout_s, w.memory_limit_mb)
        if self._stop:
            raise Interrupted
        entry: dict[str, Any] = {"cell": state.cell.key, "round": OFFLINE_ROUND}
        # A guest writes its own samples: an all-zero total must not divide by zero.
        totals = [o.per_iteration.get(TOTAL, []) for o in outcomes]
        if all(o.ok and sum(t) > 0 for o, t in zip(outcomes, totals, strict=True)):
            rate = sum(len(t) / (sum(t) / 1e9) for t in totals)
            state.offline_ips = rate
            entry |= {"status": "ok", "offline_ips": rate, "offline_k": self.offline_k}
        else:
            no_time = WorkerResult("failed", "the guest reported no time (its totals sum to 0)")
            bad = next((o for o in outcomes if not o.ok), no_time)
            state.offline_reason = bad.reason
            entry |= {"status": "offline-failed", "reason": state.offline_reason}
        self.writer.record_progress(entry)
        for wd in workdirs:
            shutil.rmtree(wd, ignore_errors=True)

    def _spawn(
        self, workdirs: list[Path], timeout_s: float, memory_limit_mb: int
    ) -> list[WorkerResult]:
        """Start one worker per workdir (all at once), wait for all, read their results."""
        # The worker's parent by pid: it may lose us during its imports (kill -9), and
        # then its own getppid() would already be init's.
        env = dict(os.environ, PYTHONUNBUFFERED="1", **{RUNNER_PID_ENV: str(os.getpid())})
        files = []
        for wd in workdirs:
            out, err = open(wd / "worker.stdout", "wb"), open(wd / "worker.stderr", "wb")  # noqa: SIM115
            files += [out, err]
            cmd = [sys.executable, "-m", "bench.measure.worker", str(wd / "job.json"), str(wd)]
            # Own session: Ctrl-C reaches the harness only, which then stops the worker.
            self._current.append(
                subprocess.Popen(
                    cmd,
                    stdout=out,
                    stderr=err,
                    cwd=paths.REPO_ROOT,
                    env=env,
                    start_new_session=True,
                )
            )
        try:
            reasons = watch(self._current, timeout_s, memory_limit_mb)
        finally:
            procs, self._current = self._current, []
            for f in files:
                f.close()
        outcomes = []
        for wd, proc, reason in zip(workdirs, procs, reasons, strict=True):
            result_path = wd / "result.json"
            if reason is None and result_path.exists():
                outcomes.append(WorkerResult.from_json(result_path.read_text()))
                continue
            reason = reason or exit_reason(proc.returncode)
            last = telling_file(
                wd / "worker.stderr", keep=8
            )  # more: a usage text can follow the error
            outcomes.append(WorkerResult("failed", f"{reason}{': ' + last if last else ''}"))
        return outcomes

    def _keep_log(self, workdir: Path, safe: str, r: int) -> None:
        logs = self.dir / "logs"
        logs.mkdir(exist_ok=True)
        for name in ("worker.stderr", "worker.stdout", "stderr.txt", "stdout.txt"):
            src = workdir / name
            if src.exists() and src.stat().st_size:
                shutil.copyfile(src, logs / f"{safe}.r{r}.{name}")

    def _record_round(self, state: CellState, r: int, outcome: WorkerResult, workdir: Path) -> None:
        c = state.cell
        rows: list[tuple[int, str, int]] = []
        for phase, values in outcome.per_iteration.items():
            rows += [(i, phase, int(ns)) for i, ns in enumerate(values)]
        rows += [(-1, phase, int(ns)) for phase, ns in outcome.per_round.items()]
        frame = pd.DataFrame(rows, columns=["iteration", "phase", "ns"])
        for col, value in (("run_id", self.run_id), *c.to_dict().items(), ("round", r),
                           ("machine", self.machine["fingerprint"])):  # fmt: skip
            frame[col] = value
        frame = frame.astype({"iteration": "int64", "ns": "int64", "round": "int64"})
        # Named by (cell, round): a round re-run after a kill -9 (its part written,
        # its progress line not) replaces its part instead of doubling its samples.
        self.writer.append_samples(frame[SAMPLE_COLUMNS], name=f"{c.slug}.r{r}")
        if self._totals is not None:
            self._totals.append(frame.loc[frame["phase"] == "total", SAMPLE_COLUMNS])
        outputs = workdir / "outputs.npz"
        if outputs.exists():
            with np.load(outputs) as npz:
                arrays = {name: npz[f"arr_{i}"] for i, name in enumerate(outcome.output_names)}
            final = self.writer.outputs / f"{c.slug}.npz"
            tmp = final.with_name(f".{final.name}.tmp")
            with open(tmp, "wb") as f:  # a file object: savez would add ".npz" to a path
                np.savez(f, **npz_safe(arrays))
            os.replace(tmp, final)  # whole or absent after a kill
        state.status = "ok"
        state.rounds_done += 1
        state.peak_rss_kb = max(state.peak_rss_kb, outcome.peak_rss_kb)
        state.notes.update({k: str(v) for k, v in outcome.notes.items()})
        self.writer.record_progress(
            {
                "cell": c.key,
                "round": r,
                "status": "ok",
                "peak_rss_kb": state.peak_rss_kb,
                "notes": state.notes,
            }
        )
