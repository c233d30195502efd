"""bench/measure/schedule.py: the seeded, interleaved order of the (cell, round) jobs."""

from __future__ import annotations

from bench.measure import schedule
from bench.results.progress import OFFLINE_ROUND, CellState
from contracts.cells import Cell

CELLS = [Cell("w", v, "wasmtime-py", "onnx", "cpu") for v in ("preview1", "adapted", "component")]
CELLS += [Cell("w", "native", "native", b, "cpu") for b in ("onnx", "openvino")]


def keys(plan: list[tuple[int, list[CellState]]]) -> list[list[str]]:
    return [[s.cell.key for s in todo] for _, todo in plan]


def test_interleaving_is_seeded_and_shuffled() -> None:
    def orders(seed: int) -> list[list[str]]:
        return keys(schedule.planned_rounds([CellState(c) for c in CELLS], {"w": 3}, seed, set()))

    a = orders(1)
    assert a == orders(1)  # same seed, same order
    assert len(a) == 3 and all(sorted(o) == sorted(c.key for c in CELLS) for o in a)
    assert len({tuple(o) for o in a + orders(2)}) > 1  # orders differ between rounds/seeds


def test_a_resumed_run_keeps_the_order_of_what_is_left() -> None:
    """What is done (and cells that stopped) leave the order of the rest unchanged."""
    states = [CellState(c) for c in CELLS]
    full = keys(schedule.planned_rounds(states, {"w": 3}, 7, set()))
    done = {(full[0][0], 0), (full[0][1], 0)}
    states[2].status = "failed"
    left = keys(schedule.planned_rounds(states, {"w": 3}, 7, done))
    gone = {k for k, _ in done} | {CELLS[2].key}
    assert left[0] == [k for k in full[0] if k not in gone]
    assert left[1:] == [[k for k in o if k != CELLS[2].key] for o in full[1:]]


def test_added_rounds_and_offline_pass() -> None:
    states = [CellState(c, status="ok") for c in CELLS]
    r3 = [s.cell.key for s in schedule.added_round(states, 7, 3, set())]
    assert r3 == [s.cell.key for s in schedule.added_round(states, 7, 3, set())]
    assert sorted(r3) == sorted(c.key for c in CELLS)
    assert schedule.first_added_round(3, {("x", 0), ("x", 4)}) == (3, 4)
    assert schedule.first_added_round(3, set()) == (3, 2)  # nothing added yet
    assert schedule.offline_order(states, 7, 0, set()) == []
    done = {(CELLS[0].key, OFFLINE_ROUND)}
    assert len(schedule.offline_order(states, 7, 2, done)) == len(CELLS) - 1
    plan = schedule.planned_rounds(states, {"w": 2}, 7, set())
    assert schedule.planned_jobs(plan, states, 2) == 2 * len(CELLS) + len(CELLS)
