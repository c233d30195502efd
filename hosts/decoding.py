"""Generate mode on the host side (docs/decoding.md): the driver's argv for it, the
samples it writes, and the same loop for the native Python host.

One generation = `prompt_len + steps - 1` computes, one token each; the argmax of the
logits after the last prompt token is the first generated token. What a round reports:
per-iteration phases over the *decode* steps only (those that take a generated token
in: one inter-token latency each), `ttft` once per generation (prompt fed + first
token out), and the bytes each decode step handed to and took from wasi-nn.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from contracts.jobs import CellFailed, CellJob, GenerateJob, TensorSpec
from contracts.phases import ITERATION_PHASES, MEASURED_PHASES, TTFT

TOKENS = "tokens"  # the outputs entry (and the guest's file stem) of the generated ids


def _spec(specs: list[TensorSpec], name: str, what: str) -> TensorSpec:
    for spec in specs:
        if spec.name == name:
            return spec
    raise CellFailed(f"generate: the job has no {what} {name!r}")


def _dims(spec: TensorSpec) -> str:
    return "x".join(str(d) for d in spec.shape) if spec.shape else "scalar"


def driver_argv(job: CellJob, prompt: str, tokens: str) -> list[str]:
    """The driver's generate-mode arguments (guest paths `prompt`, `tokens`)."""
    g = job.generate
    assert g is not None
    token = _spec(job.inputs, g.token, "input")
    position = _spec(job.inputs, g.position, "input")
    logits = _spec(job.outputs, g.logits, "output")
    argv = ["--generate", prompt, str(g.steps), tokens]
    argv += ["--token", str(token.index), token.name, _dims(token)]
    argv += ["--position", str(position.index), position.name, _dims(position)]
    argv += ["--logits", str(logits.index), logits.name, str(logits.nbytes)]
    for past_name, present_name in g.kv:
        past = _spec(job.inputs, past_name, "input")
        present = _spec(job.outputs, present_name, "output")
        argv += ["--kv", str(past.index), past.name, str(present.index), present.name, _dims(past)]
    return argv


def parse_samples(
    path: Path, job: CellJob, lines: list[tuple[int, str]]
) -> tuple[dict[str, list[int]], dict[str, str]]:
    """The driver's `gen`/`step` lines -> (phases over decode steps + ttft, byte notes)."""
    g = job.generate
    assert g is not None
    phases: dict[str, list[int]] = {p: [] for p in (*MEASURED_PHASES, TTFT)}
    in_bytes: set[int] = set()
    out_bytes: set[int] = set()
    for n, line in lines:
        key, *values = line.split()
        numbers = [int(v) for v in values]
        if key == "gen" and len(numbers) == 2 and numbers[0] < job.iterations:
            phases[TTFT].append(numbers[1])
        elif (
            key == "step"
            and len(numbers) == 8
            and numbers[0] < job.iterations > 0
            and (numbers[1] < g.computes)
        ):
            if numbers[1] >= g.prompt_len:  # a decode step
                for phase, ns in zip(MEASURED_PHASES, numbers[2:6], strict=True):
                    phases[phase].append(ns)
                in_bytes.add(numbers[6])
                out_bytes.add(numbers[7])
        else:
            raise CellFailed(f"{path}:{n}: unexpected line {line!r}")
    want = job.iterations * (g.steps - 1)
    if len(phases[TTFT]) != job.iterations or len(phases["total"]) != want:
        raise CellFailed(
            f"{path}: {len(phases[TTFT])} generations and {len(phases['total'])} decode steps, "
            f"expected {job.iterations} and {want}"
        )
    return phases, byte_notes(in_bytes, out_bytes)


def byte_notes(in_bytes: set[int], out_bytes: set[int]) -> dict[str, str]:
    """Counted bytes per decode step (every step of a model moves the same)."""
    if len(in_bytes) > 1 or len(out_bytes) > 1:
        raise CellFailed(
            f"decode steps moved different byte counts: {in_bytes} in, {out_bytes} out"
        )
    i, o = (next(iter(s), 0) for s in (in_bytes, out_bytes))
    return {"abi_bytes_in_per_token": str(i), "abi_bytes_out_per_token": str(o)}


def read_tokens(path: Path, steps: int) -> np.ndarray:
    if not path.is_file():
        raise CellFailed(f"the guest wrote no {path.name}")
    tokens = np.fromfile(path, dtype="<i8")
    if tokens.size != steps or path.stat().st_size != steps * 8:
        raise CellFailed(f"{path.name}: {path.stat().st_size} bytes, expected {steps} int64 ids")
    return tokens


# -- the native (Python) host's loop ---------------------------------------------------------


def run_native(
    g: GenerateJob,
    job: CellJob,
    set_input: Callable[[str, np.ndarray], None],
    compute: Callable[[], None],
    get_output: Callable[[str], np.ndarray],
) -> tuple[dict[str, list[int]], dict[str, str], np.ndarray]:
    """driver.c's generate(), over a backend context's three calls: same steps, same
    timing points, the cache handed over as numpy arrays (counted as nbytes)."""
    specs = {s.name: s for s in (*job.inputs, *job.outputs)}
    prompt = np.fromfile(g.prompt, dtype="<i8")
    token_shape, pos_shape = specs[g.token].shape, specs[g.position].shape
    phases: dict[str, list[int]] = {p: [] for p in (*MEASURED_PHASES, TTFT)}
    clock = time.perf_counter_ns
    first: np.ndarray | None = None
    in_bytes: set[int] = set()
    out_bytes: set[int] = set()
    for gen in range(job.warmup + job.iterations):
        cache = {p: np.zeros(specs[p].shape, np.float32) for p, _ in g.kv}
        tokens: list[int] = []
        start = clock()
        for i in range(g.computes):
            token = int(prompt[i]) if i < len(prompt) else tokens[-1]
            a = clock()
            feeds = [(g.token, np.full(token_shape, token, np.int64)),
                     (g.position, np.full(pos_shape, i, np.int64)), *cache.items()]  # fmt: skip
            for name, array in feeds:
                set_input(name, array)
            b = clock()
            compute()
            c = clock()
            logits = np.array(get_output(g.logits), dtype=np.float32, copy=True)
            moved = [logits]
            for past, present in g.kv:
                cache[past] = np.array(get_output(present), np.float32).reshape(specs[past].shape)
                moved.append(cache[past])
            d = clock()
            if i + 1 >= len(prompt):
                tokens.append(int(np.argmax(logits.reshape(-1))))
            end = clock()
            if i + 1 == len(prompt) and gen >= job.warmup:
                phases[TTFT].append(end - start)
            if gen >= job.warmup and i >= len(prompt):
                for phase, ns in zip(ITERATION_PHASES, (b - a, c - b, d - c), strict=True):
                    phases[phase].append(ns)
                phases["total"].append(end - a)
                in_bytes.add(sum(x.nbytes for _, x in feeds))
                out_bytes.add(sum(x.nbytes for x in moved))
        ids = np.array(tokens, dtype=np.int64)
        if first is not None and not np.array_equal(first, ids):
            raise CellFailed(f"generation {gen} produced other tokens than generation 0")
        first = ids if first is None else first
    assert first is not None
    return phases, byte_notes(in_bytes, out_bytes), first
