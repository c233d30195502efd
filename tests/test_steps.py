"""bench/analyze/steps.py: finding the run at which a series shifted."""

from __future__ import annotations

import numpy as np
import pytest

from bench.analyze.steps import detect_steps


def _series(levels: list[float], n: int = 60, seed: int = 0) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    return [lvl * rng.lognormal(0, 0.03, n) for lvl in levels]


def test_detect_steps_names_the_first_run_of_each_shift():
    assert detect_steps(_series([1.0] * 8)) == []
    steps = detect_steps(_series([1.0] * 5 + [1.3] * 4))
    assert [s.index for s in steps] == [5] and steps[0].ratio == pytest.approx(1.3, rel=0.03)
    up_down = detect_steps(_series([1.0] * 4 + [1.5] * 3 + [1.0] * 4))
    assert [s.index for s in up_down] == [4, 7]
    assert up_down[1].ratio < 1
    assert detect_steps(_series([1.0] * 4 + [1.04] * 4)) == []  # below the factor
    assert [s.index for s in detect_steps(_series([1.0] * 6 + [1.25]))] == [6]  # the latest run
