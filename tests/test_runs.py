"""bench/analyze/runs.py: the one reader refuses a broken run folder."""

from __future__ import annotations

from pathlib import Path

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
