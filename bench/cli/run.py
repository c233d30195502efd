"""`wasinn-bench run`: run workloads as a matrix of cells and write results/<run-id>/."""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from pathlib import Path

from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from bench.analyze.builds import compare_builds
from bench.analyze.outcome import outcome
from bench.analyze.runs import measure_of
from bench.cli import args as types
from bench.cli import engines as engine_options
from bench.measure import finish, plan, runner
from bench.measure.matrix import Filters
from bench.measure.meta import engine_base
from bench.present import tables
from bench.results.run_plan import Overrides
from bench.results.store import read_samples
from contracts.cells import BACKENDS, DEVICES, VARIANTS
from contracts.hosts import host_choices

# plain lines: errors stand alone
console = tables.plain_console(stderr=True, log_time=False, log_path=False)
DEFAULT_MAX_TIME_S = 1800.0  # --max-time when --target-ci is given without it


def add_parser(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    run = sub.add_parser(
        "run", help="run workloads as a matrix of cells and write results/<run-id>/"
    )
    run.add_argument(
        "workloads", nargs="*", metavar="WORKLOAD-NAME|PATH.toml", help="default: the --suite"
    )
    run.add_argument("--suite", default="quick", choices=["quick", "full"])
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
    run.add_argument("--seed", type=int, default=0, help="seed of the interleaving order")
    run.add_argument(
        "--shard", type=types.shard, help="run shard i/n of the matrix (join with `merge`)"
    )
    run.add_argument("--offline", type=types.non_negative, default=2, metavar="K",
                     help="offline throughput with K concurrent instances per cell (0: skip; default 2)")  # fmt: skip
    run.add_argument("--target-ci", type=types.percent, metavar="PCT",
                     help="keep adding interleaved rounds until every wasm cell's headline ratio "
                          "(vs native-c, else native; adapted/component also vs preview1) has a "
                          "95%% CI half-width <= PCT%%, or --max-time runs out")  # fmt: skip
    run.add_argument("--max-time", type=types.duration, metavar="DURATION",
                     help="with --target-ci: time budget of the run, e.g. 90s, 15m, 1h "
                          "(default 30m; the planned rounds always complete)")  # fmt: skip
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


def _options(args: argparse.Namespace) -> plan.RunOptions:
    chosen = engine_options.chosen_engines(args.engine, args.engine_version, args.engine_base)
    hosts = args.hosts
    if chosen:  # the engines, and the hosts --hosts names (default: the engines alone)
        hosts = list(dict.fromkeys([*(args.hosts or []), *(e.host for e in chosen)]))
    return plan.RunOptions(
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
        offline_k=args.offline,
        target_ci=args.target_ci,
        max_time_s=args.max_time if args.max_time is not None else DEFAULT_MAX_TIME_S,
    )


def run(args: argparse.Namespace) -> int:
    say = console.log
    if args.resume:
        given = [name for name, value in (("WORKLOAD", args.workloads), ("--out", args.out),
                 ("--shard", args.shard), ("--iterations", args.iterations), ("--warmup", args.warmup),
                 ("--rounds", args.rounds), ("--timeout", args.timeout),
                 ("--memory-limit", args.memory_limit), ("--target-ci", args.target_ci),
                 ("--max-time", args.max_time), ("--engine", args.engine),
                 ("--engine-base", args.engine_base)) if value]  # fmt: skip
        if given:
            console.print(f"wasinn-bench run: error: --resume continues the run as planned; "
                          f"drop {', '.join(given)}")  # fmt: skip
            return 2
        setup = plan.setup_resume(args.resume, say)
    elif args.max_time is not None and args.target_ci is None:
        console.print("wasinn-bench run: error: --max-time bounds the rounds --target-ci adds; "
                      "give --target-ci PCT too")  # fmt: skip
        return 2
    else:
        setup = plan.setup_new(_options(args), say)
    try:
        return _run(args, setup, say)
    finally:
        if setup.lock:
            setup.lock.release()  # exit releases it too; in-process callers need it now


def _run(args: argparse.Namespace, setup: plan.RunSetup, say: Callable[[str], None]) -> int:
    say(f"run folder: {setup.run_dir}")
    with Progress(
        TextColumn("{task.description}", style="bold", markup=False),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TextColumn("{task.fields[current]}", markup=False),
        console=console,
        transient=False,
    ) as progress:
        task = progress.add_task("cells x rounds", total=None, current="")

        def on_progress(message: str) -> None:
            if message == "advance":
                progress.advance(task)
            elif message.startswith("grow:"):  # --target-ci added a round
                total = progress.tasks[0].total or 0
                progress.update(task, total=total + int(message[5:]))
            elif message.startswith("widest CI"):
                progress.update(task, description=f"cells x rounds, {message}")
            else:
                progress.update(task, current=message)

        run = runner.Runner(
            setup.run_dir, setup.prepared, setup.states, setup.plan.seed, on_progress
        )
        run.offline_k = setup.plan.offline_k
        if target := setup.plan.target_ci:
            run.target_ci, run.max_time_s = target.pct, target.max_time_s
        progress.update(task, total=run.total_jobs(run.pending_jobs(setup.done)))
        finished = run.run(setup.done)
    if run.stop_reason:  # meta.json config.stop_reason: why the added rounds stopped
        setup.plan.stop_reason = run.stop_reason
    summary = finish.finish(setup, run.writer, run.machine["fingerprint"], interrupted=not finished)
    result = outcome(summary)
    code = result.exit_code(args.accept) if finished else 130
    measure = measure_of(json.loads((setup.run_dir / "meta.json").read_text()))
    if args.format == "json":
        doc = tables.run_json(str(setup.run_dir), summary, result, code, measure)
        print(json.dumps(doc, indent=1))
    else:
        tables.print_summary(summary, result, measure)
        if len(setup.plan.engines) > 1 and (base := engine_base(setup.plan)):
            tables.print_builds(base, compare_builds(read_samples(setup.run_dir), base))
    if not finished:
        console.print(f"interrupted: kept what finished in {setup.run_dir}; "
                      f"continue with: wasinn-bench run --resume {setup.run_dir} "
                      f"(or: nox -s bench -- --resume {setup.run_dir})", style="yellow")  # fmt: skip
        return 130
    if run.stop_reason:  # --target-ci: the run stopped by itself; say why
        console.print(f"stopped: {run.stop_reason}", style="bold")
    console.print(f"results: {setup.run_dir}")
    if args.report:
        from bench.present.report import write_report

        out = write_report(setup.run_dir)
        console.print(f"report: {out}")
    if code:
        console.print(result.why(code), style="bold red")
    return code
