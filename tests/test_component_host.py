"""hosts/wasmtime_py/component.py internals: its resource tables and what its
`compile` phase times (the real component driver on this host is in
tests/test_component.py)."""

from __future__ import annotations

from pathlib import Path

import pytest
import wasmtime

from contracts.jobs import CellFailed
from hosts.abi import NnError
from hosts.abi.wit import BACKEND_TO_WIT
from hosts.wasmtime_py import component
from hosts.wasmtime_py.component import Table


def test_component_compile_phase_excludes_reading_the_file(tmp_path: Path, monkeypatch) -> None:
    """`compile` must time wasmtime's compile only, as the preview1 host does: the
    guest file is read before the clock starts."""
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


def test_component_host_tables_are_capped() -> None:
    """A native component that loads without dropping gets an error, not unbounded growth."""
    table = Table("graph", 3)
    reps = [table.add(object()) for _ in range(3)]
    with pytest.raises(NnError) as e:
        table.add(object())
    assert e.value.code == "runtime_error" and "too many live graphs" in e.value.message
    assert BACKEND_TO_WIT[e.value.code] == "runtime-error"  # what the guest's error says
    del table.items[reps[0]]  # a drop makes room again; reps are never reused
    assert table.add(object()) not in reps
