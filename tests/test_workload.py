"""Workload schema: every shipped workload validates; bad input names file and field."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from workloads.spec.inputs import generate
from workloads.spec.workload import (
    WorkloadError,
    find_workload,
    load_workload,
    suite,
    workload_files,
)

GOOD = """
name = "w"
[model]
builder = "mlp_tiny"
[inputs.input]
shape = [1, 64]
dtype = "f32"
"""


def write(tmp_path: Path, text: str, name: str = "w.toml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_shipped_workloads_validate() -> None:
    names = {load_workload(p).name for p in workload_files()}
    assert {"mlp-tiny", "mobilenetv2", "resnet50", "squeezenet", "bert-encoder"} <= names
    assert "mlp-tiny" in {w.name for w in suite("quick")}
    assert {w.name for w in suite("quick")} <= {w.name for w in suite("full")}


def test_defaults(tmp_path: Path) -> None:
    w = load_workload(write(tmp_path, GOOD))
    assert (w.builder, w.backends, w.devices, w.threads) == (
        "mlp_tiny",
        ["onnx", "openvino"],
        ["cpu"],
        1,
    )
    assert w.inputs[0].shape == [1, 64]


@pytest.mark.parametrize(
    ("change", "field", "problem"),
    [
        (('dtype = "f32"', 'dtype = "f128"'), "inputs.input.dtype", "unsupported dtype"),
        (("shape = [1, 64]", "shape = [1, -64]"), "inputs.input.shape", "positive integers"),
        (("shape = [1, 64]", 'shape = "1x64"'), "inputs.input.shape", "expected a list"),
        (('builder = "mlp_tiny"', 'builder = "alexnet"'), "model.builder", "unknown builder"),
        (('builder = "mlp_tiny"', 'path = "missing.onnx"'), "model.path", "does not exist"),
        (('name = "w"', 'name = "w"\nitreations = 5'), "itreations", "unknown field"),
        (('name = "w"', 'name = "w"\nbackends = ["tflite"]'), "backends", "unknown value"),
        (('name = "w"', 'name = "w"\niterations = 0'), "iterations", "must be >= 1"),
        (('name = "w"', 'name = "Bad Name"'), "name", "must be lowercase"),
        (
            ('dtype = "f32"', 'dtype = "f32"\ngenerator = "file"'),
            "inputs.input.file",
            "is required",
        ),
        (
            ('dtype = "f32"', 'dtype = "f32"\ngenerator = "gauss"'),
            "inputs.input.generator",
            "unknown generator",
        ),
    ],
)
def test_errors_name_file_and_field(
    tmp_path: Path, change: tuple[str, str], field: str, problem: str
) -> None:
    path = write(tmp_path, GOOD.replace(*change))
    with pytest.raises(WorkloadError) as e:
        load_workload(path)
    message = str(e.value)
    assert str(path) in message and f"'{field}'" in message and problem in message
    assert "\n" not in message


def test_missing_model_table_and_bad_toml(tmp_path: Path) -> None:
    with pytest.raises(WorkloadError, match="field 'model': is required"):
        load_workload(write(tmp_path, 'name = "w"\n[inputs.x]\nshape=[1]\n'))
    with pytest.raises(WorkloadError, match="invalid TOML"):
        load_workload(write(tmp_path, "name = = 1"))


def test_unknown_workload_lists_known() -> None:
    with pytest.raises(WorkloadError, match="unknown workload 'nope'.*mlp-tiny"):
        find_workload("nope")


def test_generators_are_seeded_and_typed(tmp_path: Path) -> None:
    w = load_workload(
        write(
            tmp_path, GOOD.replace('dtype = "f32"', 'dtype = "f32"\ngenerator = "normal"\nseed = 7')
        )
    )
    a, b = generate(w.inputs[0], "w"), generate(w.inputs[0], "w")
    assert a.dtype == np.float32 and a.shape == (1, 64) and np.array_equal(a, b)
    ids = GOOD.replace('dtype = "f32"', 'dtype = "i64"\nlow = 0\nhigh = 10')
    x = generate(load_workload(write(tmp_path, ids, "i.toml")).inputs[0], "w")
    assert x.dtype == np.int64 and x.min() >= 0 and x.max() < 10


def test_file_generator_checks_size(tmp_path: Path) -> None:
    np.arange(64, dtype=np.float32).tofile(tmp_path / "x.bin")
    ok = GOOD.replace('dtype = "f32"', 'dtype = "f32"\ngenerator = "file"\nfile = "x.bin"')
    w = load_workload(write(tmp_path, ok))
    assert generate(w.inputs[0], "w")[0, 5] == 5
    w.inputs[0].shape = [1, 65]
    with pytest.raises(WorkloadError, match="inputs.input.file.*256 bytes"):
        generate(w.inputs[0], "w")


# -- hostile numbers and bytes (issue 25, defects 9 and 14) -----------------------------

HOSTILE_FIELDS = {
    "timeout_s = nan": "timeout_s",
    "timeout_s = inf": "timeout_s",
    "timeout_s = -inf": "timeout_s",
    "timeout_s = 1" + "0" * 400: "timeout_s",
    "iterations = 9223372036854775808": "iterations",
    "rounds = 99999999999999999999999": "rounds",
}


@pytest.mark.parametrize("line", sorted(HOSTILE_FIELDS))
def test_non_finite_and_out_of_range_numbers_name_their_field(tmp_path: Path, line: str) -> None:
    path = write(tmp_path, line + "\n" + GOOD)
    with pytest.raises(WorkloadError, match=rf"w.toml: field '{HOSTILE_FIELDS[line]}'"):
        load_workload(path)


@pytest.mark.parametrize("shape", ["[1, 9223372036854775808]", "[1, 18446744073709551616]",
                                   "[1, 1" + "0" * 400 + "]", "[-1, 64]"])  # fmt: skip
def test_a_shape_dimension_past_int64_is_a_workload_error(tmp_path: Path, shape: str) -> None:
    path = write(tmp_path, GOOD.replace("[1, 64]", shape))
    with pytest.raises(WorkloadError, match=r"w.toml: field 'inputs.input.shape"):
        load_workload(path)


def test_a_workload_that_is_not_utf8_is_a_workload_error(tmp_path: Path) -> None:
    path = tmp_path / "w.toml"
    path.write_bytes(b'name = "w\xff"\n' + GOOD.encode())
    with pytest.raises(WorkloadError, match="w.toml: not UTF-8"):
        load_workload(path)
