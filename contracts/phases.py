"""The names of the measured phases, shared by hosts, the result schema and the analysis."""

from __future__ import annotations

# Per iteration, timed by the guest (or the native host), in nanoseconds.
ITERATION_PHASES = ("set_input", "compute", "get_output")
# Their sum per iteration: the headline latency.
TOTAL = "total"
# Every per-iteration phase a host reports (TOTAL last).
MEASURED_PHASES = (*ITERATION_PHASES, TOTAL)
# Generative workloads (docs/decoding.md): time to first token, one sample per generation
# (iteration = the generation's index); the iteration phases are then the decode steps.
TTFT = "ttft"
# Once per round, timed by the host (absent ones are simply missing).
ROUND_PHASES = ("compile", "instantiate", "load", "init")
# Program workloads (docs/programs.md): the whole run's wall time, one sample per program
# run (iteration = the run's index in its round); `total` is then one bench region each.
PROCESS = "process"
# Host work inside the wasi-nn host functions, per iteration (wasmtime-py hosts only):
# the time spent in the body of the host calls that fall in each guest-timed phase.
# The phase minus its host work is the binding (value conversion, call) plus the guest.
HOST_WORK_PHASES = {p: f"host_{p}" for p in ITERATION_PHASES}
# Per-iteration phases counted in their own unit, not one sample per iteration: one per
# program run, one per generation.
OWN_COUNT_PHASES = (PROCESS, TTFT)
# The longest time any report may carry (one day, in ns): a guest or a program writes its
# own samples, and a number past this is a bug or a forgery, never a measurement. Sums of
# millions of such samples stay far inside int64.
MAX_NS = 86_400 * 10**9
