"""bench/analyze/answers.py and bench/present/answers.py: the working group's question
answered per workload and host, in one sentence each."""

from __future__ import annotations

import re

from bench.analyze.answers import answers
from bench.analyze.runs import load_run
from bench.present.answers import answer_chart, groups, sentence
from tests.synthetic_run import make_run

CELLS = {  # p50 ms; the synthetic phases are 10% set_input, 80% compute, 10% get_output
    ("w", "native", "native", "openvino", "cpu"): 1.0,
    ("w", "native", "native-c", "openvino", "cpu"): 0.8,
    ("w", "preview1", "wasmtime-cli", "openvino", "cpu"): 1.0,
    ("w", "adapted", "wasmtime-cli", "openvino", "cpu"): 1.0,  # the same as preview1
    ("w", "component", "wasmtime-cli", "openvino", "cpu"): 0.7,  # faster, all of it compute
    ("w", "preview1", "wasmtime-py", "openvino", "cpu"): 4.0,
}


def test_every_question_once_with_its_reference(tmp_path):
    run = load_run(make_run(tmp_path / "r", CELLS, rounds=4, iterations=40, cv=0.01))
    found = answers(run.samples, run.summary, n_boot=300)
    asked = [(a.cell.host, a.cell.variant, a.vs) for a in found]
    assert asked == [
        ("wasmtime-cli", "preview1", "native-c"),
        ("wasmtime-cli", "adapted", "preview1"),
        ("wasmtime-cli", "adapted", "native-c"),
        ("wasmtime-cli", "component", "preview1"),
        ("wasmtime-cli", "component", "native-c"),
        ("wasmtime-py", "preview1", "native-c"),
    ]
    by = {(a.cell.variant, a.cell.host, a.vs): a for a in found}
    same = by["adapted", "wasmtime-cli", "preview1"]
    assert not same.measurable and same.within_pct < 5
    assert sentence(same) == (
        f"w, wasmtime-cli, openvino: adapted vs preview1: no measurable difference "
        f"(within ±{same.within_pct:.1f}%)."
    )
    fast = by["component", "wasmtime-cli", "preview1"]
    assert fast.measurable and fast.in_compute and abs(fast.ratio.value - 0.7) < 0.02
    text = sentence(fast)
    assert text.startswith("w, wasmtime-cli, openvino: component vs preview1: 30.")
    assert "faster" in text and "lies in the backend's compute, not the ABI" in text
    slow = sentence(by["preview1", "wasmtime-py", "native-c"])
    assert re.search(r"preview1 vs native-c: 5\.0x slower \(95% CI [45]\.\dx to 5\.\dx\)", slow)
    # the official runtime and our Python host are told apart
    assert [t for t, _ in groups(found)] == [
        "the runtime (wasmtime CLI)", "our Python host (wasmtime-py, binding-bound)",
    ]  # fmt: skip
    png, svg = answer_chart(found, tmp_path / "charts")
    assert png.stat().st_size > 5000 and "<svg" in svg.read_text()


def test_without_native_c_the_reference_is_native(tmp_path):
    cells = {k: v for k, v in CELLS.items() if k[2] != "native-c"}
    run = load_run(make_run(tmp_path / "r", cells, rounds=3, iterations=20))
    found = answers(run.samples, run.summary, n_boot=200)
    assert {a.vs for a in found} == {"native", "preview1"}
