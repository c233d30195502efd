"""hosts/decoding.py (the driver's generate argv and samples, the native loop) and
bench/analyze/decoding.py (per-token table, io/state pairing and saving)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from bench.analyze import decoding as analysis
from contracts.cells import Cell
from contracts.jobs import CellFailed, CellJob, GenerateJob, ModelFiles, TensorSpec
from hosts import decoding, guest_io

CACHE = [1, 2, 8, 4]


def job(tmp_path: Path, kv: bool = True, iterations: int = 2) -> CellJob:
    prompt = tmp_path / "prompt.bin"
    np.array([3, 1, 4], "<i8").tofile(prompt)
    inputs = [TensorSpec("input_ids", 0, "i64", [1, 1]), TensorSpec("position", 1, "i64", [1]),
              TensorSpec("past_key_0", 2, "f32", CACHE)]  # fmt: skip
    outputs = [
        TensorSpec("logits", 0, "f32", [1, 10]),
        TensorSpec("present_key_0", 1, "f32", CACHE),
    ]
    g = GenerateJob(str(prompt), 3, 4, "input_ids", "position", "logits",
                    [["past_key_0", "present_key_0"]] if kv else [])  # fmt: skip
    cell = Cell("w", "preview1", "wasmtime-py", "openvino", "cpu")
    return CellJob(cell, ModelFiles("m.onnx", "m.xml", "m.bin", "x"), inputs, outputs, 1,
                   iterations, 1, str(tmp_path), generate=g)  # fmt: skip


def test_decode_steps_are_the_computes_after_the_prompt(tmp_path: Path) -> None:
    g = job(tmp_path).generate
    assert g is not None and g.computes == 3 + 4 - 1
    # warm-up generation 0 is skipped; in each measured one, computes 3..5 take a token in
    assert g.decode_computes(1, 2) == [9, 10, 11, 15, 16, 17]


def test_driver_argv_names_every_role_with_its_index(tmp_path: Path) -> None:
    argv = decoding.driver_argv(job(tmp_path), "prompt.bin", "tokens.bin")
    assert argv[:4] == ["--generate", "prompt.bin", "4", "tokens.bin"]
    assert argv[4:8] == ["--token", "0", "input_ids", "1x1"]
    assert argv[12:16] == ["--logits", "0", "logits", "40"]
    assert argv[16:] == ["--kv", "2", "past_key_0", "1", "present_key_0", "1x2x8x4"]
    assert "--kv" not in decoding.driver_argv(job(tmp_path, kv=False), "p", "t")


def samples(path: Path, generations: int, bad: str = "") -> Path:
    lines = ["wasi-nn-driver-samples 1", "load 5", "init 6"]
    for g in range(generations):
        lines.append(f"gen {g} {1000 + g}")
        for i in range(6):
            bytes_in = 999 if bad == "other bytes" and (g, i) == (1, 4) else 272
            lines.append(f"step {g} {i} 1 2 3 {10 + i} {bytes_in} 296")
    bad = "" if bad == "other bytes" else bad
    path.write_text("\n".join(lines + ([bad] if bad else [])) + "\n")
    return path


def test_samples_keep_the_decode_steps_and_the_counted_bytes(tmp_path: Path) -> None:
    j = job(tmp_path)
    phases, once, notes = guest_io.parse_samples(samples(tmp_path / "s.txt", 2), 2, j)
    assert once == {"load": 5, "init": 6}
    assert phases["ttft"] == [1000, 1001]
    assert phases["total"] == [13, 14, 15] * 2  # steps 3, 4, 5 of each generation
    assert notes == {"abi_bytes_in_per_token": "272", "abi_bytes_out_per_token": "296"}


@pytest.mark.parametrize(
    ("generations", "extra", "words"),
    [
        (1, "", "1 generations and 3 decode steps, expected 2 and 6"),
        (2, "iter 1 2 3 6", "unexpected line"),
        (2, "step 0 6 1 2 3 6 272 296", "unexpected line"),  # past the 6 computes
        (2, "gen 2 1000", "unexpected line"),  # a third generation
        (2, "other bytes", "different byte counts"),
    ],
)
def test_bad_samples_fail_the_cell(
    tmp_path: Path, generations: int, extra: str, words: str
) -> None:
    path = samples(tmp_path / "s.txt", generations, bad=extra)
    with pytest.raises(CellFailed, match=words):
        guest_io.parse_samples(path, 2, job(tmp_path))


def test_tokens_file_must_hold_every_step(tmp_path: Path) -> None:
    path = tmp_path / "tokens.bin"
    np.array([1, 2, 3], "<i8").tofile(path)
    with pytest.raises(CellFailed, match="expected 4 int64 ids"):
        decoding.read_tokens(path, 4)
    np.array([1, 2, 3, 4], "<i8").tofile(path)
    assert decoding.read_tokens(path, 4).tolist() == [1, 2, 3, 4]


def test_native_loop_matches_the_drivers_shape(tmp_path: Path) -> None:
    """A fake backend whose logits point at (position + 1): the loop must feed back the
    cache it got, generate steps tokens, and count the bytes it moved."""
    j = job(tmp_path)
    fed: list[tuple[int, int, float]] = []
    state: dict[str, np.ndarray] = {}

    def set_input(name: str, array: np.ndarray) -> None:
        state[name] = np.array(array)

    def compute() -> None:
        pos = int(state["position"][0])
        fed.append((int(state["input_ids"][0, 0]), pos, float(state["past_key_0"].sum())))
        state["logits"] = np.eye(10, dtype=np.float32)[(pos + 1) % 10][None]
        state["present_key_0"] = state["past_key_0"] + 1

    assert j.generate is not None
    phases, notes, tokens = decoding.run_native(j.generate, j, set_input, compute, state.get)
    assert tokens.tolist() == [3, 4, 5, 6]  # after positions 2, 3, 4, 5
    assert [f[:2] for f in fed[:6]] == [(3, 0), (1, 1), (4, 2), (3, 3), (4, 4), (5, 5)]
    assert [f[2] for f in fed[:6]] == [0.0, 64.0, 128.0, 192.0, 256.0, 320.0]  # cache fed back
    assert len(phases["total"]) == 2 * 3 and len(phases["ttft"]) == 2
    assert notes == {
        "abi_bytes_in_per_token": str(16 + 256),
        "abi_bytes_out_per_token": str(40 + 256),
    }


def meta() -> dict:
    gen = {"prompt_tokens": 16, "steps": 32, "seed": 1}
    return {"models": {
        "dec": {"sha256": "abc", "generate": {**gen, "kv": "io"}},
        "dec-state": {"sha256": "abc", "generate": {**gen, "kv": "state"}},
        "other-state": {"sha256": "def", "generate": {**gen, "kv": "state"}},
        "mlp": {"sha256": "123"},
    }}  # fmt: skip


def test_io_and_state_forms_pair_by_model_and_generation() -> None:
    assert analysis.kv_modes(meta()) == {"dec": "io", "dec-state": "state", "other-state": "state"}
    assert analysis.pairs(meta()) == [("dec", "dec-state")]


def test_saving_is_the_paired_ratio_of_per_token_times() -> None:
    rows, summary = [], []
    for workload, ms in (("dec", 4.0), ("dec-state", 1.0)):
        cell = Cell(workload, "preview1", "wasmtime-cli", "openvino", "cpu")
        for r in range(3):
            for i in range(5):
                ns = int((ms + 0.01 * i) * 1e6)
                rows.append(
                    {**cell.to_dict(), "round": r, "iteration": i, "phase": "total", "ns": ns}
                )
        summary.append({**cell.to_dict(), "status": "ok", "itl_p50_ms": ms + 0.02})
    saving = analysis.savings(pd.DataFrame(rows), pd.DataFrame(summary), meta())
    assert len(saving) == 1
    r = saving.iloc[0]
    assert r["io_workload"] == "dec" and r["state_workload"] == "dec-state"
    assert r["ratio"] == pytest.approx(4.02 / 1.02, rel=1e-6)
    assert r["ci_low"] <= r["ratio"] <= r["ci_high"]
    table = analysis.per_token(pd.DataFrame(summary), meta())
    assert list(table["kv"]) == ["io", "state"]
