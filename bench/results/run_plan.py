"""plan.json: what a run will do, decided before anything is measured, as one typed
record. `--resume` continues exactly this plan; meta.json's `config` is a view of it;
a run killed before it finished reads back from it (with progress.jsonl).

The plan is written once, before anything is measured, and never edited after: what
happened (why added rounds stopped) is in meta.json. Keys absent in older runs
(`target_ci`, `identity`, `machine_state`) read back as None, `measure` as "wall",
`engines` as []; an older run's `stop_reason` is ignored.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from bench.results.checksums import verify
from bench.results.store import RunFolderError, write_json

FILE = "plan.json"


@dataclass
class Overrides:
    """The command line's values over every workload's own (None: the workload's)."""

    iterations: int | None = None
    warmup: int | None = None
    rounds: int | None = None
    timeout_s: float | None = None
    memory_limit_mb: int | None = None


@dataclass
class TargetCI:
    """--target-ci: add interleaved rounds until every headline CI is this tight."""

    pct: float
    max_time_s: float

    @classmethod
    def of_meta(cls, meta: dict[str, Any]) -> TargetCI | None:
        """The target a run recorded (meta.json `config.target_ci`, a view of its plan)."""
        target = (meta.get("config") or {}).get("target_ci")
        return cls(float(target["pct"]), float(target["max_time_s"])) if target else None


@dataclass
class PlannedCell:
    key: str  # Cell.key
    status: str  # pending, or decided before anything ran: unsupported | skipped
    reason: str = ""


CELL_PART = re.compile(r"[A-Za-z0-9][A-Za-z0-9._@+-]{0,99}")  # one part of a cell key
CELL_STATUSES = ("pending", "unsupported", "skipped", "failed")


def _whole(x: object, low: int = 0) -> bool:
    return isinstance(x, int) and not isinstance(x, bool) and low <= x < 2**31


def _positive(x: object) -> bool:
    ok = isinstance(x, int | float) and not isinstance(x, bool)
    return ok and math.isfinite(x) and 0 < x < 1e9  # type: ignore[arg-type]


def _overrides_problem(o: object) -> str | None:
    if not isinstance(o, dict):
        return "field 'overrides': not an object"
    for k in ("iterations", "warmup", "rounds", "memory_limit_mb", "timeout_s"):
        v = o.get(k)
        ok = _positive(v) if k == "timeout_s" else _whole(v, 0 if k == "warmup" else 1)
        if v is not None and not ok:
            return f"field 'overrides.{k}': {str(v)[:40]!r} is out of range"
    return None


def _cells_problem(cells: object) -> str | None:
    if not isinstance(cells, list):
        return "field 'cells': not a list"
    for i, c in enumerate(cells):
        parts = c.get("key", "").split("/") if isinstance(c, dict) and isinstance(c.get("key"), str) else []
        if len(parts) != 5 or not all(CELL_PART.fullmatch(p) for p in parts):
            return f"field 'cells[{i}].key': not a cell key (workload/variant/host/backend/device)"
        if c.get("status") not in CELL_STATUSES or not isinstance(c.get("reason", ""), str):
            return f"field 'cells[{i}]': status must be one of {', '.join(CELL_STATUSES)}"
    return None


def plan_problem(d: object) -> str | None:
    """Why plan.json cannot be continued or read back, naming the field, or None."""
    if not isinstance(d, dict):
        return "not a JSON object"
    if not isinstance(d.get("run_id"), str):
        return "field 'run_id': missing or not text"
    if not _whole(d.get("seed", 0)) or not _whole(d.get("offline_k", 0)):
        return "field 'seed' or 'offline_k': not a whole number >= 0"
    workloads = d.get("workloads", [])
    if not isinstance(workloads, list) or not all(isinstance(w, str) for w in workloads):
        return "field 'workloads': not a list of paths"
    target = d.get("target_ci")
    if target is not None and not (
        isinstance(target, dict) and _positive(target.get("pct"))
        and _positive(target.get("max_time_s"))
    ):  # fmt: skip
        return "field 'target_ci': needs finite numbers pct and max_time_s > 0"
    return _overrides_problem(d.get("overrides") or {}) or _cells_problem(d.get("cells", []))


@dataclass
class Plan:
    run_id: str
    seed: int = 0
    offline_k: int = 0
    workloads: list[str] = field(default_factory=list)  # absolute .toml paths
    overrides: Overrides = field(default_factory=Overrides)
    filters: dict[str, list[str] | None] = field(default_factory=dict)
    shard: str | None = None  # "i/n"
    target_ci: TargetCI | None = None
    cells: list[PlannedCell] = field(default_factory=list)
    identity: dict[str, Any] | None = None  # what --resume checks (bench/measure/identity.py)
    # --engine: {name, path | template, version}, the base (--engine-base) first
    engines: list[dict[str, Any]] = field(default_factory=list)
    measure: str = "wall"  # --measure: the unit of every sample (contracts/measures.py)
    machine_state: dict[str, Any] | None = None  # load, steal, MHz before measuring

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> Plan:
        target = d.get("target_ci")
        return cls(
            run_id=str(d["run_id"]),
            seed=int(d.get("seed") or 0),
            offline_k=int(d.get("offline_k") or 0),
            workloads=list(d.get("workloads") or []),
            overrides=Overrides(**(d.get("overrides") or {})),
            filters=dict(d.get("filters") or {}),
            shard=d.get("shard"),
            target_ci=TargetCI(**target) if target else None,
            cells=[PlannedCell(**c) for c in d.get("cells") or []],
            identity=d.get("identity"),
            engines=list(d.get("engines") or []),
            measure=str(d.get("measure") or "wall"),
            machine_state=d.get("machine_state"),
        )

    def config(self) -> dict[str, Any]:
        """meta.json's `config`: how the run was asked for."""
        d = self.to_json()
        keys = ("seed", "offline_k", "overrides", "filters", "workloads", "target_ci", "measure",
                "engines")  # fmt: skip
        return {k: d[k] for k in keys}

    def write(self, run_dir: Path) -> None:
        write_json(run_dir / FILE, self.to_json())

    @classmethod
    def read(cls, run_dir: Path) -> Plan:
        path = run_dir / FILE
        verify(path)
        try:
            d = json.loads(path.read_text())
        except (OSError, ValueError) as e:  # ValueError: bad JSON or not UTF-8
            raise RunFolderError(f"{path}: unreadable: {e}") from None
        if problem := plan_problem(d):
            raise RunFolderError(f"{path}: {problem}")
        try:
            return cls.from_json(d)
        except (KeyError, TypeError, ValueError) as e:
            raise RunFolderError(f"{path}: unreadable: {e}") from None
