"""Generative workloads (bench/measure/kinds/generate.py, workloads/spec/generate_file.py): the `[generate]`
table's bad input (file + field, exit 2, nothing written), token agreement, and one real
run: every host's cells decode the same tokens, both KV forms, with the generative
columns in summary.csv and the report's decoding section."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from bench.measure.kinds.generate import tokens_agree
from bench.results.outputs import load_outputs
from tests.helpers import run_cli
from workloads.spec.workload import WorkloadError, load_workload

SMALL = "{ layers = 2, hidden = 32, heads = 2, ffn = 64, vocab = 97, context = 24 }"


def workload(folder: Path, name: str, generate: str, extra: str = "") -> Path:
    path = folder / f"{name}.toml"
    path.write_text(
        f'name = "{name}"\nwarmup = 1\niterations = 2\nrounds = 1\n{extra}\n'
        f'[model]\nbuilder = "decoder"\nparams = {SMALL}\n\n[generate]\n{generate}\n'
    )
    return path


@pytest.mark.parametrize(
    ("generate", "field", "words"),
    [
        ("steps = 0", "generate.steps", "positive"),
        ("steps = -3", "generate.steps", "positive"),
        ("steps = 1", "generate.steps", ">= 2"),
        ("prompt_tokens = 0", "generate.prompt_tokens", "positive"),
        ('kv = "disk"', "generate.kv", "unknown KV cache mode"),
        ("tokens = 3", "generate.tokens", "unknown field"),
    ],
)
def test_bad_generate_table(tmp_path: Path, generate: str, field: str, words: str) -> None:
    path = workload(tmp_path, "bad", generate)
    with pytest.raises(WorkloadError, match=rf"{path}: field '{field}': .*{words}"):
        load_workload(path)


@pytest.mark.parametrize(
    ("generate", "field", "words"),
    [
        ("prompt_tokens = 25", "generate.prompt_tokens", "longer than the model's context of 24"),
        ("prompt_tokens = 16\nsteps = 10", "generate.steps", "need 25 positions, the context has 24"),
        ('logits_output = "present_key_0"', "generate.logits_output", "no logits-like output"),
        ('logits_output = "scores"', "generate.logits_output", "no logits-like output"),
        ('token_input = "ids"', "generate.token_input", "no int64 one-element input 'ids'"),
    ],
)  # fmt: skip
def test_bad_generate_against_the_model_exits_2_writing_nothing(
    tmp_path: Path, generate: str, field: str, words: str
) -> None:
    path = workload(tmp_path, "bad", generate)
    out = tmp_path / "run"
    r = run_cli("run", str(path), "--hosts", "native", "--backends", "openvino", "--out", str(out))
    assert r.returncode == 2, r.stderr
    assert f"{path}: field '{field}'" in r.stderr and words in r.stderr
    assert "Traceback" not in r.stderr
    assert not out.exists() or not any(out.iterdir())


def test_inputs_table_is_refused(tmp_path: Path) -> None:
    path = workload(tmp_path, "bad", "steps = 4")
    path.write_text(path.read_text() + '\n[inputs.input_ids]\nshape = [1, 1]\ndtype = "i64"\n')
    with pytest.raises(WorkloadError, match="field 'inputs': a \\[generate\\] workload"):
        load_workload(path)


def test_tokens_agree_exactly() -> None:
    a = {"tokens": np.array([1, 2, 3])}
    assert tokens_agree(a, {"tokens": np.array([1, 2, 3])}) == (True, 0.0)
    assert tokens_agree(a, {"tokens": np.array([1, 9, 3])}) == (False, 1.0)
    assert tokens_agree(a, {"tokens": np.array([1, 2])})[0] is False
    assert tokens_agree(a, {})[0] is False


def test_real_run_every_host_decodes_the_same_tokens(tmp_path: Path) -> None:
    gen = "prompt_tokens = 6\nsteps = 8\nseed = 3\n"
    io = workload(tmp_path, "dec-io", gen + 'kv = "io"')
    state = workload(tmp_path, "dec-state", gen + 'kv = "state"')
    out = tmp_path / "run"
    r = run_cli(
        "run", str(io), str(state), "--hosts", "native,native-c,wasmtime-py,wasmtime-cli",
        "--variants", "native,preview1,component", "--backends", "openvino,onnx",
        "--offline", "0", "--out", str(out),
    )  # fmt: skip
    assert r.returncode == 0, r.stderr[-3000:]
    s = pd.read_csv(out / "summary.csv")
    ov = s[s["backend"] == "openvino"]
    # every OpenVINO cell runs (the CLI only has OpenVINO), in both forms, and agrees
    assert set(ov["status"]) == {"ok"}, ov[["workload", "host", "variant", "reason"]]
    wasm = ov[ov["variant"] != "native"]
    assert len(wasm) == 2 * 2 * 2 and wasm["agrees"].astype(str).eq("True").all()
    # onnxruntime runs the io form wherever the host has it (not the CLI), same tokens
    onnx_io = s[(s["backend"] == "onnx") & (s["workload"] == "dec-io")]
    has_onnx = onnx_io[onnx_io["host"] != "wasmtime-cli"]
    assert set(has_onnx["status"]) == {"ok"}, has_onnx[["host", "variant", "reason"]]
    assert has_onnx[has_onnx["variant"] != "native"]["agrees"].astype(str).eq("True").all()
    assert set(onnx_io[onnx_io["host"] == "wasmtime-cli"]["status"]) == {"unsupported"}
    onnx_state = s[(s["backend"] == "onnx") & (s["workload"] == "dec-state")]
    assert set(onnx_state["status"]) == {"unsupported"}
    assert onnx_state["reason"].str.contains("OpenVINO variables").all()
    for col in ("ttft_ms", "itl_p50_ms", "tokens_per_s", "abi_share"):
        assert (ov[col] > 0).all(), col
    assert (s.loc[s["status"] == "ok", "n"] == 2 * 7).all()  # 2 generations x 7 decode steps
    # counted bytes: io moves the cache both ways, state only token + position and logits
    cache = 4 * 2 * 24 * 16 * 4  # 4 tensors of f32 [1, 2, 24, 16]
    by_kv = ov.groupby("workload")["abi_bytes_in_per_token"].unique()
    assert list(by_kv["dec-io"]) == [16 + cache] and list(by_kv["dec-state"]) == [16]
    out_bytes = ov.groupby("workload")["abi_bytes_out_per_token"].unique()
    assert list(out_bytes["dec-io"]) == [97 * 4 + cache] and list(out_bytes["dec-state"]) == [
        97 * 4
    ]
    tokens = {
        p.name: load_outputs(p)["tokens"].tolist() for p in (out / "outputs").glob("*openvino*.npz")
    }
    assert len({tuple(t) for t in tokens.values()}) == 1, tokens
    report = run_cli("report", str(out), "--out", str(tmp_path / "report"))
    assert report.returncode == 0, report.stderr
    text = (tmp_path / "report" / "report.md").read_text()
    assert "## Decoding" in text and "io / state" in text
