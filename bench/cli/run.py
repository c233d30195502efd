"""The `run` and `list` commands: console output around the runner."""

from __future__ import annotations

import argparse
import math
import os
import sys

import pandas as pd
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from bench.measure import plan, record, runner
from bench.measure.matrix import Filters
from bench.results.schema import NOISE_CV

console = Console(stderr=True)


def _stdout_console() -> Console:
    # Logs (CI, nox) are not terminals: rich would wrap the table at 80 columns.
    return Console() if sys.stdout.isatty() else Console(width=int(os.environ.get("COLUMNS", 200)))


def run_command(args: argparse.Namespace) -> int:
    say = console.log
    if args.resume:
        given = [name for name, value in (("WORKLOAD", args.workloads), ("--out", args.out),
                 ("--shard", args.shard), ("--iterations", args.iterations), ("--warmup", args.warmup),
                 ("--rounds", args.rounds), ("--timeout", args.timeout),
                 ("--memory-limit", args.memory_limit)) if value]  # fmt: skip
        if given:
            console.print(f"wasinn-bench run: error: --resume continues the run as planned; "
                          f"drop {', '.join(given)}")  # fmt: skip
            return 2
        setup = plan.setup_resume(args.resume, say)
    else:
        options = plan.RunOptions(
            targets=args.workloads,
            suite=args.suite,
            filters=Filters(args.variants, args.hosts, args.backends, args.devices),
            iterations=args.iterations,
            warmup=args.warmup,
            rounds=args.rounds,
            out=args.out,
            timeout_s=args.timeout,
            memory_limit_mb=args.memory_limit,
            seed=args.seed,
            shard=args.shard,
            offline_k=args.offline,
        )
        setup = plan.setup_new(options, say)
    say(f"run folder: {setup.run_dir}")
    with Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TextColumn("{task.fields[current]}"),
        console=console,
        transient=False,
    ) as progress:
        task = progress.add_task("cells x rounds", total=None, current="")

        def on_progress(message: str) -> None:
            if message == "advance":
                progress.advance(task)
            else:
                progress.update(task, current=message)

        run = runner.Runner(
            setup.run_dir, setup.prepared, setup.states, setup.plan["seed"], on_progress
        )
        run.offline_k = int(setup.plan.get("offline_k") or 0)
        progress.update(task, total=run.total_jobs(run.pending_jobs(setup.done)))
        finished = run.run(setup.done)
    summary = record.finish(setup, run, interrupted=not finished)
    print_summary(summary)
    print_variant_ratios(setup.run_dir)
    if not finished:
        console.print(f"[yellow]interrupted: kept what finished in {setup.run_dir}; "
                      f"continue with: wasinn-bench run --resume {setup.run_dir} "
                      f"(or: nox -s bench -- --resume {setup.run_dir})")  # fmt: skip
        return 130
    console.print(f"results: {setup.run_dir}")
    if args.report:
        from bench.present.report import write_report

        out = write_report(setup.run_dir)
        console.print(f"report: {out}")
    return 0


def _fmt(value: object, digits: int = 3) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    if isinstance(value, float):
        return f"{value:.{digits}g}" if abs(value) < 1000 else f"{value:.0f}"
    return str(value)


def print_summary(summary: pd.DataFrame) -> None:
    table = Table(title="wasi-nn bench summary (p50 of set_input+compute+get_output per iteration)")
    for col in ("workload", "variant", "host", "backend", "device", "status", "p50 ms", "95% CI", "cv (robust)",
                "vs native", "agrees", "reason"):  # fmt: skip
        table.add_column(col, overflow="fold")
    for _, row in summary.iterrows():
        status = row["status"]
        colour = {"ok": "green", "failed": "red", "unsupported": "yellow", "skipped": "dim"}.get(
            status, ""
        )
        cv = row.get("cv")
        noisy = isinstance(cv, float) and not math.isnan(cv) and cv > NOISE_CV
        ci = (
            f"[{_fmt(row.get('p50_ci_low_ms'))}, {_fmt(row.get('p50_ci_high_ms'))}]"
            if status == "ok"
            else ""
        )
        table.add_row(
            row["workload"], row["variant"], row["host"], row["backend"], row["device"],
            f"[{colour}]{status}[/]", _fmt(row.get("p50_ms")), ci,
            ("[yellow]" if noisy else "") + _fmt(cv, 2) + f" ({_fmt(row.get('cv_robust'), 2)})", _fmt(row.get("overhead_vs_native")),
            _fmt(row.get("agrees")), str(row.get("reason") or "")[:160],
        )  # fmt: skip
    _stdout_console().print(table)


def trial_run() -> list[plan.CellState]:
    """Every cell of mlp-tiny for one iteration in a scratch folder: what runs here is
    found by trying (e.g. the CLI's build has no ONNX backend), not from a table."""
    import tempfile
    from pathlib import Path

    with tempfile.TemporaryDirectory(prefix="wasinn-bench-list-") as tmp:
        options = plan.RunOptions(
            targets=["mlp-tiny"], filters=Filters(devices=["cpu", "gpu"]), iterations=1, warmup=0,
            rounds=1, out=Path(tmp) / "run", timeout_s=120,
        )  # fmt: skip
        setup = plan.setup_new(options, lambda _msg: None)
        runner.Runner(setup.run_dir, setup.prepared, setup.states, seed=0).run(set())
        return setup.states


def print_variant_ratios(run_dir) -> None:
    from bench.analyze import stats
    from bench.analyze.summarize import variant_ratios
    from bench.results import store

    ratios = variant_ratios(store.read_samples(run_dir))
    if ratios.empty:
        return
    table = Table(
        title="adapted and component vs preview1 (same run; median ratio [95% CI], Δ µs per iteration)"
    )
    for col in ("workload", "host", "backend", "device", "variant", "vs preview1", "Δ total", "Δ set_input",
                "Δ compute", "Δ get_output"):  # fmt: skip
        table.add_column(col)
    for _, r in ratios.iterrows():
        deltas = [_fmt(r[f"delta_{p}_us"]) for p in ("total", "set_input", "compute", "get_output")]
        ratio = stats.Ratio(r["ratio"], r["ci_low"], r["ci_high"]).pct()
        table.add_row(
            r["workload"], r["host"], r["backend"], r["device"], r["variant"], ratio, *deltas
        )
    _stdout_console().print(table)


def list_command() -> int:
    from bench.measure.workload import load_workload, workload_files
    from hosts.backends import get_backend

    out = _stdout_console()
    wl = Table(title="workloads")
    for col in ("name", "suites", "model", "backends", "devices", "description"):
        wl.add_column(col)
    for path in workload_files():
        w = load_workload(path)
        wl.add_row(
            w.name,
            ",".join(w.suites),
            w.model_label,
            ",".join(w.backends),
            ",".join(w.devices),
            w.description,
        )
    out.print(wl)

    devices = Table(title="backends and devices")
    for col in ("backend", "version", "device", "available"):
        devices.add_column(col)
    for name in ("onnx", "openvino"):
        backend = get_backend(name)
        for device, reason in backend.devices().items():
            devices.add_row(
                name,
                backend.version(),
                device,
                "[green]yes" if reason is None else f"[yellow]no: {reason}",
            )
    out.print(devices)

    cells = Table(
        title="variants x hosts x backends x devices, found by a trial run of mlp-tiny here"
    )
    for col in ("variant", "host", "backend", "device", "available"):
        cells.add_column(col)
    for s in trial_run():
        text = "[green]yes" if s.status == "ok" else f"[yellow]{s.status}: {s.reason}"
        cells.add_row(s.cell.variant, s.cell.host, s.cell.backend, s.cell.device, text)
    out.print(cells)
    return 0


def wasmtime_command(args: list[str], threads: int) -> int:
    """The wheel's CLI with the harness's OpenVINO setup (hosts/wasmtime_cli.py)."""
    import subprocess

    from hosts.wasmtime_cli import cli_binary, openvino_dir

    env = dict(os.environ)
    env["LD_LIBRARY_PATH"] = os.pathsep.join(
        p for p in (str(openvino_dir(threads)), env.get("LD_LIBRARY_PATH", "")) if p
    )
    return subprocess.call([str(cli_binary()), *args], env=env)
