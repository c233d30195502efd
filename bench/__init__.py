"""wasi-nn bench: the harness (matrix, runner, statistics, results, reports, compare)."""

__version__ = "0.1.0"
