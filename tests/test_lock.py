"""bench/results/lock.py: a run folder belongs to one run (issue 15, item 1)."""

from __future__ import annotations

import os
from pathlib import Path

from bench.results.lock import lock_run_folder
from tests.helpers import run_cli
from tests.test_reliability import FAST, _start, _wait_rounds


def test_a_second_run_or_resume_on_a_busy_folder_exits_2_naming_the_holder(
    tmp_path: Path,
) -> None:
    out = tmp_path / "run"
    out.mkdir()  # created empty beforehand: the old "not empty" check let both in
    held = lock_run_folder(out)  # what a run holds while it converts its model
    try:
        p = run_cli("run", "mlp-tiny", "--hosts", "native", *FAST, "--out", str(out))
        assert p.returncode == 2, p.stderr
        line = p.stderr.strip().splitlines()[-1]
        assert str(out) in line and f"pid {os.getpid()}" in line, p.stderr
        assert [f.name for f in out.iterdir()] == [".lock"]  # the loser wrote nothing
    finally:
        held.release()
    proc = _start(out)  # a real run holds it too, and --resume takes the same lock
    try:
        _wait_rounds(out, 1, proc)
        p = run_cli("run", "--resume", str(out))
        assert p.returncode == 2 and f"pid {proc.pid}" in p.stderr, p.stderr
    finally:
        proc.kill()  # kill -9: its lock dies with it
        proc.communicate(timeout=60)
    p = run_cli("run", "--resume", str(out))
    assert p.returncode == 0, p.stderr
