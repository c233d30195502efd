"""plan.json: what a run will do, decided before anything is measured, as one typed
record. `--resume` continues exactly this plan; meta.json's `config` is a view of it;
a run killed before it finished reads back from it (with progress.jsonl).

The plan is written once, before anything is measured, and never edited after: what
happened (why added rounds stopped) is in meta.json. Keys absent in older runs
(`target_ci`, `identity`, `machine_state`) read back as None, `measure` as "wall"; an
older run's `stop_reason` is ignored.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

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
            measure=str(d.get("measure") or "wall"),
            machine_state=d.get("machine_state"),
        )

    def config(self) -> dict[str, Any]:
        """meta.json's `config`: how the run was asked for."""
        d = self.to_json()
        keys = ("seed", "offline_k", "overrides", "filters", "workloads", "target_ci", "measure")
        return {k: d[k] for k in keys}

    def write(self, run_dir: Path) -> None:
        write_json(run_dir / FILE, self.to_json())

    @classmethod
    def read(cls, run_dir: Path) -> Plan:
        path = run_dir / FILE
        try:
            return cls.from_json(json.loads(path.read_text()))
        except (OSError, json.JSONDecodeError, KeyError, TypeError, ValueError) as e:
            raise RunFolderError(f"{path}: unreadable: {e}") from None
