"""The `generate` workload kind (docs/decoding.md): a model that decodes one token per
compute, run as greedy generation instead of fixed-input iterations.

The `[generate]` table (workloads/spec/generate_file.py) turns a model workload into one.
Every model input but the token and the position is a cache tensor, paired with the
output whose name has "present" for its "past". A model workload in all else (it
extends the `model` kind): here, checking the model against the table (file + field on
any problem), the prompt, the job the hosts get (a `CellJob` with its `generate`), the
stateful form's backend, and the agreement rule (the same token ids as the reference
cell, exactly). The per-step samples are the hosts' (hosts/decoding.py).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from bench.measure.kinds.model import ModelKind
from bench.measure.prepare import PreparedModel, model_info
from bench.measure.workload_kind import Agreement, CellProblem, PreparedWorkload
from bench.results.outputs import load_outputs
from bench.results.progress import CellState
from contracts.cells import Cell
from contracts.digests import file_sha256
from contracts.jobs import STATEFUL_ONLY_OPENVINO, GenerateJob, TensorSpec
from contracts.measures import WALL
from workloads.spec.fields import WorkloadError
from workloads.spec.generate_file import GenerateSpec
from workloads.spec.workload import Workload


def kv_pairs(inputs: list[Any], outputs: list[Any], g: GenerateSpec, where: str) -> dict[str, str]:
    """Cache input -> output: every input but the token and position, by the past ->
    present naming rule, with the same dtype and shape."""
    out_by_name = {t.name: t for t in outputs}
    pairs = {}
    for t in inputs:
        if t.name in (g.token_input, g.position_input):
            continue
        present = t.name.replace("past", "present", 1)
        other = out_by_name.get(present)
        if present == t.name or other is None:
            raise WorkloadError(
                f"{where}: field 'generate': input {t.name!r} is neither the token, the position "
                f"nor a cache tensor (a 'past…' input with a 'present…' output)"
            )
        if (other.dtype, list(other.shape)) != (t.dtype, list(t.shape)) or t.dtype != "f32":
            raise WorkloadError(
                f"{where}: field 'generate': cache {t.name!r} ({t.dtype} {list(t.shape)}) and "
                f"{present!r} ({other.dtype} {list(other.shape)}) must be the same f32 shape"
            )
        pairs[t.name] = present
    return pairs


def check_roles(inputs: list[Any], outputs: list[Any], g: GenerateSpec, where: str) -> int:
    """The token, position and logits tensors exist and look the part; returns the vocabulary."""
    ins = {t.name: t for t in inputs}
    outs = {t.name: t for t in outputs}
    for key in ("token_input", "position_input"):
        name = getattr(g, key)
        t = ins.get(name)
        if t is None or t.dtype != "i64" or int(np.prod(t.shape)) != 1:
            have = ", ".join(f"{x.name} {x.dtype} {list(x.shape)}" for x in inputs)
            raise WorkloadError(
                f"{where}: field 'generate.{key}': the model has no int64 one-element input "
                f"{name!r} (inputs: {have})"
            )
    t = outs.get(g.logits_output)
    if (
        t is None
        or t.dtype != "f32"
        or len(t.shape) < 1
        or t.shape[-1] < 2
        or (int(np.prod(t.shape)) != t.shape[-1])
    ):
        have = ", ".join(f"{x.name} {x.dtype} {list(x.shape)}" for x in outputs)
        raise WorkloadError(
            f"{where}: field 'generate.logits_output': the model has no logits-like output "
            f"{g.logits_output!r} (f32 [1, ..., vocab] scores for one position; outputs: {have})"
        )
    return int(t.shape[-1])


def check_context(pairs: dict[str, str], inputs: list[Any], g: GenerateSpec, where: str) -> None:
    """The prompt and the generated tokens fit the cache's context (its axis -2)."""
    shapes = {t.name: list(t.shape) for t in inputs}
    contexts = {shapes[p][-2] for p in pairs if len(shapes[p]) >= 2}
    if not contexts:
        return
    context = min(contexts)
    if g.prompt_tokens > context:
        raise WorkloadError(
            f"{where}: field 'generate.prompt_tokens': {g.prompt_tokens} is longer than the "
            f"model's context of {context} positions"
        )
    if g.prompt_tokens + g.steps - 1 > context:
        raise WorkloadError(
            f"{where}: field 'generate.steps': prompt {g.prompt_tokens} + {g.steps} steps "
            f"need {g.prompt_tokens + g.steps - 1} positions, the context has {context}"
        )


def job_template(
    g: GenerateSpec, vocab: int, pairs: dict[str, str], data_dir: Path, name: str
) -> GenerateJob:
    """Write the seeded prompt and describe the generation every cell runs."""
    prompt = np.random.default_rng(g.seed).integers(0, vocab, g.prompt_tokens, dtype=np.int64)
    path = data_dir / f"{name}.prompt.bin"
    prompt.astype("<i8").tofile(path)
    kv = [] if g.kv == "state" else [[a, b] for a, b in pairs.items()]
    return GenerateJob(
        prompt=str(path),
        prompt_len=g.prompt_tokens,
        steps=g.steps,
        token=g.token_input,
        position=g.position_input,
        logits=g.logits_output,
        kv=kv,
    )


def tokens_agree(mine: dict[str, np.ndarray], theirs: dict[str, np.ndarray]) -> tuple[bool, float]:
    """(same token ids, count of positions that differ)."""
    a, b = mine.get("tokens"), theirs.get("tokens")
    if a is None or b is None or a.shape != b.shape:
        return False, float("inf")
    differ = int(np.count_nonzero(a != b))
    return differ == 0, float(differ)


@dataclass
class PreparedGenerate(PreparedModel):
    """A generative workload, ready: the model (its tensors made per step) and the
    generation every cell runs."""

    generate: GenerateJob

    def identity(self) -> dict[str, str]:
        name = self.workload.name
        return super().identity() | {f"prompt of {name}": file_sha256(self.generate.prompt)}

    def rebase(self, run_dir: Path) -> None:
        super().rebase(run_dir)
        self.generate.prompt = str(run_dir / "inputs" / Path(self.generate.prompt).name)


class GenerateKind(ModelKind):
    name = "generate"
    measures = (WALL,)  # the driver times its steps in wall time (docs/measures.md)

    def prepare(self, w: Workload, run_dir: Path, data_dir: Path) -> PreparedGenerate:
        return prepare_generate(w, data_dir)

    def cell_problem(self, cell: Cell, p: PreparedWorkload) -> CellProblem | None:
        assert isinstance(p, PreparedGenerate)
        if p.model.stateful and cell.backend != "openvino":
            return "unsupported", STATEFUL_ONLY_OPENVINO
        return super().cell_problem(cell, p)

    def job(
        self, cell: Cell, round_index: int, workdir: Path, p: PreparedWorkload, measure: str
    ) -> dict[str, Any]:
        assert isinstance(p, PreparedGenerate)
        job = super().job(cell, round_index, workdir, p, measure)
        return job | {"generate": asdict(p.generate)}

    def agreement(
        self, states: list[CellState], prepared: dict[str, PreparedWorkload], outputs_dir: Path
    ) -> dict[str, Agreement]:
        """Each ok cell generated the same token ids as its reference (`Cell.reference`)."""
        result: dict[str, Agreement] = {}
        for s in states:
            if s.status != "ok":
                continue
            mine, theirs = (outputs_dir / f"{c.slug}.npz" for c in (s.cell, s.cell.reference))
            both = mine.exists() and theirs.exists()
            result[s.cell.key] = (
                tokens_agree(load_outputs(mine), load_outputs(theirs)) if both else (None, None)
            )
        return result


def prepare_generate(w: Workload, data_dir: Path) -> PreparedGenerate:
    """A PreparedWorkload for a generative workload: the model (stateful IR for
    kv = "state"), its roles checked, the prompt written."""
    from workloads.models import ModelError, prepare_model

    g, where = w.generate, str(w.path)
    assert g is not None
    try:
        plain = prepare_model(builder=w.builder, params=w.params, onnx_path=w.model_path,
                              input_shapes=None)  # fmt: skip
        vocab = check_roles(plain.inputs, plain.outputs, g, where)
        pairs = kv_pairs(plain.inputs, plain.outputs, g, where)
        check_context(pairs, plain.inputs, g, where)
        prepared = plain
        if g.kv == "state":
            prepared = prepare_model(builder=w.builder, params=w.params, onnx_path=w.model_path,
                                     input_shapes=None, state=pairs)  # fmt: skip
    except ModelError as e:
        raise WorkloadError(f"{where}: field '{e.field or 'model'}': {e}") from None
    data_dir.mkdir(parents=True, exist_ok=True)
    inputs = [TensorSpec(t.name, i, t.dtype, list(t.shape)) for i, t in enumerate(prepared.inputs)]
    outputs = [
        TensorSpec(t.name, i, t.dtype, list(t.shape)) for i, t in enumerate(prepared.outputs)
    ]
    info = model_info(w, prepared) | {"generate": {"kv": g.kv, "vocab": vocab, **vars(g)}}
    job = job_template(g, vocab, pairs, data_dir, w.name)
    return PreparedGenerate(w, prepared.files, inputs, outputs, job, model_info=info)


KIND = GenerateKind()
