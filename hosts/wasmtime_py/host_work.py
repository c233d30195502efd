"""Host work inside the wasi-nn host calls, per guest iteration (wasmtime-py hosts).

The guest times set_input, compute and get_output with the WASI clock around its
wasi-nn calls. The host times the body of each host function with perf_counter_ns:
the part of a guest phase spent in our Python wasi-nn (backend included). The phase
minus its host work is the binding (wasmtime-py lifting/lowering the values, the
call itself) plus the guest's own few instructions.

Host calls are attributed to iterations by counting computes: our driver (and the
adapter) makes exactly one compute per iteration, its set_input calls (the WIT
tensor constructor) before it and its get_output calls (`tensor.data`) after it
(workloads/guests/src/driver.c). Warm-up iterations come first; the last
`iterations` are the measured ones.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from contracts.phases import HOST_WORK_PHASES

# The guest phase of each wasi-nn host function, preview1 ABI and WIT.
PHASE_OF = {
    "set_input": "set_input",
    "compute": "compute",
    "get_output": "get_output",
    "[constructor]tensor": "set_input",
    "[method]graph-execution-context.compute": "compute",
    "[method]tensor.data": "get_output",
}


class HostWork:
    """Collects (phase, ns) of every timed host call, in call order."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, int]] = []

    def timed(self, name: str, fn: Callable[..., Any]) -> Callable[..., Any]:
        """fn, timing its body when `name` is a per-iteration host function."""
        phase = PHASE_OF.get(name)
        if phase is None:
            return fn
        calls = self.calls

        def wrapper(*args: Any) -> Any:
            t0 = time.perf_counter_ns()
            try:
                return fn(*args)
            finally:
                calls.append((phase, time.perf_counter_ns() - t0))

        return wrapper

    def per_iteration(self, iterations: int, pick: list[int] | None = None) -> dict[str, list[int]]:
        """{"host_set_input": [...], "host_compute": [...], "host_get_output": [...]}
        for the last `iterations` iterations (or the iterations numbered in `pick`: a
        generate job's decode steps); {} when the calls do not have the driver's shape
        (fewer computes than iterations: not our driver)."""
        # One iteration = set_input* compute get_output*: a set_input after a compute,
        # or a second compute, starts the next one.
        iters: list[dict[str, int]] = []
        computed = True  # no open iteration yet
        for phase, ns in self.calls:
            if (phase == "set_input" and computed) or (phase == "compute" and computed):
                iters.append(dict.fromkeys(HOST_WORK_PHASES, 0))
                computed = False
            if not iters:
                continue  # a get_output before any iteration: not the driver's shape
            iters[-1][phase] += ns
            computed = computed or phase == "compute"
        if not computed:
            iters.pop()  # the last iteration never computed
        if pick is not None:
            if not pick or len(iters) <= max(pick):
                return {}
            last = [iters[i] for i in pick]
        elif len(iters) < iterations or iterations <= 0:
            return {}
        else:
            last = iters[-iterations:]
        return {HOST_WORK_PHASES[p]: [s[p] for s in last] for p in HOST_WORK_PHASES}
