"""Workload definitions: one TOML file per workload in `workloads/`.

Validation happens before anything runs; every error names the file and the
field (`WorkloadError`). See docs/workloads.md for the format.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from contracts import paths
from contracts.cells import BACKENDS, DEVICES, VARIANTS
from contracts.dtypes import DTYPES
from contracts.hosts import HOST_NAMES
from workloads.spec.fields import Fields, WorkloadError
from workloads.spec.generate_file import GenerateSpec, read_generate
from workloads.spec.program_file import ProgramSpec, read_program

SUITES = ("quick", "full")
GENERATORS = ("uniform", "normal", "zeros", "constant", "file")
NAME_RE = re.compile(r"^[a-z0-9][a-z0-9._-]*$")


@dataclass
class InputSpec:
    name: str
    shape: list[int]
    dtype: str
    generator: str = "uniform"
    seed: int = 0
    low: float = 0.0
    high: float = 1.0
    mean: float = 0.0
    std: float = 1.0
    value: float = 0.0
    file: Path | None = None


@dataclass
class Tolerance:
    atol: float = 1e-3
    rtol: float = 1e-3


@dataclass
class Workload:
    name: str
    path: Path
    description: str = ""
    suites: list[str] = field(default_factory=lambda: ["full"])
    builder: str | None = None
    params: dict[str, Any] = field(default_factory=dict)
    model_path: Path | None = None
    inputs: list[InputSpec] = field(default_factory=list)
    tolerance: Tolerance = field(default_factory=Tolerance)
    output_tolerances: dict[str, Tolerance] = field(default_factory=dict)
    warmup: int = 3
    iterations: int = 20
    rounds: int = 3
    threads: int = 1
    backends: list[str] = field(default_factory=lambda: list(BACKENDS))
    devices: list[str] = field(default_factory=lambda: ["cpu"])
    variants: list[str] = field(default_factory=lambda: list(VARIANTS))
    hosts: list[str] = field(default_factory=lambda: list(HOST_NAMES))
    timeout_s: float = 300.0
    memory_limit_mb: int = 8192
    guests: dict[str, Path] = field(default_factory=dict)  # variant -> own guest .wasm
    # which bench/measure/kinds module prepares, runs and compares it: "model" | "program"
    # | "generate"
    kind: str = "model"
    program: ProgramSpec | None = None  # a whole program instead of a model (kinds/program.py)
    generate: GenerateSpec | None = None  # decode token by token (generate_file.py)
    max_tensor_mb: int | None = (
        None  # None: memory_limit_mb // TENSOR_SHARE (bench.measure.prepare)
    )
    # Made from a model file and flags, not read from a file (bench/measure/quick.py):
    # the TOML it would be (written into the run folder) and what errors name instead.
    generated: str | None = None
    origin: str | None = None

    @property
    def where(self) -> str:
        """What an error about this workload names: its file, or the model it was made for."""
        return self.origin or str(self.path)

    @property
    def model_label(self) -> str:
        if self.program is not None:
            return f"program {self.program.preview1.name}"
        return self.builder if self.builder else self.model_path.name if self.model_path else "?"

    def tolerance_for(self, output: str) -> Tolerance:
        return self.output_tolerances.get(output, self.tolerance)


def load_workload(path: Path) -> Workload:
    path = Path(path)
    try:
        text = path.read_text()
    except FileNotFoundError:
        raise WorkloadError(f"{path}: no such workload file") from None
    except UnicodeDecodeError as e:
        raise WorkloadError(f"{path}: not UTF-8 text (byte {e.start}); TOML is UTF-8") from None
    except OSError as e:
        raise WorkloadError(f"{path}: cannot read ({e.strerror or e})") from None
    return parse_workload(text, path)


def parse_workload(text: str, path: Path) -> Workload:
    """A workload from TOML text; `path` places relative paths and names the file in errors."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise WorkloadError(f"{path}: invalid TOML: {e}") from None
    top = Fields(path, data)
    w = _read_top(path, top)
    if "program" in data:  # a whole program, no model (program_file.py)
        w.kind = "program"
        w.program, axes = read_program(path.parent, top, data)
        w.variants, w.hosts, w.backends = axes.variants, axes.hosts, axes.backends
        return w
    if "max_tensor_mb" in data:
        w.max_tensor_mb = top.positive_int("max_tensor_mb", 1)
    if "model" not in data:
        raise top.error("model", "is required (a zoo `builder` or a `path` to an .onnx file)")
    _read_model(path, top.table_of("model"), w)
    if "generate" in data:  # the driver makes the inputs (bench/measure/kinds/generate.py)
        w.kind = "generate"
        w.generate = read_generate(top.table_of("generate"))
        if "inputs" in data:
            raise top.error("inputs", "a [generate] workload makes its own inputs; remove it")
    inputs = top.table_of("inputs")
    if not inputs.table and w.generate is None:
        raise top.error("inputs", "at least one input is required")
    for input_name in inputs.table:
        w.inputs.append(_input_spec(path, input_name, inputs.table_of(input_name)))
        inputs.used.add(input_name)
    _read_guests(path, top.table_of("guests"), w)
    _read_outputs(top.table_of("outputs"), w)
    top.reject_unknown()
    return w


def _read_top(path: Path, top: Fields) -> Workload:
    """The fields every workload has: name, suites, repetitions, axes, limits."""
    name = top.get("name", str, required=True)
    if not NAME_RE.match(name):
        raise top.error("name", f"{name!r} must be lowercase letters, digits, '.', '_' or '-'")
    w = Workload(name=name, path=path)
    w.description = top.get("description", str, "")
    w.suites = top.choices("suites", SUITES, ["full"])
    w.warmup = top.positive_int("warmup", 3, minimum=0)
    w.iterations = top.positive_int("iterations", 20)
    w.rounds = top.positive_int("rounds", 3)
    w.threads = top.positive_int("threads", 1)
    w.backends = top.choices("backends", BACKENDS, list(BACKENDS))
    w.devices = top.choices("devices", DEVICES, ["cpu"])
    w.variants = top.choices("variants", VARIANTS, list(VARIANTS))
    w.hosts = top.choices("hosts", HOST_NAMES, list(HOST_NAMES))
    w.timeout_s = top.get("timeout_s", float, 300.0)
    if w.timeout_s <= 0:
        raise top.error("timeout_s", f"must be > 0, got {w.timeout_s:g}")
    w.memory_limit_mb = top.positive_int("memory_limit_mb", 8192, minimum=64)
    return w


def _read_model(path: Path, model: Fields, w: Workload) -> None:
    """[model]: a zoo builder (with params) or a path to an .onnx file."""
    w.builder = model.get("builder", str)
    w.params = model.get("params", dict, {})
    model_path = model.get("path", str)
    if (w.builder is None) == (model_path is None):
        raise model.error("builder", "give exactly one of `builder` (model zoo) or `path` (.onnx)")
    if w.builder is not None:
        from workloads.models import BUILDERS

        if w.builder not in BUILDERS:
            raise model.error(
                "builder", f"unknown builder {w.builder!r}; known: {', '.join(sorted(BUILDERS))}"
            )
    if model_path is not None:
        w.model_path = (path.parent / model_path).resolve()
        if not w.model_path.is_file():
            raise model.error("path", f"model file {w.model_path} does not exist")
    model.reject_unknown()


def _read_guests(path: Path, guests: Fields, w: Workload) -> None:
    """[guests]: a workload's own guest per wasm variant."""
    for variant in guests.table:
        if variant not in VARIANTS or variant == "native":
            raise guests.error(
                variant, "guests are given per wasm variant: preview1, adapted, component"
            )
        wasm = (path.parent / guests.get(variant, str)).resolve()
        if not wasm.is_file():
            raise guests.error(variant, f"guest file {wasm} does not exist")
        w.guests[variant] = wasm


def _read_outputs(outputs: Fields, w: Workload) -> None:
    """[outputs]: the agreement tolerance, and per output its own."""
    w.tolerance = Tolerance(outputs.get("atol", float, 1e-3), outputs.get("rtol", float, 1e-3))
    for key, value in outputs.table.items():
        if isinstance(value, dict):
            out = outputs.table_of(key)
            w.output_tolerances[key] = Tolerance(
                out.get("atol", float, w.tolerance.atol), out.get("rtol", float, w.tolerance.rtol)
            )
            out.reject_unknown()
            outputs.used.add(key)
    outputs.reject_unknown()


def _input_spec(path: Path, name: str, f: Fields) -> InputSpec:
    shape = f.get("shape", list, required=True)
    # [] is a rank-0 tensor (a scalar, e.g. a sample rate)
    if not all(isinstance(d, int) and not isinstance(d, bool) and d > 0 for d in shape):
        raise f.error(
            "shape", f"must be a list of positive integers ([] for a scalar), got {shape!r}"
        )
    dtype = f.get("dtype", str, "f32")
    if dtype not in DTYPES:
        raise f.error("dtype", f"unsupported dtype {dtype!r}; supported: {', '.join(DTYPES)}")
    spec = InputSpec(name=name, shape=shape, dtype=dtype)
    spec.generator = f.get("generator", str, "uniform")
    if spec.generator not in GENERATORS:
        raise f.error(
            "generator", f"unknown generator {spec.generator!r}; known: {', '.join(GENERATORS)}"
        )
    spec.seed = f.get("seed", int, 0)
    spec.low = f.get("low", float, 0.0)
    spec.high = f.get("high", float, 1.0)
    if spec.high <= spec.low and spec.generator == "uniform":
        raise f.error("high", f"must be greater than low ({spec.low})")
    spec.mean = f.get("mean", float, 0.0)
    spec.std = f.get("std", float, 1.0)
    spec.value = f.get("value", float, 0.0)
    file = f.get("file", str)
    if spec.generator == "file":
        if file is None:
            raise f.error("file", "is required when generator = 'file'")
        spec.file = (path.parent / file).resolve()
        if not spec.file.is_file():
            raise f.error("file", f"input file {spec.file} does not exist")
    f.reject_unknown()
    return spec


def workload_files() -> list[Path]:
    return sorted(paths.WORKLOADS.glob("*.toml"))


def find_workload(name_or_path: str) -> Workload:
    """A workload by name (workloads/<name>.toml or its `name` field) or by path."""
    candidate = Path(name_or_path)
    if candidate.suffix == ".toml" or candidate.exists():
        return load_workload(candidate)
    direct = paths.WORKLOADS / f"{name_or_path}.toml"
    if direct.exists():
        return load_workload(direct)
    for p in workload_files():
        w = load_workload(p)
        if w.name == name_or_path:
            return w
    known = ", ".join(p.stem for p in workload_files())
    raise WorkloadError(f"unknown workload {name_or_path!r}; known: {known}")


def suite(name: str) -> list[Workload]:
    if name not in SUITES:
        raise WorkloadError(f"unknown suite {name!r}; known: {', '.join(SUITES)}")
    return [w for w in map(load_workload, workload_files()) if name in w.suites]
