"""Profiles and the driver shared by tests/test_fuzz.py and `python -m tests.fuzz`."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conformance import abi_cases
from tests.fuzz import preview1

PROFILE_ENV = "WASINN_FUZZ_PROFILE"
COMMON = dict(
    deadline=None,
    database=None,  # nothing written into the repository
    suppress_health_check=list(HealthCheck),
    print_blob=True,
)
settings.register_profile("ci", max_examples=200, derandomize=True, **COMMON)
settings.register_profile("fuzz", max_examples=10_000, **COMMON)


def profile() -> str:
    return os.environ.get(PROFILE_ENV, "ci")


def fuzz_preview1(folder: Path | None = None, encoding: str = "onnx") -> preview1.Tally:
    """Run the profile's number of cases against the witx host; return the tally."""
    folder = folder or Path(tempfile.mkdtemp(prefix="wasinn-fuzz-"))
    target = preview1.Preview1Target(abi_cases.conformance_model(folder, encoding))

    @settings(settings.get_profile(profile()))
    @given(preview1.cases())
    def one(case: preview1.Case) -> None:
        target.run(case)

    one()
    return target.tally


BATCH = 40  # cases per component run (20..40)


def fuzz_adapted(folder: Path | None = None, encoding: str = "onnx") -> preview1.Tally:
    """About as many cases as the profile, in batches replayed by the adapted guest."""
    from tests.fuzz import component

    folder = folder or Path(tempfile.mkdtemp(prefix="wasinn-fuzz-"))
    target = component.ComponentTarget(abi_cases.conformance_model(folder, encoding), folder)
    base = settings.get_profile(profile())
    examples = -(-base.max_examples // 25)  # batches average ~28 cases: >= the profile's count

    @settings(base, max_examples=examples)
    @given(st.lists(preview1.cases(), min_size=BATCH // 2, max_size=BATCH))
    def batch(cases: list[preview1.Case]) -> None:
        target.run(cases)

    batch()
    return target.tally


def report(name: str, tally: preview1.Tally) -> str:
    lines = [f"{name}: {tally.cases} cases, {len(tally.bugs)} host bugs"]
    lines += [f"  {outcome:<32} {n:>7}" for outcome, n in tally.outcomes.most_common()]
    calls = sorted({c for c, _ in tally.by_call})
    for call in calls:
        row = {o: n for (c, o), n in tally.by_call.items() if c == call}
        lines.append(f"  {call:<24} " + ", ".join(f"{o}={n}" for o, n in sorted(row.items())))
    lines += [f"  BUG {b}" for b in tally.bugs[:20]]
    return "\n".join(lines)
