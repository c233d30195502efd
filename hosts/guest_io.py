"""Glue shared by every wasm host: lay out the guest's folder, build the driver's
argv, and turn the files the driver wrote into a `RoundResult`.

Layout of one round (`job.workdir`):

    workdir/
      guest/            preopened as the guest's "." (the only folder it sees)
        graph/          model.onnx, or model.xml + model.bin (hard links or copies)
        input0.bin ...  the input tensors
        output0.bin ... written by the driver (the last iteration's outputs)
        samples.txt     written by the driver
        properties.txt  written by our driver: the host's backend pairs (docs/properties.md)
      stdout.txt, stderr.txt   the guest's stdout/stderr

`graph/` follows the wasmtime CLI's `-S nn-graph=<encoding>::<dir>` layout, so
`--load name --name graph` means the same on every host (docs/hosts.md).
"""

from __future__ import annotations

import json
import os
import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from contracts import paths
from contracts.dtypes import DTYPES
from contracts.jobs import CellFailed, CellJob, RoundResult
from contracts.phases import MAX_NS, MEASURED_PHASES
from hosts import decoding

GRAPH_NAME = "graph"  # the load_by_name name of the round's model
PROMPT_FILE, TOKENS_FILE = "prompt.bin", "tokens.bin"  # generate mode (hosts/decoding.py)
SAMPLES_MAGIC = "wasi-nn-driver-samples 1"
SAMPLE_LINE_BYTES = 100  # "iter" and four u64s: at most 4 + 4 * 21 characters and a newline
STEP_LINE_BYTES = 180  # generate mode: "step" and eight u64s
MAX_PROPERTIES_BYTES = 1 << 20
DECIMAL = re.compile(r"[0-9]{1,20}")  # ASCII digits only: int() also takes '1_0', '١'
PROPERTIES_FILE = "properties.txt"
# Guest file names of the model builders, per wasi-nn encoding.
GRAPH_FILES = {"onnx": ("model.onnx",), "openvino": ("model.xml", "model.bin")}


@dataclass
class GuestRun:
    """Everything a host needs to start the driver for one round."""

    wasm: Path  # the guest binary
    preopen: Path  # host folder preopened as guest "."
    argv: list[str]  # argv[0] included
    encoding: str  # wasi-nn encoding the driver asks for
    target: str  # wasi-nn execution target
    load_mode: str  # "bytes" | "name"
    graph_dir: Path  # preopen/graph (what `--name graph` refers to)
    samples: Path
    outputs: list[Path]  # one per job.outputs, same order
    stdout: Path
    stderr: Path
    notes: dict[str, str] = field(default_factory=dict)
    properties: Path | None = None  # the driver's --properties FILE (our drivers only)
    tokens: Path | None = None  # generate mode: the generated ids the driver writes


def guest_wasm(variant: str) -> Path:
    """The prebuilt driver for a variant (preview1 | adapted | component)."""
    path = paths.PREBUILT / f"driver-{variant}.wasm"
    if not path.is_file():
        raise CellFailed(f"guest binary {path} is missing (run `nox -s guests`)")
    return path


def _place(src: str, dst: Path, trusted: bool) -> None:
    """Hard-link src to dst (copy across filesystems). Not a symlink: WASI
    preopens refuse symlinks that leave the preopened folder. An untrusted guest
    (a workload's own) gets copies: through a hard link it could write into the
    model cache and the run's inputs, corrupting later cells and runs."""
    if not Path(src).is_file():
        raise CellFailed(f"file {src} is missing")
    dst.unlink(missing_ok=True)
    if trusted:
        try:
            os.link(src, dst)
            return
        except OSError:
            pass
    shutil.copyfile(src, dst)


def prepare(
    job: CellJob, variant: str | None = None, wasm: Path | None = None, ours: bool = False
) -> GuestRun:
    """Lay out job.workdir for the driver and return the argv (guest paths relative to ".").

    `ours`: `wasm` is one of our drivers though not in prebuilt/ (the native-c build):
    it gets hard links and --properties like the prebuilt ones."""
    variant = variant or job.cell.variant
    if wasm is None and job.options.get("guest_wasm"):
        wasm = Path(job.options["guest_wasm"])  # the workload's own guest ([guests] table)
        if not wasm.is_file():
            raise CellFailed(f"guest binary {wasm} is missing")
    wasm = wasm or guest_wasm(variant)
    # Only our own drivers know --properties: a workload's own guest keeps the old argv.
    ours = ours or wasm.resolve().parent == paths.PREBUILT
    workdir = Path(job.workdir)
    preopen = workdir / "guest"
    graph_dir = preopen / GRAPH_NAME
    graph_dir.mkdir(parents=True, exist_ok=True)

    files, encoding = job.model.files_for(job.cell.backend)
    names = GRAPH_FILES[encoding]
    for src, name in zip(files, names, strict=True):
        _place(src, graph_dir / name, trusted=ours)

    if job.load_mode not in ("bytes", "name"):
        raise CellFailed(f"load_mode {job.load_mode!r} is not bytes or name")
    target = job.cell.device
    argv = ["driver", "--encoding", encoding, "--target", target, "--load", job.load_mode]
    if job.load_mode == "name":
        argv += ["--name", GRAPH_NAME]
    else:
        for name in names:
            argv += ["--model", f"{GRAPH_NAME}/{name}"]

    tokens = None
    if job.generate is not None:  # decode: the driver makes its inputs and keeps the ids
        _place(job.generate.prompt, preopen / PROMPT_FILE, trusted=ours)
        tokens = preopen / TOKENS_FILE
        tokens.unlink(missing_ok=True)
        argv += decoding.driver_argv(job, PROMPT_FILE, TOKENS_FILE)
    for i, spec in enumerate(job.inputs if job.generate is None else []):
        assert spec.path is not None, f"input {spec.name} has no file"
        guest_name = f"input{i}.bin"
        _place(spec.path, preopen / guest_name, trusted=ours)
        dims = "x".join(str(d) for d in spec.shape) if spec.shape else "scalar"
        argv += ["--input", str(spec.index), spec.name, spec.dtype, dims, guest_name]

    outputs = []
    for i, spec in enumerate(job.outputs if job.generate is None else []):
        guest_name = f"output{i}.bin"
        (preopen / guest_name).unlink(missing_ok=True)
        outputs.append(preopen / guest_name)
        argv += ["--output", str(spec.index), spec.name, str(spec.nbytes), guest_name]

    samples = preopen / "samples.txt"
    samples.unlink(missing_ok=True)
    argv += ["--warmup", str(job.warmup), "--iterations", str(job.iterations)]
    argv += ["--samples", samples.name]
    properties = preopen / PROPERTIES_FILE if ours else None
    if properties is not None:
        properties.unlink(missing_ok=True)
        argv += ["--properties", properties.name]
    return GuestRun(
        wasm=wasm,
        preopen=preopen,
        argv=argv,
        encoding=encoding,
        target=target,
        load_mode=job.load_mode,
        graph_dir=graph_dir,
        samples=samples,
        outputs=outputs,
        stdout=workdir / "stdout.txt",
        stderr=workdir / "stderr.txt",
        notes={"load_mode": job.load_mode, "guest": wasm.name},
        properties=properties,
        tokens=tokens,
    )


def _read_small_text(path: Path, limit: int) -> str:
    """A file the guest wrote, refused before reading when over `limit` bytes."""
    size = path.stat().st_size
    if size > limit:
        raise CellFailed(f"{path.name}: {size} bytes, more than the {limit} expected")
    try:
        return path.read_bytes().decode("utf-8")
    except UnicodeDecodeError as e:
        raise CellFailed(f"{path.name}: not UTF-8 text ({e.reason} at byte {e.start})") from None


def _sample_numbers(path: Path, n: int, line: str, values: list[str]) -> list[int]:
    """The line's numbers: whole ns in [0, MAX_NS] (the driver prints unsigned ns)."""
    numbers = [int(v) for v in values if DECIMAL.fullmatch(v)]
    if len(numbers) != len(values) or any(not 0 <= x <= MAX_NS for x in numbers):
        raise CellFailed(f"{path.name}:{n}: bad number in {line[:80]!r} (0 to {MAX_NS} ns)")
    return numbers


def parse_samples(
    path: Path, iterations: int, job: CellJob | None = None
) -> tuple[dict[str, list[int]], dict[str, int], dict[str, str]]:
    """The driver's samples file -> (per-iteration phases, {"load", "init"}, notes); a
    generate job's file has per-step lines instead (hosts/decoding.py).

    The guest writes this file, so everything is checked: size, text, line shape, each
    number's range, one load and one init at most, and the iteration count."""
    if not path.is_file():
        raise CellFailed(f"the guest wrote no samples file ({path.name})")
    g = job.generate if job is not None else None
    limit = (iterations + 8) * SAMPLE_LINE_BYTES
    if g is not None:  # a "gen" line per generation, a "step" line (8 numbers) per compute
        limit = (iterations * (g.computes + 1) + 8) * STEP_LINE_BYTES
    lines = _read_small_text(path, limit).splitlines()
    if not lines or lines[0] != SAMPLES_MAGIC:
        raise CellFailed(f"{path.name}: not a driver samples file (first line {lines[:1]})"[:200])
    phases: dict[str, list[int]] = {p: [] for p in MEASURED_PHASES}
    once: dict[str, int] = {}
    steps: list[tuple[int, str]] = []
    for n, line in enumerate(lines[1:], start=2):
        key, *values = line.split() or [""]  # a blank line: "unexpected line" below
        numbers = _sample_numbers(path, n, line, values)
        if key in ("load", "init") and len(numbers) == 1 and key not in once:
            once[key] = numbers[0]
        elif (
            key == "iter" and g is None and len(numbers) == 4 and len(phases["total"]) < iterations
        ):
            for phase, ns in zip(phases, numbers, strict=True):
                phases[phase].append(ns)
        elif key in ("gen", "step") and g is not None:
            steps.append((n, line))
        else:
            raise CellFailed(f"{path.name}:{n}: unexpected line {line[:80]!r}")
    if job is not None and g is not None:
        phases, notes = decoding.parse_samples(path, job, steps)
        return phases, once, notes
    if len(phases["total"]) != iterations:
        raise CellFailed(f"{path.name}: {len(phases['total'])} iterations, expected {iterations}")
    return phases, once, {}


def measured_computes(job: CellJob) -> list[int] | None:
    """A generate job's decode steps among the round's computes (None: the last
    `iterations`, one compute each)."""
    g = job.generate
    return None if g is None else g.decode_computes(job.warmup, job.iterations)


def read_outputs(job: CellJob, run: GuestRun) -> dict[str, np.ndarray]:
    """The last outputs the driver wrote, reshaped with the job's output specs."""
    out = {}
    for spec, path in zip(job.outputs, run.outputs, strict=True):
        if not path.is_file():
            raise CellFailed(f"the guest wrote no {path.name} for output {spec.name!r}")
        # The file size, not the array's: fromfile drops a partial trailing element.
        size = path.stat().st_size
        if size != spec.nbytes:
            raise CellFailed(
                f"output {spec.name!r}: the guest got {size} bytes, expected {spec.nbytes}"
            )
        data = np.fromfile(path, dtype=DTYPES[spec.dtype])
        out[spec.name] = data.reshape(spec.shape)
    return out


def parse_properties(path: Path) -> dict[str, str]:
    """The driver's key=value lines (empty when the host has no query)."""
    pairs = {}
    if path.stat().st_size > MAX_PROPERTIES_BYTES:
        raise CellFailed(f"{path.name}: more than {MAX_PROPERTIES_BYTES} bytes")
    for line in path.read_text(errors="replace").splitlines():
        key, sep, value = line.partition("=")
        if sep:
            pairs[key] = value
    return pairs


def collect(job: CellJob, run: GuestRun) -> RoundResult:
    """A RoundResult from the driver's files (host phases other than load/init are the host's)."""
    phases, once, notes = parse_samples(run.samples, job.iterations, job)
    notes = {**run.notes, **notes}
    if run.properties is not None and run.properties.is_file():
        # what the guest itself learned from the host: a JSON object, {} when nothing
        notes["guest_properties"] = json.dumps(parse_properties(run.properties))
    if job.generate is not None and run.tokens is not None:
        outputs = {decoding.TOKENS: decoding.read_tokens(run.tokens, job.generate.steps)}
    else:
        outputs = read_outputs(job, run)
    return RoundResult(per_iteration=phases, host_phases=dict(once), outputs=outputs, notes=notes)
