"""Measuring: workload files, models and inputs, the matrix of cells, the plan, the
interleaved rounds in isolated workers, and finishing a run folder."""
