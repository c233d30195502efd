"""Reading run folders and what is computed from them: round-aware statistics, the
per-cell summary, comparisons between runs, step detection, history, merging shards."""
