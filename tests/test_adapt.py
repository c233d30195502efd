"""`wasinn-bench adapt` for any wasi-nn program (docs/adapter.md, docs/programs.md).

- a program that imports `bench` gets the bench adapter, and its marks come out;
- an import module adapt does not handle: one line naming module and function, exit 2;
- a file that is not wasm: a clear one-line error;
- a failing tool (npm printing a node stack trace) never shows its trace: one line, exit 2;
- the shared wasm reader tells core modules from components.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest
import wasmtime

from bench.cli import main
from contracts import marks, paths, wasm_binary
from hosts.programs import split_marks
from tests.helpers import run_cli
from workloads.guests import adapt as adapt_mod
from workloads.guests import toolchain

NN_COMPUTE = '(import "wasi_ephemeral_nn" "compute" (func $compute (param i32) (result i32)))'
EXIT = '(import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))'
BENCH = '(import "bench" "start" (func $start)) (import "bench" "end" (func $end))'


@pytest.fixture(scope="module")
def wasi_adapters() -> Path:
    try:
        return toolchain.wasi_adapter("command")
    except toolchain.ToolError as e:
        pytest.skip(f"WASI adapters unavailable: {e}")


def _module(path: Path, imports: str, body: str = "") -> Path:
    text = f'(module {imports} (memory (export "memory") 1) {body})'
    path.write_bytes(wasmtime.wat2wasm(text))
    return path


def _one_line_error(proc) -> str:  # noqa: ANN001 - CompletedProcess
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert "Traceback" not in proc.stderr and "    at " not in proc.stderr
    return lines[0]


def test_adapts_a_program_with_bench_imports(wasi_adapters: Path, tmp_path: Path) -> None:
    """bench.start/end inside a component: two regions, as stderr lines the host parses."""
    core = _module(
        tmp_path / "marks.wasm",
        f"{NN_COMPUTE} {EXIT} {BENCH}",
        '(func (export "_start") (call $start) (call $end) (call $start) (call $end))',
    )
    out = tmp_path / "marks.component.wasm"
    proc = run_cli("adapt", str(core), "-o", str(out))
    assert proc.returncode == 0, proc.stderr
    assert wasm_binary.file_kind(out) == "component"
    assert core.read_bytes() in wasm_binary.embedded_core_modules(out.read_bytes())
    from hosts.wasmtime_py.component import NnConfig, run_component

    err = tmp_path / "stderr.txt"
    run = run_component(out, ["marks"], tmp_path, NnConfig(), tmp_path / "o.txt", err)
    assert run.trap is None and run.exit_code == 0
    regions, rest, forged = split_marks(err.read_bytes(), marks.PLACEHOLDER)  # no token given
    assert len(regions) == 2 and rest == "" and forged == 0
    assert all(0 <= end - start < 10**9 for start, end in regions)
    assert regions[0][1] <= regions[1][0]


def test_an_adapted_programs_marks_carry_its_token_and_printed_ones_fail(
    wasi_adapters: Path, tmp_path: Path
) -> None:
    """Issue 25, defect 6: the bench adapter writes the token given to adapt (never
    left in the program's memory); a line the program prints itself is forged."""
    from hosts.programs import ProgramJob
    from hosts.wasmtime_py.program import run_component_program

    token = marks.new_token()
    core = _module(
        tmp_path / "marks.wasm",
        f'{NN_COMPUTE} {EXIT} {BENCH} (import "wasi_snapshot_preview1" "fd_write" '
        "(func $w (param i32 i32 i32 i32) (result i32)))",
        '(data (i32.const 64) "wasinn-bench region 0 1\\0a")'
        '(func (export "_start") (call $start) (call $end)'
        " (i32.store (i32.const 0) (i32.const 64)) (i32.store (i32.const 4) (i32.const 24))"
        " (drop (call $w (i32.const 2) (i32.const 0) (i32.const 1) (i32.const 8))))",
    )
    out = tmp_path / "marks.component.wasm"
    adapt_mod.adapt(core, out, mark_token=token)
    job = ProgramJob(out, tmp_path / "work", mark_token=token)
    result = run_component_program(job)
    assert len(result.regions) == 1  # the real region, through the adapter
    assert "printed 1 bench mark line(s) itself" in (result.failure or "")
    # the same component judged with another token: its real mark is not ours either
    other = run_component_program(ProgramJob(out, tmp_path / "work2", mark_token=marks.new_token()))
    assert other.regions == [] and "printed 2 bench mark line(s)" in (other.failure or "")


def test_a_module_without_start_gets_the_reactor_adapter(
    wasi_adapters: Path, tmp_path: Path
) -> None:
    core = _module(
        tmp_path / "lib.wasm",
        f'{NN_COMPUTE} (import "wasi_snapshot_preview1" "fd_write" (func (param i32 i32 i32 i32) (result i32)))',
        '(func (export "classify") (result i32) (i32.const 0))',
    )
    out = tmp_path / "lib.component.wasm"
    adapt_mod.adapt(core, out)
    wit = toolchain.wasm_tools("component", "wit", str(out))
    assert "export wasi:cli/run" not in wit  # a command would export it


def test_unknown_import_module_is_one_line_exit_2(wasi_adapters: Path, tmp_path: Path) -> None:
    core = _module(
        tmp_path / "odd.wasm",
        f'{NN_COMPUTE} (import "wasi_custom_thing" "frobnicate" (func (param i32)))',
    )
    line = _one_line_error(run_cli("adapt", str(core), "-o", str(tmp_path / "x.wasm")))
    assert "wasi_custom_thing.frobnicate" in line
    assert "wasi_ephemeral_nn" in line and "wasi_snapshot_preview1" in line and "bench" in line
    bad_bench = _module(tmp_path / "bb.wasm", f'{NN_COMPUTE} (import "bench" "pause" (func))')
    line = _one_line_error(run_cli("adapt", str(bad_bench), "-o", str(tmp_path / "y.wasm")))
    assert "bench.pause" in line
    assert not (tmp_path / "x.wasm").exists() and not (tmp_path / "y.wasm").exists()


def test_not_wasm_is_a_clear_error(tmp_path: Path) -> None:
    text = tmp_path / "model.onnx"
    text.write_bytes(b"\x08\x07\x12\x04onnx")
    line = _one_line_error(run_cli("adapt", str(text), "-o", str(tmp_path / "x.wasm")))
    assert line == f"wasinn-bench adapt: error: {text}: not a WebAssembly file (no \\0asm header)"
    truncated = tmp_path / "cut.wasm"
    truncated.write_bytes(b"\0asm\x01\x00\x00\x00\x02\x40")  # an import section cut short
    line = _one_line_error(run_cli("adapt", str(truncated), "-o", str(tmp_path / "y.wasm")))
    assert "runs past the end" in line


def test_a_tool_stack_trace_never_reaches_the_user(tmp_path: Path, monkeypatch, capsys) -> None:
    """npm that fails with a node stack trace (as npm does offline): one line, exit 2."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    fake = bin_dir / "npm"
    fake.write_text(
        "#!/bin/sh\n"
        "echo 'npm error code ENOTFOUND' >&2\n"
        "echo 'Error: getaddrinfo ENOTFOUND registry' >&2\n"
        "echo '    at GetAddrInfoReqWrap.onlookup (node:dns:120:26)' >&2\n"
        "echo '    at process.processTicksAndRejections (node:internal/process/task_queues:95:5)' >&2\n"
        "exit 1\n"
    )
    fake.chmod(fake.stat().st_mode | stat.S_IXUSR)
    (bin_dir / "node").symlink_to(fake)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv(paths.CACHE_ROOT_ENV, str(tmp_path / "cache"))
    monkeypatch.setattr(toolchain, "NODE_DIR", tmp_path / "no-node-modules")
    core = _module(tmp_path / "p.wasm", f"{NN_COMPUTE} {EXIT}", '(func (export "_start"))')
    assert main(["adapt", str(core), "-o", str(tmp_path / "x.wasm")]) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert lines[0].startswith("wasinn-bench: fetching the WASI preview1 adapters")
    assert len(lines) == 2, lines
    assert lines[1].startswith("wasinn-bench adapt: error: npm pack") and "ENOTFOUND" in lines[1]
    assert "node:dns" not in lines[1] and "processTicksAndRejections" not in lines[1]
    assert not (tmp_path / "x.wasm").exists()


def test_wasm_reader_kinds(tmp_path: Path) -> None:
    prebuilt = Path(adapt_mod.PREBUILT)
    assert wasm_binary.file_kind(prebuilt / "driver-preview1.wasm") == "core"
    assert wasm_binary.file_kind(prebuilt / "driver-adapted.wasm") == "component"
    assert wasm_binary.is_core_module(prebuilt / "bench_preload.wasm")
    junk = tmp_path / "junk"
    junk.write_bytes(b"hello")
    assert not wasm_binary.is_core_module(junk)
    with pytest.raises(wasm_binary.WasmFormatError, match="no \\\\0asm header"):
        wasm_binary.file_kind(junk)


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
