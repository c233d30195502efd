"""The `[generate]` table of a workload file (docs/decoding.md, docs/workloads.md):

    [generate]
    prompt_tokens = 16     # seeded prompt length
    steps = 32             # tokens generated per generation (>= 2)
    seed = 1               # of the prompt
    kv = "io"              # "io": the KV cache crosses wasi-nn every step;
                           # "state": it stays in the backend (OpenVINO variables)

The model's roles (`token_input`, `position_input`, `logits_output`) default to the
zoo decoder's names. Reading only; checking the model against it is generate.py's.
"""

from __future__ import annotations

from dataclasses import dataclass

from workloads.spec.fields import Fields

KV_MODES = ("io", "state")


@dataclass
class GenerateSpec:
    prompt_tokens: int = 16
    steps: int = 32
    seed: int = 1
    kv: str = "io"
    token_input: str = "input_ids"
    position_input: str = "position"
    logits_output: str = "logits"


def read_generate(f: Fields) -> GenerateSpec:
    """The `[generate]` table; `f` is its Fields (prefix "generate.")."""
    spec = GenerateSpec()
    for key in ("prompt_tokens", "steps"):
        value = f.get(key, int, getattr(spec, key))
        if value <= 0:
            raise f.error(key, f"must be a positive number of tokens, got {value}")
        setattr(spec, key, value)
    if spec.steps < 2:
        raise f.error("steps", "must be >= 2 (the first token comes with the prompt; "
                               "inter-token latency needs a second)")  # fmt: skip
    spec.seed = f.get("seed", int, spec.seed)
    spec.kv = f.get("kv", str, spec.kv)
    if spec.kv not in KV_MODES:
        raise f.error("kv", f"unknown KV cache mode {spec.kv!r}; known: {', '.join(KV_MODES)}")
    for key in ("token_input", "position_input", "logits_output"):
        setattr(spec, key, f.get(key, str, getattr(spec, key)))
    f.reject_unknown()
    return spec
