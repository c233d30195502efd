"""wasi-nn bench: the harness, one subpackage per stage of the data flow.

measure (workload files to samples) -> results (the run folder) -> analyze (statistics,
comparisons over run folders) -> present (report, charts, exports, dashboard); `cli`
is the command line over all of them (docs/architecture.md).
"""

__version__ = "0.1.0"
