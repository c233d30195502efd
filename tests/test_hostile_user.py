"""Issue 15: what a hostile user broke. Two runs on one folder, a resume over an
edited workload, adapt over its own input, a run folder without samples, inputs
too large for the memory limit, misleading messages, and the properties call's
write order. Each test fails on the code before the fix."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import onnx
import wasmtime
from onnx import TensorProto, helper

from bench.analyze.compare import compare_runs
from bench.analyze.runs import load_run
from bench.cli import main
from bench.results.lock import lock_run_folder
from contracts.cells import Cell
from contracts.jobs import CellFailed, CellJob
from contracts.logtail import telling_file
from hosts.wasmtime_py.preview1 import run_round
from tests.helpers import run_cli
from tests.synthetic_run import basic_cells, make_run
from tests.test_reliability import FAST, _start, _wait_rounds, workload
from workloads.models import prepare_model

# -- 7. properties writes its data before its count: tests/test_properties.py ------------


# -- 6. messages ------------------------------------------------------------------------


def test_a_guest_without_start_fails_its_cell_with_a_reason(tmp_path: Path) -> None:
    guest = tmp_path / "reactor.wasm"
    guest.write_bytes(wasmtime.wat2wasm('(module (memory (export "memory") 1))'))
    cell = Cell("w", "preview1", "wasmtime-py", "onnx", "cpu")
    model = prepare_model("mlp_tiny", {}, None, None).files
    job = CellJob(cell, model, [], [], 0, 1, 1, str(tmp_path / "work"),
                  options={"guest_wasm": str(guest)})  # fmt: skip
    try:
        run_round(job)
    except CellFailed as e:
        assert "reactor.wasm" in str(e) and "_start" in str(e)
    else:
        raise AssertionError("a guest without _start ran")


# -- 3. adapt never overwrites its input; a folder is no output -------------------------


def test_adapt_refuses_its_input_through_a_new_folder_and_a_folder(
    tmp_path: Path, monkeypatch, capsys
) -> None:
    monkeypatch.chdir(tmp_path)
    wat = '(module (import "wasi_ephemeral_nn" "compute" (func (param i32) (result i32)))'
    module = tmp_path / "self2.wasm"
    module.write_bytes(wasmtime.wat2wasm(wat + ' (memory (export "memory") 1))'))
    before = module.read_bytes()
    assert main(["adapt", "self2.wasm", "-o", "sub2/../self2.wasm"]) == 2
    assert "overwrite the input" in capsys.readouterr().err
    assert module.read_bytes() == before
    (tmp_path / "outdir").mkdir()
    assert main(["adapt", "self2.wasm", "-o", "outdir"]) == 2
    err = capsys.readouterr().err
    assert "outdir: is a folder" in err and ".tmp" not in err


# -- 1. one run per run folder -----------------------------------------------------------


def test_a_second_run_or_resume_on_a_busy_folder_exits_2_naming_the_holder(
    tmp_path: Path,
) -> None:
    out = tmp_path / "run"
    out.mkdir()  # created empty beforehand: the old "not empty" check let both in
    held = lock_run_folder(out)  # what a run holds while it converts its model
    try:
        p = run_cli("run", "mlp-tiny", "--hosts", "native", *FAST, "--out", str(out))
        assert p.returncode == 2, p.stderr
        line = p.stderr.strip().splitlines()[-1]
        assert str(out) in line and f"pid {os.getpid()}" in line, p.stderr
        assert [f.name for f in out.iterdir()] == [".lock"]  # the loser wrote nothing
    finally:
        held.release()
    proc = _start(out)  # a real run holds it too, and --resume takes the same lock
    try:
        _wait_rounds(out, 1, proc)
        p = run_cli("run", "--resume", str(out))
        assert p.returncode == 2 and f"pid {proc.pid}" in p.stderr, p.stderr
    finally:
        proc.kill()  # kill -9: its lock dies with it
        proc.communicate(timeout=60)
    p = run_cli("run", "--resume", str(out))
    assert p.returncode == 0, p.stderr


def test_bad_input_leaves_a_given_empty_folder_empty(tmp_path: Path) -> None:
    out = tmp_path / "given"
    out.mkdir()
    bad = workload(tmp_path, "dims", shape="[1, 65]")
    p = run_cli("run", str(bad), *FAST, "--out", str(out))
    assert p.returncode == 2, p.stderr
    assert list(out.iterdir()) == []


# -- 2. --resume refuses an edited workload or model ------------------------------------


def test_resume_refuses_a_changed_model_and_workload(tmp_path: Path) -> None:
    model = tmp_path / "new.onnx"
    cache = tmp_path / "cache"
    shutil.copyfile(prepare_model("mlp_tiny", {"seed": 11}, None, None, cache).files.onnx, model)
    toml = workload(
        tmp_path, "edited", variants="native", hosts="native", model='path = "new.onnx"'
    )
    out = tmp_path / "run"
    p = run_cli("run", str(toml), *FAST, "--out", str(out))
    assert p.returncode == 0, p.stderr
    inputs = {f.name: f.read_bytes() for f in (out / "inputs").iterdir()}
    shutil.copyfile(prepare_model("mlp_tiny", {"seed": 12}, None, None, cache).files.onnx, model)
    toml.write_text(toml.read_text() + "seed = 5\n")
    p = run_cli("run", "--resume", str(out))
    assert p.returncode == 2, p.stderr
    assert f"model file {model}" in p.stderr and f"workload file {toml}" in p.stderr, p.stderr
    assert {f.name: f.read_bytes() for f in (out / "inputs").iterdir()} == inputs


# -- 4. a run without its samples is broken for every reader ----------------------------


def test_every_reader_refuses_a_run_whose_samples_are_missing(tmp_path: Path) -> None:
    base = make_run(tmp_path / "base", basic_cells())
    broken = make_run(tmp_path / "broken", basic_cells())
    (broken / "samples.parquet").unlink()
    for args in (("report", str(broken), "--out", str(tmp_path / "rep")),
                 ("compare", str(base), str(broken)), ("history", str(base), str(broken)),
                 ("export", str(broken), "--format", "sightglass", "-o", str(tmp_path / "x.csv")),
                 ("merge", str(base), str(broken), "--out", str(tmp_path / "m"))):  # fmt: skip
        p = run_cli(*args)
        assert p.returncode == 2, (args, p.stdout, p.stderr)
        assert "broken" in p.stderr and "samples" in p.stderr, (args, p.stderr)
    assert not (tmp_path / "x.csv").exists()


# -- 5. huge tensors are refused up front; the telling stderr line is kept ---------------


def _onnx(path: Path, nodes: list, inputs: list, outputs: list, inits: list = ()) -> None:
    graph = helper.make_graph(nodes, "g", inputs, outputs, list(inits))
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), path)


def test_a_huge_input_is_refused_before_anything_is_generated(tmp_path: Path) -> None:
    f32 = TensorProto.FLOAT
    _onnx(tmp_path / "relu.onnx", [helper.make_node("Relu", ["input"], ["y"])],
          [helper.make_tensor_value_info("input", f32, [1, 3, "h", "w"])],
          [helper.make_tensor_value_info("y", f32, [1, 3, "h", "w"])])  # fmt: skip
    # 46 MiB of f32 against a 64 MiB limit (cap: a quarter of it)
    huge = workload(tmp_path, "huge", variants="native", hosts="native", extra="memory_limit_mb = 64",
                    model='path = "relu.onnx"', shape="[1, 3, 2000, 2000]")  # fmt: skip
    p = run_cli("run", str(huge), *FAST, "--out", str(tmp_path / "run"))
    assert p.returncode == 2, p.stderr
    assert "field 'inputs.input'" in p.stderr and "cap of 16 MiB" in p.stderr, p.stderr
    assert not (tmp_path / "run").exists()
    # the cap is the workload's to raise
    huge.write_text(huge.read_text().replace("memory_limit_mb = 64", "max_tensor_mb = 1"))
    p = run_cli("run", str(huge), *FAST, "--out", str(tmp_path / "run"))
    assert p.returncode == 2 and "max_tensor_mb = 1" in p.stderr, p.stderr


def test_dynamic_output_shapes_are_inferred_under_the_memory_limit(tmp_path: Path) -> None:
    i64, f32 = TensorProto.INT64, TensorProto.FLOAT
    # repeats is an input: only running the model tells the output's size (1 GiB)
    _onnx(tmp_path / "tile.onnx", [helper.make_node("Tile", ["input", "repeats"], ["y"])],
          [helper.make_tensor_value_info("input", f32, [1, 1024]),
           helper.make_tensor_value_info("repeats", i64, [2])],
          [helper.make_tensor_value_info("y", f32, ["m", "n"])])  # fmt: skip
    w = workload(tmp_path, "tile", variants="native", hosts="native", extra="memory_limit_mb = 400",
                 model='path = "tile.onnx"', shape="[1, 1024]")  # fmt: skip
    w.write_text(w.read_text() + '[inputs.repeats]\nshape = [2]\ndtype = "i64"\n'
                 'generator = "constant"\nvalue = 512\n')  # fmt: skip
    p = run_cli("run", str(w), *FAST, "--out", str(tmp_path / "run"))
    assert p.returncode == 2, p.stderr
    assert "field 'model'" in p.stderr and "memory limit" in p.stderr, p.stderr
    assert not (tmp_path / "run").exists()


def test_a_reason_keeps_the_line_that_explains_the_failure(tmp_path: Path) -> None:
    usage = (
        "driver: bad output MAXBYTES: 4800000000\n"
        "usage: driver --encoding ENC --target TGT [--load bytes|name] [--name NAME]\n"
        + "  more usage\n"
        * 6
    )
    (tmp_path / "stderr").write_text(usage)
    assert "driver: bad output MAXBYTES: 4800000000" in telling_file(
        tmp_path / "stderr", "driver", 3
    )
    traceback = "Traceback (most recent call last):\n" + '  File "x.py"\n' * 20
    (tmp_path / "worker.stderr").write_text(traceback + "ValueError: the cause\n  a note\n")
    assert "ValueError: the cause" in telling_file(tmp_path / "worker.stderr")


def test_an_input_the_model_lacks_is_reported_under_its_own_field(tmp_path: Path) -> None:
    f32 = TensorProto.FLOAT
    _onnx(tmp_path / "relu.onnx", [helper.make_node("Relu", ["input"], ["y"])],
          [helper.make_tensor_value_info("input", f32, [1, 4])],
          [helper.make_tensor_value_info("y", f32, [1, 4])])  # fmt: skip
    w = workload(tmp_path, "mask", variants="native", hosts="native",
                 model='path = "relu.onnx"', shape="[1, 4]")  # fmt: skip
    w.write_text(w.read_text() + '[inputs.mask]\nshape = [1, 4]\ndtype = "f32"\n')
    p = run_cli("run", str(w), *FAST, "--out", str(tmp_path / "run"))
    assert p.returncode == 2 and "field 'inputs.mask'" in p.stderr, p.stderr


def test_compare_never_passes_on_cells_left_out_for_missing_samples(tmp_path: Path) -> None:
    base = load_run(make_run(tmp_path / "base", basic_cells()))
    head = load_run(make_run(tmp_path / "head", basic_cells()))
    head.samples = head.samples[head.samples["variant"] != "preview1"]  # lost after loading
    cmp = compare_runs(base, head)
    assert cmp.not_compared and all(why.split(": ", 1)[1] for _, why in cmp.not_compared)
    assert cmp.exit_code == 1
