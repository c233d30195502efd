"""Micro-benchmarks of the wasmtime-py hosts (`nox -s micro`, pytest-benchmark).

- list<u8> transfer across one component host call, guest -> host (`in`, a
  parameter) and host -> guest (`out`, a result), for 4 KB, 602,112 B (a
  1x3x224x224 f32 image) and 2.5 MB, through the fast path
  (hosts.wasmtime_py.fastlist) and wasmtime-py's stock conversion, in the same
  run (transfer.wat is the guest);
- a trivial host call: core module (`Linker.define_func`, the preview1 host's
  API) vs component (`add_func`, stock and our fastlist wrapper);
- the driver on a tiny model, preview1 vs component: guest-timed medians of
  set_input / compute / get_output (the same wasi-nn work on both ABIs).

Numbers are printed, never asserted (the machines swing ~2x, DESIGN.md §1).
"""

from __future__ import annotations

import statistics
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import wasmtime
from wasmtime import Engine, Store, wat2wasm
from wasmtime.component import Component, Linker

from contracts.cells import Cell
from hosts.wasmtime_py import fastlist
from microbenchmarks import registry

HERE = Path(__file__).resolve().parent
SIZES = {"4KB": 4096, "602KB": 602_112, "2.5MB": 2_500_000}
NOOP_CALLS = 2000


class TransferGuest:
    """transfer.wat instantiated with host functions through one conversion path."""

    def __init__(self, engine: Engine, component: Component, fast: bool):
        self.payload = b""
        self.received = 0
        add: Callable[..., None] = (
            fastlist.add_func if fast else (lambda inst, name, fn: inst.add_func(name, fn))
        )
        linker = Linker(engine)
        with linker.root() as root, root.add_instance("host") as inst:
            add(inst, "take", self._take)
            add(inst, "give", lambda _store: self.payload)
            add(inst, "noop", lambda _store, x: x)
        self.store = Store(engine)
        instance = linker.instantiate(self.store, component)
        self.funcs = {n: instance.get_func(self.store, n) for n in ("send", "recv", "call-noop")}

    def _take(self, _store: Any, data: bytes) -> None:
        self.received = len(data)

    def call(self, name: str, *args: Any) -> Any:
        func = self.funcs[name]
        result = func(self.store, *args)
        func.post_return(self.store)
        return result


@pytest.fixture(scope="module")
def guests() -> dict[str, TransferGuest]:
    engine = Engine()
    component = Component(engine, wat2wasm((HERE / "transfer.wat").read_text()))
    return {path: TransferGuest(engine, component, path == "fast") for path in ("fast", "stock")}


def _rounds(size: int, path: str) -> int:
    # the stock path takes ~0.5-2 s per 602 KB-2.5 MB call: keep it short
    if path == "stock":
        return 1 if size > 1_000_000 else 3
    return 10 if size > 1_000_000 else 20


@pytest.mark.parametrize("path", ["fast", "stock"])
@pytest.mark.parametrize("size", list(SIZES.values()), ids=list(SIZES))
def test_transfer_in(benchmark: Any, guests: dict, size: int, path: str) -> None:
    guest = guests[path]
    benchmark.group = f"transfer in {size} B"
    benchmark.pedantic(guest.call, args=("send", size), rounds=_rounds(size, path), warmup_rounds=1)
    assert guest.received == size
    registry.TRANSFER[("in", size, path)] = benchmark.stats.stats.median


@pytest.mark.parametrize("path", ["fast", "stock"])
@pytest.mark.parametrize("size", list(SIZES.values()), ids=list(SIZES))
def test_transfer_out(benchmark: Any, guests: dict, size: int, path: str) -> None:
    guest = guests[path]
    guest.payload = np.random.default_rng(size).integers(0, 256, size, np.uint8).tobytes()
    benchmark.group = f"transfer out {size} B"
    got = benchmark.pedantic(
        guest.call, args=("recv",), rounds=_rounds(size, path), warmup_rounds=1
    )
    assert got == size
    registry.TRANSFER[("out", size, path)] = benchmark.stats.stats.median


@pytest.mark.parametrize("path", ["fast", "stock"])
def test_component_host_call(benchmark: Any, guests: dict, path: str) -> None:
    benchmark.group = f"trivial host call x{NOOP_CALLS}"
    benchmark.pedantic(guests[path].call, args=("call-noop", NOOP_CALLS), rounds=10)
    api = "component add_func" + (" (fastlist wrapper)" if path == "fast" else " (stock)")
    registry.PER_CALL[api] = benchmark.stats.stats.median / NOOP_CALLS


CORE_WAT = """
(module
  (import "host" "noop" (func $noop (param i32) (result i32)))
  (func (export "call-noop") (param $n i32) (result i32)
    (local $acc i32)
    (block $done
      (loop $next
        (br_if $done (i32.eqz (local.get $n)))
        (local.set $acc (i32.add (local.get $acc) (call $noop (local.get $n))))
        (local.set $n (i32.sub (local.get $n) (i32.const 1)))
        (br $next)))
    (local.get $acc)))
"""


def test_core_host_call(benchmark: Any) -> None:
    """The same loop as a core module with `Linker.define_func` (the preview1 host's API)."""
    engine = Engine()
    linker = wasmtime.Linker(engine)
    i32 = wasmtime.ValType.i32()
    linker.define_func("host", "noop", wasmtime.FuncType([i32], [i32]), lambda x: x)
    store = Store(engine)
    instance = linker.instantiate(store, wasmtime.Module(engine, CORE_WAT))
    run = instance.exports(store)["call-noop"]
    benchmark.group = f"trivial host call x{NOOP_CALLS}"
    benchmark.pedantic(run, args=(store, NOOP_CALLS), rounds=10)
    registry.PER_CALL["core define_func (preview1 API)"] = benchmark.stats.stats.median / NOOP_CALLS


# -- the real driver on both ABIs ------------------------------------------------


def _tiny_job(tmp: Path, variant: str, iterations: int) -> Any:
    # the model and job of tests/test_component.py (2 inputs, 2 outputs, 4 floats each)
    from tests.test_component import _job, _tiny_model

    root = tmp / "model"
    if not root.is_dir():
        root.mkdir()
        _tiny_model(root / "tiny.onnx")
        rng = np.random.default_rng(2)
        for name in ("x", "y"):
            rng.standard_normal((1, 4)).astype(np.float32).tofile(root / f"{name}.bin")
    job = _job(root, tmp / variant)
    job.cell = Cell("tiny", variant, "wasmtime-py", "onnx", "cpu")
    job.warmup, job.iterations = 20, iterations
    return job


@pytest.mark.parametrize("variant", ["preview1", "component"])
def test_driver_per_call(benchmark: Any, tmp_path_factory: Any, variant: str) -> None:
    """One round of the driver (200 iterations of 2 inputs, compute, 2 outputs)."""
    from hosts.wasmtime_py import WasmtimePyHost

    job = _tiny_job(tmp_path_factory.getbasetemp(), variant, 200)
    host = WasmtimePyHost()
    benchmark.group = "driver round, tiny model, 200 iterations"
    result = benchmark.pedantic(host.run_round, args=(job,), rounds=3)
    registry.DRIVER[variant] = {p: statistics.median(v) for p, v in result.per_iteration.items()}
