"""hosts/guest_io.py: what the harness hands a wasm guest (preopen, argv, copies) and
how it reads back what the guest wrote (samples.txt, output files)."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from contracts.cells import Cell
from contracts.jobs import CellFailed, CellJob, ModelFiles, TensorSpec
from hosts import guest_io


def _samples(path: Path, body: str) -> Path:
    path.write_text(f"{guest_io.SAMPLES_MAGIC}\n{body}")
    return path


def test_samples_blank_line_is_a_cell_failure(tmp_path: Path) -> None:
    """The guest writes samples.txt: a blank line must fail the cell, not raise ValueError."""
    path = _samples(tmp_path / "samples.txt", "load 1\n\niter 1 2 3 6\n")
    with pytest.raises(CellFailed, match="unexpected line"):
        guest_io.parse_samples(path, 1)


def test_samples_negative_time_is_a_cell_failure(tmp_path: Path) -> None:
    """The driver prints unsigned ns: a negative number is a broken or hostile guest."""
    path = _samples(tmp_path / "samples.txt", "load 1\ninit 1\niter 1 -2 3 2\n")
    with pytest.raises(CellFailed, match="bad number"):
        guest_io.parse_samples(path, 1)


def test_output_file_with_trailing_bytes_is_rejected(tmp_path: Path) -> None:
    """np.fromfile drops a partial trailing element: 4 + 3 bytes for one f32 must fail."""
    spec = TensorSpec("y", 0, "f32", [1])
    path = tmp_path / "output0.bin"
    path.write_bytes(np.float32(1.5).tobytes() + b"\x01\x02\x03")
    run = guest_io.GuestRun(
        wasm=path, preopen=tmp_path, argv=[], encoding="onnx", target="cpu", load_mode="bytes",
        graph_dir=tmp_path, samples=path, outputs=[path], stdout=path, stderr=path,
    )  # fmt: skip

    class Job:
        outputs = [spec]

    with pytest.raises(CellFailed, match="7 bytes, expected 4"):
        guest_io.read_outputs(Job(), run)  # type: ignore[arg-type]


def test_own_guest_gets_copies_not_links_of_model_and_inputs(tmp_path: Path) -> None:
    """A workload's own guest may be hostile: hard links would let it write into the
    model cache and the run's inputs."""
    model = tmp_path / "m.onnx"
    model.write_bytes(b"model")
    data = tmp_path / "in.bin"
    data.write_bytes(b"\0" * 4)
    own = tmp_path / "own.wasm"
    own.write_bytes(b"\0asm\1\0\0\0")

    def job(workdir, options):
        return CellJob(
            cell=Cell("w", "preview1", "wasmtime-py", "onnx", "cpu"),
            model=ModelFiles(str(model), None, None, "0" * 64, 17),
            inputs=[TensorSpec("x", 0, "f32", [1], str(data))],
            outputs=[TensorSpec("y", 0, "f32", [1])],
            warmup=0, iterations=1, threads=1, workdir=str(workdir), options=options,
        )  # fmt: skip

    ours = guest_io.prepare(job(tmp_path / "a", {}))
    assert os.path.samefile(ours.preopen / "input0.bin", data)  # our driver: linked, no copy
    theirs = guest_io.prepare(job(tmp_path / "b", {"guest_wasm": str(own)}))
    assert not os.path.samefile(theirs.preopen / "input0.bin", data)
    assert not os.path.samefile(theirs.graph_dir / "model.onnx", model)


HOSTILE_SAMPLES = {
    "past int64": "iter 1 1 1 99999999999999999999\n",
    "past a day": "iter 1 1 1 86400000000001\n",
    "a thousand digits": "iter 1 1 1 " + "9" * 1000 + "\n",
    "a float": "iter 1 1 1 1.5\n",
    "a hex number": "iter 1 1 1 0x10\n",
    "underscores": "iter 1 1 1 1_000\n",
    "unicode digits": "iter 1 1 1 \u0661\u0662\n",
    "two loads": "load 1\nload 2\niter 1 1 1 3\n",
    "more iterations than asked": "iter 1 1 1 3\niter 1 1 1 3\n",
    "too few fields": "iter 1 1 3\n",
    "an unknown key": "evil 1\niter 1 1 1 3\n",
}


@pytest.mark.parametrize("case", sorted(HOSTILE_SAMPLES))
def test_hostile_samples_fail_the_cell(tmp_path: Path, case: str) -> None:
    path = _samples(tmp_path / "samples.txt", HOSTILE_SAMPLES[case])
    with pytest.raises(CellFailed) as e:
        guest_io.parse_samples(path, 1)
    assert len(str(e.value)) < 200


def test_samples_not_utf8_or_huge_fail_before_reading(tmp_path: Path) -> None:
    path = tmp_path / "samples.txt"
    path.write_bytes(guest_io.SAMPLES_MAGIC.encode() + b"\n\xff\xfe\n")
    with pytest.raises(CellFailed, match="not UTF-8"):
        guest_io.parse_samples(path, 1)
    with open(path, "wb") as f:  # sparse: 1 GiB of nothing, refused by its size
        f.truncate(1 << 30)
    with pytest.raises(CellFailed, match="more than"):
        guest_io.parse_samples(path, 1)
