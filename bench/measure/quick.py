"""A workload from a model file and command-line flags, without a TOML file:
`wasinn-bench run model.onnx --shape x=1,3,48,320 [--input-file x=img.npy]`.

The flags become the TOML a user would have written, and that text goes through the
same validation as a workload file (`parse_workload`); the run folder keeps it
(`<name>.toml`), so the run is repeatable and `--resume` reads it like any workload.
Errors name the model file and the flag, and come from the model's header alone
(milliseconds, nothing heavy imported).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path

from contracts.dtypes import DTYPES
from contracts.onnx_file import Tensor
from workloads.models.errors import ModelError
from workloads.models.user_model import check_shape, fmt, read_interface
from workloads.spec.fields import WorkloadError
from workloads.spec.workload import Workload, parse_workload

MODEL_SUFFIXES = (".onnx",)


@dataclass
class ModelFlags:
    """--shape NAME=DIMS and --input-file NAME=PATH, by input name."""

    shapes: dict[str, list[int]] = field(default_factory=dict)
    files: dict[str, Path] = field(default_factory=dict)

    @property
    def given(self) -> bool:
        return bool(self.shapes or self.files)


def is_model_target(target: str) -> bool:
    return Path(target).suffix.lower() in (*MODEL_SUFFIXES, ".xml")


def model_workload(target: str, flags: ModelFlags) -> Workload:
    """The workload `run MODEL --shape ...` runs; one-line errors naming file and input."""
    model = Path(target).absolute()
    if model.suffix.lower() == ".xml":
        raise WorkloadError(
            f"{model}: an OpenVINO IR is made from the ONNX model by the harness "
            "(both backends run the same graph); give the .onnx file"
        )
    try:
        iface = read_interface(model)
    except ModelError as e:
        raise WorkloadError(str(e)) from None
    names = [t.name for t in iface.inputs]
    for flag, given in (("--shape", flags.shapes), ("--input-file", flags.files)):
        for name in given:
            if name not in names:
                raise WorkloadError(
                    f"{model}: {flag} {name}=...: the model has no input {name!r} "
                    f"(its inputs: {', '.join(names)})"
                )
    tables = [_input_table(model, t, flags) for t in iface.inputs]
    name = re.sub(r"[^a-z0-9._-]+", "-", model.stem.lower()).strip("-._") or "model"
    text = f"name = {json.dumps(name)}\n\n[model]\npath = {json.dumps(str(model))}\n"
    text += "".join(tables)
    w = parse_workload(text, Path.cwd() / f"{name}.toml")
    w.generated, w.origin = text, str(model)
    return w


def _input_table(model: Path, t: Tensor, flags: ModelFlags) -> str:
    if t.dtype not in DTYPES:
        raise WorkloadError(
            f"{model}: input {t.name!r} has dtype {t.dtype}, unsupported "
            f"(supported: {', '.join(DTYPES)})"
        )
    shape = flags.shapes.get(t.name)
    if shape is None:
        if t.dynamic:
            example = ",".join(
                str(d) if isinstance(d, int) and d > 0 else "N" for d in t.dims or []
            )
            raise WorkloadError(
                f"{model}: input {t.name!r} has dynamic shape {fmt(t.dims)}; give it, "
                f"e.g. --shape {t.name}={example or 'D1,D2'}"
            )
        shape = [int(d) for d in t.dims or []]
    try:
        check_shape(model, t, shape)
    except ModelError as e:
        raise WorkloadError(f"{e} (--shape {t.name}=...)") from None
    lines = [f"\n[inputs.{json.dumps(t.name)}]", f"shape = {shape}", f'dtype = "{t.dtype}"']
    if file := flags.files.get(t.name):
        _check_file(model, t.name, file.absolute(), shape, t.dtype)
        lines += ['generator = "file"', f"file = {json.dumps(str(file.absolute()))}"]
    return "\n".join(lines) + "\n"


def _check_file(model: Path, name: str, file: Path, shape: list[int], dtype: str) -> None:
    """Raw little-endian bytes of exactly the input's size, or a .npy of its shape/dtype."""
    import numpy as np

    flag = f"--input-file {name}={file}"
    if not file.is_file():
        raise WorkloadError(f"{model}: {flag}: no such file")
    if file.suffix == ".npy":
        try:
            array = np.load(file, mmap_mode="r", allow_pickle=False)
        except ValueError as e:
            raise WorkloadError(f"{model}: {flag}: not a .npy file ({e})") from None
        if list(array.shape) != shape or array.dtype != np.dtype(DTYPES[dtype]):
            raise WorkloadError(
                f"{model}: {flag}: holds {array.dtype} {list(array.shape)}, input {name!r} "
                f"is {dtype} {shape}"
            )
        return
    want = int(np.prod(shape, dtype=np.int64)) * np.dtype(DTYPES[dtype]).itemsize
    if file.stat().st_size != want:
        raise WorkloadError(
            f"{model}: {flag}: {file.stat().st_size} bytes, input {name!r} ({dtype} {shape}) "
            f"takes {want} (raw little-endian values, or a .npy file)"
        )
