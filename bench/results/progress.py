"""progress.jsonl: one line per finished (cell, round), and what it says of a run.

`replay` is the one reading of it: where `--resume` picks up, and how a run that
was killed before it could finish reads back.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.results.run_plan import Plan
from bench.results.store import RunFolderError
from contracts.cells import Cell

OFFLINE_ROUND = -1  # progress.jsonl round number of the offline-throughput pass


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


STATUSES = ("ok", "failed", "unsupported", "skipped", "offline-failed")


def _is_int(x: object) -> bool:
    return isinstance(x, int) and not isinstance(x, bool)


def entry_problem(e: object) -> str | None:
    """Why a progress line cannot be replayed, or None (its fields and their types)."""
    if not isinstance(e, dict) or not isinstance(e.get("cell"), str):
        return "not a progress entry (no cell)"
    if not _is_int(e.get("round")) or not OFFLINE_ROUND <= e["round"] < 10**6:
        return f"round {str(e.get('round'))[:20]!r} is not a round number"
    if e.get("status") not in STATUSES:
        return f"status {str(e.get('status'))[:20]!r} is not one of {', '.join(STATUSES)}"
    if not isinstance(e.get("reason", ""), str):
        return "reason is not text"
    if not _is_int(e.get("peak_rss_kb", 0)) or e.get("peak_rss_kb", 0) < 0:
        return "peak_rss_kb is not a size"
    notes = e.get("notes", {})
    if not isinstance(notes, dict) or not all(isinstance(v, str) for v in notes.values()):
        return "notes is not an object of text"
    rate = e.get("offline_ips")
    if rate is not None and (not isinstance(rate, int | float) or not 0 < rate < 1e12):
        return "offline_ips is not a rate"
    return None


NOT_RUN = "not run (interrupted)"


def cell_row(s: CellState, offline_k: int = 0) -> dict[str, Any]:
    """The cells.csv columns a cell's state gives (bench.results.schema.CELL_COLUMNS), the
    one reading of a state as a row: a cell still pending (the run was interrupted
    before it ran) is `skipped`, "not run (interrupted)"."""
    pending = s.status == "pending"
    return {
        **s.cell.to_dict(),
        "status": "skipped" if pending else s.status,
        "reason": NOT_RUN if pending else s.reason,
        "rounds": s.rounds_done,
        "peak_rss_mb": round(s.peak_rss_kb / 1024, 1) if s.peak_rss_kb else None,
        "load_mode": s.notes.get("load_mode", ""),
        "guest_properties": s.notes.get("guest_properties", ""),
        "offline_k": offline_k if s.offline_ips else None,
        "offline_ips": s.offline_ips,
        **abi_bytes(s.notes),
    }


def abi_bytes(notes: dict[str, str]) -> dict[str, int]:
    """A generative cell's counted bytes per decode step (hosts/decoding.py)."""
    i, o = notes.get("abi_bytes_in_per_token"), notes.get("abi_bytes_out_per_token")
    if i is None or o is None:
        return {}
    return {"abi_bytes_per_token": int(i) + int(o), "abi_bytes_in_per_token": int(i),
            "abi_bytes_out_per_token": int(o)}  # fmt: skip


def read_progress(run_dir: Path) -> list[dict[str, Any]]:
    """The entries of progress.jsonl; a line cut by a kill is skipped, a line that
    decodes but says something impossible is a RunFolderError naming it."""
    path = run_dir / "progress.jsonl"
    if not path.exists():
        return []
    entries = []
    try:
        lines = path.read_text().splitlines()
    except (OSError, UnicodeDecodeError) as e:
        raise RunFolderError(f"{path}: unreadable: {e}") from None
    for n, line in enumerate(lines, start=1):
        try:
            entry = json.loads(line)
        except json.JSONDecodeError:
            continue  # a line cut by a kill mid-write
        if problem := entry_problem(entry):
            raise RunFolderError(f"{path}:{n}: {problem}")
        entries.append(entry)
    return entries


def replay(
    plan: Plan, progress: list[dict[str, Any]]
) -> tuple[list[CellState], set[tuple[str, int]]]:
    """Every planned cell's state after the (cell, round) entries of progress.jsonl, and
    which of those are done: where `--resume` picks up, and how a killed run reads back."""
    states = [CellState(Cell.from_key(c.key), status=c.status, reason=c.reason) for c in plan.cells]
    by_key = {s.cell.key: s for s in states}
    done: set[tuple[str, int]] = set()
    for e in progress:
        s = by_key.get(e["cell"])
        if s is None or (e["cell"], e["round"]) in done:
            continue  # another run's cell; a round recorded twice counts once
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
    return states, done
