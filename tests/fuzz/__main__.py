"""`python -m tests.fuzz` (nox -s fuzz): at least 10,000 fuzzed ABI calls per host."""

from __future__ import annotations

import os
import sys
import time

from tests.fuzz import run


def main() -> int:
    os.environ.setdefault(run.PROFILE_ENV, "fuzz")
    t0 = time.monotonic()
    tally = run.fuzz_preview1()
    print(run.report("wasmtime-py preview1 (witx)", tally))
    print(f"profile {run.profile()}, {time.monotonic() - t0:.0f} s")
    return 1 if tally.bugs else 0


if __name__ == "__main__":
    sys.exit(main())
