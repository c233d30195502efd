"""Run folders: writing them safely while a run goes on, and reading them back.

Layout (docs/results.md): meta.json, plan.json, progress.jsonl, parts/*.parquet
(while running), samples.parquet, cells.csv, summary.csv, outputs/*.npz.
Every file is written to a temporary name and renamed, so a run killed at any
moment leaves only whole files; samples of each finished round are flushed to
their own part file before the next round starts.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow.parquet as pq

from contracts.errors import UserError
from bench.results.checksums import read_sums, replace_sealed, verify
from bench.results.schema import CELL_COLUMNS, ROUND_STATE_COLUMNS, SAMPLE_COLUMNS


class RunFolderError(UserError):
    """A path that is not a readable run folder; the message names it."""


def write_atomic(path: Path, data: bytes | str) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        with open(tmp, "wb") as f:
            f.write(data.encode() if isinstance(data, str) else data)
            f.flush()
            os.fsync(f.fileno())
        replace_sealed(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)  # e.g. disk full: the old file stays, no half-written twin
        raise


def write_json(path: Path, obj: Any) -> None:
    write_atomic(path, json.dumps(obj, indent=2, sort_keys=True, default=_json_default) + "\n")


def _json_default(o: Any) -> Any:
    if isinstance(o, np.generic):
        return o.item()
    if isinstance(o, Path):
        return str(o)
    raise TypeError(f"not JSON serialisable: {type(o).__name__}")


def write_frame_parquet(path: Path, frame: pd.DataFrame) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        frame.to_parquet(tmp, index=False)
        replace_sealed(tmp, path)
    except OSError as e:  # pyarrow's errors carry no file name: name it
        tmp.unlink(missing_ok=True)
        raise OSError(e.errno, e.strerror or str(e), str(path)) from e
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def write_frame_csv(path: Path, frame: pd.DataFrame) -> None:
    write_atomic(path, frame.to_csv(index=False))


class RunWriter:
    """Appends to a run folder while the run goes on."""

    def __init__(self, run_dir: Path):
        self.dir = run_dir
        self.parts = run_dir / "parts"
        self.outputs = run_dir / "outputs"
        for d in (self.dir, self.parts, self.outputs):
            d.mkdir(parents=True, exist_ok=True)
        self._next_part = len(list(self.parts.glob("*.parquet")))

    def append_samples(self, frame: pd.DataFrame, name: str | None = None) -> None:
        """One part file per call; a given `name` replaces that part (idempotent re-runs)."""
        stem = name if name is not None else f"{self._next_part:06d}"
        write_frame_parquet(self.parts / f"{stem}.parquet", frame[sample_columns(frame)])
        self._next_part += 1

    def record_progress(self, entry: dict[str, Any]) -> None:
        """One line per finished (cell, round): lets --resume skip it."""
        with open(self.dir / "progress.jsonl", "a") as f:
            f.write(json.dumps(entry, default=_json_default) + "\n")
            f.flush()
            os.fsync(f.fileno())

    def consolidate_samples(self) -> pd.DataFrame:
        """Fold the part files into samples.parquet (then drop the parts)."""
        samples = read_samples(self.dir)
        write_frame_parquet(self.dir / "samples.parquet", samples)
        for part in self.parts.glob("*.parquet"):
            part.unlink()
        self._next_part = 0
        return samples


def sample_columns(frame: pd.DataFrame) -> list[str]:
    """The samples' columns, with the per-round machine state where the frame has it."""
    return SAMPLE_COLUMNS + [c for c in ROUND_STATE_COLUMNS if c in frame.columns]


def empty_samples() -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype="int64" if c in ("round", "iteration", "ns") else "str")
                         for c in SAMPLE_COLUMNS})  # fmt: skip


def read_samples(run_dir: Path) -> pd.DataFrame:
    files = [run_dir / "samples.parquet", *sorted((run_dir / "parts").glob("*.parquet"))]
    frames = []
    for path in (p for p in files if p.exists()):
        verify(path)
        frames.append(pd.read_parquet(path))
    if not frames:
        return empty_samples()
    # A kill between writing samples.parquet and deleting the parts it folded in
    # leaves both: identical rows (same cell, round, iteration, phase) are one sample.
    return pd.concat(frames, ignore_index=True).drop_duplicates(ignore_index=True)


def _text(column: pd.Series) -> pd.Series:
    return column.map(lambda v: "" if pd.isna(v) else str(v))


TEXT_COLUMNS = (
    "reason",
    "load_mode",
    "properties",
    "model",
    "machine",
    "model_sha256",
    "guest_properties",
)


def read_csv(path: Path, columns: list[str]) -> pd.DataFrame:
    if not path.exists():
        return pd.DataFrame(columns=columns)
    verify(path)
    try:
        frame = pd.read_csv(path, keep_default_na=False, na_values=[""])
    except (OSError, ValueError) as e:
        raise RunFolderError(f"{path}: unreadable: {e}") from None
    for col in TEXT_COLUMNS:
        if col in frame:
            frame[col] = _text(frame[col])
    return frame


def check_run_files(run_dir: Path) -> None:
    """Before `--resume` spends minutes: every result file matches its checksum and
    opens (meta.json an object, each parquet's footer, each outputs npz's index);
    RunFolderError naming the first file that does not."""
    for folder in (run_dir, run_dir / "parts", run_dir / "outputs"):
        for name in read_sums(folder) if folder.is_dir() else {}:
            verify(folder / name)
    files = [run_dir / "samples.parquet", *sorted((run_dir / "parts").glob("*.parquet"))]
    for path in (p for p in files if p.exists()):
        try:
            pq.read_metadata(path)
        except (OSError, ValueError) as e:  # pyarrow's ArrowInvalid is a ValueError
            raise RunFolderError(f"{path}: not a readable parquet file: {e}") from None
    for path in sorted((run_dir / "outputs").glob("*.npz")):
        try:
            with np.load(path) as npz:
                npz.files  # noqa: B018 - reads the zip index
        except (OSError, ValueError, EOFError) as e:
            raise RunFolderError(f"{path}: not a readable outputs file: {e}") from None
    meta = run_dir / "meta.json"
    try:
        if meta.exists() and not isinstance(json.loads(meta.read_text()), dict):
            raise ValueError("not a JSON object")
    except (OSError, ValueError) as e:
        raise RunFolderError(f"{meta}: unreadable: {e}") from None
