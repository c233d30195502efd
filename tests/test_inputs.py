"""workloads/spec/inputs.py: the input tensors a workload's generators make (the
generators' seeding and types are in tests/test_workload.py)."""

from __future__ import annotations

import pytest

from workloads.spec.inputs import generate
from workloads.spec.workload import InputSpec, WorkloadError


def test_uniform_integer_range_without_an_integer_is_a_clear_error() -> None:
    """low 0.2, high 0.7 passes the workload check but holds no integer for an i32
    input: a one-line WorkloadError naming the field, not numpy's ValueError."""
    spec = InputSpec("ids", [1, 4], "i32", low=0.2, high=0.7)
    with pytest.raises(WorkloadError, match=r"w.toml: field 'inputs.ids.high'"):
        generate(spec, "w.toml")


def test_a_huge_input_file_is_refused_by_its_size_before_it_is_read(tmp_path, monkeypatch) -> None:
    """Defect 11: a 16-byte input read a 4 GB file whole before checking its size."""
    from pathlib import Path

    big = tmp_path / "big.bin"
    with open(big, "wb") as f:
        f.truncate(4 << 30)  # sparse: 4 GiB on paper, nothing on disk
    read = Path.read_bytes
    monkeypatch.setattr(Path, "read_bytes", lambda p: pytest.fail(f"read {p}") or read(p))
    spec = InputSpec("x", [4], "f32", generator="file", file=big)
    with pytest.raises(WorkloadError, match=r"big.bin has 4294967296 bytes, .* need 16"):
        generate(spec, "w.toml")


@pytest.mark.parametrize("content", [b"", b"\x93NUMPY garbage", b"not npy at all"])
def test_a_broken_npy_input_is_a_workload_error(tmp_path, content: bytes) -> None:
    bad = tmp_path / "x.npy"
    bad.write_bytes(content)
    spec = InputSpec("x", [4], "f32", generator="file", file=bad)
    with pytest.raises(WorkloadError, match=r"field 'inputs.x.file'"):
        generate(spec, "w.toml")


def test_an_npy_of_objects_is_a_workload_error(tmp_path) -> None:
    import numpy as np

    bad = tmp_path / "x.npy"
    np.save(bad, np.array([{"a": 1}] * 4, dtype=object), allow_pickle=True)
    spec = InputSpec("x", [4], "f32", generator="file", file=bad)
    with pytest.raises(WorkloadError, match=r"field 'inputs.x.file'"):
        generate(spec, "w.toml")
