"""Regression tests for bugs found in the correctness review (one test per bug)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnxruntime as ort
import pytest
import wasmtime

from bench.analyze.runs import load_run
from bench.measure import plan
from contracts import paths
from contracts.jobs import CellFailed, TensorSpec
from hosts import guest_io
from tests.conformance import abi_cases
from tests.helpers import run_cli


@pytest.fixture(scope="module")
def model(tmp_path_factory: pytest.TempPathFactory) -> abi_cases.Model:
    return abi_cases.conformance_model(tmp_path_factory.mktemp("review"), "onnx")


def test_preview1_set_input_takes_the_data_at_set_input(model: abi_cases.Model) -> None:
    """The witx set_input hands the host a tensor: a guest that reuses its buffer
    after set_input (as wasmtime, which copies, allows) must not change the input."""
    store, memory, nn, abi = abi_cases.host_with_context(model)
    memory.write(store, np.array([1, 4], dtype="<u4").tobytes(), 64)
    memory.write(store, abi_cases.INPUT.tobytes(), 128)
    memory.write(store, np.array([64, 2, 1, 128, 16], dtype="<u4").tobytes(), 32)
    assert abi["set_input"](0, 0, 32) == 0, nn.last_error
    memory.write(store, np.full(4, 1000.0, dtype=np.float32).tobytes(), 128)  # buffer reused
    assert abi["compute"](0) == 0, nn.last_error
    assert abi["get_output"](0, 0, 256, 12, 24) == 0, nn.last_error
    got = np.frombuffer(memory.read(store, 256, 268), dtype=np.float32)
    session = ort.InferenceSession(str(model.folder / "graph" / "model.onnx"))
    want = session.run(None, {"x": abi_cases.INPUT})[0].reshape(-1)
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)


def test_relative_out_from_another_directory(tmp_path: Path) -> None:
    """`--out rel` from a folder other than the repository: the workers (which run
    in the repository) must still find their job and input files."""
    p = run_cli(
        "run", "mlp-tiny", "--hosts", "native", "--backends", "onnx", "--iterations", "3",
        "--rounds", "1", "--offline", "0", "--out", "rel", cwd=tmp_path,
    )  # fmt: skip
    assert p.returncode == 0, p.stderr
    cells = load_run(tmp_path / "rel").cells
    assert list(cells["status"]) == ["ok"], cells["reason"].tolist()


def test_resume_with_a_relative_folder_is_absolute(tmp_path: Path, monkeypatch) -> None:
    out = tmp_path / "run"
    p = run_cli(
        "run", "mlp-tiny", "--hosts", "native", "--backends", "onnx", "--iterations", "2",
        "--rounds", "1", "--offline", "0", "--out", str(out),
    )  # fmt: skip
    assert p.returncode == 0, p.stderr
    monkeypatch.chdir(tmp_path)
    setup = plan.setup_resume(Path("run"), lambda _msg: None)
    assert setup.run_dir.is_absolute()
    assert all(Path(t.path).is_absolute() for p in setup.prepared.values() for t in p.inputs)


def _samples(path: Path, body: str) -> Path:
    path.write_text(f"{guest_io.SAMPLES_MAGIC}\n{body}")
    return path


def test_samples_blank_line_is_a_cell_failure(tmp_path: Path) -> None:
    """The guest writes samples.txt: a blank line must fail the cell, not raise ValueError."""
    path = _samples(tmp_path / "samples.txt", "load 1\n\niter 1 2 3 6\n")
    with pytest.raises(CellFailed, match="unexpected line"):
        guest_io.parse_samples(path, 1)


def test_output_file_with_trailing_bytes_is_rejected(tmp_path: Path) -> None:
    """np.fromfile drops a partial trailing element: 4 + 3 bytes for one f32 must fail."""
    spec = TensorSpec("y", 0, "f32", [1])
    path = tmp_path / "output0.bin"
    path.write_bytes(np.float32(1.5).tobytes() + b"\x01\x02\x03")
    run = guest_io.GuestRun(
        wasm=path, preopen=tmp_path, argv=[], encoding="onnx", target="cpu", load_mode="bytes",
        graph_dir=tmp_path, samples=path, outputs=[path], stdout=path, stderr=path,
    )  # fmt: skip

    class Job:
        outputs = [spec]

    with pytest.raises(CellFailed, match="7 bytes, expected 4"):
        guest_io.read_outputs(Job(), run)  # type: ignore[arg-type]


def test_agreement_reports_a_nan_difference(tmp_path: Path) -> None:
    """max_abs_diff must not read 0 when an output differs by NaN."""
    from types import SimpleNamespace

    from bench.measure.agreement import agreement
    from bench.results.outputs import npz_safe
    from bench.results.progress import CellState
    from contracts.cells import Cell

    tol = SimpleNamespace(atol=1e-5, rtol=1e-5)
    prepared = {
        "w": SimpleNamespace(
            workload=SimpleNamespace(tolerance_for=lambda _name: tol),
            outputs=[TensorSpec("y", 0, "f32", [2])],
        )
    }
    native = Cell("w", "native", "native", "onnx", "cpu")
    wasm = Cell("w", "preview1", "wasmtime-py", "onnx", "cpu")
    for cell, y in ((native, [1.0, 2.0]), (wasm, [1.0, np.nan])):
        path = tmp_path / f"{cell.slug}.npz"
        np.savez(path, **npz_safe({"y": np.array(y, dtype=np.float32)}))
    states = [CellState(native, status="ok"), CellState(wasm, status="ok")]
    agrees, diff = agreement(states, prepared, tmp_path)[wasm.key]  # type: ignore[arg-type]
    assert agrees is False
    assert np.isnan(diff) or diff == float("inf")  # not a 0.0 that hides the NaN


def test_compare_head_failed_after_some_rounds_is_newly_failed(tmp_path: Path) -> None:
    """A cell ok on base that failed on head keeps its earlier rounds' samples: the
    gate must still say 'failed' (exit 1), not compare the partial samples."""
    import shutil

    import pandas as pd

    from bench.analyze.compare import compare_runs
    from bench.analyze.summarize import summarize

    run_a = Path(__file__).resolve().parent.parent / "results" / "fixtures" / "mlp-tiny-a"
    slow = ("mlp-tiny", "preview1", "wasmtime-py", "onnx", "cpu")
    head = tmp_path / "head"
    shutil.copytree(run_a, head)
    samples = pd.read_parquet(head / "samples.parquet")
    cells = pd.read_csv(head / "cells.csv", keep_default_na=False, na_values=[""])
    cols = ["workload", "variant", "host", "backend", "device"]
    mine = np.logical_and.reduce([cells[c] == v for c, v in zip(cols, slow, strict=True)])
    cells.loc[mine, ["status", "reason"]] = ["failed", "round 2: trap"]
    cells.to_csv(head / "cells.csv", index=False)
    summarize(samples, cells, n_boot=200).to_csv(head / "summary.csv", index=False)
    cmp = compare_runs(load_run(run_a), load_run(head))
    failed = [r for r in cmp.rows if r.verdict == "failed"]
    assert [tuple(r.key) for r in failed] == [slow]
    assert cmp.exit_code == 1


@pytest.mark.cli
def test_cli_compile_cache_survives_a_kill_while_writing_its_meta(
    tmp_path: Path, monkeypatch
) -> None:
    """A run killed while writing the .cwasm's meta must not leave a half-written
    meta that every later run (or a concurrent shard) fails to parse."""
    from hosts import wasmtime_cli

    monkeypatch.setenv(paths.CLI_CACHE_ENV, str(tmp_path / "cache"))
    wasm = tmp_path / "tiny.wasm"
    wasm.write_bytes(wasmtime.wat2wasm("(module)"))
    real_write = Path.write_text

    def killed_midway(self: Path, text: str, *args: object, **kw: object) -> int:
        real_write(self, text[:5])
        raise KeyboardInterrupt  # the process dies here

    with monkeypatch.context() as m:
        m.setattr(Path, "write_text", killed_midway)
        with pytest.raises(KeyboardInterrupt):
            wasmtime_cli.precompile(wasm)
    cwasm, ns, cached = wasmtime_cli.precompile(wasm)
    assert cwasm.is_file() and ns > 0 and not cached


def test_cli_crash_with_a_timeout_set_is_not_called_a_timeout(
    model: abi_cases.Model, tmp_path: Path, monkeypatch
) -> None:
    """A CLI killed by a signal (e.g. SIGABRT from a wasi-nn host panic) well before
    the timeout must be reported as that signal, not as 'killed after the timeout'."""
    from contracts.cells import Cell
    from contracts.jobs import CellJob, ModelFiles
    from hosts import wasmtime_cli

    fake = tmp_path / "fake-wasmtime"  # the one crash a real guest cannot be relied on for
    fake.write_text(
        '#!/bin/sh\ncase "$1" in\n--version) echo "wasmtime 0.0.0 (fake)";;\n'
        'compile) : > "$3";;\nrun) kill -ABRT $$;;\nesac\n'
    )
    fake.chmod(0o755)
    monkeypatch.setattr(wasmtime_cli, "cli_binary", lambda: fake)
    monkeypatch.setenv(paths.CLI_CACHE_ENV, str(tmp_path / "cache"))
    wasmtime_cli.cli_version.cache_clear()
    onnx = str(model.folder / "graph" / "model.onnx")
    job = CellJob(
        cell=Cell("w", "preview1", "wasmtime-cli", "onnx", "cpu"),
        model=ModelFiles(onnx, None, None, "0" * 64), inputs=[], outputs=[],
        warmup=0, iterations=1, threads=1, workdir=str(tmp_path / "work"),
        options={"timeout_s": "600"},
    )  # fmt: skip
    try:
        with pytest.raises(CellFailed) as e:
            wasmtime_cli.WasmtimeCliHost().run_round(job)
    finally:
        wasmtime_cli.cli_version.cache_clear()
    assert "SIGABRT" in str(e.value) and "timeout" not in str(e.value)


def test_component_compile_phase_excludes_reading_the_file(tmp_path: Path, monkeypatch) -> None:
    """`compile` must time wasmtime's compile only, as the preview1 host does: the
    guest file is read before the clock starts."""
    from hosts.wasmtime_py import component

    events: list[str] = []
    real_read = Path.read_bytes

    def read_bytes(self: Path) -> bytes:
        events.append("read")
        return real_read(self)

    def clock() -> int:
        events.append("clock")
        return len(events)

    def compile_fails(*_args: object) -> None:
        raise wasmtime.WasmtimeError("stop here")

    wasm = tmp_path / "guest.wasm"
    wasm.write_bytes(b"\0asm")
    monkeypatch.setattr(Path, "read_bytes", read_bytes)
    monkeypatch.setattr(component.time, "perf_counter_ns", clock)
    monkeypatch.setattr(component, "Component", compile_fails)
    with pytest.raises(CellFailed, match="compile guest.wasm"):
        component.run_component(wasm, ["driver"], tmp_path, component.NnConfig())
    assert events.index("read") < events.index("clock"), events


def test_offline_pass_survives_a_guest_reporting_zero_time(tmp_path: Path, monkeypatch) -> None:
    """The samples come from the guest: all-zero totals must not crash the whole run
    (ZeroDivisionError) in the offline pass; the cell's offline result is a failure."""
    from types import SimpleNamespace

    from bench.measure.runner import Runner
    from bench.results.progress import CellState
    from contracts.cells import Cell

    cell = Cell("w", "preview1", "wasmtime-py", "onnx", "cpu")
    workload = SimpleNamespace(timeout_s=60, memory_limit_mb=1024)
    prepared = {"w": SimpleNamespace(workload=workload)}
    r = Runner(tmp_path, prepared, [CellState(cell, status="ok")], seed=0)  # type: ignore[arg-type]
    r.offline_k = 2
    ok = {"status": "ok", "iterations": {"total": [0, 0, 0]}}  # what a hostile guest can write
    monkeypatch.setattr(r, "_job", lambda *_args: None)  # the worker cannot be made to do it
    monkeypatch.setattr(r, "_spawn", lambda workdirs, *_args: [ok for _ in workdirs])
    r.run_offline(r.states[0])
    assert r.states[0].offline_ips is None and "no time" in r.states[0].offline_reason


def test_samples_negative_time_is_a_cell_failure(tmp_path: Path) -> None:
    """The driver prints unsigned ns: a negative number is a broken or hostile guest."""
    path = _samples(tmp_path / "samples.txt", "load 1\ninit 1\niter 1 -2 3 2\n")
    with pytest.raises(CellFailed, match="bad number"):
        guest_io.parse_samples(path, 1)


def test_uniform_integer_range_without_an_integer_is_a_clear_error() -> None:
    """low 0.2, high 0.7 passes the workload check but holds no integer for an i32
    input: a one-line WorkloadError naming the field, not numpy's ValueError."""
    from bench.measure.inputs import generate
    from bench.measure.workload import InputSpec, WorkloadError

    spec = InputSpec("ids", [1, 4], "i32", low=0.2, high=0.7)
    with pytest.raises(WorkloadError, match=r"w.toml: field 'inputs.ids.high'"):
        generate(spec, "w.toml")


def test_own_guest_gets_copies_not_links_of_model_and_inputs(tmp_path):
    """A workload's own guest may be hostile: hard links would let it write into the
    model cache and the run's inputs."""
    import os

    from contracts.cells import Cell
    from contracts.jobs import CellJob, ModelFiles, TensorSpec
    from hosts import guest_io

    model = tmp_path / "m.onnx"
    model.write_bytes(b"model")
    data = tmp_path / "in.bin"
    data.write_bytes(b"\0" * 4)
    own = tmp_path / "own.wasm"
    own.write_bytes(b"\0asm\1\0\0\0")

    def job(workdir, options):
        return CellJob(
            cell=Cell("w", "preview1", "wasmtime-py", "onnx", "cpu"),
            model=ModelFiles(str(model), None, None, "0" * 64, 17),
            inputs=[TensorSpec("x", 0, "f32", [1], str(data))],
            outputs=[TensorSpec("y", 0, "f32", [1])],
            warmup=0, iterations=1, threads=1, workdir=str(workdir), options=options,
        )  # fmt: skip

    ours = guest_io.prepare(job(tmp_path / "a", {}))
    assert os.path.samefile(ours.preopen / "input0.bin", data)  # our driver: linked, no copy
    theirs = guest_io.prepare(job(tmp_path / "b", {"guest_wasm": str(own)}))
    assert not os.path.samefile(theirs.preopen / "input0.bin", data)
    assert not os.path.samefile(theirs.graph_dir / "model.onnx", model)


def test_component_host_tables_are_capped() -> None:
    """A native component that loads without dropping gets an error, not unbounded growth."""
    from hosts.wasmtime_py.component import NnError, Table

    table = Table("graph", 3)
    reps = [table.add(object()) for _ in range(3)]
    with pytest.raises(NnError) as e:
        table.add(object())
    assert e.value.code == "runtime-error" and "too many live graphs" in e.value.message
    del table.items[reps[0]]  # a drop makes room again; reps are never reused
    assert table.add(object()) not in reps
