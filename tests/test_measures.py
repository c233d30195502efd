"""`--measure wall|cpu|instructions` (hosts/measures, contracts/measures.py).

Real: the clock shim really turns CLOCK_MONOTONIC into CPU time (a process that waits
sees its clock stand still), and real rounds of native-c and the wasmtime CLI under
cpu and under callgrind give per-phase samples of the driver's shape; the instruction
counts are confined to the measured iterations (the load's count is far larger than an
iteration's and not in it). Bad input: an unknown measure, a valgrind that cannot be
had: one line, exit 2, nothing written.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from contracts import measures as measure_names
from contracts.cells import Cell
from contracts.jobs import CellJob, CellUnsupported
from contracts.phases import MEASURED_PHASES
from hosts import get_host
from hosts.measures import callgrind, shim
from tests.helpers import run_cli
from tests.test_native_c import _model

WAIT = "import select, time, os; a = (time.monotonic_ns(), time.time_ns()); " \
       "select.select([], [], [], 0.3); b = (time.monotonic_ns(), time.time_ns()); " \
       "print(b[0] - a[0], b[1] - a[1])"  # fmt: skip


def _waited(env: dict[str, str], code: str = WAIT) -> tuple[int, int]:
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                         text=True, timeout=60, check=True)  # fmt: skip
    mono, real = out.stdout.split()
    return int(mono), int(real)


def test_the_shim_makes_the_monotonic_clock_cpu_time_in_every_thread() -> None:
    env = shim.preload(dict(os.environ), every_thread=True)
    mono, real = _waited(env)
    assert real >= 250_000_000  # the process waited 0.3 s of real time...
    assert mono < real / 3  # ...and its monotonic clock, now CPU time, hardly moved
    plain_mono, _ = _waited(dict(os.environ))
    assert plain_mono >= 250_000_000  # without the shim the clock is elapsed time


def test_the_shim_per_thread_switch_affects_only_the_thread_that_set_it() -> None:
    env = shim.preload(dict(os.environ), every_thread=False)
    mono, _ = _waited(env)
    assert mono >= 250_000_000  # not switched on: still elapsed time
    on = "import ctypes; ctypes.CDLL(None).wasinn_cpu_clock_thread(1); " + WAIT
    mono, real = _waited(env, on)
    assert mono < real / 3


def test_callgrind_phases_take_the_drivers_boundaries_from_the_end() -> None:
    # 2 dumps of start-up, then t0 | load | init, per iteration gap, set, compute, get
    warmup, iterations = 1, 2
    counts = [7, 9, 0, 1000, 20]  # start-up x2, up to t0, load, init
    for it in range(warmup + iterations):
        counts += [3, 10 + it, 100 + it, 5 + it]
    phases, once = callgrind.phases(counts, warmup, iterations)
    assert once == {"load": 1000, "init": 20}
    assert phases["set_input"] == [11, 12]  # the warm-up iteration is left out
    assert phases["compute"] == [101, 102]
    assert phases["get_output"] == [6, 7]
    assert phases["total"] == [118, 121]
    with pytest.raises(CellUnsupported, match="saw 5 phase boundaries, the driver makes 15"):
        callgrind.phases(counts[:5], warmup, iterations)


def test_callgrind_reads_the_summary_of_each_numbered_dump(tmp_path: Path) -> None:
    for n, total in ((2, 50), (1, 40), (10, 60)):
        (tmp_path / f"cg.out.{n}").write_text(f"version: 1\nevents: Ir\nsummary: {total}\n")
    (tmp_path / "cg.out").write_text("summary: 999\n")  # the exit part: not a boundary
    assert callgrind.intervals(tmp_path) == [40, 50, 60]


def test_valgrinds_own_words_explain_a_cell_it_could_not_run(tmp_path: Path) -> None:
    (tmp_path / callgrind.LOG_NAME).write_text(
        "==12== Callgrind, a call-graph generating cache profiler\n"
        "vex amd64->IR: unhandled instruction bytes: 0x62 0xF1\n"
        "==12== valgrind: Unrecognised instruction at address 0x4a3b.\n"
    )
    why = callgrind.failure(tmp_path)
    assert why is not None and "unhandled instruction bytes" in why
    (tmp_path / callgrind.LOG_NAME).write_text("==12== I   refs:      2,047,529,762\n")
    assert callgrind.failure(tmp_path) is None


@pytest.fixture(scope="module")
def mlp(tmp_path_factory: pytest.TempPathFactory) -> tuple:
    return _model(tmp_path_factory.mktemp("mlp"), "mlp_tiny", None, 1)


def _job(mlp: tuple, tmp_path: Path, host: str, variant: str, measure: str) -> CellJob:
    files, inputs, outputs = mlp
    return CellJob(Cell("w", variant, host, "openvino", "cpu"), files, inputs, outputs,
                   warmup=1, iterations=3, threads=1, workdir=str(tmp_path / host),
                   measure=measure)  # fmt: skip


needs_valgrind = pytest.mark.skipif(callgrind.valgrind() is None, reason="valgrind absent")


@pytest.mark.parametrize(
    ("host", "variant"), [("native-c", "native"), ("wasmtime-cli", "preview1")]
)
def test_cpu_rounds_have_the_drivers_shape(
    mlp: tuple, tmp_path: Path, host: str, variant: str
) -> None:
    result = get_host(host).run_round(_job(mlp, tmp_path, host, variant, measure_names.CPU))
    for phase in MEASURED_PHASES:
        assert len(result.per_iteration[phase]) == 3
    assert all(v > 0 for v in result.per_iteration["compute"])
    assert "compile" not in result.host_phases  # the cached compile's wall time is no CPU time
    assert result.host_phases["load"] > 0


@needs_valgrind
@pytest.mark.parametrize(
    ("host", "variant"),
    [("native-c", "native"), ("wasmtime-cli", "preview1"), ("wasmtime-cli", "component")],
)
def test_instruction_counts_are_confined_to_the_iterations(
    mlp: tuple, tmp_path: Path, host: str, variant: str
) -> None:
    result = get_host(host).run_round(
        _job(mlp, tmp_path, host, variant, measure_names.INSTRUCTIONS)
    )
    it = result.per_iteration
    assert [len(it[p]) for p in MEASURED_PHASES] == [3, 3, 3, 3]
    for i in range(3):
        assert it["total"][i] == it["set_input"][i] + it["compute"][i] + it["get_output"][i]
    # steady iterations of a tiny MLP: the same few thousand instructions each time,
    # while loading the model (start-up and compilation before it) costs millions
    assert max(it["total"]) < 1.05 * min(it["total"])
    assert result.host_phases["load"] > 100 * max(it["total"])


def test_an_unknown_measure_is_one_line_exit_2_and_nothing_written(tmp_path: Path) -> None:
    out = tmp_path / "run"
    proc = run_cli("run", "mlp-tiny", "--hosts", "native", "--measure", "cycles", "--out", str(out))
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == [
        "wasinn-bench: error: --measure: unknown measure 'cycles' (choose wall|cpu|instructions)"
    ]
    assert not out.exists()


def test_instructions_without_a_valgrind_is_one_line_exit_2(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "run"
    monkeypatch.setenv(callgrind.VALGRIND_ENV, str(tmp_path / "no-valgrind"))
    proc = run_cli(
        "run", "mlp-tiny", "--hosts", "native", "--measure", "instructions", "--out", str(out)
    )
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "is not an executable valgrind" in lines[0]
    assert not out.exists()


def test_the_answer_sentence_speaks_the_runs_measure() -> None:
    from bench.analyze.answers import Answer
    from bench.analyze.stats import Ratio
    from bench.present.answers import sentence

    cell = Cell("mlp-tiny", "preview1", "wasmtime-cli", "openvino", "cpu")
    # samples / 1e6: 0.011 = 11,000 instructions (or 11 µs) more per iteration
    a = Answer(cell, "native-c", Ratio(1.41, 1.40, 1.42),
               {"total": 0.011, "compute": 0.003, "set_input": 0.004, "get_output": 0.004},
               binding_bound=False)  # fmt: skip
    assert "compute +3,000 instructions, ABI phases +8,000 instructions" in sentence(
        a, "instructions"
    )
    assert "compute +3.0 µs CPU" in sentence(a, "cpu")
    assert "compute +3.0 µs, ABI phases +8.0 µs" in sentence(a)


def test_a_cpu_run_measures_every_host_in_cpu_time(tmp_path: Path) -> None:
    """Real, through the worker: wasmtime-py re-executes with the shim preloaded and
    switches it on for its thread; meta.json and every sample row say what was measured."""
    import json

    import pandas as pd

    out = tmp_path / "run"
    proc = run_cli("run", "mlp-tiny", "--hosts", "native,wasmtime-py", "--variants", "native,preview1",
                   "--backends", "onnx", "--measure", "cpu", "--rounds", "1", "--iterations", "3",
                   "--warmup", "1", "--out", str(out))  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    meta = json.loads((out / "meta.json").read_text())
    assert meta["measure"] == "cpu" and meta["measure_unit"] == "ns of CPU time"
    cells = pd.read_csv(out / "cells.csv")
    assert (cells["status"] == "ok").all(), cells[["host", "reason"]]
    assert pd.isna(cells["offline_ips"]).all()  # samples per second: wall time only


def test_wasmtime_py_under_instructions_says_why_not(tmp_path: Path) -> None:
    from hosts import measures

    job = CellJob(Cell("w", "preview1", "wasmtime-py", "onnx", "cpu"), None, [], [],  # type: ignore[arg-type]
                  warmup=0, iterations=1, threads=1, workdir=str(tmp_path),
                  measure=measure_names.INSTRUCTIONS)  # fmt: skip
    with pytest.raises(CellUnsupported, match="not measured on wasmtime-py"):
        measures.worker_command(job, [sys.executable])
