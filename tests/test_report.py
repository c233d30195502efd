"""The report really contains its charts; noise warnings show; slides are 16:9."""

from __future__ import annotations

import argparse
import base64
import html
import io
import json
import re
from pathlib import Path

import matplotlib.image as mpimg
import pytest

from bench.analyze.runs import load_run
from bench.cli import main
from bench.present import charts
from bench.present.report import write_report
from tests.helpers import FIXTURES, chromium, find_browser
from tests.synthetic_run import (
    basic_cells,
    make_run,
    two_baseline_cells,
)


def _png_shape(data: bytes) -> tuple[int, int]:
    img = mpimg.imread(io.BytesIO(data), format="png")
    return img.shape[1], img.shape[0]  # width, height


@pytest.fixture(scope="module")
def report(tmp_path_factory) -> Path:
    tmp = tmp_path_factory.mktemp("report")
    cells = basic_cells()
    run = make_run(tmp / "run", cells, rounds=2, iterations=30, cv=0.01)
    return write_report(run, tmp / "out", slides=True).parent


def test_report_files_and_inline_images(report: Path):
    md = (report / "report.md").read_text()
    html = (report / "report.html").read_text()
    for name in ("latency", "distributions", "overhead"):
        png, svg = report / f"{name}.png", report / f"{name}.svg"
        assert png.stat().st_size > 5000 and svg.read_text().lstrip().startswith("<?xml")
        assert "<svg" in svg.read_text()
        assert f"]({name}.png)" in md and f"]({name}.svg)" in md
    # every file the Markdown links exists
    for link in re.findall(r"\]\(([^)]+)\)", md):
        assert (report / link).is_file(), link
    # the HTML carries the PNGs themselves, byte for byte, and links nothing outside
    inlined = re.findall(r'<img alt="[^"]*" src="data:image/png;base64,([^"]+)"', html)
    # binding: the synthetic wasmtime-py cells carry host work (tests/synthetic_run.py)
    charts = ("answers", "latency", "distributions", "overhead", "binding")
    assert len(inlined) == len(charts)
    on_disk = {(report / f"{n}.png").read_bytes() for n in charts}
    assert {base64.b64decode(b) for b in inlined} == on_disk
    for name in charts[1:]:
        w, h = _png_shape((report / f"{name}.png").read_bytes())
        assert w == 1100 and h > 300
    assert _png_shape((report / "answers.png").read_bytes())[0] == 1200
    assert not re.search(r'(src|href)="(https?:|//)', html)
    assert "<script" not in html and "<link" not in html and "<a " not in html
    # the summary table and the cells that did not run, with their reasons
    assert "| squeezenet | component | wasmtime-cli | openvino | cpu | failed |" in md
    assert "trap: oops" in md and "invalid-encoding" in html
    assert "Synthetic CPU" in md and "Noise warning" not in md


def test_slides_are_16_9_and_state_the_finding(report: Path):
    slides = sorted((report / "slides").glob("*.png"))
    names = [p.stem for p in slides]
    assert names == [
        "01-answer",
        "02-variants-mlp-tiny",
        "03-variants-squeezenet",
        "04-overhead-heatmap",
        "05-distributions",
        "06-phases",
        "07-throughput",
    ]
    for p in slides:
        assert _png_shape(p.read_bytes()) == (1920, 1080)
        assert p.with_suffix(".svg").is_file()
    svg = (report / "slides" / "02-variants-mlp-tiny.svg").read_text()
    # adapted is 1.52/1.5 of preview1 in the synthetic run, on the CLI a wasm cell alone:
    # the title quotes the report's answer, with its CI (or says it is not measurable)
    assert re.search(
        r"adapted vs preview1 \(wasmtime-py, onnx\): (1\.\d% slower|no measurable difference)",
        svg,
    )
    heat = (report / "slides" / "04-overhead-heatmap.svg").read_text()
    assert "×1.52" in heat or "×1.51" in heat
    md = (report / "report.md").read_text()
    assert "slides/02-variants-mlp-tiny.png" in md and "slides/deck.html" in md
    # one deck: every slide inline, in order
    deck = (report / "slides" / "deck.html").read_text()
    assert re.findall(r'<section id="([^"]+)">', deck) == names
    assert deck.count("data:image/png;base64,") == len(names) and "<script" not in deck


def test_noise_warning_for_high_cv_cell(tmp_path):
    cells = {
        ("w", "native", "native", "onnx", "cpu"): 1.0,
        ("w", "preview1", "wasmtime-py", "onnx", "cpu"): 1.2,
    }
    run = make_run(tmp_path / "run", cells, cv=0.2)  # CV ~20% > 5%
    out = write_report(run, tmp_path / "out").parent
    md, html = (out / "report.md").read_text(), (out / "report.html").read_text()
    # one line with a count; the cells themselves are marked in the table
    warning = next(line for line in md.splitlines() if "Noise warning" in line)
    assert "⚠ Noise warning: 2 of 2 measured cells have a CV above 5%" in warning
    assert "w / preview1" not in warning and md.count("Noise warning") == 1
    assert '<p class="warn">⚠ Noise warning' in html
    assert re.search(r"\| ⚠ \d+\.\d% \(\d+\.\d%\) \|", md)  # flagged in the table, robust CV beside


def test_palette_is_one_colour_per_variant():
    assert set(charts.VARIANT_COLORS) == {"native", "preview1", "adapted", "component"}
    assert len(set(charts.VARIANT_COLORS.values())) == 4


def report_cmd(ns: argparse.Namespace) -> int:
    """`wasinn-bench report` as the user runs it (exit code included)."""
    return main(["report", ns.run_dir, *(["--slides"] if ns.slides else [])])


def test_report_command_bad_input(tmp_path, capsys):
    args = argparse.Namespace(run_dir=str(tmp_path / "nope"), out=None, slides=False)
    assert report_cmd(args) == 2
    assert str(tmp_path / "nope") in capsys.readouterr().err
    (tmp_path / "empty").mkdir()
    args.run_dir = str(tmp_path / "empty")
    assert report_cmd(args) == 2
    assert "not a run folder" in capsys.readouterr().err


@pytest.mark.skipif(not (FIXTURES / "mlp-tiny-a").is_dir(), reason="no recorded run")
def test_report_on_recorded_real_run(tmp_path):
    out = write_report(FIXTURES / "mlp-tiny-a", tmp_path / "real").parent
    md = (out / "report.md").read_text()
    assert "(latency.png)" in md and "| mlp-tiny | native | native | onnx | cpu | ok |" in md


def test_variants_side_by_side_ratio_and_where_it_goes(tmp_path):
    from bench.analyze.summarize import variant_ratios

    cells = {
        ("w", "native", "native", "onnx", "cpu"): 1.0,
        ("w", "preview1", "wasmtime-cli", "onnx", "cpu"): 2.0,
        ("w", "adapted", "wasmtime-cli", "onnx", "cpu"): 2.4,
        ("w", "component", "wasmtime-cli", "onnx", "cpu"): 2.0,
    }
    run = load_run(make_run(tmp_path / "run", cells, rounds=3, iterations=200, cv=0.01))
    r = variant_ratios(run.samples, n_boot=300).set_index("variant")
    assert abs(r.loc["adapted", "ratio"] - 1.2) < 0.01 and r.loc["adapted", "ci_low"] > 1.15
    assert r.loc["component", "ci_low"] < 1.0 < r.loc["component", "ci_high"]
    # synthetic phases are 10/80/10 % of the total: 0.4 ms more goes 40/320/40 µs
    assert abs(r.loc["adapted", "delta_compute_us"] - 320) < 15
    assert abs(r.loc["adapted", "delta_total_us"] - 400) < 20
    md = (write_report(run.path, tmp_path / "rep")).read_text()
    assert (
        "Variants side by side" in md and "| w | wasmtime-cli | onnx | cpu | adapted | +20." in md
    )


W = "mlp-tiny"  # the workload the tests below run


def test_report_shows_both_baselines_binding_and_precision(tmp_path: Path) -> None:
    from bench.present.report import write_report

    target = {"target_ci": {"pct": 0.001, "max_time_s": 60.0}, "stop_reason": "time out: test"}
    run = make_run(tmp_path / "run", two_baseline_cells(), rounds=3,
                   extra_meta={"config": target,
                               "workloads": {W: {"rounds": 3, "io_bytes": 296}}})  # fmt: skip
    (run / "summary.csv").unlink()  # recomputed from meta's target
    md = write_report(run, tmp_path / "report").read_text()
    assert "× native-c [CI]" in md and "Which baseline to read" in md
    assert "Host binding cost" in md and "ms per MB moved" in md
    assert "Stopped: time out: test" in md and "✗" in md
    assert (tmp_path / "report" / "binding.png").exists()
    assert (tmp_path / "report" / "overhead-native-c.png").exists()


def test_the_answer_comes_first_and_non_findings_are_not_headlined(tmp_path: Path) -> None:
    cells = {
        ("w", "native", "native", "onnx", "cpu"): 1.0,
        ("w", "native", "native-c", "onnx", "cpu"): 0.9,
        ("w", "preview1", "wasmtime-cli", "onnx", "cpu"): 1.0,
        ("w", "adapted", "wasmtime-cli", "onnx", "cpu"): 1.0,
        ("w", "component", "wasmtime-cli", "onnx", "cpu"): 1.3,
        ("w", "preview1", "wasmtime-py", "onnx", "cpu"): 3.0,
    }
    run = make_run(tmp_path / "run", cells, rounds=4, iterations=40, cv=0.01)
    md = write_report(run, tmp_path / "rep", slides=True).read_text()
    first = md.index("## The answer")
    assert first < md.index("## Summary") and first < md.index("Which baseline to read")
    answer = md[first : md.index("## Summary")]
    assert (
        "- w, wasmtime-cli, onnx: adapted vs preview1: no measurable difference (within ±" in answer
    )
    assert re.search(r"- w, wasmtime-cli, onnx: component vs preview1: (29|30)\.\d% slower", answer)
    assert "lies in the backend's compute, not the ABI" in answer
    # the official runtime first, our Python host apart, after it
    assert answer.index("The runtime (wasmtime CLI):") < answer.index("Our Python host")
    assert "(answers.png)" in answer and (tmp_path / "rep" / "answers.png").is_file()
    # the slide of the workload headlines the answer, not a non-finding with a wide CI
    svg = (tmp_path / "rep" / "slides" / "02-variants-w.svg").read_text()
    assert "adapted vs preview1 (wasmtime-cli, onnx): no measurable difference" in svg


def test_slides_without_adapted_or_component_cells(tmp_path: Path) -> None:
    cells = {("w", "native", "native", "onnx", "cpu"): 1.0,
             ("w", "preview1", "wasmtime-cli", "onnx", "cpu"): 1.4}  # fmt: skip
    run = make_run(tmp_path / "run", cells, rounds=2, iterations=20)
    write_report(run, tmp_path / "rep", slides=True)
    names = sorted(p.stem for p in (tmp_path / "rep" / "slides").glob("*.png"))
    assert names[:2] == ["01-answer", "02-variants-w"]
    only_native = make_run(tmp_path / "native", {cells_key: 1.0 for cells_key in list(cells)[:1]})
    write_report(only_native, tmp_path / "rep2", slides=True)  # nothing to answer: no crash
    assert "nothing to answer" in (tmp_path / "rep2" / "report.md").read_text()


@pytest.mark.browser
def test_summary_fits_1400px_and_the_deck_clips_no_slide(report: Path, tmp_path: Path) -> None:
    """Rendered in headless Chromium: at a 1400-px window nothing is wider than the page
    (the summary table included), and each slide of the deck is shown whole."""
    browser = find_browser()
    if browser is None:
        pytest.skip("no Chromium here and none can be installed (no apt-get as root)")
    probe = (
        '<script>document.body.insertAdjacentHTML("beforeend", "<pre id=probe>" + '
        "JSON.stringify({page: document.documentElement.scrollWidth, tables: "
        '[...document.querySelectorAll("table")].map(t => t.getBoundingClientRect().right), '
        'imgs: [...document.querySelectorAll("section img")].map(i => {const r = '
        "i.getBoundingClientRect(); return [r.left, r.top, r.right, r.bottom, i.naturalWidth, "
        'i.naturalHeight]})}) + "</pre>")</script></body>'
    )
    for page, size in ((report / "report.html", (1400, 1000)),
                       (report / "slides" / "deck.html", (1400, 788))):  # fmt: skip
        copy = tmp_path / f"probe-{page.name}"
        copy.write_text(page.read_text().replace("</body>", probe))
        dom = chromium(browser, "--dump-dom", f"--window-size={size[0]},{size[1]}",
                       copy.as_uri()).stdout  # fmt: skip
        found = json.loads(html.unescape(re.search(r'<pre id="probe">([^<]*)', dom)[1]))
        assert found["page"] <= size[0], (page.name, found)
        assert all(right <= size[0] for right in found["tables"]), (page.name, found)
        for left, top, right, bottom, w, h in found["imgs"]:  # whole, and not distorted
            assert (
                left >= 0 and top >= 0 and right <= size[0] + 0.5 and bottom - top <= size[1] + 0.5
            )
            assert abs((right - left) / (bottom - top) - w / h) < 0.01
        if page.name == "deck.html":
            assert len(found["imgs"]) == 7 and found["imgs"][0][4:] == [1920, 1080]
