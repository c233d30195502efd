"""Reliability (issue 7): one failing cell never costs the others; runs are lossless
and resumable; bad input gets a one-line message that names the thing.

Every fault here is real (a real trap, exit, endless loop, memory hog, a real
SIGSEGV, a real wasmtime CLI abort) except where the worker's test-only fault
hook is named: a segfault inside the worker itself cannot be caused by a guest.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest

from bench.analyze.runs import load_run
from bench.results import checksums, store
from bench.results.progress import read_progress
from tests.helpers import REPO, run_cli
from tests.hostile.guests import write_guest

FAST = ["--iterations", "3", "--warmup", "1", "--rounds", "1", "--offline", "0"]


def workload(folder: Path, name: str, *, variants: str = "preview1", hosts: str = "wasmtime-py",
             backends: str = "onnx", guest: str | None = None, extra: str = "",
             model: str = 'builder = "mlp_tiny"', shape: str = "[1, 64]") -> Path:  # fmt: skip
    """A mlp-tiny-sized workload restricted to the given cells."""
    quoted = {k: ", ".join(f'"{v}"' for v in vals.split(",")) for k, vals in
              (("variants", variants), ("hosts", hosts), ("backends", backends))}  # fmt: skip
    text = (
        f'name = "{name}"\nvariants = [{quoted["variants"]}]\nhosts = [{quoted["hosts"]}]\n'
        f"backends = [{quoted['backends']}]\n{extra}\n[model]\n{model}\n"
        f'[inputs.input]\nshape = {shape}\ndtype = "f32"\n'
    )
    if guest:
        text += f'[guests]\npreview1 = "{write_guest(guest, folder).name}"\n'
    path = folder / f"{name}.toml"
    path.write_text(text)
    return path


def cells_of(out: Path) -> pd.DataFrame:
    return load_run(out).cells.set_index("workload")


def wasm_cells(out: Path) -> pd.DataFrame:
    """The cells a test asked for (the matrix adds a native baseline to each workload)."""
    cells = cells_of(out)
    return cells[cells["variant"] != "native"]


# -- 1. isolation -------------------------------------------------------------------


def test_each_fault_fails_only_its_own_cell(tmp_path: Path) -> None:
    """A trap, a non-zero exit, a hang, a memory hog, a worker segfault and a CLI
    abort, all in one run: each marks its cell failed and names the fault; the
    good cells of the same run are ok, and failures come first in the summary."""
    w = [
        workload(tmp_path, "good", variants="native,preview1", hosts="native,wasmtime-py"),
        workload(tmp_path, "good-cli", hosts="wasmtime-cli", backends="openvino"),
        workload(tmp_path, "trap", guest="trap"),
        workload(tmp_path, "exit", guest="exit"),
        workload(tmp_path, "loop", guest="loop", extra="timeout_s = 3"),
        workload(tmp_path, "memory", guest="memory", extra="memory_limit_mb = 700"),
        workload(tmp_path, "segv"),  # the worker's test-only fault hook, below
        workload(
            tmp_path, "cli-panic", guest="cli-panic", hosts="wasmtime-cli", backends="openvino"
        ),
    ]
    out = tmp_path / "run"
    env = dict(os.environ, WASINN_BENCH_TEST_FAULT="segv:segv/preview1/wasmtime-py/onnx/cpu")
    p = subprocess.run([sys.executable, "-m", "bench", "run", *map(str, w), *FAST, "--out", str(out)],
                       cwd=REPO, capture_output=True, text=True, env=env, timeout=300)  # fmt: skip
    # some cells failed: exit 3 (README "Exit codes"), the run itself finished
    assert p.returncode == 3 and "exit 3: " in p.stderr, p.stderr
    cells = cells_of(out)
    reasons = {
        "trap": "wasm `unreachable` instruction executed",
        "exit": "guest exited 3",
        "loop": "timeout: no result after 3 s",
        "memory": "memory limit:",
        "segv": "worker killed by SIGSEGV",
        "cli-panic": "killed by SIGABRT",
    }
    for name, reason in reasons.items():
        row = wasm_cells(out).loc[name]
        assert row["status"] == "failed" and reason in row["reason"], (name, row["reason"])
    # the good workloads, and the native baseline the matrix adds to every workload
    good = cells[(cells.index.str.startswith("good")) | (cells["variant"] == "native")]
    assert len(good) == 10 and (good["status"] == "ok").all(), good[["status", "reason"]]
    assert good["agrees"].astype(bool).all()
    summary = load_run(out).summary
    statuses = list(summary["status"])
    assert statuses == sorted(statuses, key=lambda s: s != "failed")  # failures first
    assert (out / "logs").is_dir()  # the failed workers' stderr is kept


def test_command_line_limits_override_the_workload(tmp_path: Path) -> None:
    """--timeout and --memory-limit reach the worker (the loop is stopped at 2 s)."""
    w = workload(tmp_path, "loop", guest="loop", extra="timeout_s = 600")
    out = tmp_path / "run"
    p = run_cli("run", str(w), *FAST, "--timeout", "2", "--memory-limit", "4000", "--out", str(out))
    assert p.returncode == 3, p.stderr  # the wasm cells hit the 2 s timeout: cells failed
    row = wasm_cells(out).loc["loop"]
    assert row["status"] == "failed" and "no result after 2 s" in row["reason"]
    assert json.loads((out / "plan.json").read_text())["overrides"]["memory_limit_mb"] == 4000


# -- 2. lossless and resumable --------------------------------------------------------


def _start(out: Path, *extra: str) -> subprocess.Popen[str]:
    cmd = [sys.executable, "-m", "bench", "run", "mlp-tiny", "--hosts", "native", "--rounds", "6",
           "--iterations", "20", "--offline", "0", "--out", str(out), *extra]  # fmt: skip
    return subprocess.Popen(
        cmd, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )


def _wait_rounds(out: Path, n: int, proc: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + 120
    while len(read_progress(out)) < n:
        assert proc.poll() is None and time.monotonic() < deadline, "the run ended early"
        time.sleep(0.1)


def test_sigterm_leaves_a_folder_that_report_reads(tmp_path: Path) -> None:
    out = tmp_path / "run"
    proc = _start(out)
    _wait_rounds(out, 2, proc)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err
    data = load_run(out)
    assert data.meta["interrupted"] is True
    assert len(data.samples) and not list(out.glob("**/.*.tmp"))  # only whole files
    p = run_cli("report", str(out), "--out", str(tmp_path / "report"))
    assert p.returncode == 0, p.stderr
    assert (tmp_path / "report" / "report.md").is_file()


def test_kill_9_mid_run_then_resume_completes(tmp_path: Path) -> None:
    """No finish() at all: parts and progress.jsonl are what survives; a line cut
    in half by the kill is ignored, and a round measured twice is counted once."""
    out = tmp_path / "run"
    proc = _start(out)
    _wait_rounds(out, 3, proc)
    proc.kill()
    proc.communicate(timeout=60)
    assert not (out / "summary.csv").exists()  # it really died before finishing
    p = run_cli("report", str(out), "--out", str(tmp_path / "report"))  # readable as it is
    assert p.returncode == 0, p.stderr
    kept = len(read_progress(out))
    parts = sorted((out / "parts").glob("*.parquet"))
    assert len(parts) >= kept
    # what a kill in the middle of writing a progress line leaves
    with open(out / "progress.jsonl", "a") as f:
        f.write('{"cell": "mlp-tiny/native/native/onnx/cpu", "rou')
    assert len(read_progress(out)) == kept
    # a kill between writing a round's part and its progress line: that round is
    # re-run on resume and its part replaced, not added
    lost = read_progress(out)[-1]
    progress = (out / "progress.jsonl").read_text().splitlines()
    (out / "progress.jsonl").write_text("\n".join(progress[: kept - 1]) + "\n")

    p = run_cli("run", "--resume", str(out))
    assert p.returncode == 0, p.stderr
    data = load_run(out)
    assert data.meta["interrupted"] is False
    totals = data.samples.query("phase == 'total' and iteration >= 0")
    assert totals.groupby(["backend", "round"]).size().eq(20).all()
    assert totals.groupby(["backend", "round"]).ngroups == 12
    assert (data.summary["n"] == 6 * 20).all()
    rounds = [(e["cell"], e["round"]) for e in read_progress(out) if e["round"] >= 0]
    assert len(rounds) == len(set(rounds)) == 12  # each round measured once
    assert (lost["cell"], lost["round"]) in rounds


def test_orphaned_worker_dies_with_the_runner(tmp_path: Path) -> None:
    """kill -9 of the harness while a guest spins: the worker must not live on."""
    w = workload(tmp_path, "loop", guest="loop", extra="timeout_s = 600")
    out = tmp_path / "run"
    proc = subprocess.Popen([sys.executable, "-m", "bench", "run", str(w), *FAST, "--out", str(out)],
                            cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    worker = None
    deadline = time.monotonic() + 60
    while worker is None and time.monotonic() < deadline:
        worker = _child_worker(proc.pid)
        time.sleep(0.1)
    assert worker is not None, "no worker started"
    proc.kill()
    proc.wait()
    deadline = time.monotonic() + 10
    while _alive(worker) and time.monotonic() < deadline:
        time.sleep(0.1)
    alive = _alive(worker)
    if alive:
        os.kill(worker, signal.SIGKILL)
    assert not alive, "the worker outlived the runner"


def _child_worker(pid: int) -> int | None:
    with contextlib.suppress(OSError):
        for task in os.listdir(f"/proc/{pid}/task"):
            for child in Path(f"/proc/{pid}/task/{task}/children").read_text().split():
                cmdline = Path(f"/proc/{child}/cmdline").read_text()
                if (
                    "bench.measure.worker" in cmdline and "loop_preview1" in cmdline
                ):  # not the baseline
                    return int(child)
    return None


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def test_summary_meta_and_cells_are_replaced_atomically(tmp_path: Path, monkeypatch) -> None:
    """A write that fails half-way (disk full at fsync) leaves the old file whole
    and no temporary twin."""
    target = tmp_path / "summary.csv"
    store.write_frame_csv(target, pd.DataFrame({"a": [1, 2]}))
    before = target.read_bytes()

    def full(_fd: int) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", full)
    for write in (lambda: store.write_frame_csv(target, pd.DataFrame({"a": [3]})),
                  lambda: store.write_json(target, {"a": 3})):  # fmt: skip
        with pytest.raises(OSError):
            write()
        assert target.read_bytes() == before
        assert sorted(p.name for p in tmp_path.iterdir()) == ["checksums.json", "summary.csv"]
        checksums.verify(target)  # the old file still matches its recorded digest


# -- 5. bad input everywhere ---------------------------------------------------------


def test_bad_guests_and_models_fail_their_cell_with_a_reason(tmp_path: Path) -> None:
    (tmp_path / "truncated.wasm").write_bytes(write_guest("exit", tmp_path).read_bytes()[:20])
    (tmp_path / "corrupt.wasm").write_bytes(b"\0asm\x01\0\0\0" + os.urandom(64))
    w = [workload(tmp_path, "good")]
    for name in ("truncated", "corrupt"):
        path = workload(tmp_path, name)
        path.write_text(path.read_text() + f'[guests]\npreview1 = "{name}.wasm"\n')
        w.append(path)
    w.append(workload(tmp_path, "not-wasi-nn", guest="not-wasi-nn"))
    out = tmp_path / "run"
    p = run_cli("run", *map(str, w), *FAST, "--out", str(out))
    assert p.returncode == 3, p.stderr  # the bad cells failed
    cells = wasm_cells(out)
    assert cells.loc["good", "status"] == "ok"
    for name, words in (("truncated", "truncated.wasm"), ("corrupt", "corrupt.wasm"),
                        ("not-wasi-nn", "samples")):  # fmt: skip
        row = cells.loc[name]
        assert row["status"] == "failed" and words in row["reason"], (name, row["reason"])


def test_bad_paths_models_and_dims_are_usage_errors(tmp_path: Path) -> None:
    """Found before anything runs: exit 2, one line naming the file, no run folder."""
    (tmp_path / "bad.onnx").write_bytes(b"\x08\x07" + b"not a model" * 10)
    corrupt = workload(tmp_path, "bad-onnx", model='path = "bad.onnx"')
    p = run_cli("run", str(corrupt), *FAST, "--out", str(tmp_path / "z"))
    assert p.returncode == 2 and "bad.onnx" in p.stderr and "Traceback" not in p.stderr, p.stderr
    assert not (tmp_path / "z").exists()
    wrong_dims = workload(tmp_path, "dims", shape="[1, 65]")
    p = run_cli("run", str(wrong_dims), *FAST, "--out", str(tmp_path / "a"))
    assert p.returncode == 2 and "dims.toml" in p.stderr and "Traceback" not in p.stderr, p.stderr
    missing = workload(tmp_path, "missing", model='path = "nowhere.onnx"')
    p = run_cli("run", str(missing), "--out", str(tmp_path / "b"))
    assert p.returncode == 2 and "nowhere.onnx" in p.stderr, p.stderr
    guest = workload(tmp_path, "noguest")
    guest.write_text(guest.read_text() + '[guests]\npreview1 = "gone.wasm"\n')
    p = run_cli("run", str(guest), "--out", str(tmp_path / "c"))
    assert p.returncode == 2 and "gone.wasm" in p.stderr, p.stderr
    p = run_cli("run", "--resume", str(tmp_path / "no-such-run"))
    assert p.returncode == 2 and "no-such-run" in p.stderr, p.stderr
    p = run_cli("report", str(tmp_path / "no-such-run"))
    assert p.returncode == 2 and "no-such-run" in p.stderr, p.stderr


@contextlib.contextmanager
def _mounted_tmpfs(where: Path, options: str) -> Iterator[Path]:
    where.mkdir(parents=True, exist_ok=True)
    if os.geteuid() != 0 or subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs",
                                            str(where)], capture_output=True).returncode:  # fmt: skip
        pytest.skip("needs root to mount a tmpfs")
    try:
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], capture_output=True)


def test_unwritable_results_folder_exits_2_naming_it(tmp_path: Path) -> None:
    if os.geteuid() != 0:
        ro = tmp_path / "ro"
        ro.mkdir()
        ro.chmod(0o500)
        context = contextlib.nullcontext(ro)
    else:  # root writes anywhere: a read-only mount is read-only for root too
        context = _mounted_tmpfs(tmp_path / "ro", "ro,size=1m")
    with context as ro:
        p = run_cli("run", "mlp-tiny", "--hosts", "native", *FAST, "--out", str(ro / "run"))
    assert p.returncode == 2, p.stderr
    assert str(ro / "run") in p.stderr and "Traceback" not in p.stderr, p.stderr


def test_disk_full_mid_run_keeps_what_was_flushed(tmp_path: Path) -> None:
    """--out on a tiny tmpfs: the run stops with a message naming the file; what
    was written before stays readable, and --resume finishes once there is room."""
    with _mounted_tmpfs(tmp_path / "small", "size=600k") as small:
        out = small / "run"
        filler = small / "filler"
        proc = _start(out)
        _wait_rounds(out, 2, proc)
        # fill the disk while the run goes on
        with contextlib.suppress(OSError), open(filler, "wb") as f:
            while True:
                f.write(b"\0" * 65536)
                f.flush()
        _, err = proc.communicate(timeout=120)
        assert proc.returncode == 2, err
        assert "No space left on device" in err and str(out) in err and "Traceback" not in err
        flushed = len(read_progress(out))
        assert flushed >= 2
        data = load_run(out)  # what was flushed is readable
        assert data.samples.groupby(["backend", "round"]).ngroups >= flushed
        filler.unlink()
        p = run_cli("run", "--resume", str(out))
        assert p.returncode == 0, p.stderr
        assert (load_run(out).summary["n"] == 6 * 20).all()


def test_a_guest_that_prints_without_end_fails_its_cell_and_keeps_a_tail(tmp_path: Path) -> None:
    """Issue 25, defect 7: 1 GiB of guest stdout was kept per cell. Past 16 MiB the
    worker is killed (`output limit`), and logs/ keeps the last MiB only."""
    w = workload(tmp_path, "flood", guest="flood", extra="timeout_s = 120")
    out = tmp_path / "run"
    p = run_cli("run", str(w), *FAST, "--accept", "failed", "--out", str(out))
    assert p.returncode == 0, p.stderr
    row = wasm_cells(out).loc["flood"]
    assert row["status"] == "failed" and "output limit: stdout.txt over 16 MiB" in row["reason"]
    kept = sum(f.stat().st_size for f in (out / "logs").iterdir())
    assert 0 < kept <= 3 << 20
    assert not (out / "work").exists() or not any((out / "work").iterdir())
