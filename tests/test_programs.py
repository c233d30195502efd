"""Program workloads, host side (hosts/programs.py, docs/programs.md).

The example workloads/programs/classify (a C program of ours, sightglass style) runs
as preview1 and adapted, on wasmtime-py and on the wasmtime CLI (`--preload bench=`
for the core module, the bench adapter inside the component): the same stdout
everywhere, equal to expected_stdout.txt, and one bench region per iteration.
A non-zero exit, a trap and a run that never calls bench.end are failures with a reason.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest
import wasmtime

from contracts.jobs import CellFailed
from hosts.programs import ProgramJob, split_marks
from hosts.wasmtime_cli import WasmtimeCliHost
from hosts.wasmtime_py import WasmtimePyHost
from workloads.guests import toolchain
from workloads.guests.adapt import adapt

CLASSIFY = Path(__file__).resolve().parent.parent / "workloads" / "programs" / "classify"
EXPECTED = (CLASSIFY / "expected_stdout.txt").read_text()
ITERATIONS = 3
HOSTS = {"wasmtime-py": WasmtimePyHost, "wasmtime-cli": WasmtimeCliHost}


@pytest.fixture(scope="module")
def programs(tmp_path_factory) -> dict[str, Path]:
    """classify.wasm as committed, and adapted here by `wasinn-bench adapt`."""
    folder = tmp_path_factory.mktemp("classify")
    try:
        toolchain.wasi_adapter("command")
    except toolchain.ToolError as e:
        pytest.skip(f"WASI adapters unavailable: {e}")
    adapted = folder / "classify-adapted.wasm"
    adapt(CLASSIFY / "classify.wasm", adapted)
    return {"preview1": CLASSIFY / "classify.wasm", "adapted": adapted}


def _job(wasm: Path, workdir: Path, **kw) -> ProgramJob:  # noqa: ANN003
    args = kw.pop("args", ("openvino", str(ITERATIONS)))
    return ProgramJob(wasm=wasm, workdir=workdir, files=CLASSIFY / "files", args=args,
                      argv0="classify", **kw)  # fmt: skip


@pytest.mark.parametrize(
    "host",
    ["wasmtime-py", pytest.param("wasmtime-cli", marks=pytest.mark.cli)],
)
@pytest.mark.parametrize("variant", ["preview1", "adapted"])
def test_classify_runs_everywhere_with_the_same_stdout(
    programs: dict, host: str, variant: str, tmp_path: Path
) -> None:
    result = HOSTS[host]().run_program(_job(programs[variant], tmp_path))
    assert result.ok, (result.failure, result.stderr)
    assert result.exit_code == 0
    assert result.stdout == EXPECTED
    assert result.stderr == ""  # the marks are taken out
    assert len(result.regions) == ITERATIONS
    assert all(0 < end - start < 60 * 10**9 for start, end in result.regions)
    # regions follow one another, and all fall inside the run
    assert all(a[1] <= b[0] for a, b in zip(result.regions, result.regions[1:], strict=False))
    assert result.wall_ns > sum(result.samples_ns)


def test_process_timing_and_onnx_on_wasmtime_py(programs: dict, tmp_path: Path) -> None:
    """timing "process": the wall time is the sample; our host also serves onnx."""
    job = _job(programs["preview1"], tmp_path, args=("onnx", "1"), timing="process")
    result = WasmtimePyHost().run_program(job)
    assert result.ok, result.failure
    assert result.stdout == EXPECTED and len(result.regions) == 1 and result.wall_ns > 0


def test_failures_have_a_reason(programs: dict, tmp_path: Path) -> None:
    host = WasmtimePyHost()
    # non-zero exit: no files laid out, so model.xml is missing (exit 3)
    job = ProgramJob(wasm=programs["preview1"], workdir=tmp_path / "a", args=("openvino",))
    (tmp_path / "a").mkdir()
    failed = host.run_program(job)
    assert failed.exit_code == 3 and failed.failure.startswith("exited 3: model.xml")
    # never calls bench.end: fine under "process", a failure under "bench"
    quiet = tmp_path / "quiet.wasm"
    quiet.write_bytes(
        wasmtime.wat2wasm('(module (memory (export "memory") 1) (func (export "_start")))')
    )
    (tmp_path / "b").mkdir()
    assert host.run_program(ProgramJob(quiet, tmp_path / "b", timing="process")).ok
    none = host.run_program(ProgramJob(quiet, tmp_path / "b"))
    assert "never called bench.end" in none.failure
    # a trap: bench.end before bench.start
    trap = tmp_path / "trap.wasm"
    trap.write_bytes(wasmtime.wat2wasm(
        '(module (import "bench" "end" (func $end)) (memory (export "memory") 1)'
        ' (func (export "_start") (call $end)))'
    ))  # fmt: skip
    trapped = host.run_program(ProgramJob(trap, tmp_path / "b"))
    assert trapped.exit_code == -1 and "bench.end without a bench.start" in trapped.failure
    # an import no host defines: a setup failure, raised with the import named
    odd = tmp_path / "odd.wasm"
    odd.write_bytes(
        wasmtime.wat2wasm('(module (import "env" "oops" (func)) (func (export "_start")))')
    )
    with pytest.raises(CellFailed, match="instantiate odd.wasm: .*oops"):
        host.run_program(ProgramJob(odd, tmp_path / "b"))


@pytest.mark.cli
def test_cli_trap(tmp_path: Path) -> None:
    """The preload module traps on end-before-start; the CLI's exit is the failure."""
    trap = tmp_path / "trap.wasm"
    trap.write_bytes(wasmtime.wat2wasm(
        '(module (import "bench" "end" (func $end)) (memory (export "memory") 1)'
        ' (func (export "_start") (call $end)))'
    ))  # fmt: skip
    result = WasmtimeCliHost().run_program(ProgramJob(trap, tmp_path))
    assert not result.ok and result.exit_code != 0 and result.failure.startswith("trapped")


TOKEN = "0123456789abcdef0123456789abcdef"


def test_marks_are_parsed_out_of_stderr() -> None:
    text = (b"warn: x\nwasinn-bench region %s 10 25\npartialwasinn-bench region %s 30 31\nbye\n"
            % (TOKEN.encode(), TOKEN.encode()))  # fmt: skip
    regions, rest, forged = split_marks(text, TOKEN)
    assert regions == [(10, 25), (30, 31)] and rest == "warn: x\npartialbye\n" and forged == 0
    # a native component's own bench (no token known): its lines as they come
    assert split_marks(b"wasinn-bench region 10 25\n", None)[0] == [(10, 25)]


FORGED_LINES = {
    "no token (the old line)": b"wasinn-bench region 0 1\n",
    "another token": b"wasinn-bench region ffffffffffffffffffffffffffffffff 0 1\n",
    "the placeholder": b"wasinn-bench region wasinn-bench-token-placeholder!! 0 1\n",
    "a short token": b"wasinn-bench region 0123 0 1\n",
}


@pytest.mark.parametrize("case", sorted(FORGED_LINES))
def test_a_mark_line_without_the_token_is_forged(case: str) -> None:
    regions, rest, forged = split_marks(FORGED_LINES[case] * 3, TOKEN)
    assert regions == [] and forged == 3 and "wasinn-bench region" not in rest


def _forger(path: Path, calls_bench: bool) -> Path:
    """A program that prints mark lines itself (p50 1 ns), with or without also timing a
    real region through bench."""
    lines = b"".join(FORGED_LINES.values()).decode()
    esc = "".join(f"\\{b:02x}" for b in lines.encode())
    bench = '(import "bench" "start" (func $start)) (import "bench" "end" (func $end))'
    calls = "(call $start) (call $end)" if calls_bench else ""
    path.write_bytes(
        wasmtime.wat2wasm(f"""(module
      (import "wasi_snapshot_preview1" "fd_write" (func $w (param i32 i32 i32 i32) (result i32)))
      {bench if calls_bench else ""}
      (memory (export "memory") 1)
      (data (i32.const 64) "{esc}")
      (func (export "_start") {calls}
        (i32.store (i32.const 0) (i32.const 64))
        (i32.store (i32.const 4) (i32.const {len(lines)}))
        (drop (call $w (i32.const 2) (i32.const 0) (i32.const 1) (i32.const 8)))))""")
    )
    return path


@pytest.mark.parametrize("calls_bench", [False, True])
@pytest.mark.parametrize(
    "host", [pytest.param("wasmtime-cli", marks=pytest.mark.cli), "wasmtime-py"]
)
def test_a_program_that_prints_mark_lines_fails_instead_of_forging_timings(
    tmp_path: Path, host: str, calls_bench: bool
) -> None:
    """Issue 25, defect 6: CLI cells were `ok` with p50 1 ns from printed lines."""
    wasm = _forger(tmp_path / "forger.wasm", calls_bench)
    result = HOSTS[host]().run_program(ProgramJob(wasm, tmp_path / "work"))
    assert not result.ok and "printed 4 bench mark line(s) itself" in result.failure
    assert all(end - start != 1 for start, end in result.regions)


@pytest.mark.cli
def test_a_program_may_not_import_the_preloads_memory(tmp_path: Path) -> None:
    """The preload's memory holds the run's token: a program importing it is refused."""
    wasm = tmp_path / "peek.wasm"
    wasm.write_bytes(wasmtime.wat2wasm(
        '(module (import "bench" "memory" (memory 1)) (import "bench" "end" (func $end))'
        ' (func (export "_start") (call $end)))'
    ))  # fmt: skip
    with pytest.raises(CellFailed, match="imports bench.memory"):
        WasmtimeCliHost().run_program(ProgramJob(wasm, tmp_path / "work"))


def test_example_files_are_small_and_reproducible(tmp_path: Path) -> None:
    files = sorted((CLASSIFY / "files").iterdir())
    assert {f.name for f in files} == {"model.xml", "model.bin", "model.onnx", "input.bin"}
    assert sum(f.stat().st_size for f in files) < 200_000
    if importlib.util.find_spec("ziglang") is None:
        pytest.skip("ziglang not installed (the `build` extra)")
    from workloads.programs.classify import build

    out = build.build(tmp_path / "classify.wasm")
    assert out.read_bytes() == (CLASSIFY / "classify.wasm").read_bytes()
