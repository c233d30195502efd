"""bench/analyze/runs.py: the one reader refuses a broken run folder."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.helpers import run_cli
from tests.synthetic_run import basic_cells, make_run


def test_every_reader_refuses_a_run_whose_samples_are_missing(tmp_path: Path) -> None:
    base = make_run(tmp_path / "base", basic_cells())
    broken = make_run(tmp_path / "broken", basic_cells())
    (broken / "samples.parquet").unlink()
    for args in (("report", str(broken), "--out", str(tmp_path / "rep")),
                 ("compare", str(base), str(broken)), ("history", str(base), str(broken)),
                 ("export", str(broken), "--format", "sightglass", "-o", str(tmp_path / "x.csv")),
                 ("merge", str(base), str(broken), "--out", str(tmp_path / "m"))):  # fmt: skip
        p = run_cli(*args)
        assert p.returncode == 2, (args, p.stdout, p.stderr)
        assert "broken" in p.stderr and "samples" in p.stderr, (args, p.stderr)
    assert not (tmp_path / "x.csv").exists()


# -- outputs never land in the run folders a command reads (issue 25, defect 5) -------

OVERWRITES = [
    ("export", "samples.parquet"), ("export", "meta.json"), ("export", "new.csv"),
    ("compare", "meta.json"), ("compare", "summary.csv"), ("compare", "parts/x.md"),
]  # fmt: skip


@pytest.mark.parametrize(("command", "name"), OVERWRITES)
def test_an_output_inside_the_run_read_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture, command: str, name: str
) -> None:
    from bench.cli import main

    fixture = Path(__file__).resolve().parent.parent / "results" / "fixtures" / "mlp-tiny-a"
    run = tmp_path / "run"
    shutil.copytree(fixture, run)
    before = {p: p.read_bytes() for p in run.rglob("*") if p.is_file()}
    target = run / name
    args = {
        "export": ["export", str(run), "--format", "sightglass", "-o", str(target)],
        "compare": ["compare", str(fixture), str(run), "--markdown", str(target)],
    }[command]
    assert main(args) == 2
    assert "inside the run folder" in capsys.readouterr().err
    assert {p: p.read_bytes() for p in run.rglob("*") if p.is_file()} == before
