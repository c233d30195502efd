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


def test_marks_are_parsed_out_of_stderr() -> None:
    text = b"warn: x\nwasinn-bench region 10 25\npartialwasinn-bench region 30 31\nbye\n"
    regions, rest = split_marks(text)
    assert regions == [(10, 25), (30, 31)] and rest == "warn: x\npartialbye\n"


def test_example_files_are_small_and_reproducible(tmp_path: Path) -> None:
    files = sorted((CLASSIFY / "files").iterdir())
    assert {f.name for f in files} == {"model.xml", "model.bin", "model.onnx", "input.bin"}
    assert sum(f.stat().st_size for f in files) < 200_000
    if importlib.util.find_spec("ziglang") is None:
        pytest.skip("ziglang not installed (the `build` extra)")
    from workloads.programs.classify import build

    out = build.build(tmp_path / "classify.wasm")
    assert out.read_bytes() == (CLASSIFY / "classify.wasm").read_bytes()
