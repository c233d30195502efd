"""The workload kinds, by name (`Workload.kind`): each prepares, checks, runs and
compares its own sort of workload (the protocol: bench/measure/workload_kind.py).

A new kind is one module here with an object implementing `WorkloadKind`, listed in
`KINDS` (docs/architecture.md, "A workload kind")."""

from __future__ import annotations

from bench.measure.kinds import generate, model, program
from bench.measure.workload_kind import WorkloadKind
from workloads.spec.workload import Workload

KINDS: dict[str, WorkloadKind] = {k.name: k for k in (model.KIND, program.KIND, generate.KIND)}


def get_kind(name: str) -> WorkloadKind:
    try:
        return KINDS[name]
    except KeyError:
        raise ValueError(f"unknown workload kind {name!r}; known: {', '.join(KINDS)}") from None


def kind_of(w: Workload) -> WorkloadKind:
    return get_kind(w.kind)
