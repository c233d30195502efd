"""What a run will do, decided before anything is measured: workloads, cells, and
which cells cannot run here (probed), written to plan.json so `--resume` can
continue exactly the same run."""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.measure import identity
from bench.measure.kinds import kind_of
from bench.measure.matrix import expand, probe, shard_of
from bench.measure.meta import build_meta
from bench.measure.options import RunOptions
from bench.measure.workload_kind import PreparedWorkload
from bench.results.lock import LOCK_NAME, RunLock, lock_run_folder
from bench.results.progress import CellState, read_progress, replay
from bench.results.run_plan import Plan, PlannedCell, TargetCI
from bench.results.store import RunFolderError, check_run_files, write_json
from contracts.cells import Cell
from contracts.errors import UserError
from hosts import engines
from hosts.engines import Engine
from workloads.spec.workload import Workload, WorkloadError, find_workload, suite


def select_workloads(options: RunOptions) -> list[Workload]:
    if options.workloads is not None:
        workloads = options.workloads
    else:
        workloads = (
            [find_workload(t) for t in options.targets] if options.targets else suite(options.suite)
        )
    if not workloads:
        raise WorkloadError(f"suite {options.suite!r} has no workloads")
    seen: dict[str, Workload] = {}
    for w in workloads:
        if w.name in seen:
            raise WorkloadError(
                f"{w.path}: field 'name': workload {w.name!r} is already given by {seen[w.name].path}"
            )
        seen[w.name] = w
    given = {k: v for k, v in asdict(options.overrides).items() if v is not None}
    for w in workloads:
        for name, value in given.items():  # Overrides' fields are Workload fields
            setattr(w, name, value)
    return workloads


def new_run_id() -> str:
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    return f"{stamp}-{os.urandom(2).hex()}"


@dataclass
class RunSetup:
    run_dir: Path
    prepared: dict[str, PreparedWorkload]
    states: list[CellState]
    done: set[tuple[str, int]]
    plan: Plan
    lock: RunLock | None = None  # held until the run ends (bench/results/lock.py)


def _prepare_all(
    workloads: list[Workload], run_dir: Path, say: Callable[[str], None],
    data_dir: Path | None = None,
) -> dict[str, PreparedWorkload]:  # fmt: skip
    prepared = {}
    for w in workloads:
        say(f"preparing {w.name} ({w.model_label}; cached after the first build)")
        prepared[w.name] = kind_of(w).prepare(w, run_dir, data_dir or run_dir / "inputs")
    return prepared


def cell_problem(cell: Cell, p: PreparedWorkload) -> tuple[str, str] | None:
    """(status, reason) of a cell its workload's kind knows cannot run here."""
    return kind_of(p.workload).cell_problem(cell, p)


def wall_only(p: PreparedWorkload, measure: str) -> str | None:
    """Why a workload's cells cannot take the run's --measure (None: they can): its kind
    says which it takes (programs and generative workloads: wall time only)."""
    if measure in kind_of(p.workload).measures:
        return None
    return f"--measure {measure}: a {p.workload.kind} workload is measured in wall time only"


def check_writable(run_dir: Path) -> None:
    """Fail before measuring anything if the results cannot be written."""
    if any(p.name != LOCK_NAME for p in run_dir.iterdir()):
        raise OSError(
            f"{run_dir}: results folder exists and is not empty (use --resume to continue it)"
        )
    probe_file = run_dir / ".write-test"
    probe_file.write_text("ok")
    probe_file.unlink()


def claim_folder(run_dir: Path) -> tuple[RunLock, bool]:
    """Make and lock the run folder before anything is written in it. Returns the lock
    and whether this run created the folder (mkdir's own answer: no exists-then-create
    gap between two runs)."""
    lock, created = _make_and_lock(run_dir)
    try:
        check_writable(run_dir)
    except BaseException:
        _leave_nothing(run_dir, lock, created, emptied=False)
        raise
    return lock, created


def _make_and_lock(run_dir: Path, tries: int = 3) -> tuple[RunLock, bool]:
    run_dir.parent.mkdir(parents=True, exist_ok=True)
    for attempt in range(tries):
        try:
            run_dir.mkdir()
            created = True
        except FileExistsError:
            created = False
        try:
            return lock_run_folder(run_dir), created
        except FileNotFoundError:  # a run with bad input removed its folder meanwhile
            if attempt == tries - 1:
                raise
    raise AssertionError("unreachable")


def _leave_nothing(run_dir: Path, lock: RunLock, created: bool, emptied: bool) -> None:
    """Undo a claim (bad input found): remove the folder we made, or what we wrote
    into the empty one we were given; the lock goes last, so no run slips in."""
    if created:
        shutil.rmtree(run_dir, ignore_errors=True)
    elif emptied:  # it was empty (check_writable): everything in it is ours
        for child in run_dir.iterdir():
            if child.name != LOCK_NAME:
                shutil.rmtree(child) if child.is_dir() else child.unlink()
    lock.release(remove=not created)


def setup_new(options: RunOptions, say: Callable[[str], None]) -> RunSetup:
    workloads = select_workloads(options)
    cells = expand(workloads, options.filters)
    if options.shard:
        cells = shard_of(cells, *options.shard)
    if not cells:
        raise WorkloadError(
            "the filters leave no cell to run (check --variants/--hosts/--backends/--devices"
            + (
                f"; shard {options.shard[0]}/{options.shard[1]} of this matrix is empty"
                if options.shard
                else ""
            )
            + ")"
        )
    engines.use(options.engines)  # the workers and the probes find them by name
    # Releases (`NAME@X`): an unknown version is bad input (exit 2, before any folder
    # exists); a missing one is installed now, or its cells say why it cannot be.
    from hosts import prepare_hosts

    try:
        missing = prepare_hosts(sorted({c.host for c in cells}), say)
    except UserError as e:
        raise WorkloadError(str(e)) from None
    run_id = new_run_id()
    # Absolute: the workers run in REPO_ROOT, so relative job/input paths would break.
    run_dir = (options.out if options.out else Path.cwd() / "results" / run_id).absolute()
    lock, created = claim_folder(run_dir)
    try:
        keep_generated(workloads, run_dir)
        recorded = identity.sources(workloads)
        prepared = _prepare_all(workloads, run_dir, say)
    except BaseException:  # bad input found while preparing: leave nothing behind
        _leave_nothing(run_dir, lock, created, emptied=True)
        raise
    states = [CellState(c) for c in cells]
    for s in states:
        if s.cell.host in missing:
            s.status, s.reason = "unsupported", missing[s.cell.host]
        elif found := probe(s.cell) or cell_problem(s.cell, prepared[s.cell.workload]):
            s.status, s.reason = found
        elif reason := wall_only(prepared[s.cell.workload], options.measure):
            s.status, s.reason = "unsupported", reason
    plan = Plan(
        run_id=run_dir.name,
        seed=options.seed,
        offline_k=options.offline_k,
        workloads=[str(w.path.resolve()) for w in workloads],
        overrides=options.overrides,
        filters=asdict(options.filters),
        shard=f"{options.shard[0]}/{options.shard[1]}" if options.shard else None,
        # --resume keeps adding rounds to the same target
        target_ci=(
            TargetCI(options.target_ci, options.max_time_s)
            if options.target_ci is not None
            else None
        ),
        cells=[PlannedCell(s.cell.key, s.status, s.reason) for s in states],
        engines=[asdict(e) for e in options.engines],
        measure=options.measure,
        machine_state=options.machine_state,
        # what --resume checks before it continues (bench/measure/identity.py)
        identity={"sources": recorded, "products": identity.products(prepared)},
    )
    plan.write(run_dir)
    write_json(run_dir / "meta.json", build_meta(run_dir, prepared, plan, interrupted=True))
    return RunSetup(run_dir, prepared, states, set(), plan, lock)


def keep_generated(workloads: list[Workload], run_dir: Path) -> None:
    """A workload made from a model and flags (`run model.onnx --shape ...`) is written
    into the run folder as the TOML it stands for: the run records what it used, and
    `--resume` reads it back like any workload file."""
    for w in workloads:
        if w.generated is not None:
            w.path = run_dir / f"{w.name}.toml"
            w.path.write_text(w.generated)


def setup_resume(run_dir: Path, say: Callable[[str], None]) -> RunSetup:
    run_dir = run_dir.absolute()  # see setup_new
    plan_path = run_dir / "plan.json"
    if not plan_path.exists():
        raise WorkloadError(
            f"{run_dir}: cannot resume, no plan.json (not a run folder made by `run`)"
        )
    lock = lock_run_folder(run_dir)
    try:
        check_run_files(run_dir)  # now, not after minutes of measuring
        plan = Plan.read(run_dir)
        _resume_engines(run_dir, plan)
        workloads = select_workloads(RunOptions(targets=plan.workloads, overrides=plan.overrides))
        recorded = plan.identity  # None: a run from before it was recorded
        if recorded:
            _refuse_changes(
                run_dir, identity.changes(recorded["sources"], identity.sources(workloads))
            )
        prepared = _prepare_resumed(workloads, run_dir, recorded, say)
        states, done = replay(plan, read_progress(run_dir))
        _check_rounds(run_dir, prepared, plan, done)
    except BaseException:
        lock.release()
        raise
    return RunSetup(run_dir, prepared, states, done, plan, lock)


def _check_rounds(
    run_dir: Path, prepared: dict[str, PreparedWorkload], plan: Plan, done: set[tuple[str, int]]
) -> None:
    """progress.jsonl may name only rounds the plan has (added rounds with --target-ci)."""
    for key, r in sorted(done):
        p = prepared.get(key.split("/")[0])
        if p is not None and plan.target_ci is None and r >= p.workload.rounds:
            raise RunFolderError(
                f"{run_dir / 'progress.jsonl'}: {key} round {r + 1} of {p.workload.rounds} "
                "planned rounds: not a line this run wrote"
            )


def _prepare_resumed(
    workloads: list[Workload], run_dir: Path, recorded: dict[str, Any] | None,
    say: Callable[[str], None],
) -> dict[str, PreparedWorkload]:  # fmt: skip
    """Prepare again into a scratch folder, check the products against the record, and
    point the inputs at the run's own files: inputs/ is never overwritten."""
    if not recorded:
        return _prepare_all(workloads, run_dir, say)
    scratch = run_dir / ".resume-check"
    shutil.rmtree(scratch, ignore_errors=True)
    try:
        prepared = _prepare_all(workloads, scratch, say, data_dir=scratch)
        _refuse_changes(
            run_dir, identity.changes(recorded["products"], identity.products(prepared))
        )
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    for p in prepared.values():
        p.rebase(run_dir)
    return prepared


def _resume_engines(run_dir: Path, plan: Plan) -> None:
    """The run's --engine builds again, each still the binary it started with (its sha256
    in meta.json): a rebuilt binary would mix two builds in one run."""
    chosen = [Engine(**e) for e in plan.engines]
    try:
        recorded = json.loads((run_dir / "meta.json").read_text()).get("engines") or {}
    except (OSError, ValueError):
        recorded = {}
    changed = []
    for engine in chosen:
        was = (recorded.get(engine.host) or {}).get("sha256")
        if engine.path is None or not was:
            continue
        try:
            now = engines.sha256(engine.path)
        except OSError as e:
            now = f"unreadable ({e.strerror})"
        if now != was:
            changed.append(
                f"--engine {engine.name}: {engine.path} is now {now[:16]}, was {was[:16]}"
            )
    _refuse_changes(run_dir, changed)
    engines.use(chosen)


def _refuse_changes(run_dir: Path, changed: list[str]) -> None:
    if changed:
        raise WorkloadError(
            f"{run_dir}: cannot resume, the run would mix two setups: {'; '.join(changed)} "
            "since it started (restore them, or start a new run)"
        )
