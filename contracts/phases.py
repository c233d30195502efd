"""The names of the measured phases, shared by hosts, the result schema and the analysis."""

from __future__ import annotations

# Per iteration, timed by the guest (or the native host), in nanoseconds.
ITERATION_PHASES = ("set_input", "compute", "get_output")
# Their sum per iteration: the headline latency.
TOTAL = "total"
# Every per-iteration phase a host reports (TOTAL last).
MEASURED_PHASES = (*ITERATION_PHASES, TOTAL)
# Once per round, timed by the host (absent ones are simply missing).
ROUND_PHASES = ("compile", "instantiate", "load", "init")
# Program workloads (docs/programs.md): the whole run's wall time, one sample per program
# run (iteration = the run's index in its round); `total` is then one bench region each.
PROCESS = "process"
