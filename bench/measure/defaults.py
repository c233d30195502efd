"""Every default of a run, in one place (no imports: the command line reads them before
it loads the measuring modules). `RunOptions` (options.py) and `wasinn-bench run`'s
flags and help take them from here."""

from __future__ import annotations

DEFAULT_SUITE = "quick"
DEFAULT_SEED = 0  # of the interleaving order
DEFAULT_OFFLINE_K = 2  # concurrent instances of the offline-throughput pass (0: skip it)
DEFAULT_MAX_TIME_S = 1800.0  # --max-time: the run's time budget when --target-ci adds rounds
