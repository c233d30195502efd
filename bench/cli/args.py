"""Argument types shared by the commands: each rejects bad values as a usage error (exit 2)."""

from __future__ import annotations

import argparse
import math
import re
from collections.abc import Callable
from pathlib import Path

from contracts.hosts import check_host, host_choices


def axis_list(allowed: tuple[str, ...]) -> Callable[[str], list[str]]:
    def parse(text: str) -> list[str]:
        values = [v.strip() for v in text.split(",") if v.strip()]
        bad = [v for v in values if v not in allowed]
        if bad or not values:
            raise argparse.ArgumentTypeError(
                f"unknown value(s) {', '.join(bad) or '(none)'}; choose from {','.join(allowed)}"
            )
        return values

    return parse


def host_list(text: str) -> list[str]:
    """Hosts, releases included (`wasmtime-cli@45.0.2`); whether a release exists is
    checked before the run (hosts.prepare_hosts), so its message can list the index."""
    values = list(dict.fromkeys(v.strip() for v in text.split(",") if v.strip()))
    bad = [why for v in values if (why := check_host(v))]
    if bad or not values:
        raise argparse.ArgumentTypeError(
            f"{'; '.join(bad) or 'no host given'}; choose from {host_choices()} "
            "(releases: see `wasinn-bench runtimes`)"
        )
    return values


def shard(text: str) -> tuple[int, int]:
    try:
        i, n = (int(x) for x in text.split("/"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"--shard wants i/n (e.g. 1/3), got {text!r}") from None
    if not 1 <= i <= n:
        raise argparse.ArgumentTypeError(f"--shard {text}: need 1 <= i <= n")
    return i, n


def _finite(text: str, kind: type = float) -> int | float:
    """A number from the command line: `nan` and `inf` are refused (a timeout of nan
    would switch the timeout off: every comparison with nan is false)."""
    try:
        value = kind(text)
    except (ValueError, OverflowError):
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"expected a finite number, got {text!r}")
    return value


def at_least(minimum: float, kind: type = int) -> Callable[[str], int | float]:
    def parse(text: str) -> int | float:
        value = _finite(text, kind)
        if value < minimum:
            raise argparse.ArgumentTypeError(f"must be >= {minimum:g}, got {value:g}")
        return value

    return parse


positive = at_least(1)
non_negative = at_least(0)


def above_one(text: str) -> float:
    """A slowdown factor: a finite number > 1."""
    value = _finite(text)
    if not value > 1:
        raise argparse.ArgumentTypeError(f"must be > 1, got {value:g}")
    return value


def percent(text: str) -> float:
    """A CI half-width target in percent: a finite number > 0."""
    value = _finite(text)
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be a percentage > 0, got {text!r}")
    return value


_DURATION = re.compile(r"(?:(\d+(?:\.\d+)?)h)?(?:(\d+(?:\.\d+)?)m)?(?:(\d+(?:\.\d+)?)s?)?")


def duration(text: str) -> float:
    """Seconds from '90s', '15m', '1h', '1h30m' or a plain number of seconds (> 0)."""
    m = _DURATION.fullmatch(text.strip().lower())
    if not text.strip() or m is None or not any(m.groups()):
        raise argparse.ArgumentTypeError(f"expected a duration like 90s, 15m or 1h, got {text!r}")
    h, mins, secs = (float(g) if g else 0.0 for g in m.groups())
    seconds = h * 3600 + mins * 60 + secs
    if not 0 < seconds < math.inf:
        raise argparse.ArgumentTypeError(f"must be > 0, got {text!r}")
    return seconds


def input_shape(text: str) -> tuple[str, list[int]]:
    """--shape NAME=D1,D2,... (NAME= alone: a rank-0 input)."""
    name, sep, dims = text.rpartition("=")
    if not sep or not name:
        raise argparse.ArgumentTypeError(f"{text!r}: give INPUT=D1,D2,... e.g. x=1,3,224,224")
    try:
        shape = [int(d) for d in dims.replace("x", ",").split(",") if d.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r}: the dims of {name!r} are positive integers, e.g. {name}=1,3,224,224"
        ) from None
    if any(d <= 0 for d in shape):
        raise argparse.ArgumentTypeError(f"{text!r}: dims must be positive")
    return name, shape


def input_file(text: str) -> tuple[str, Path]:
    """--input-file NAME=PATH."""
    name, sep, path = text.partition("=")
    if not sep or not name or not path:
        raise argparse.ArgumentTypeError(f"{text!r}: give INPUT=PATH, e.g. x=image.npy")
    return name, Path(path)


def accept_list(text: str) -> frozenset[str]:
    """`run --accept failed,target-ci`: the exit conditions to pass anyway."""
    from bench.analyze.outcome import ACCEPTABLE  # pandas: not on the way to a usage error

    return frozenset(axis_list(tuple(ACCEPTABLE))(text))
