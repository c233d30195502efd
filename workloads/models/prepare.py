"""prepare_model: the one entry the harness calls to get a runnable model.

It builds a zoo model or takes the user's .onnx as it is (copied byte for byte, its
hash checked; never rewritten), converts it to OpenVINO IR (tensor names as the
model has them; the workload's input shapes set, as benchmark_app's -shape does),
and caches the result in a folder named by the content hash of the recipe. Folders appear
atomically (built under a temporary name, then renamed), so a killed build
never leaves a half-written model behind.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import secrets
import shutil
import time
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import onnx

from contracts import onnx_file as onnx_interface
from contracts import paths
from contracts.digests import file_sha256
from contracts.jobs import ModelFiles
from workloads.models.errors import ModelError, with_defaults
from workloads.models.user_model import TensorDesc, check_user_model, describe, one_line
from workloads.models.zoo import BUILDER_VERSION, BUILDERS, DEFAULTS

# Bump when what prepare_model writes changes (the copy, IR conversion).
# 2: IR inputs no longer get "0", "1", ... alias names (the adapter reads real names).
# 3: a user's model.onnx is the user's file byte for byte (no shape rewriting); the
#    IR gets the workload's input shapes through OpenVINO's reshape.
PREPARE_VERSION = 3
# protobuf cannot serialise a message of 2 GiB or more; we keep models in one file.
MAX_ONNX_BYTES = 2**31 - 1


@dataclass
class PreparedModel:
    files: ModelFiles
    inputs: list[TensorDesc]  # graph order = the legacy ABI's index order
    outputs: list[TensorDesc]
    onnx_ir_version: int
    opset: int
    openvino_ir_version: int | None  # None when the IR conversion failed (see ir_error)
    sha256: str  # of the prepared model.onnx
    size_bytes: int  # of the prepared model.onnx
    ir_size_bytes: int | None  # xml + bin
    source: str  # "zoo:<builder>" or the user's .onnx path
    cache_key: str
    cache_hit: bool
    build_s: float  # time the (first) build and conversion took
    ir_error: str | None = None  # why there is no OpenVINO IR, if there is none
    ir_shapes: str = "static"  # "static" | "dynamic (<why reshape failed>)": the IR's inputs


def prepare_model(
    builder: str | None,
    params: dict[str, Any] | None,
    onnx_path: str | Path | None,
    input_shapes: dict[str, list[int]] | None,
    cache_dir: str | Path | None = None,
    state: dict[str, str] | None = None,
) -> PreparedModel:
    """Build (zoo `builder` + `params`) or adopt (`onnx_path` + `input_shapes`) a model.

    A user's model is never rewritten: model.onnx is the file's bytes (sha256 checked on
    every use of the cache); `input_shapes` must fit its declared inputs and size the IR.
    `state` (input name -> output name) makes the OpenVINO IR stateful: each pair
    becomes internal state (ReadValue/Assign) that the request keeps from one infer to
    the next, and leaves the IR's inputs and outputs; `inputs`/`outputs` then describe
    the IR, and the ONNX file (which cannot hold state) is the stateless form.
    Returns the cached copy when the same recipe was prepared before.
    Raises ModelError with a one-line message naming the file/builder and input.
    """
    if (builder is None) == (onnx_path is None):
        raise ModelError("a model needs exactly one of a zoo builder or an .onnx path")
    folder_root = Path(cache_dir) if cache_dir is not None else paths.model_cache()
    shapes = dict(input_shapes or {})

    if builder is not None:
        if builder not in BUILDERS:
            raise ModelError(f"unknown model builder {builder!r} (have: {', '.join(BUILDERS)})")
        full = with_defaults(builder, DEFAULTS[builder], params or {})
        recipe: dict[str, Any] = {"builder": builder, "params": full, "version": BUILDER_VERSION}
        stem, source = builder, f"zoo:{builder}"

        def make() -> onnx.ModelProto:
            model = BUILDERS[builder](full)
            onnx.checker.check_model(model, full_check=True)
            return model

    else:
        path = Path(onnx_path)  # type: ignore[arg-type]
        try:
            digest = file_sha256(path)
        except FileNotFoundError:
            raise ModelError(f"{path}: model file not found") from None
        except OSError as e:
            raise ModelError(f"{path}: model file not readable ({e.strerror})") from None
        recipe = {"onnx_sha256": digest, "input_shapes": shapes}
        stem, source = re.sub(r"[^A-Za-z0-9_.-]", "_", path.stem), str(path)

        def make() -> onnx.ModelProto:
            return check_user_model(path, shapes)

    recipe["prepare"] = PREPARE_VERSION
    if state:
        recipe["state"] = dict(sorted(state.items()))
        stem += "-stateful"
    key = hashlib.sha256(json.dumps(recipe, sort_keys=True).encode()).hexdigest()
    folder = folder_root / f"{stem}-{key[:16]}"
    original = None if onnx_path is None else (Path(onnx_path), recipe["onnx_sha256"])
    byo_shapes = shapes if original else None  # zoo models are sized by their params
    prepared = _load_cached(folder, original) or _build(
        folder, make, source, key, original, byo_shapes, state or {}
    )
    prepared.source = source  # the same bytes may have been cached from another path
    if builder is not None:
        _check_zoo_shapes(builder, prepared, shapes)
    return prepared


# -- cache ---------------------------------------------------------------------------


def _files(folder: Path, has_ir: bool, sha256: str, opset: int, stateful: bool) -> ModelFiles:
    ir = (str(folder / "model.xml"), str(folder / "model.bin")) if has_ir else (None, None)
    return ModelFiles(str(folder / "model.onnx"), ir[0], ir[1], sha256, opset, stateful)


Original = tuple[Path, str] | None  # a user's model: its path and the sha256 of its bytes


def _load_cached(folder: Path, original: Original = None) -> PreparedModel | None:
    try:
        meta = json.loads((folder / "meta.json").read_text())
        has_ir = meta["openvino_ir_version"] is not None
        files = _files(folder, has_ir, meta["sha256"], meta["opset"], bool(meta.get("state")))
        paths = [files.onnx] + ([files.ir_xml, files.ir_bin] if has_ir else [])
        if meta["prepare"] != PREPARE_VERSION or not all(Path(p).is_file() for p in paths):
            raise ValueError("stale")
        # A user's model runs as the user's bytes: a copy that differs (edited by hand,
        # a damaged disk) is rebuilt, never run.
        if original and not meta["sha256"] == file_sha256(files.onnx) == original[1]:
            raise ValueError("not the user's bytes")
        return PreparedModel(
            files=files,
            inputs=[TensorDesc(*t) for t in meta["inputs"]],
            outputs=[TensorDesc(*t) for t in meta["outputs"]],
            **{k: meta[k] for k in _META_FIELDS},
            cache_hit=True,
        )
    except FileNotFoundError:
        # No meta.json: nothing there, or a folder someone emptied by hand (a build
        # only ever renames complete folders into place).
        shutil.rmtree(folder, ignore_errors=True)
        return None
    except (ValueError, KeyError, TypeError):
        shutil.rmtree(folder, ignore_errors=True)  # damaged by hand: rebuild it
        return None


_META_FIELDS = (
    "onnx_ir_version",
    "opset",
    "openvino_ir_version",
    "sha256",
    "size_bytes",
    "ir_size_bytes",
    "source",
    "cache_key",
    "build_s",
    "ir_error",
    "ir_shapes",
)


def _write_onnx(model: onnx.ModelProto, onnx_file: Path, source: str, original: Original) -> None:
    """The zoo model serialised, or the user's file copied byte for byte (hash checked)."""
    if original is None:
        if model.ByteSize() > MAX_ONNX_BYTES:
            raise ModelError(f"{source}: model is larger than 2 GiB, which is not supported")
        onnx.save(model, onnx_file)
        return
    shutil.copyfile(original[0], onnx_file)
    if file_sha256(onnx_file) != original[1]:
        raise ModelError(f"{source}: the model file changed while it was being read")


def _build(
    folder: Path, make, source: str, key: str, original: Original = None,
    shapes: dict[str, list[int]] | None = None, state: dict[str, str] | None = None,
) -> PreparedModel:  # fmt: skip
    tmp = folder.parent / f".tmp-{folder.name}-{os.getpid()}-{secrets.token_hex(4)}"
    tmp.mkdir(parents=True)
    try:
        start = time.perf_counter()
        model = make()
        onnx_file = tmp / "model.onnx"
        _write_onnx(model, onnx_file, source, original)
        iface = onnx_interface.read(onnx_file)
        inputs, outputs = describe(iface, shapes or {})
        ir_shapes = "static"
        try:
            ir_version, outputs, ir_shapes = convert_ir(
                onnx_file, tmp / "model.xml", inputs, outputs, shapes or {}, state
            )
            inputs = [t for t in inputs if t.name not in (state or {})]
            ir_error = None
        except ModelError:
            raise
        except Exception as e:  # the onnx backend can still run it; say why openvino cannot
            if state:  # the stateful form is the IR: without one there is nothing to run
                raise ModelError(
                    f"{source}: OpenVINO cannot make it stateful: {one_line(e)}"
                ) from None
            ir_version, ir_error = None, f"OpenVINO conversion failed: {one_line(e)}"
            for leftover in ("model.xml", "model.bin"):
                (tmp / leftover).unlink(missing_ok=True)
        data = onnx_file.read_bytes()
        meta = {
            "prepare": PREPARE_VERSION,
            "inputs": inputs,
            "outputs": outputs,
            "onnx_ir_version": iface.ir_version,
            "opset": iface.opset,
            "openvino_ir_version": ir_version,
            "sha256": hashlib.sha256(data).hexdigest(),
            "size_bytes": len(data),
            "ir_size_bytes": None
            if ir_version is None
            else sum((tmp / f).stat().st_size for f in ("model.xml", "model.bin")),
            "source": source,
            "cache_key": key,
            "build_s": round(time.perf_counter() - start, 3),
            "ir_error": ir_error,
            "ir_shapes": ir_shapes,
            "state": state or {},
        }
        (tmp / "meta.json").write_text(json.dumps(meta, indent=1) + "\n")
        try:
            tmp.rename(folder)
        except OSError:
            if not (folder / "meta.json").is_file():  # not a lost race: a real error
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)  # no-op after a successful rename
    prepared = _load_cached(folder, original)
    assert prepared is not None
    prepared.cache_hit = False
    return prepared


def _check_zoo_shapes(builder: str, prepared: PreparedModel, shapes: dict[str, list[int]]) -> None:
    """Zoo models are sized by params; input_shapes may only restate those shapes."""
    have = {t.name: t.shape for t in prepared.inputs}
    for name, shape in shapes.items():
        if name not in have:
            raise ModelError(
                f"model builder {builder!r} has no input {name!r} (inputs: {', '.join(have)})"
            )
        if list(shape) != have[name]:
            raise ModelError(
                f"model builder {builder!r}: input {name!r} is {have[name]}, not {list(shape)} "
                "(size zoo models through their params)"
            )


# -- OpenVINO IR -----------------------------------------------------------------------


def convert_ir(
    onnx_file: Path,
    xml: Path,
    inputs: list[TensorDesc],
    outputs: list[TensorDesc],
    shapes: dict[str, list[int]],
    state: dict[str, str] | None = None,
) -> tuple[int, list[TensorDesc], str]:
    """Write model.xml/.bin; returns the IR version, the outputs with OpenVINO's static
    dims, and whether the IR's inputs are static ("static", else "dynamic (why)").
    `state`: the input/output pairs made internal state (gone from the outputs returned).

    The IR keeps the model's tensor names and nothing else (no "0", "1", ... aliases): the
    adapter sends real names (docs/adapter.md), so runs use the model as the user has it.
    Dynamic input dims get the workload's shapes (`Model.reshape`, benchmark_app's -shape):
    the same operations, specialised to the shapes every cell runs with. Where OpenVINO
    cannot reshape the model the IR keeps its dynamic dims (and says why).
    """
    import openvino as ov  # slow import: only when converting

    # Core.read_model runs the same ONNX frontend as ov.convert_model, but convert_model
    # leaves worker threads behind after which numpy's OpenBLAS matmul hung (seen with
    # openvino 2026.4.1: any later zoo build in the same process stalled forever).
    model = ov.Core().read_model(str(onnx_file))
    for i, desc in enumerate(inputs):
        # the legacy ABI's index i must be OpenVINO's input i
        if desc.name not in model.inputs[i].get_names():
            raise RuntimeError(f"OpenVINO numbers input {desc.name!r} differently from ONNX")
    reshape = {
        port: ov.PartialShape(shapes[desc.name])
        for port, desc in zip(model.inputs, inputs, strict=True)
        if desc.name in shapes and not port.get_partial_shape().is_static
    }
    ir_shapes = "static"
    if reshape:
        try:
            model.reshape(reshape)
        except Exception as e:  # runs as declared: OpenVINO resolves the dims per request
            model = ov.Core().read_model(str(onnx_file))
            ir_shapes = f"dynamic (OpenVINO reshape failed: {one_line(e)})"
    if state:
        _make_stateful(model, state, inputs, outputs)
        outputs = [t for t in outputs if t.name not in state.values()]
    fixed = []
    for desc in outputs:
        port = _port(model.outputs, desc.name, "output")
        shape = port.get_partial_shape()
        fixed.append(
            desc._replace(shape=[d.get_length() for d in shape]) if shape.is_static else desc
        )
    ov.save_model(model, str(xml), compress_to_fp16=False)
    version = int(ET.parse(xml).getroot().get("version", "0"))
    return version, fixed, ir_shapes


def _make_stateful(
    model, state: dict[str, str], inputs: list[TensorDesc], outputs: list[TensorDesc]
) -> None:
    """OpenVINO's MakeStateful: each (input, output) pair becomes one variable."""
    from openvino._offline_transformations import apply_make_stateful_transformation

    have_in = {t.name: t for t in inputs}
    have_out = {t.name: t for t in outputs}
    for src, dst in state.items():
        if src not in have_in or dst not in have_out:
            missing = f"input {src!r}" if src not in have_in else f"output {dst!r}"
            raise ModelError(f"the model has no {missing} to keep as state", field="generate")
        a, b = have_in[src], have_out[dst]
        if (a.dtype, a.shape) != (b.dtype, b.shape) or any(d <= 0 for d in a.shape):
            raise ModelError(
                f"state pair {src!r} -> {dst!r}: {a.dtype} {a.shape} vs {b.dtype} {b.shape} "
                "(a state needs one static shape and dtype)",
                field="generate",
            )
    apply_make_stateful_transformation(model, state)


def _port(ports, name: str, what: str):
    for port in ports:
        if name in port.get_names():
            return port
    raise RuntimeError(f"the converted model has no {what} named {name!r}")
