"""bench/analyze/steps.py: E-divisive places a step, compare's rule over rounds confirms it."""

from __future__ import annotations

import numpy as np
import pytest

from bench.analyze.headline import Measured
from bench.analyze.steps import detect_steps, energy_split


def _runs(levels: list[float], rounds: int = 4, iterations: int = 20, seed: int = 0,
          drift: list[float] | None = None) -> list[Measured]:  # fmt: skip
    """One cell's runs: its overhead is `level` x its native reference; `drift` scales
    both (the machine got slower or faster: the ratio must not move)."""
    rng = np.random.default_rng(seed)
    out = []
    for i, level in enumerate(levels):
        d = drift[i] if drift else 1.0
        ref = {r: d * rng.lognormal(0, 0.03, iterations) for r in range(rounds)}
        cell = {r: level * d * rng.lognormal(0, 0.03, iterations) for r in range(rounds)}
        out.append(Measured(cell, ref))
    return out


def test_energy_split_finds_the_change_and_a_bounded_excursion():
    assert energy_split(np.array([0.0, 0, 0, 0, 1, 1, 1])) == (4, 7)
    assert energy_split(np.array([0.0, 0, 0, 1, 1, 0, 0, 0]))[0] in (3, 5)
    assert energy_split(np.array([1.0])) is None


def test_steps_name_the_first_run_of_each_shift_by_the_rule():
    assert detect_steps(_runs([1.0] * 8)) == []
    steps = detect_steps(_runs([1.0] * 5 + [1.3] * 4))
    assert [s.index for s in steps] == [5] and steps[0].ratio == pytest.approx(1.3, rel=0.03)
    assert steps[0].change.verdict == "regressed" and steps[0].change.n_base == 20
    assert "95% CI excludes 1" in steps[0].change.rule
    up_down = detect_steps(_runs([1.0] * 4 + [1.5] * 3 + [1.0] * 4))
    assert [s.index for s in up_down] == [4, 7] and up_down[1].ratio < 1
    assert detect_steps(_runs([1.0] * 4 + [1.04] * 4)) == []  # below the factor
    assert [s.index for s in detect_steps(_runs([1.0] * 6 + [1.25]))] == [6]  # the newest run


def test_machine_drift_is_no_step_and_a_lone_odd_run_is_no_step():
    # the machine halves its speed from run 3 on: cell and reference move together
    assert detect_steps(_runs([1.0] * 6, drift=[1, 1, 1, 2, 2, 2])) == []
    # one run out of line in the middle, its neighbours agree: an odd run, not two steps
    assert detect_steps(_runs([1.0, 1.0, 1.0, 1.4, 1.0, 1.0, 1.0])) == []


def test_iterations_are_not_the_unit():
    # 2 rounds per run, 500 iterations each: a 30% change of the newest run is 2 rounds
    # against 8; the rank test over rounds cannot reach p < 0.002, so the CI decides,
    # and the rule says so (pooled iterations would have given p ~ 1e-100)
    steps = detect_steps(_runs([1.0] * 4 + [1.3], rounds=2, iterations=500))
    assert [s.index for s in steps] == [4]
    assert steps[0].change.n_head == 2 and "the CI decides" in steps[0].change.rule
