"""The `[program]` table of a workload file: a whole wasi-nn program instead of a model
(docs/programs.md). Validated here, at load, so that bad input names the file and field."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from contracts import wasm_binary
from contracts.cells import BACKENDS
from contracts.hosts import HOST_TABLE
from workloads.spec.fields import Fields

PROGRAM_VARIANTS = ("preview1", "adapted", "component")
PROGRAM_HOSTS = tuple(f.name for f in HOST_TABLE.values() if f.runs_programs)
TIMINGS = ("bench", "process")
# Top-level fields of a model workload that mean nothing for a program.
MODEL_ONLY = ("model", "inputs", "outputs", "guests", "backends", "warmup", "iterations")


@dataclass
class ProgramSpec:
    preview1: Path
    component: Path | None = None
    files: list[Path] = field(default_factory=list)
    args: list[str] = field(default_factory=list)
    timing: str = "bench"
    runs: int = 5
    encoding: str = "openvino"
    expect_stdout: Path | None = None
    expect_stderr: Path | None = None


@dataclass
class ProgramAxes:
    variants: list[str]
    hosts: list[str]
    backends: list[str]


def read_program(base: Path, top: Fields, data: dict[str, Any]) -> tuple[ProgramSpec, ProgramAxes]:
    """The `[program]` table of a workload file (paths relative to `base`) and the axes
    its cells span."""
    for key in MODEL_ONLY:
        if key in data:
            raise top.error(key, "does not apply to a program workload (it has a [program])")
    t = top.table_of("program")

    def existing(key: str, value: str) -> Path:
        p = (base / value).resolve()
        if not p.is_file():
            raise t.error(key, f"file {p} does not exist")
        return p

    spec = ProgramSpec(preview1=existing("preview1", t.get("preview1", str, required=True)))
    if (component := t.get("component", str)) is not None:
        spec.component = existing("component", component)
        if _kind(spec.component) != "component":
            raise t.error("component", f"{spec.component} is a core module, not a component")
    files = t.get("files", list, [])
    if not all(isinstance(f, str) for f in files):
        raise t.error("files", f"must be a list of file names, got {files!r}")
    spec.files = [existing("files", f) for f in files]
    names = [p.name for p in spec.files]
    if dup := next((n for n in names if names.count(n) > 1), None):
        raise t.error("files", f"two files are named {dup!r}; they would land on one '{dup}'")
    spec.args = t.get("args", list, [])
    if not all(isinstance(a, str) for a in spec.args):
        raise t.error("args", f"must be a list of strings, got {spec.args!r}")
    spec.timing = t.get("timing", str, "bench")
    if spec.timing not in TIMINGS:
        raise t.error("timing", f"unknown timing {spec.timing!r}; known: {', '.join(TIMINGS)}")
    spec.runs = t.positive_int("runs", 5)
    spec.encoding = t.get("encoding", str, "openvino")
    if spec.encoding not in BACKENDS:
        raise t.error("encoding", f"unknown {spec.encoding!r}; known: {', '.join(BACKENDS)}")
    for key in ("expect_stdout", "expect_stderr"):
        if (value := t.get(key, str)) is not None:
            setattr(spec, key, existing(key, value))
    t.reject_unknown()

    given = tuple(v for v in PROGRAM_VARIANTS if v != "component" or spec.component)
    axes = ProgramAxes(
        variants=_program_axis(top, data, "variants", given),
        hosts=_program_axis(top, data, "hosts", PROGRAM_HOSTS),
        backends=[spec.encoding],  # the program picks its backend; the cell column says which
    )
    _check_module(t, spec.preview1, adapting="adapted" in axes.variants)
    top.reject_unknown()
    return spec, axes


def _program_axis(
    top: Fields, data: dict[str, Any], key: str, allowed: tuple[str, ...]
) -> list[str]:
    """variants/hosts of a program: the given ones (checked), else all it can run."""
    if key not in data:
        return list(allowed)
    return top.choices(key, allowed, list(allowed))


def _kind(path: Path) -> str | None:
    try:
        return wasm_binary.file_kind(path)
    except (OSError, wasm_binary.WasmFormatError):
        return None


def _check_module(t: Fields, module: Path, adapting: bool) -> None:
    """A preview1 command whose every import some host (and adapt) provides."""
    from workloads.guests import adapt

    data = module.read_bytes()
    try:
        if wasm_binary.kind_of(data) != "core":
            raise t.error("preview1", f"{module} is a component, not a preview1 core module")
        mod = wasm_binary.read_core_module(data)
    except wasm_binary.WasmFormatError as e:
        raise t.error("preview1", f"{module}: {e}") from None
    if mod.exports.get("_start") != wasm_binary.FUNC:
        raise t.error("preview1", f"{module} is not a WASI preview1 command (no _start export)")
    if not adapting:  # only the imports matter then: what the hosts define
        handled = (adapt.LEGACY_MODULE, adapt.WASI_MODULE, adapt.BENCH_MODULE)
        for m, name, _ in mod.imports:
            if m not in handled:
                raise t.error("preview1", f"{module} imports {m}.{name}, which no host provides")
        return
    try:  # adapt's own refusals: an import no adapter handles, no memory export, ...
        adapt.check_module(module, data, adapt.provided_functions(adapt.ADAPTER))
    except adapt.AdaptError as e:
        raise t.error("preview1", str(e)) from None
