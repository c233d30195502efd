"""hosts/wasmtime_cli/: the wasmtime CLI host's compile cache and how it names a
CLI that died (the CLI's answers to the ABI cases are in tests/conformance/)."""

from __future__ import annotations

from pathlib import Path

import pytest
import wasmtime

from contracts import paths
from contracts.cells import Cell
from contracts.jobs import CellFailed, CellJob, ModelFiles
from hosts import wasmtime_cli
from hosts.wasmtime_cli import binary as wasmtime_binary
from tests.conformance import abi_cases


@pytest.mark.cli
def test_cli_compile_cache_survives_a_kill_while_writing_its_meta(
    tmp_path: Path, monkeypatch
) -> None:
    """A run killed while writing the .cwasm's meta must not leave a half-written
    meta that every later run (or a concurrent shard) fails to parse."""
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
            wasmtime_binary.precompile(wasm)
    cwasm, ns, cached = wasmtime_binary.precompile(wasm)
    assert cwasm.is_file() and ns > 0 and not cached


@pytest.mark.cli
@pytest.mark.parametrize("damage", ["truncated", "emptied", "a flipped byte", "meta corrupt",
                                    "meta without sha256"])  # fmt: skip
def test_a_damaged_cached_cwasm_is_compiled_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, damage: str
) -> None:
    """Defect 15: a truncated .cwasm in the cache was used by every later CLI cell."""
    monkeypatch.setenv(paths.CLI_CACHE_ENV, str(tmp_path / "cache"))
    wasm = tmp_path / "tiny.wasm"
    wasm.write_bytes(wasmtime.wat2wasm('(module (func (export "f") (result i32) i32.const 7))'))
    cwasm, _, cached = wasmtime_binary.precompile(wasm)
    good = cwasm.read_bytes()
    meta = cwasm.with_suffix(".json")
    if damage == "truncated":
        cwasm.write_bytes(good[: len(good) // 2])
    elif damage == "emptied":
        cwasm.write_bytes(b"")
    elif damage == "a flipped byte":
        cwasm.write_bytes(good[:100] + bytes([good[100] ^ 1]) + good[101:])
    elif damage == "meta corrupt":
        meta.write_text("{")
    else:
        meta.write_text('{"compile_ns": 5}')
    again, ns, cached = wasmtime_binary.precompile(wasm)
    assert again == cwasm and not cached and ns > 0
    assert again.read_bytes() == good
    assert wasmtime_binary.precompile(wasm)[2]  # whole again: the cache is used


def test_cli_crash_with_a_timeout_set_is_not_called_a_timeout(
    onnx_model: abi_cases.Model, tmp_path: Path, monkeypatch
) -> None:
    """A CLI killed by a signal (e.g. SIGABRT from a wasi-nn host panic) well before
    the timeout must be reported as that signal, not as 'killed after the timeout'."""
    fake = tmp_path / "fake-wasmtime"  # the one crash a real guest cannot be relied on for
    fake.write_text(
        '#!/bin/sh\ncase "$1" in\n--version) echo "wasmtime 0.0.0 (fake)";;\n'
        'compile) : > "$3";;\nrun) kill -ABRT $$;;\nesac\n'
    )
    fake.chmod(0o755)
    monkeypatch.setattr(wasmtime_binary, "cli_binary", lambda: fake)
    monkeypatch.setenv(paths.CLI_CACHE_ENV, str(tmp_path / "cache"))
    wasmtime_binary.cli_version.cache_clear()
    onnx = str(onnx_model.folder / "graph" / "model.onnx")
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
        wasmtime_binary.cli_version.cache_clear()
    assert "SIGABRT" in str(e.value) and "timeout" not in str(e.value)
