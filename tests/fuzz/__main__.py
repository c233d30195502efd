"""`python -m tests.fuzz` (nox -s fuzz): at least 10,000 fuzzed ABI calls per host, and
10,000 cases per report parser and run-folder file (tests/fuzz/reports.py)."""

from __future__ import annotations

import os
import sys
import time

from tests.fuzz import run
from workloads.guests import adapt


def main() -> int:
    os.environ.setdefault(run.PROFILE_ENV, "fuzz")
    t0 = time.monotonic()
    tallies = {"wasmtime-py preview1 (witx host)": run.fuzz_preview1()}
    if (adapt.NODE_DIR / "node_modules").is_dir():
        tallies["wasmtime-py component (adapter + WIT host)"] = run.fuzz_adapted()
    else:
        print(
            "component host not fuzzed: jco is not installed (workloads/guests/component: npm ci)"
        )
    from hypothesis import settings

    from tests.fuzz import reports

    # what guests and workers report, and run-folder fields: the profile's count per target
    tallies["reports and run-folder fields"] = reports.fuzz_reports(
        settings.get_profile(run.profile())
    )
    for name, tally in tallies.items():
        print(run.report(name, tally), flush=True)
    total = sum(t.cases for t in tallies.values())
    bugs = sum(len(t.bugs) for t in tallies.values())
    if (adapt.NODE_DIR / "node_modules").is_dir():
        from tests.fuzz import models

        named = models.fuzz_model_bytes()  # hostile model bytes through the name parsers
        print(
            f"adapter input-name parsers: {named.models} models, {len(named.bugs)} bugs, "
            f"{named.real_names} real / {named.decimal_names} decimal names",
            flush=True,
        )
        print("".join(f"  BUG {b}\n" for b in named.bugs[:20]), end="")
        total, bugs = total + named.models, bugs + len(named.bugs)
    print(f"total: {total} cases, {bugs} host bugs, no harness crash "
          f"(profile {run.profile()}, {time.monotonic() - t0:.0f} s)")  # fmt: skip
    return 1 if bugs else 0


if __name__ == "__main__":
    sys.exit(main())
