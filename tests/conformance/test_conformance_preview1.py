"""The witx ABI conformance cases on wasmtime-py (ours) and the wasmtime CLI."""

from __future__ import annotations

from pathlib import Path

import abi_cases
import numpy as np
import onnxruntime as ort
import pytest
import wasmtime

from hosts.abi.witx import ERRNO
from hosts.wasmtime_py.preview1 import Preview1Nn

CASES = list(abi_cases.cases())
IDS = [c.name for c in CASES]


@pytest.fixture(scope="module", params=["onnx", "openvino"])
def model(request, tmp_path_factory) -> abi_cases.Model:
    return abi_cases.conformance_model(tmp_path_factory.mktemp("model"), request.param)


@pytest.fixture(scope="module")
def ov_model(tmp_path_factory) -> abi_cases.Model:
    return abi_cases.conformance_model(tmp_path_factory.mktemp("ov"), "openvino")


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_wasmtime_py(case: abi_cases.Case, model: abi_cases.Model) -> None:
    code, error = abi_cases.run_wasmtime_py(abi_cases.build(case, model), model)
    assert code == case.errno, f"{case.name}: exit {code}, want {case.errno}; host said {error!r}"
    if case.errno:  # the host kept a message that names the call
        call = error.split(":", 1)[0]
        assert call in case.body, error


def test_cases_cover_every_errno_a_guest_can_cause() -> None:
    seen = {c.expected for c in CASES}
    assert seen >= set(ERRNO) - {"missing_memory", "busy"}


class Exploding:
    """A backend whose load raises a non-backend exception (cannot be caused otherwise)."""

    name = "boom"
    encodings = ("onnx",)

    def load(self, *args: object) -> None:
        raise ValueError("kaboom")


def test_unexpected_host_exception_is_runtime_error(model: abi_cases.Model) -> None:
    case = next(c for c in CASES if c.name == "load_ok")
    engine = wasmtime.Engine()
    nn = Preview1Nn(backend_for=lambda enc: Exploding())
    linker = wasmtime.Linker(engine)
    linker.define_wasi()
    nn.define(linker)
    store = wasmtime.Store(engine)
    store.set_wasi(wasmtime.WasiConfig())
    instance = linker.instantiate(store, wasmtime.Module(engine, abi_cases.build(case, model)))
    nn.bind(store, instance.exports(store)["memory"])
    with pytest.raises(wasmtime.ExitTrap) as exit_trap:
        instance.exports(store)["_start"](store)
    assert exit_trap.value.code == ERRNO["runtime_error"]
    assert "ValueError: kaboom" in nn.last_error


def test_missing_memory(model: abi_cases.Model) -> None:
    captured = abi_cases.capture_imports(Preview1Nn())
    assert captured["compute"](0) == ERRNO["invalid_argument"]  # no context yet
    assert captured["load"](0, 1, 1, 0, 0) == ERRNO["missing_memory"]


@pytest.mark.cli
@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_wasmtime_cli(case: abi_cases.Case, ov_model: abi_cases.Model, tmp_path: Path) -> None:
    """The CLI answers as recorded in CLI_OUTCOMES (documented in docs/hosts.md)."""
    code, stderr = abi_cases.run_wasmtime_cli(abi_cases.build(case, ov_model), ov_model, tmp_path)
    outcome = abi_cases.cli_outcome(code, stderr)
    assert outcome == abi_cases.cli_expected(case), stderr[-2000:]


def test_memory_growth_is_seen(model: abi_cases.Model) -> None:
    """A tensor in pages the guest grew after the host's first look is readable."""
    store, memory, nn, nn_imports = abi_cases.host_with_context(model)
    memory.grow(store, 1)
    base = 65536
    memory.write(store, np.array([1, 4], dtype="<u4").tobytes(), base)
    memory.write(store, abi_cases.INPUT.tobytes(), base + 16)
    record = np.array([base, 2, 1, base + 16, 16], dtype="<u4").tobytes()
    memory.write(store, record, base + 64)
    assert nn_imports["set_input"](0, 0, base + 64) == 0, nn.last_error


def test_set_input_takes_the_data_at_set_input(onnx_model: abi_cases.Model) -> None:
    """The witx set_input hands the host a tensor: a guest that reuses its buffer
    after set_input (as wasmtime, which copies, allows) must not change the input."""
    store, memory, nn, abi = abi_cases.host_with_context(onnx_model)
    memory.write(store, np.array([1, 4], dtype="<u4").tobytes(), 64)
    memory.write(store, abi_cases.INPUT.tobytes(), 128)
    memory.write(store, np.array([64, 2, 1, 128, 16], dtype="<u4").tobytes(), 32)
    assert abi["set_input"](0, 0, 32) == 0, nn.last_error
    memory.write(store, np.full(4, 1000.0, dtype=np.float32).tobytes(), 128)  # buffer reused
    assert abi["compute"](0) == 0, nn.last_error
    assert abi["get_output"](0, 0, 256, 12, 24) == 0, nn.last_error
    got = np.frombuffer(memory.read(store, 256, 268), dtype=np.float32)
    session = ort.InferenceSession(str(onnx_model.folder / "graph" / "model.onnx"))
    want = session.run(None, {"x": abi_cases.INPUT})[0].reshape(-1)
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)
