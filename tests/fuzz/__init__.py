"""Hypothesis fuzzing of the wasmtime-py hosts' wasi-nn ABI arguments (issue 7).

`python -m tests.fuzz` (what `nox -s fuzz` runs) uses the "fuzz" profile, at
least 10,000 cases; tests/test_fuzz.py runs the small "ci" profile.
"""
