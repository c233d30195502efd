"""`wasinn-bench run`: run workloads as a matrix of cells and write results/<run-id>/."""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.console import Console

from bench.cli import args as types
from bench.measure.defaults import (
    DEFAULT_MAX_TIME_S,
    DEFAULT_OFFLINE_K,
    DEFAULT_SEED,
    DEFAULT_SUITE,
)
from contracts import machine, measures
from contracts.cells import BACKENDS, DEVICES, VARIANTS
from contracts.errors import UserError
from contracts.hosts import host_choices

if TYPE_CHECKING:  # the measuring modules import pandas, scipy, ...: only once input is good
    from bench.measure import events
    from bench.measure.execute import Outcome
    from bench.measure.options import ResumeOptions, RunOptions
    from workloads.spec.workload import Workload

# plain lines: errors stand alone; no markup (tables.plain_console, without importing the
# tables module and its pandas before the input is checked)
console = Console(markup=False, stderr=True, log_time=False, log_path=False)


def add_parser(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    run = sub.add_parser(
        "run", help="run workloads as a matrix of cells and write results/<run-id>/"
    )
    run.add_argument(
        "workloads", nargs="*", metavar="WORKLOAD-NAME|PATH.toml|MODEL.onnx",
        help="default: the --suite; a model file runs without a workload file (--shape)",
    )  # fmt: skip
    run.add_argument("--shape", type=types.input_shape, action="append", metavar="INPUT=D1,D2,..",
                     help="with MODEL.onnx: the shape of a dynamic input, e.g. x=1,3,48,320")  # fmt: skip
    run.add_argument("--input-file", type=types.input_file, action="append",
                     metavar="INPUT=PATH", help="with MODEL.onnx: an input's values "
                     "(.npy, or raw little-endian bytes); default: uniform [0, 1)")  # fmt: skip
    run.add_argument("--suite", default=DEFAULT_SUITE, choices=["quick", "full"])
    run.add_argument("--variants", type=types.axis_list(VARIANTS), help=",".join(VARIANTS))
    run.add_argument(
        "--hosts",
        type=types.host_list,
        help=host_choices(),
    )
    run.add_argument("--engine", action="append", default=[], metavar="NAME=PATH|NAME=cmd:'TEMPLATE'",
                     help="run a wasmtime binary of yours as host wasmtime-cli[NAME], or another "
                          "runtime by its command line as cmd[NAME] (repeatable; docs/engines.md)")  # fmt: skip
    run.add_argument("--engine-base", metavar="NAME",
                     help="with two or more engines: the build the others are compared with "
                          "(default: the first --engine)")  # fmt: skip
    run.add_argument("--engine-version", action="append", default=[], metavar="NAME=COMMAND",
                     help="how a cmd: engine says its version (default: its program --version)")  # fmt: skip
    run.add_argument("--backends", type=types.axis_list(BACKENDS), help=",".join(BACKENDS))
    run.add_argument("--devices", type=types.axis_list(DEVICES), help=",".join(DEVICES))
    run.add_argument("--iterations", type=types.positive, help="measured iterations per round")
    run.add_argument("--warmup", type=types.non_negative, help="warm-up iterations per round")
    run.add_argument(
        "--rounds", type=types.positive, help="rounds (cells interleave round by round)"
    )
    run.add_argument("--out", type=Path, help="run folder (default results/<run-id>)")
    run.add_argument(
        "--timeout",
        type=types.at_least(0.1, float),
        help="seconds per cell round before it is killed",
    )
    run.add_argument(
        "--memory-limit",
        type=types.at_least(64),
        metavar="MB",
        help="resident memory per cell worker",
    )
    run.add_argument(
        "--seed", type=int, default=DEFAULT_SEED, help="seed of the interleaving order"
    )
    run.add_argument(
        "--shard", type=types.shard, help="run shard i/n of the matrix (join with `merge`)"
    )
    run.add_argument("--offline", type=types.non_negative, default=DEFAULT_OFFLINE_K, metavar="K",
                     help="offline throughput with K concurrent instances per cell "
                          f"(0: skip; default {DEFAULT_OFFLINE_K})")  # fmt: skip
    run.add_argument("--target-ci", type=types.percent, metavar="PCT",
                     help="keep adding interleaved rounds until every wasm cell's headline ratio "
                          "(vs native-c, else native; adapted/component also vs preview1) has a "
                          "95%% CI half-width <= PCT%%, or --max-time runs out")  # fmt: skip
    run.add_argument("--max-time", type=types.duration, metavar="DURATION",
                     help="with --target-ci: time budget of the run, e.g. 90s, 15m, 1h "
                          f"(default {DEFAULT_MAX_TIME_S / 60:g}m; the planned rounds always "
                          "complete)")  # fmt: skip
    run.add_argument("--measure", default=measures.DEFAULT, metavar="|".join(measures.MEASURES),
                     help="what each sample is: wall (elapsed time, default), cpu (the host "
                          "process's CPU time) or instructions (counted under valgrind's "
                          "callgrind); docs/measures.md")  # fmt: skip
    run.add_argument("--resume", type=Path, metavar="RUN_DIR", help="finish an interrupted run")
    run.add_argument("--report", action="store_true", help="write the report when done")
    run.add_argument("--format", choices=["text", "json"], default="text",
                     help="what stdout gets at the end: a summary in 100 columns (text) or one "
                          "JSON object for machines (json); progress goes to stderr")  # fmt: skip
    run.add_argument("--accept", type=types.accept_list, default=frozenset(), metavar="LIST",
                     help="exit 0 anyway on: failed (some cells failed: else exit 3), "
                          "target-ci (--target-ci not reached: else exit 4); comma-separated. "
                          "A run that measured no cell exits 1 whatever is accepted")  # fmt: skip
    return run


class FlagError(UserError):
    """--shape/--input-file without a model file to describe."""


def read_workloads(args: argparse.Namespace) -> list[Workload]:
    """The workloads to run, read and checked against their models' headers: bad input
    is refused here in milliseconds, before the measuring modules are imported."""
    from bench.measure.model_check import check_user_workload
    from bench.measure.quick import ModelFlags, is_model_target, model_workload
    from workloads.spec.workload import find_workload, suite

    flags = ModelFlags(dict(args.shape or []), dict(args.input_file or []))
    models = [t for t in args.workloads if is_model_target(t)]
    if flags.given and len(models) != 1:
        raise FlagError(
            "--shape and --input-file describe the inputs of one model file given instead "
            "of workloads, e.g. wasinn-bench run model.onnx --shape x=1,3,224,224"
        )
    if not args.workloads:
        workloads = suite(args.suite)
    else:
        workloads = [
            model_workload(t, flags) if is_model_target(t) else find_workload(t)
            for t in args.workloads
        ]
    for w in workloads:
        check_user_workload(w)
    return workloads


def _options(args: argparse.Namespace, workloads: list[Workload]) -> RunOptions:
    from bench.cli.engines import check_instances, chosen_engines
    from bench.measure.matrix import Filters
    from bench.measure.options import RunOptions
    from bench.results.run_plan import Overrides

    chosen = chosen_engines(args.engine, args.engine_version, args.engine_base)
    check_instances(args.hosts, chosen)
    hosts = args.hosts
    if chosen:  # the engines, and the hosts --hosts names (default: the engines alone)
        hosts = list(dict.fromkeys([*(args.hosts or []), *(e.host for e in chosen)]))
    return RunOptions(
        workloads=workloads,
        targets=args.workloads,
        suite=args.suite,
        filters=Filters(args.variants, hosts, args.backends, args.devices),
        engines=chosen,
        overrides=Overrides(
            iterations=args.iterations,
            warmup=args.warmup,
            rounds=args.rounds,
            timeout_s=args.timeout,
            memory_limit_mb=args.memory_limit,
        ),
        out=args.out,
        seed=args.seed,
        shard=args.shard,
        # offline throughput is samples per second: wall time only
        offline_k=args.offline if args.measure == measures.WALL else 0,
        target_ci=args.target_ci,
        max_time_s=args.max_time if args.max_time is not None else DEFAULT_MAX_TIME_S,
        measure=args.measure,
    )


def _check_measure(args: argparse.Namespace, say: Callable[[str], None]) -> dict[str, Any]:
    """Validate --measure (valgrind installed on first use for instructions), then watch
    the machine for a second: its state goes to meta.json, and a busy machine is said
    before anything is measured. Bad input raises a UserError before any folder exists."""
    measures.check(args.measure)
    if args.measure == measures.INSTRUCTIONS:
        from hosts.measures.callgrind import ensure_valgrind

        ensure_valgrind(say)
    state = machine.sample_state(1.0)
    if state.under_load:
        hint = (
            ""
            if args.measure != measures.WALL
            else "; --measure instructions or cpu hold up better"
        )
        console.print(f"warning: the machine is busy ({state.describe()}): "
                      f"wall times will be noisy{hint}", style="yellow")  # fmt: skip
    return asdict(state)


def _refusal(args: argparse.Namespace) -> str | None:
    """Flags that do not go together (exit 2 before anything happens)."""
    if args.resume:
        given = [name for name, value in (("WORKLOAD", args.workloads), ("--out", args.out),
                 ("--shape", args.shape), ("--input-file", args.input_file),
                 ("--shard", args.shard), ("--iterations", args.iterations), ("--warmup", args.warmup),
                 ("--rounds", args.rounds), ("--timeout", args.timeout),
                 ("--memory-limit", args.memory_limit), ("--target-ci", args.target_ci),
                 ("--max-time", args.max_time), ("--engine", args.engine),
                 ("--engine-base", args.engine_base),
                 ("--measure", args.measure != measures.DEFAULT)) if value]  # fmt: skip
        if given:
            return f"--resume continues the run as planned; drop {', '.join(given)}"
    elif args.max_time is not None and args.target_ci is None:
        return "--max-time bounds the rounds --target-ci adds; give --target-ci PCT too"
    return None


def run(args: argparse.Namespace) -> int:
    if refusal := _refusal(args):
        console.print(f"wasinn-bench run: error: {refusal}")
        return 2
    options: RunOptions | ResumeOptions
    if args.resume:
        from bench.measure.options import ResumeOptions

        options = ResumeOptions(args.resume)
    else:
        options = _options(args, read_workloads(args))
        options.machine_state = _check_measure(args, console.log)
    from bench.measure.execute import execute

    bar = _ProgressBar()  # starts when the run has a plan: bad input prints only its line
    try:
        done = execute(options, console.log, bar.on_event)
    finally:
        bar.close()
    return _report(args, done)


def _report(args: argparse.Namespace, done: Outcome) -> int:
    """The run's summary (console or JSON), what to do next, and its exit code."""
    from bench.analyze.outcome import outcome
    from bench.analyze.runs import measure_of
    from bench.present import tables

    result = outcome(done.summary)
    code = result.exit_code(args.accept) if done.finished else 130
    measure = measure_of(json.loads((done.run_dir / "meta.json").read_text()))
    if args.format == "json":
        doc = tables.run_json(str(done.run_dir), done.summary, result, code, measure)
        print(json.dumps(doc, indent=1))
    else:
        tables.print_summary(done.summary, result, measure)
        _print_builds(done)
    if not done.finished:
        console.print(f"interrupted: kept what finished in {done.run_dir}; "
                      f"continue with: wasinn-bench run --resume {done.run_dir} "
                      f"(or: nox -s bench -- --resume {done.run_dir})", style="yellow")  # fmt: skip
        return 130
    _say_how_it_ended(done)
    if args.report:
        from bench.present.report import write_report

        console.print(f"report: {write_report(done.run_dir)}")
    if code:
        console.print(result.why(code), style="bold red")
    return code


def _say_how_it_ended(done: Outcome) -> None:
    from bench.analyze.load import rounds_under_load
    from bench.results.store import read_samples

    if done.stop:  # --target-ci: the run stopped by itself; say why
        console.print(f"stopped: {done.stop.text()}", style="bold")
    loaded, known = rounds_under_load(read_samples(done.run_dir))
    if loaded:  # docs/measures.md: another process kept half a core busy, or steal >= 5%
        console.print(f"rounds measured under load: {loaded} of {known}", style="yellow")
    console.print(f"results: {done.run_dir}")


def _print_builds(done: Outcome) -> None:
    """Builds side by side after the summary, with two or more --engine builds."""
    from bench.analyze.builds import compare_builds
    from bench.measure.meta import engine_base
    from bench.present import tables
    from bench.results.store import read_samples

    if len(done.plan.engines) > 1 and (base := engine_base(done.plan)):
        tables.print_builds(base, compare_builds(read_samples(done.run_dir), base))


class _ProgressBar:
    """The run's events on a rich progress bar (on stderr, beside the log lines), with an
    ETA; under --target-ci the bar is the time budget, so added rounds never make it fall
    back (bench/present/eta.py)."""

    def __init__(self) -> None:
        from rich.progress import Progress, TaskID

        from bench.present.eta import Eta

        self.progress: Progress | None = None
        self.task = TaskID(0)
        self.eta = Eta()

    def close(self) -> None:
        if self.progress is not None:
            self.progress.stop()

    def on_event(self, event: events.Event) -> None:
        from bench.measure import events
        from bench.present.eta import Eta

        if isinstance(event, events.Planned):
            self.eta = Eta(max_time_s=event.max_time_s, jobs_total=event.jobs_total)
            self._start()
            return
        p, task, eta = self.progress, self.task, self.eta
        if p is None:
            return
        if isinstance(event, events.JobStarted):
            where = "offline" if event.round < 0 else f"round {event.round + 1}"
            p.update(task, current=f"{where}: {event.cell.key}")
            eta.elapsed_s = max(eta.elapsed_s, event.elapsed_s)
        elif isinstance(event, events.JobFinished):
            eta.jobs_done, eta.jobs_total = event.jobs_done, event.jobs_total
            eta.elapsed_s = event.elapsed_s
        elif isinstance(event, events.RoundAdded):
            eta.jobs_total, eta.rounds_added = event.jobs_total, event.rounds_added
        elif isinstance(event, events.PrecisionChecked):
            widest, target = event.precision.widest_pct, event.target_pct
            text = f"cells x rounds, widest CI ±{widest:.1f}% (target ±{target:g}%)"
            p.update(task, description=text)
        completed, total = eta.bar()
        p.update(task, completed=completed, total=total, eta=eta.text())

    def _start(self) -> None:
        from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

        self.progress = Progress(
            TextColumn("{task.description}", style="bold", markup=False), BarColumn(),
            TextColumn("{task.fields[eta]}", markup=False), TimeElapsedColumn(),
            TextColumn("{task.fields[current]}", markup=False), console=console,
        )  # fmt: skip
        self.progress.start()
        completed, total = self.eta.bar()
        self.task = self.progress.add_task(
            "cells x rounds", total=total, completed=completed, current="", eta=self.eta.text()
        )
