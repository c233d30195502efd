"""outputs/<cell slug>.npz: the last iteration's outputs of each cell, in order.

Output names can hold characters npz keys dislike, so each key is "<index>|<name>"
(the index keeps the order).
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np

from bench.results.checksums import replace_sealed, verify


def npz_safe(arrays: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    # Output names can hold characters npz keys dislike; keep order with an index prefix.
    return {f"{i:03d}|{name}": a for i, (name, a) in enumerate(arrays.items())}


def write_outputs(path: Path, arrays: dict[str, np.ndarray]) -> None:
    """outputs/<cell>.npz, whole or absent after a kill, its digest in checksums.json."""
    buffer = io.BytesIO()
    np.savez(buffer, **npz_safe(arrays))
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_bytes(buffer.getvalue())
    replace_sealed(tmp, path)


def load_outputs(path: Path) -> dict[str, np.ndarray]:
    verify(path)
    with np.load(path) as npz:
        return {key.split("|", 1)[1]: npz[key] for key in sorted(npz.files)}
