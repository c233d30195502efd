"""What a worker reports, checked before the runner records it (docs/reliability.md).

A worker's result.json carries numbers a guest or a program wrote itself (its samples
file, its bench regions), so the runner treats it as untrusted: `check_result` answers
the reason it cannot be recorded (type, range, count), or None. A bad report fails
its own cell; it never reaches the samples, the statistics or another cell.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from contracts.phases import MAX_NS, OWN_COUNT_PHASES

STATUSES = ("ok", "failed", "skipped", "unsupported")
PHASE_NAME = re.compile(r"[a-z][a-z0-9_]{0,31}")
MAX_ITERATIONS = 10_000_000  # per phase and round
MAX_NOTES = 64  # notes per round
MAX_NOTE_CHARS = 4096  # one note's key or value
MAX_REASON_CHARS = 8192
MAX_PEAK_RSS_KB = 2**40  # 1 PiB
MAX_RESULT_BYTES = 1 << 30  # a result.json of 10 M samples is ~200 MB


def _is_int(x: object) -> bool:
    return isinstance(x, int) and not isinstance(x, bool)


def check_ns(values: object, what: str) -> str | None:
    """None when `values` is a list of whole nanoseconds in [0, MAX_NS]."""
    if not isinstance(values, list):
        return f"{what}: not a list of samples"
    if len(values) > MAX_ITERATIONS:
        return f"{what}: {len(values)} samples, more than {MAX_ITERATIONS}"
    for i, ns in enumerate(values):
        if not _is_int(ns) or not 0 <= ns <= MAX_NS:
            return f"{what}[{i}]: {str(ns)[:40]!r} is not a time in ns (0 to {MAX_NS})"
    return None


def _check_phases(per_iteration: object) -> str | None:
    if not isinstance(per_iteration, dict) or "total" not in per_iteration:
        return "per_iteration: no 'total' samples"
    lengths = set()
    for phase, values in per_iteration.items():
        if not isinstance(phase, str) or not PHASE_NAME.fullmatch(phase):
            return f"per_iteration: bad phase name {str(phase)[:40]!r}"
        problem = check_ns(values, f"per_iteration.{phase}")
        if problem:
            return problem
        if phase not in OWN_COUNT_PHASES:  # one per program run, one per generation
            lengths.add(len(values))
    if not lengths or lengths == {0}:
        return "per_iteration: no samples"
    if len(lengths) > 1:
        return f"per_iteration: phases of different lengths {sorted(lengths)}"
    return None


def _check_once(per_round: object) -> str | None:
    if not isinstance(per_round, dict):
        return "per_round: not an object"
    for phase, ns in per_round.items():
        if not isinstance(phase, str) or not PHASE_NAME.fullmatch(phase):
            return f"per_round: bad phase name {str(phase)[:40]!r}"
        problem = check_ns([ns], f"per_round.{phase}")
        if problem:
            return problem
    return None


def _check_extras(result: dict[str, Any]) -> str | None:
    notes = result.get("notes", {})
    if not isinstance(notes, dict) or len(notes) > MAX_NOTES:
        return f"notes: not an object of at most {MAX_NOTES} entries"
    for k, v in notes.items():
        if not isinstance(v, str) or len(k) > MAX_NOTE_CHARS or len(v) > MAX_NOTE_CHARS:
            return f"notes.{str(k)[:40]}: not a string of at most {MAX_NOTE_CHARS} characters"
    rss = result.get("peak_rss_kb", 0)
    if not _is_int(rss) or not 0 <= rss <= MAX_PEAK_RSS_KB:
        return f"peak_rss_kb: {str(rss)[:40]!r} is not a size in KiB"
    names = result.get("output_names", [])
    if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
        return "output_names: not a list of names"
    return None


def check_result(result: object) -> str | None:
    """Why a worker's result cannot be recorded, or None when it can."""
    if not isinstance(result, dict) or result.get("status") not in STATUSES:
        return "not a worker result (no known status)"
    if result["status"] != "ok":
        return None if isinstance(result.get("reason", ""), str) else "reason: not a string"
    return (
        _check_phases(result.get("per_iteration"))
        or _check_once(result.get("per_round", {}))
        or _check_extras(result)
    )


def checked(result: object) -> dict[str, Any]:
    """`result` when it can be recorded, else a `failed` result saying why."""
    problem = check_result(result)
    if problem is None:
        assert isinstance(result, dict)
        if result["status"] != "ok":  # a reason quotes guest output: keep it short
            return {**result, "reason": result.get("reason", "")[:MAX_REASON_CHARS]}
        return result
    return {"status": "failed", "reason": f"bad report from the worker: {problem}"}


def read_result(path: Path) -> dict[str, Any]:
    """A worker's result.json, checked; a file that is not one fails its cell."""
    try:
        if path.stat().st_size > MAX_RESULT_BYTES:
            return {"status": "failed", "reason": f"{path.name}: over {MAX_RESULT_BYTES} bytes"}
        result = json.loads(path.read_text())
    except (OSError, ValueError) as e:  # ValueError: bad JSON or bad UTF-8
        return {"status": "failed", "reason": f"{path.name}: unreadable: {e}"[:MAX_REASON_CHARS]}
    return checked(result)
