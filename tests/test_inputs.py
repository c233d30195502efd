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
