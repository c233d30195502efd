"""bench/measure/stop_rule.py: when --target-ci stops adding rounds, and why."""

from __future__ import annotations

from bench.measure import stop_rule
from bench.measure.stop_rule import Precision


def decide(widest: float, above: int, rounds: int, wasm: bool = True, elapsed: float = 0.0):
    return stop_rule.decide(Precision(widest, above), rounds, wasm, elapsed, 5.0, 60.0)


def test_the_target_is_reached_only_after_enough_rounds() -> None:
    assert decide(1.0, 0, stop_rule.MIN_ROUNDS_FOR_TARGET - 1) is None
    stop = decide(1.0, 0, stop_rule.MIN_ROUNDS_FOR_TARGET)
    assert stop is not None and stop.reached and stop.kind == stop_rule.TARGET_REACHED
    assert stop.text().startswith("target reached: every headline CI within ±5%")


def test_time_out_says_what_is_left() -> None:
    assert decide(9.0, 2, 4, elapsed=59.0) is None  # still time: add a round
    stop = decide(9.0, 2, 4, elapsed=60.0)
    assert stop is not None and stop.kind == stop_rule.TIME_OUT and not stop.reached
    assert stop.text() == (
        "time out: --max-time 60s spent after 4 rounds; widest CI ±9.00%, 2 cell(s) above ±5%"
    )


def test_nothing_to_make_precise() -> None:
    stop = decide(float("inf"), 0, 1, wasm=False)
    assert stop is not None and stop.kind == stop_rule.NO_WASM_CELL
    stop = decide(float("inf"), 0, stop_rule.MIN_ROUNDS_FOR_TARGET)
    assert stop is not None and stop.kind == stop_rule.NO_INTERVAL
    assert decide(float("inf"), 0, 1) is None  # no interval yet after one round: go on
