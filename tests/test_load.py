"""The machine's state while measuring: contracts/machine.py (the window over /proc/stat)
and bench/analyze/load.py (rounds under load, the state in words)."""

from __future__ import annotations

import time

import pandas as pd
import pytest

from bench.analyze.load import load_sentence, rounds_under_load, start_state
from contracts import machine
from contracts.machine import CpuTimes, StateWindow


def _fake_times(monkeypatch: pytest.MonkeyPatch, seq: list[CpuTimes], own: list[float]) -> None:
    times, owns = iter(seq), iter(own)
    monkeypatch.setattr(machine, "cpu_times", lambda: next(times))
    monkeypatch.setattr(machine, "_own_cpu_s", lambda: next(owns))
    monkeypatch.setattr(machine.os, "cpu_count", lambda: 2)


def test_others_are_the_busy_time_less_our_own_and_the_steal(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # 10 s of wall on 2 cores = 20 core-seconds: 4 idle, 2 stolen, 8 ours -> others 6/10
    _fake_times(monkeypatch, [CpuTimes(100, 50, 1), CpuTimes(120, 54, 3)], [5.0, 13.0])
    state = StateWindow().close()
    assert state.others_cores == pytest.approx(0.6)
    assert state.steal_pct == pytest.approx(10.0)
    assert state.under_load  # steal >= 5% (and others >= 0.5)


def test_a_quiet_machine_is_not_under_load(monkeypatch: pytest.MonkeyPatch) -> None:
    # 20 core-seconds: 11 idle, 8 ours, 1 others: 0.1 cores busy besides us
    _fake_times(monkeypatch, [CpuTimes(100, 50, 1), CpuTimes(120, 61, 1)], [5.0, 13.0])
    state = StateWindow().close()
    assert state.others_cores == pytest.approx(0.1)
    assert not state.under_load


def test_a_busy_loop_beside_the_window_is_seen() -> None:
    """Real: our own busy loop is ours, not another process's."""
    window = StateWindow()
    end = time.process_time() + 0.3
    while time.process_time() < end:
        pass
    state = window.close()
    assert state.load1 >= 0 and state.steal_pct >= 0
    assert state.others_cores >= 0  # never negative, whatever the machine does


def _samples(flags: list[object]) -> pd.DataFrame:
    rows = []
    for r, flag in enumerate(flags):
        for it in range(3):  # several rows per round: still one round
            rows.append({"workload": "w", "variant": "native", "host": "native",
                         "backend": "onnx", "device": "cpu", "round": r, "iteration": it,
                         "phase": "total", "ns": 1, "under_load": flag})  # fmt: skip
    return pd.DataFrame(rows)


def test_rounds_under_load_counts_rounds_not_rows() -> None:
    assert rounds_under_load(_samples([True, False, True, None])) == (2, 3)
    old_run = _samples([True]).drop(columns="under_load")
    assert rounds_under_load(old_run) == (0, 0)


def test_the_state_in_words() -> None:
    meta = {"machine": {"cores": 2}, "machine_state": {"load1": 4.5, "steal_pct": 0.0,
            "others_cores": 1.8, "cpu_mhz": 2596.1, "under_load": True}}  # fmt: skip
    assert start_state(meta) == (
        "load average 4.50 on 2 cores, other processes busy on 1.8 cores, steal 0.0%, "
        "2596 MHz (busy)"
    )
    assert load_sentence(meta, _samples([True, False])).endswith(
        "Rounds measured under load: 1 of 2."
    )
    assert start_state({}) == "" and load_sentence({}, _samples([])) == ""
