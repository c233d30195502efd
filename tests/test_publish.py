"""`wasinn-bench publish`: the static dashboard, built from the recorded real runs in
results/fixtures/ (copied and altered: a shifted cell makes a step), and rendered in
headless Chromium."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from bench.cli import main
from bench.present.publish import SITE_FORMAT, SITE_VERSION, write_site
from tests.helpers import chromium as _chromium
from tests.helpers import find_browser

FIXTURES = Path(__file__).resolve().parent.parent / "results" / "fixtures"
SHIFTED = "mlp-tiny/preview1/wasmtime-py/onnx/cpu"  # made 1.6x slower from run 3 on
RUNS = 6
STEP_AT = 3


def make_series(
    root: Path, runs: int = RUNS, step_at: int = STEP_AT, scale: float = 1.6
) -> list[Path]:
    """`runs` copies of the two fixture runs, an hour apart, each its own commit; the
    SHIFTED cell's samples are scaled by `scale` from run `step_at` on (a real
    regression's shape on real noise). summary.csv is dropped so `load` recomputes it."""
    out = []
    for i in range(runs):
        src = FIXTURES / ("mlp-tiny-a" if i % 2 == 0 else "mlp-tiny-b")
        dst = root / f"run-{i:02d}"
        shutil.copytree(src, dst)
        (dst / "summary.csv").unlink()
        meta = json.loads((dst / "meta.json").read_text())
        meta |= {"run_id": dst.name, "created": f"2026-11-26T{10 + i:02d}:00:00+00:00",
                 "git_sha": f"{i:x}" * 40}  # fmt: skip
        (dst / "meta.json").write_text(json.dumps(meta))
        samples = pd.read_parquet(dst / "samples.parquet")
        samples["run_id"] = dst.name
        if i >= step_at:
            key = SHIFTED.split("/")
            mask = np.logical_and.reduce(
                [samples[c] == v for c, v in zip(
                    ("workload", "variant", "host", "backend", "device"), key, strict=True)]
            )  # fmt: skip
            samples.loc[mask, "ns"] = (samples.loc[mask, "ns"] * scale).astype("int64")
        samples.to_parquet(dst / "samples.parquet", index=False)
        out.append(dst)
    return out


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    root = tmp_path_factory.mktemp("publish")
    runs = make_series(root / "runs")
    # a report for one run, where `publish` looks for it (reports/<run-id>/report.html)
    reports = root / "reports"
    (reports / "run-05").mkdir(parents=True)
    (reports / "run-05" / "report.html").write_text("<html><body>report of run-05</body></html>")
    data = write_site(runs, root / "site", reports_dir=reports)
    return root / "site", data


def test_site_has_every_cell_a_step_and_the_regression(site: tuple[Path, dict]) -> None:
    out, data = site
    assert (out / "index.html").is_file() and (out / "regressions.html").is_file()
    on_disk = json.loads((out / "data.json").read_text())
    assert on_disk["format"] == SITE_FORMAT and on_disk["version"] == SITE_VERSION
    keys = {c["key"] for c in data["cells"]}
    # the default metric is compare's (overhead vs native): the native cells are its
    # references (1 by definition), drawn on --metric p50 only
    assert SHIFTED in keys and "mlp-tiny/native/native/onnx/cpu" not in keys
    index = (out / "index.html").read_text()
    for c in data["cells"]:
        assert c["key"] in index
        assert (out / "cells" / f"{c['id']}.html").is_file()
        assert len(c["points"]) == RUNS
        assert c["latest"]["run_id"] == f"run-{RUNS - 1:02d}"
    shifted = next(c for c in data["cells"] if c["key"] == SHIFTED)
    assert shifted["steps"] == [f"run-{STEP_AT:02d}"]
    step = shifted["points"][STEP_AT]
    assert step["step"] and 1.4 < step["step_ratio"] < 1.8
    assert step["step_ci"][0] > 1 and "95% CI excludes 1" in step["step_rule"]
    # the other cells ran the same code: no step there
    assert all(not c["steps"] for c in data["cells"] if c["key"] != SHIFTED)
    # compare between consecutive runs: the shift is a regression, found at its run
    pair = next(c for c in data["comparisons"] if c["head"] == f"run-{STEP_AT:02d}")
    assert any(r["cell"] == SHIFTED and r["verdict"] == "regressed" for r in pair["cells"])
    assert data["comparisons"][0]["head"] == f"run-{RUNS - 1:02d}"  # newest first
    regressions = (out / "regressions.html").read_text()
    assert SHIFTED in regressions and "regressed" in regressions
    assert "1 regression(s)" in regressions
    # the run that had a report links to its copy inside the site
    assert (out / "runs" / "run-05" / "report.html").is_file()
    cell_page = (out / "cells" / f"{shifted['id']}.html").read_text()
    assert 'href="../runs/run-05/report.html"' in cell_page
    assert 'class="step"' in cell_page and 'class="ci"' in cell_page


def test_identical_runs_show_no_step_and_a_10pct_change_one(tmp_path: Path) -> None:
    """Five runs of the same code (two real recordings, alternating): no step on any
    metric; the same five with one cell 10% slower in the newest run: one step, there."""
    same = make_series(tmp_path / "same", runs=5, step_at=99)
    for metric in ("overhead", "p50"):
        data = write_site(same, tmp_path / "site", metric=metric, factor=1.05, reports_dir=None)
        assert [c["key"] for c in data["cells"] if c["steps"]] == []
    changed = make_series(tmp_path / "changed", runs=5, step_at=4, scale=1.10)
    data = write_site(changed, tmp_path / "site", factor=1.05, reports_dir=None)
    assert {c["key"]: c["steps"] for c in data["cells"] if c["steps"]} == {SHIFTED: ["run-04"]}


def test_x_axis_by_commit_and_by_runtime(tmp_path: Path) -> None:
    runs = make_series(tmp_path / "runs", runs=2, step_at=9)
    data = write_site(runs, tmp_path / "site", x_axis="commit", reports_dir=None)
    page = next((tmp_path / "site" / "cells").iterdir()).read_text()
    assert "0000000" in page and "1111111" in page  # short shas as x labels
    data = write_site(runs, tmp_path / "site", x_axis="runtime", reports_dir=None)
    assert data["x"] == "runtime"
    cli = next(c for c in data["cells"] if c["host"] == "wasmtime-cli")
    assert {p["runtime"] for p in cli["points"]} == {"49.0.4"}  # from meta packages


def test_bad_input_is_skipped_or_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    (tmp_path / "notes.txt").write_text("not a run")
    (tmp_path / "empty").mkdir()
    site = tmp_path / "site"
    rc = main(["publish", str(tmp_path / "notes.txt"), str(tmp_path / "empty"),
               str(tmp_path / "missing"), "--out", str(site)])  # fmt: skip
    err = capsys.readouterr().err
    assert rc == 2 and "no usable run" in err
    assert "notes.txt" in err and "not a run folder" in err and "does not exist" in err
    assert not site.exists()  # nothing half-written
    # one good run among bad ones: published, the others noted
    good = make_series(tmp_path / "runs", runs=1)[0]
    rc = main(["publish", str(good), str(tmp_path / "notes.txt"), "--out", str(site)])
    assert rc == 0 and (site / "index.html").is_file()
    data = json.loads((site / "data.json").read_text())
    assert [s["path"] for s in data["skipped"]] == [str(tmp_path / "notes.txt")]
    # a folder that is not a site is not replaced
    other = tmp_path / "mine"
    other.mkdir()
    (other / "keep.txt").write_text("x")
    assert main(["publish", str(good), "--out", str(other)]) == 2
    assert (other / "keep.txt").is_file()


# -- in a real browser --------------------------------------------------------------


@pytest.fixture(scope="module")
def browser() -> str:
    path = find_browser()
    if path is None:
        pytest.skip("no Chromium here and none can be installed (no apt-get as root)")
    return path


def _screenshot(browser: str, url: str, png: Path) -> np.ndarray:
    from matplotlib.image import imread

    p = _chromium(browser, f"--screenshot={png}", "--window-size=1200,900", url)
    assert png.is_file(), p.stderr[-2000:]
    return imread(png)[:, :, :3]


def _has_colour(image: np.ndarray, rgb: tuple[int, int, int], tolerance: int = 40) -> int:
    target = np.array(rgb) / 255
    return int((np.abs(image - target).max(axis=2) < tolerance / 255).sum())


@pytest.mark.browser
def test_site_renders_in_chromium(site: tuple[Path, dict], browser: str, tmp_path: Path) -> None:
    out, data = site
    index_url = (out / "index.html").as_uri()
    dom = _chromium(browser, "--dump-dom", index_url).stdout
    # the index lists every cell, each with a drawn sparkline
    assert dom.count(" data-cell=") == len(data["cells"])
    for c in data["cells"]:
        assert c["key"] in dom
    assert dom.count('class="spark"') == len(data["cells"])
    assert dom.count('<path class="trend"') == len(data["cells"])
    assert dom.count('<path class="ci"') == len(data["cells"])
    assert 'class="badge step"' in dom
    image = _screenshot(browser, index_url, tmp_path / "index.png")
    colours = np.unique((image * 255).astype(np.uint8).reshape(-1, 3), axis=0)
    assert len(colours) > 50, "the index screenshot is (nearly) blank"
    assert (image.min(axis=2) < 0.9).mean() > 0.02  # more than a few dark pixels
    assert _has_colour(image, (0x00, 0x72, 0xB2)) > 100  # the trend lines' blue
    assert _has_colour(image, (0xD6, 0x27, 0x28)) > 20  # the step badge's red

    shifted = next(c for c in data["cells"] if c["key"] == SHIFTED)
    cell_url = (out / "cells" / f"{shifted['id']}.html").as_uri()
    dom = _chromium(browser, "--dump-dom", cell_url).stdout
    assert 'class="trend-chart"' in dom and '<line class="step"' in dom
    assert dom.count('<circle class="pt') == RUNS
    image = _screenshot(browser, cell_url, tmp_path / "cell.png")
    assert _has_colour(image, (0x00, 0x72, 0xB2)) > 300  # line, points and CI band
    assert _has_colour(image, (0xD6, 0x27, 0x28)) > 30  # the dashed step line
    dom = _chromium(browser, "--dump-dom", (out / "regressions.html").as_uri()).stdout
    assert "regressed" in dom and SHIFTED in dom


def test_x_runtime_puts_the_releases_of_a_host_on_one_line(tmp_path: Path) -> None:
    """--x runtime: wasmtime-cli@X cells of one (workload, variant, backend, device) form
    one series in version order, and a slowdown between two releases is a step there."""
    from tests.synthetic_run import make_run

    cells: dict = {("mlp-tiny", "native", "native", "openvino", "cpu"): 0.2}
    for version, ms in (("43.0.1", 0.2), ("45.0.2", 0.2), ("48.0.2", 0.3), ("49.0.4", 0.3)):
        cells[("mlp-tiny", "preview1", f"wasmtime-cli@{version}", "openvino", "cpu")] = ms
    run = make_run(tmp_path / "run", cells)
    data = write_site([run], tmp_path / "site", x_axis="runtime", reports_dir=None)
    line = next(c for c in data["cells"] if c["variant"] == "preview1")
    assert line["key"] == "mlp-tiny/preview1/wasmtime-cli/openvino/cpu"
    assert [p["runtime"] for p in line["points"]] == ["43.0.1", "45.0.2", "48.0.2", "49.0.4"]
    assert line["hosts"] == [f"wasmtime-cli@{v}" for v in ("43.0.1", "45.0.2", "48.0.2", "49.0.4")]
    assert line["steps"] == [run.name] and line["points"][2]["step"]
    page = (tmp_path / "site" / "cells" / f"{line['id']}.html").read_text()
    assert "48.0.2" in page and '<line class="step"' in page


# -- hostile run folders and output folders (issue 25) --------------------------------

ESCAPING_RUN_IDS = ["../../escaped", "/tmp/abs-escape", "..", ".", "a/b", "x\x00y", "", "\n"]


@pytest.mark.parametrize("run_id", ESCAPING_RUN_IDS)
def test_a_run_id_that_is_a_path_is_refused_and_nothing_is_written_outside(
    tmp_path: Path, capsys: pytest.CaptureFixture, run_id: str
) -> None:
    """Defect 2: meta.json's run_id became a folder under SITE/runs/ and reports/."""
    run = make_series(tmp_path / "deep" / "runs", runs=1)[0]
    meta = json.loads((run / "meta.json").read_text())
    (run / "meta.json").write_text(json.dumps(meta | {"run_id": run_id}))
    site = tmp_path / "deep" / "site"
    before = set(tmp_path.rglob("*"))
    rc = main(["publish", str(run), "--out", str(site), "--make-reports",
               "--reports", str(tmp_path / "deep" / "reports")])  # fmt: skip
    err = capsys.readouterr().err
    assert rc == 2 and "run_id" in err and "meta.json" in err, err
    assert set(tmp_path.rglob("*")) == before  # nothing written anywhere
    assert not Path("/tmp/abs-escape").exists()
    rc = main(["report", str(run)])
    assert rc == 2 and "run_id" in capsys.readouterr().err


@pytest.mark.parametrize("mode", ["data.json", "looks-like-a-site", "old-site-without-mark"])
def test_publish_never_replaces_a_folder_that_is_not_provably_its_site(
    tmp_path: Path, capsys: pytest.CaptureFixture, mode: str
) -> None:
    """Defect 3: a folder that merely held a data.json was deleted."""
    good = make_series(tmp_path / "runs", runs=1)[0]
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "data.json").write_text("{}")
    if mode == "data.json":
        (mine / "thesis.tex").write_text("years of work")
    if mode == "looks-like-a-site":
        (mine / ".wasinn-bench-site").write_text("wasinn-bench-site")
        (mine / "thesis.tex").write_text("years of work")
    if mode == "old-site-without-mark":
        (mine / "index.html").write_text("<html></html>")
    files = {p: p.read_bytes() for p in mine.rglob("*")}
    assert main(["publish", str(good), "--out", str(mine)]) == 2
    assert "not a site made by publish" in capsys.readouterr().err
    assert {p: p.read_bytes() for p in mine.rglob("*")} == files


def test_publish_replaces_its_own_site_keeps_the_umask_and_cleans_stale_staging(
    tmp_path: Path,
) -> None:
    good = make_series(tmp_path / "runs", runs=1)[0]
    site = tmp_path / "site"
    assert main(["publish", str(good), "--out", str(site)]) == 0
    assert site.stat().st_mode & 0o777 == 0o777 & ~_umask()  # not mkdtemp's 0700
    # a publish killed mid-way left its staging folder (it carries the mark): cleaned
    stale = tmp_path / ".site-staging-1-abcd"
    stale.mkdir()
    (stale / ".wasinn-bench-site").write_text("wasinn-bench-site")
    # a hidden folder of the user's with a look-alike name: kept
    users = tmp_path / ".site-staging-mine"
    users.mkdir()
    (users / "notes.txt").write_text("mine")
    assert main(["publish", str(good), "--out", str(site)]) == 0  # its own site: replaced
    assert (site / "index.html").is_file() and not stale.exists()
    assert (users / "notes.txt").read_text() == "mine"
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".site")] == [users.name]


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def test_sigterm_during_publish_leaves_no_staging_folder(tmp_path: Path) -> None:
    """Defect 15: a kill during publish left a hidden staging folder behind."""
    runs = make_series(tmp_path / "runs", runs=4)
    site = tmp_path / "out" / "site"
    code = (
        "import os, signal, sys, time\n"
        "import bench.present.publish as p\n"
        "real = p.build_data\n"
        "def slow(*a, **k):\n"
        "    os.kill(os.getpid(), signal.SIGTERM)\n"
        "    time.sleep(5)\n"
        "    return real(*a, **k)\n"
        "p.build_data = slow\n"
        "from bench.cli import main\n"
        f"sys.exit(main(['publish', *{[str(r) for r in runs]!r}, '--out', {str(site)!r}]))\n"
    )
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                       cwd=Path(__file__).resolve().parent.parent)  # fmt: skip
    assert p.returncode == 130, p.stderr
    assert "interrupted" in p.stderr and "Traceback" not in p.stderr
    assert list((tmp_path / "out").iterdir()) == []  # no site, no hidden staging folder
