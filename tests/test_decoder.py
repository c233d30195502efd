"""The zoo decoder (workloads/models/decoder.py) and its stateful OpenVINO form
(prepare_model(state=...)): real onnxruntime and OpenVINO, a small config."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import onnxruntime as ort
import openvino as ov
import pytest

from workloads.models import ModelError, prepare_model

SMALL = {"layers": 2, "hidden": 32, "heads": 2, "ffn": 64, "vocab": 97, "context": 24}
PAIRS = {f"past_{k}_{n}": f"present_{k}_{n}" for n in range(2) for k in ("key", "value")}
CACHE = (1, 2, 24, 16)
PROMPT = [5, 17, 3, 88, 41, 9]
STEPS = 12

Step = Callable[[int, int], np.ndarray]  # (token, position) -> logits


def greedy(step: Step, prompt: list[int] = PROMPT, steps: int = STEPS) -> list[int]:
    out: list[int] = []
    for i in range(len(prompt) + steps - 1):
        logits = step(prompt[i] if i < len(prompt) else out[-1], i)
        if i + 1 >= len(prompt):
            out.append(int(np.argmax(logits)))
    return out


def feeds(token: int, position: int) -> dict[str, np.ndarray]:
    return {"input_ids": np.array([[token]], np.int64), "position": np.array([position], np.int64)}


@pytest.fixture(scope="module")
def models(tmp_path_factory: pytest.TempPathFactory) -> tuple:
    cache = tmp_path_factory.mktemp("decoder-models")
    plain = prepare_model("decoder", SMALL, None, None, cache_dir=cache)
    stateful = prepare_model("decoder", SMALL, None, None, cache_dir=cache, state=PAIRS)
    return plain, stateful


def ort_step() -> Callable[[Path], Step]:
    def make(path: Path) -> Step:
        session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
        names = [o.name for o in session.get_outputs()]
        cache = {p: np.zeros(CACHE, np.float32) for p in PAIRS}

        def step(token: int, position: int) -> np.ndarray:
            out = dict(zip(names, session.run(None, feeds(token, position) | cache), strict=True))
            cache.update({p: out[q] for p, q in PAIRS.items()})
            return out["logits"]

        return step

    return make


def ov_request(xml: str) -> ov.InferRequest:
    compiled = ov.Core().compile_model(xml, "CPU", {"INFERENCE_PRECISION_HINT": "f32"})
    return compiled.create_infer_request()


def test_interface_is_static_with_logits_first(models: tuple) -> None:
    plain, stateful = models
    assert [t.name for t in plain.inputs[:2]] == ["input_ids", "position"]
    assert plain.outputs[0].name == "logits" and plain.outputs[0].shape == [1, 97]
    assert {t.name: t.shape for t in plain.inputs}["past_value_1"] == list(CACHE)
    assert len(plain.inputs) == 2 + len(PAIRS) and len(plain.outputs) == 1 + len(PAIRS)
    # the state pairs leave the IR's interface: only token, position and logits remain
    assert [t.name for t in stateful.inputs] == ["input_ids", "position"]
    assert [t.name for t in stateful.outputs] == ["logits"]
    assert stateful.files.stateful and not plain.files.stateful
    assert stateful.files.ir_xml != plain.files.ir_xml


def test_backends_and_forms_generate_the_same_tokens(models: tuple) -> None:
    plain, stateful = models
    reference = greedy(ort_step()(Path(plain.files.onnx)))
    assert len(set(reference)) > 1, "a constant sequence would hide a broken cache"

    request = ov_request(plain.files.ir_xml)
    cache = {p: np.zeros(CACHE, np.float32) for p in PAIRS}

    def ov_io(token: int, position: int) -> np.ndarray:
        request.infer(feeds(token, position) | cache)
        for p, q in PAIRS.items():
            cache[p] = request.get_tensor(q).data.copy()
        return request.get_tensor("logits").data.copy()

    assert greedy(ov_io) == reference

    state_request = ov_request(stateful.files.ir_xml)

    def ov_state(token: int, position: int) -> np.ndarray:
        state_request.infer(feeds(token, position))
        return state_request.get_tensor("logits").data.copy()

    assert greedy(ov_state) == reference
    # a second generation on the same request, no reset: positions restart at 0 and the
    # mask hides the old slots, so it must give the same tokens again
    assert greedy(ov_state) == reference


def test_the_state_really_carries_the_cache(models: tuple) -> None:
    """Without the earlier positions in its state, the last step's logits differ."""
    _, stateful = models
    with_history = ov_request(stateful.files.ir_xml)
    for i, token in enumerate(PROMPT):
        with_history.infer(feeds(token, i))
    last = with_history.get_tensor("logits").data.copy()
    fresh = ov_request(stateful.files.ir_xml)
    fresh.infer(feeds(PROMPT[-1], len(PROMPT) - 1))
    assert not np.allclose(last, fresh.get_tensor("logits").data, atol=1e-4)
    assert len(with_history.query_state()) == len(PAIRS)


def test_builder_is_deterministic_and_checks_params(tmp_path: Path) -> None:
    from workloads.models.decoder import decoder

    a, b = decoder(SMALL), decoder(SMALL)
    assert a.SerializeToString() == b.SerializeToString()
    assert decoder(SMALL | {"seed": 1}).SerializeToString() != a.SerializeToString()
    with pytest.raises(ModelError, match="multiple of heads"):
        decoder(SMALL | {"heads": 3})


def test_a_state_pair_the_model_lacks_is_a_model_error(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match="no input 'past_nothing'"):
        prepare_model("decoder", SMALL, None, None, cache_dir=tmp_path,
                      state={"past_nothing": "present_key_0"})  # fmt: skip
