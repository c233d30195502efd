"""What a run is asked to do (`RunOptions`, or `ResumeOptions` for `--resume`); every
default comes from bench/measure/defaults.py."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.measure.defaults import (
    DEFAULT_MAX_TIME_S,
    DEFAULT_OFFLINE_K,
    DEFAULT_SEED,
    DEFAULT_SUITE,
)
from bench.measure.matrix import Filters
from bench.results.run_plan import Overrides
from contracts import measures
from hosts.engines import Engine
from workloads.spec.workload import Workload


@dataclass
class RunOptions:
    """A new run."""

    targets: list[str] = field(default_factory=list)  # workload names or .toml paths
    suite: str = DEFAULT_SUITE
    filters: Filters = field(default_factory=Filters)
    overrides: Overrides = field(default_factory=Overrides)  # over every workload's own
    out: Path | None = None  # the run folder (default results/<run-id>)
    seed: int = DEFAULT_SEED
    shard: tuple[int, int] | None = None
    offline_k: int = DEFAULT_OFFLINE_K
    target_ci: float | None = None  # --target-ci: add rounds until every headline CI is this tight
    max_time_s: float = DEFAULT_MAX_TIME_S  # with target_ci: the run's time budget
    engines: list[Engine] = field(default_factory=list)  # --engine, checked; the base first
    workloads: list[Workload] | None = None  # already read (instead of targets/suite)
    measure: str = measures.DEFAULT  # --measure: wall | cpu | instructions (contracts/measures.py)
    machine_state: dict[str, Any] | None = None  # the machine's state before measuring


@dataclass
class ResumeOptions:
    """Finish an interrupted run as its plan.json says."""

    run_dir: Path
