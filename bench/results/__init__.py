"""The run folder: its schema, how it is written while a run goes on (parts, progress,
outputs), and the lock that gives it to one run."""
