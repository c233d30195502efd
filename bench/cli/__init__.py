"""`wasinn-bench` (also `python -m bench`): the command line.

One module per command under this package; each has `add_parser(subparsers)` and
`run(args) -> int` and only parses arguments, calls the library and prints.
Errors become exit codes here, in one place: 0 done, 1 a regression (compare) or
failed work, 2 bad input (`contracts.errors.UserError`, an unreadable or
unwritable file), 130 interrupted (what finished is kept). `run` adds 1 (no cell
measured), 3 (cells failed) and 4 (--target-ci not reached): bench/analyze/outcome.py.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from contracts.errors import UserError

# In the order `--help` lists them.
COMMANDS = (
    "run", "inspect", "list", "report", "compare", "history", "merge", "export", "publish", "adapt", "runtimes",
)  # fmt: skip


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    """The command line; `only`: register just that command (its module alone is
    imported, so bad input is refused before other commands' heavy imports load)."""
    parser = argparse.ArgumentParser(
        prog="wasinn-bench",
        description="Benchmark wasi-nn: preview1 module, adapted component and native "
        "component vs the backend called directly.",
        epilog="wasinn-bench wasmtime [--threads N] ARGS...: the pinned wasmtime CLI, set up "
        "as the benchmark runs it (OpenVINO found, f32), e.g. "
        "`wasinn-bench wasmtime run -S nn --dir models::. my-component.wasm`.",
    )
    sub = parser.add_subparsers(dest="command", required=True)
    for name in (only,) if only in COMMANDS else COMMANDS:
        module = importlib.import_module(f"bench.cli.{name}")
        module.add_parser(sub).set_defaults(func=module.run)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["wasmtime"]:  # everything after belongs to wasmtime, --options included
        from bench.cli import wasmtime

        return wasmtime.run_raw(argv[1:])
    args = build_parser(only=argv[0] if argv else None).parse_args(argv)
    prefix = "wasinn-bench" if args.command in ("run", "list") else f"wasinn-bench {args.command}"
    try:
        return int(args.func(args))
    except UserError as e:
        print(f"{prefix}: error: {e}", file=sys.stderr)
        return 2
    except OSError as e:
        where = f"{e.filename}: " if getattr(e, "filename", None) else ""
        print(f"{prefix}: error: {where}{e.strerror or e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt as e:  # Ctrl-C, or SIGTERM where a command turns it into one
        print(f"{prefix}: interrupted{': ' + str(e) if str(e) else ''}", file=sys.stderr)
        return 130


if __name__ == "__main__":
    raise SystemExit(main())
