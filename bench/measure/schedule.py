"""Which (cell, round) runs when: pure functions of the cells, the seed and what is done.

Rounds are interleaved across cells in a seeded shuffled order, so that machine drift
hits every cell alike; the same seed gives the same order, also on `--resume` (a round
is shuffled over every cell, also those that will not run, so that what is done does
not change the order of the rest).
"""

from __future__ import annotations

import random

from bench.results.progress import OFFLINE_ROUND, CellState

Done = set[tuple[str, int]]  # (cell key, round) finished, from progress.jsonl


def running(state: CellState) -> bool:
    """Still to be measured: not failed, unsupported or skipped (yet)."""
    return state.status in ("pending", "ok")


def planned_rounds(
    states: list[CellState], rounds_of: dict[str, int], seed: int, done: Done
) -> list[tuple[int, list[CellState]]]:
    """Per planned round, the cells still to run in it, in its seeded shuffled order.
    `rounds_of`: each workload's rounds (a cell runs the rounds of its workload)."""
    rng = random.Random(seed)
    rounds = max(rounds_of.values(), default=0)
    plan = []
    for r in range(rounds):
        order = [s for s in states if rounds_of[s.cell.workload] > r]
        rng.shuffle(order)  # every round, also over cells that will not run: stable on resume
        plan.append((r, [s for s in order if running(s) and (s.cell.key, r) not in done]))
    return plan


def added_round(states: list[CellState], seed: int, r: int, done: Done) -> list[CellState]:
    """An added round's cells (--target-ci): every cell still running, shuffled by
    (seed, round) so that a resumed run draws the same order."""
    order = list(states)
    random.Random(f"{seed}/{r}").shuffle(order)
    return [s for s in order if running(s) and (s.cell.key, r) not in done]


def first_added_round(planned: int, done: Done) -> tuple[int, int]:
    """(first added round, last added round a killed run had started): a resumed run
    completes those before the stop rule decides again."""
    last = max((r for _, r in done if r >= planned), default=planned - 1)
    return planned, last


def offline_order(
    states: list[CellState], seed: int, offline_k: int, done: Done
) -> list[CellState]:
    """The cells of the offline-throughput pass (after the rounds; K > 0), shuffled."""
    if offline_k <= 0:
        return []
    order = [s for s in states if s.status == "ok" and (s.cell.key, OFFLINE_ROUND) not in done]
    random.Random(seed + 1).shuffle(order)
    return order


def planned_jobs(
    plan: list[tuple[int, list[CellState]]], states: list[CellState], offline_k: int
) -> int:
    """(cell, round) jobs of the planned rounds, plus one offline job per cell that may
    still reach it."""
    offline = sum(running(s) for s in states) if offline_k > 0 else 0
    return sum(len(todo) for _, todo in plan) + offline
