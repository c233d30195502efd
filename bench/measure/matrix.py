"""Expand workloads x axes into cells, and decide up front which cannot run."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from bench.measure.kinds import kind_of
from contracts.cells import Cell
from contracts.hosts import HOST_TABLE, base_host, host_variants
from workloads.spec.workload import Workload


@dataclass
class Filters:
    variants: list[str] | None = None
    hosts: list[str] | None = None
    backends: list[str] | None = None
    devices: list[str] | None = None

    def keep(self, axis: str, value: str) -> bool:
        chosen = getattr(self, axis)
        return chosen is None or value in chosen


def expand(workloads: Iterable[Workload], filters: Filters) -> list[Cell]:
    """Every cell the workloads and filters ask for.

    Variants, hosts and backends filter the workload's own lists; devices
    replace the workload's default devices.

    The native baseline of each (workload, backend, device) always runs when
    any cell of that group does: overhead and agreement are measured against it.
    The native-c baseline (the same C driver compiled natively) runs like it, even
    when --hosts leaves it out, whenever the group has a wasm cell and the workload
    lists host native-c: it is the headline baseline of the wasm cells
    (overhead_vs_native_c). A workload drops it by leaving native-c out of `hosts`;
    where native-c cannot run the probe marks it unsupported and the headline falls
    back to native.
    """
    cells: list[Cell] = []
    # Releases and instances (`NAME@X`, `NAME[ID]`) come only from --hosts, each after its base.
    named = [h for h in filters.hosts or [] if base_host(h) != h]
    hosts = [
        x
        for h, facts in HOST_TABLE.items()
        for x in (
            (() if facts.instances_only else (h,)) + tuple(r for r in named if base_host(r) == h)
        )
    ]
    for w in workloads:
        for backend in w.backends:
            if not filters.keep("backends", backend):
                continue
            # A workload's devices are its default; --devices replaces them (gpu is opt-in).
            for device in filters.devices or w.devices:
                group = [
                    Cell(w.name, variant, host, backend, device)
                    for host in hosts
                    if base_host(host) in w.hosts and filters.keep("hosts", host)
                    for variant in host_variants(host)
                    if variant in w.variants and filters.keep("variants", variant)
                ]
                # A kind with no native twin (a program) compares with preview1 instead.
                if group and kind_of(w).native_baselines:
                    baseline = group[0].baseline
                    native_c = baseline.native_c_baseline
                    wasm = any(not c.is_native for c in group)
                    if wasm and native_c.host in w.hosts and native_c not in group:
                        group.insert(0, native_c)
                    # the baselines first: native, then native-c
                    group = [baseline] + [c for c in group if c != baseline]
                cells += group
    return cells


def shard_of(cells: list[Cell], index: int, count: int) -> list[Cell]:
    """Shard i/n (1-based) by (workload, backend, device) groups, so that each
    shard holds every cell's native baseline."""
    groups = sorted({(c.workload, c.backend, c.device) for c in cells})
    mine = {g for i, g in enumerate(groups) if i % count == index - 1}
    return [c for c in cells if (c.workload, c.backend, c.device) in mine]


def probe(cell: Cell) -> tuple[str, str] | None:
    """(status, reason) when the cell cannot run here, found by asking the host."""
    from hosts import get_host

    try:
        said = get_host(cell.host).probe(cell.variant, cell.backend, cell.device)
    except Exception as e:  # a host that cannot even be set up here
        return "unsupported", f"host {cell.host} unavailable: {type(e).__name__}: {e}"
    return None if said.ok else (said.status, said.reason)
