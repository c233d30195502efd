"""bench/measure/matrix.py: which cells a workload expands to, baselines first."""

from __future__ import annotations

from bench.measure.matrix import Filters, expand
from workloads.spec.workload import find_workload

W = "mlp-tiny"  # the workload the tests below run


def test_matrix_runs_native_c_as_a_baseline_like_native() -> None:
    w = find_workload(W)
    cells = expand([w], Filters(hosts=["wasmtime-cli"], backends=["openvino"]))
    hosts = [c.host for c in cells]
    assert hosts[:2] == ["native", "native-c"] and "wasmtime-cli" in hosts
    # native only: no wasm cell, no native-c baseline forced in
    only = expand([w], Filters(hosts=["native"], backends=["onnx"]))
    assert [c.host for c in only] == ["native"]


def test_matrix_baselines_lead_each_group() -> None:
    cells = expand([find_workload(W)], Filters(hosts=["native", "wasmtime-cli"]))
    assert [c.host for c in cells[:2]] == ["native", "native-c"]
