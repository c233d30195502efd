"""What crosses the boundary between the harness and a host's worker process.

The runner turns each (cell, round) into a job (a model workload's is a `CellJob`),
runs it in a worker subprocess (`python -m bench.measure.worker`); the host returns a
`RoundResult`, and the worker hands the runner a `WorkerResult` (result.json).
Everything in a job is JSON-serialisable so it can cross the process boundary;
tensors travel as raw little-endian C-order files.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from contracts.cells import Cell
from contracts.dtypes import DTYPES


class CellUnsupported(Exception):
    """The host/backend/device combination cannot run here; message = reason."""


class CellSkipped(Exception):
    """The cell was not attempted (e.g. device absent); message = reason."""


class CellFailed(Exception):
    """The cell was attempted and broke; message = reason (errno, trap, stderr tail)."""


STATEFUL_ONLY_OPENVINO = (
    "the stateful form keeps its KV cache as OpenVINO variables (ReadValue/Assign): "
    "only the OpenVINO IR has it; an ONNX graph cannot keep state between runs"
)


@dataclass
class TensorSpec:
    name: str
    index: int
    dtype: str  # a key of DTYPES
    shape: list[int]
    path: str | None = None  # raw bytes for inputs; None for outputs

    @property
    def nbytes(self) -> int:
        return int(np.prod(self.shape, dtype=np.int64)) * np.dtype(DTYPES[self.dtype]).itemsize

    def read_dtype(self) -> np.dtype:
        return np.dtype(DTYPES[self.dtype])

    def read(self) -> np.ndarray:
        assert self.path is not None
        return np.fromfile(self.path, dtype=DTYPES[self.dtype]).reshape(self.shape)


@dataclass
class ModelFiles:
    """A built model: the ONNX file and its OpenVINO IR (xml+bin) twin."""

    onnx: str
    ir_xml: str | None
    ir_bin: str | None
    sha256: str
    opset: int | None = None
    # the IR keeps a KV cache as internal state (OpenVINO only; the ONNX file is stateless)
    stateful: bool = False

    def files_for(self, backend: str) -> tuple[list[str], str]:
        """The model files a backend loads, in builder order, and their wasi-nn encoding:
        OpenVINO takes the IR (xml+bin), every other backend the ONNX file."""
        if self.stateful and backend != "openvino":
            raise CellUnsupported(STATEFUL_ONLY_OPENVINO)
        if backend == "openvino":
            if not (self.ir_xml and self.ir_bin):
                raise CellFailed("openvino backend needs the model's IR (xml+bin)")
            return [self.ir_xml, self.ir_bin], "openvino"
        return [self.onnx], "onnx"


@dataclass
class GenerateJob:
    """Decode instead of iterate (docs/decoding.md): each of warmup + iterations
    generations feeds the prompt one token per compute, then `steps` greedy tokens.
    Tensors are named by their role; their specs are the job's inputs and outputs."""

    prompt: str  # raw int64 token ids
    prompt_len: int
    steps: int
    token: str  # input: the token id, int64
    position: str  # input: its position, int64
    logits: str  # output: float32 scores over the vocabulary
    kv: list[list[str]] = field(default_factory=list)  # [input, output]: cache carried over

    @property
    def computes(self) -> int:
        """Computes per generation (the last token needs none)."""
        return self.prompt_len + self.steps - 1

    def decode_computes(self, warmup: int, iterations: int) -> list[int]:
        """Indices (among all of a round's computes) of the measured decode steps: those
        that take a generated token in, one per inter-token latency."""
        n = self.computes
        return [(warmup + g) * n + i for g in range(iterations) for i in range(self.prompt_len, n)]


@dataclass
class CellJob:
    cell: Cell
    model: ModelFiles
    inputs: list[TensorSpec]
    outputs: list[TensorSpec]
    warmup: int  # warm-up iterations per round (not recorded)
    iterations: int  # measured iterations per round (a count)
    threads: int
    workdir: str  # scratch folder for this round (guest preopen, output files)
    round: int = 0
    load_mode: str = "bytes"  # "bytes" | "name"
    options: dict[str, str] = field(default_factory=dict)
    generate: GenerateJob | None = None  # a generative workload (docs/decoding.md)
    measure: str = "wall"  # contracts.measures: wall | cpu | instructions (docs/measures.md)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def to_json(self) -> str:
        return json.dumps(self.to_dict())

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> CellJob:
        d = dict(d)
        d["cell"] = Cell(**d["cell"])
        d["model"] = ModelFiles(**d["model"])
        d["inputs"] = [TensorSpec(**t) for t in d["inputs"]]
        d["outputs"] = [TensorSpec(**t) for t in d["outputs"]]
        if d.get("generate") is not None:
            d["generate"] = GenerateJob(**d["generate"])
        return cls(**d)

    @classmethod
    def from_json(cls, text: str) -> CellJob:
        return cls.from_dict(json.loads(text))


@dataclass
class RoundResult:
    """What a host measured in one round (in the worker process)."""

    # phase -> ns of each measured iteration (warm-up excluded), same length per phase
    per_iteration: dict[str, list[int]]
    # once-per-round phases -> ns (compile, instantiate, load, init)
    host_phases: dict[str, int] = field(default_factory=dict)
    # the last iteration's outputs, by output name
    outputs: dict[str, np.ndarray] = field(default_factory=dict)
    peak_rss_kb: int = 0
    # facts worth recording per cell, e.g. {"load_mode": "name"}
    notes: dict[str, str] = field(default_factory=dict)


@dataclass
class WorkerResult:
    """What a worker hands back for one (cell, round): result.json, typed.

    `status` is ok | failed | unsupported | skipped; a cell that did not run has only
    its `reason`. For ok: `per_iteration` (phase -> ns of each measured iteration or
    step), `per_round` (once-per-round phases -> ns), the peak memory, notes worth
    keeping per cell, and the names of the outputs the worker saved (outputs.npz,
    arr_0.. in that order)."""

    status: str
    reason: str = ""
    per_iteration: dict[str, list[int]] = field(default_factory=dict)
    per_round: dict[str, int] = field(default_factory=dict)
    peak_rss_kb: int = 0
    notes: dict[str, str] = field(default_factory=dict)
    output_names: list[str] = field(default_factory=list)
    # the machine's state during the round (contracts/machine.py: MachineState, as a dict)
    machine_state: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.status == "ok"

    @classmethod
    def of_round(cls, r: RoundResult, machine_state: dict[str, Any]) -> WorkerResult:
        return cls("ok", "", r.per_iteration, r.host_phases, r.peak_rss_kb, r.notes,
                   list(r.outputs), machine_state)  # fmt: skip

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> WorkerResult:
        """From a result.json object already checked (bench/measure/report_check.py)."""
        return cls(**{f: d[f] for f in cls.__dataclass_fields__ if f in d})


def reset_peak_rss() -> None:
    """Start a new peak-memory window for this process (Linux: clear VmHWM), so that a
    round's peak is not the import-time peak of the libraries the worker loaded."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
    except OSError:
        pass  # not Linux, or not allowed: the peak then includes start-up


def peak_rss_kb() -> int:
    """This process's peak resident memory since reset_peak_rss(), in KiB."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except (OSError, ValueError):
        pass
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
