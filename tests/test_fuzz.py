"""Hypothesis fuzzing of the wasmtime-py hosts' ABI arguments: the small "ci"
profile (about 200 derandomized cases per host). `nox -s fuzz` runs >= 10,000."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.fuzz import run
from workloads.guests import adapt


def test_fuzzed_abi_arguments_never_break_the_preview1_host(tmp_path: Path, monkeypatch) -> None:
    if run.PROFILE_ENV not in os.environ:
        monkeypatch.setenv(run.PROFILE_ENV, "ci")
    tally = run.fuzz_preview1(tmp_path)
    print("\n" + run.report("wasmtime-py preview1 (witx)", tally))
    assert tally.cases >= 200
    assert not tally.bugs, tally.bugs[:5]
    # the fuzzer reached more than the argument checks
    assert {"errno:invalid_argument", "errno:success"} <= set(tally.outcomes)


def test_fuzzed_abi_arguments_never_break_the_component_host(tmp_path: Path, monkeypatch) -> None:
    """The same cases through our adapter into the WIT host (batches per run)."""
    if not (adapt.NODE_DIR / "node_modules").is_dir():
        pytest.skip("jco is not installed (workloads/guests/component: npm ci)")
    if run.PROFILE_ENV not in os.environ:
        monkeypatch.setenv(run.PROFILE_ENV, "ci")
    tally = run.fuzz_adapted(tmp_path)
    print("\n" + run.report("wasmtime-py component (adapter + WIT host)", tally))
    assert tally.cases >= 100
    assert not tally.bugs, tally.bugs[:5]
    assert {"errno:invalid_argument", "errno:success"} <= set(tally.outcomes)


def test_fuzzed_reports_and_run_folder_fields_never_break_their_parsers(monkeypatch) -> None:
    """Issue 25: samples files, worker results, program mark lines and outputs, meta.json,
    plan.json and progress lines, each through the function that parses it: accepted
    with its invariants, or refused with the error that function promises."""
    from hypothesis import settings

    from tests.fuzz import reports

    if run.PROFILE_ENV not in os.environ:
        monkeypatch.setenv(run.PROFILE_ENV, "ci")
    tally = reports.fuzz_reports(settings.get_profile(run.profile()))
    print("\n" + run.report("reports and run-folder fields", tally))
    assert tally.cases >= 5 * 200
    assert not tally.bugs, tally.bugs[:5]
    for target in ("samples", "results", "marks", "meta", "plan+progress"):
        seen = {o for (c, o), _ in tally.by_call.items() if c == target}
        assert "ok" in seen and any(o.startswith("refused") for o in seen), (target, seen)
