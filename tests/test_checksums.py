"""bench/results/checksums.py: every result file carries its sha256 and every reader
checks it (issue 25, defect 8: one flipped bit in samples.parquet turned 16,629 ns into
1.15e18 ns and every reader accepted it; an edited summary.csv was shown as it was)."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pandas as pd
import pytest

from bench.analyze.runs import load_run
from bench.cli import main
from bench.results import checksums
from bench.results.store import RunWriter, write_frame_csv, write_frame_parquet, write_json
from tests.helpers import run_cli

FIXTURE = Path(__file__).resolve().parent.parent / "results" / "fixtures" / "mlp-tiny-a"


@pytest.fixture(scope="module")
def sealed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fixture run rewritten by the harness's own writers: every file sealed."""
    run = tmp_path_factory.mktemp("sealed") / "run"
    shutil.copytree(FIXTURE, run)
    write_frame_parquet(run / "samples.parquet", pd.read_parquet(run / "samples.parquet"))
    for name in ("cells.csv", "summary.csv"):
        write_frame_csv(run / name, pd.read_csv(run / name))
    write_json(run / "meta.json", json.loads((run / "meta.json").read_text()))
    return run


def _flip(path: Path, at: int) -> None:
    data = bytearray(path.read_bytes())
    data[at % len(data)] ^= 0x04
    path.write_bytes(bytes(data))


DAMAGE = {
    "a flipped bit in samples.parquet": ("samples.parquet", lambda p: _flip(p, len(p.read_bytes()) // 2)),
    "a flipped bit in meta.json": ("meta.json", lambda p: _flip(p, 40)),
    "an edited summary.csv": ("summary.csv", lambda p: p.write_text(p.read_text().replace("0.", "9.", 1))),
    "an edited cells.csv": ("cells.csv", lambda p: p.write_text(p.read_text() + "\n")),
    "a truncated samples.parquet": ("samples.parquet", lambda p: p.write_bytes(p.read_bytes()[:100])),
}  # fmt: skip


@pytest.mark.parametrize("case", sorted(DAMAGE))
@pytest.mark.parametrize("command", ["report", "compare", "export", "history", "merge"])
def test_every_reader_refuses_a_damaged_file_naming_it(
    sealed: Path, tmp_path: Path, capsys: pytest.CaptureFixture, case: str, command: str
) -> None:
    run = tmp_path / "run"
    shutil.copytree(sealed, run)
    name, damage = DAMAGE[case]
    damage(run / name)
    args = {
        "report": [str(run), "--out", str(tmp_path / "r")],
        "compare": [str(FIXTURE), str(run)],
        "export": [str(run), "--format", "sightglass", "-o", str(tmp_path / "e.csv")],
        "history": [str(run), "--out", str(tmp_path / "h")],
        "merge": [str(run), "--out", str(tmp_path / "m")],
    }[command]
    assert main([command, *args]) == 2
    err = capsys.readouterr().err
    assert str(run / name) in err and "checksum mismatch" in err, err


def test_a_sealed_run_reads_and_an_unsealed_one_still_reads(sealed: Path) -> None:
    assert not load_run(sealed).samples.empty
    assert not load_run(FIXTURE).samples.empty  # recorded before checksums: read as it is


def test_a_kill_between_the_swap_and_the_record_leaves_a_readable_file(tmp_path: Path) -> None:
    """While a file is swapped both digests are listed: a kill right after the rename
    (before the old digest is dropped) leaves a file that matches."""
    path = tmp_path / "summary.csv"
    write_frame_csv(path, pd.DataFrame({"a": [1]}))
    calls = 0
    real = checksums._write_sums

    def killed_second_time(folder: Path, sums: dict) -> None:
        nonlocal calls
        calls += 1
        if calls == 2:
            raise KeyboardInterrupt
        real(folder, sums)

    checksums._write_sums = killed_second_time  # type: ignore[assignment]
    try:
        with pytest.raises(KeyboardInterrupt):
            write_frame_csv(path, pd.DataFrame({"a": [2]}))
    finally:
        checksums._write_sums = real  # type: ignore[assignment]
    checksums.verify(path)  # the new file, listed next to the old digest
    assert pd.read_csv(path)["a"].tolist() == [2]


def test_a_real_run_is_sealed_and_resume_refuses_a_damaged_part(tmp_path: Path) -> None:
    """Defects 8 and 10: parts, outputs and the final files carry digests; `--resume`
    checks them (and opens each) before it measures anything."""
    out = tmp_path / "run"
    fast = ["--iterations", "3", "--warmup", "0", "--rounds", "1", "--offline", "0"]
    p = run_cli("run", "mlp-tiny", "--hosts", "native", *fast, "--out", str(out))
    assert p.returncode == 0, p.stderr
    sums = json.loads((out / "checksums.json").read_text())
    assert {"samples.parquet", "summary.csv", "cells.csv", "meta.json", "plan.json"} <= set(sums)
    assert json.loads((out / "outputs" / "checksums.json").read_text())
    # a run killed before consolidation: a part file; damage it and resume
    part = out / "parts" / "x.r0.parquet"
    RunWriter(out).append_samples(pd.read_parquet(out / "samples.parquet"), name="x.r0")
    _flip(part, os.path.getsize(part) // 2)
    p = run_cli("run", "--resume", str(out))
    assert p.returncode == 2 and str(part) in p.stderr and "checksum mismatch" in p.stderr
    assert "Traceback" not in p.stderr
