"""Seeded input tensors from a workload's generator settings."""

from __future__ import annotations

import numpy as np

from contracts.dtypes import DTYPES
from workloads.spec.workload import InputSpec, WorkloadError


def generate(spec: InputSpec, where: str) -> np.ndarray:
    """The input array for `spec`; `where` names the workload file for errors."""
    # numpy draws for size=() (a rank-0 input) can come back as scalars, not arrays
    return np.asarray(_generate(spec, where))


def _generate(spec: InputSpec, where: str) -> np.ndarray:
    dtype = np.dtype(DTYPES[spec.dtype])
    shape = tuple(spec.shape)
    rng = np.random.default_rng(spec.seed)
    if spec.generator == "zeros":
        return np.zeros(shape, dtype)
    if spec.generator == "constant":
        return np.full(shape, spec.value, dtype)
    if spec.generator == "uniform":
        if dtype.kind in "iu":
            if int(spec.high) <= int(spec.low):  # e.g. low 0.2, high 0.7: no integer to draw
                raise WorkloadError(
                    f"{where}: field 'inputs.{spec.name}.high': {spec.high} leaves no integer "
                    f"in [{int(spec.low)}, {int(spec.high)}) for {spec.dtype}"
                )
            return rng.integers(int(spec.low), int(spec.high), size=shape, endpoint=False).astype(
                dtype
            )
        return rng.uniform(spec.low, spec.high, size=shape).astype(dtype)
    if spec.generator == "normal":
        values = rng.normal(spec.mean, spec.std, size=shape)
        return (np.rint(values) if dtype.kind in "iu" else values).astype(dtype)
    if spec.generator == "file":
        return _from_file(spec, dtype, where)
    raise WorkloadError(
        f"{where}: field 'inputs.{spec.name}.generator': unknown {spec.generator!r}"
    )


def _from_file(spec: InputSpec, dtype: np.dtype, where: str) -> np.ndarray:
    assert spec.file is not None
    field = f"{where}: field 'inputs.{spec.name}.file'"
    want = int(np.prod(spec.shape, dtype=object)) * dtype.itemsize  # Python ints: no wrap
    if spec.file.suffix == ".npy":
        try:  # mapped: its header is checked before any data is read
            array = np.load(spec.file, allow_pickle=False, mmap_mode="r")
        except (OSError, ValueError, EOFError) as e:
            raise WorkloadError(f"{field}: {spec.file.name} is not a readable .npy: {e}") from None
        if array.dtype != dtype:
            raise WorkloadError(
                f"{field}: {spec.file.name} holds {array.dtype}, dtype says {dtype}"
            )
        if list(array.shape) != spec.shape:
            raise WorkloadError(
                f"{field}: {spec.file.name} has shape {list(array.shape)}, shape says {spec.shape}"
            )
        return np.array(array, order="C")  # a copy in memory; keeps rank 0 (a .npy scalar)
    size = spec.file.stat().st_size  # before reading: a 4 GB file for a 16-byte input
    if size != want:
        raise WorkloadError(
            f"{field}: {spec.file.name} has {size} bytes, shape and dtype need {want}"
        )
    raw = spec.file.read_bytes()
    return np.frombuffer(raw, dtype).reshape(spec.shape).copy()
