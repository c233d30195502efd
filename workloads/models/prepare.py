"""prepare_model: the one entry the harness calls to get a runnable model.

It builds a zoo model or takes the user's .onnx (fixing its dynamic dimensions),
converts it to OpenVINO IR (tensor names as the model has them), and caches the
result in a folder named by the content hash of the recipe. Folders appear
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
from typing import Any, NamedTuple

import onnx
from onnx import TensorProto

from contracts import paths
from contracts.digests import file_sha256
from contracts.jobs import ModelFiles
from workloads.models.errors import ModelError, with_defaults
from workloads.models.zoo import BUILDER_VERSION, BUILDERS, DEFAULTS

# Bump when what prepare_model writes changes (shape fixing, IR conversion).
# 2: IR inputs no longer get "0", "1", ... alias names (the adapter reads real names).
PREPARE_VERSION = 2
# protobuf cannot serialise a message of 2 GiB or more; we keep models in one file.
MAX_ONNX_BYTES = 2**31 - 1

ONNX_DTYPES = {
    TensorProto.FLOAT16: "f16",
    TensorProto.FLOAT: "f32",
    TensorProto.DOUBLE: "f64",
    TensorProto.UINT8: "u8",
    TensorProto.INT32: "i32",
    TensorProto.INT64: "i64",
}


class TensorDesc(NamedTuple):
    """One graph input or output; -1 in `shape` = known only at run time."""

    name: str
    dtype: str  # canonical: f16 f32 f64 u8 i32 i64
    shape: list[int]


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


def prepare_model(
    builder: str | None,
    params: dict[str, Any] | None,
    onnx_path: str | Path | None,
    input_shapes: dict[str, list[int]] | None,
    cache_dir: str | Path | None = None,
    state: dict[str, str] | None = None,
) -> PreparedModel:
    """Build (zoo `builder` + `params`) or adopt (`onnx_path` + `input_shapes`) a model.

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
            return fix_shapes(path, shapes)

    recipe["prepare"] = PREPARE_VERSION
    if state:
        recipe["state"] = dict(sorted(state.items()))
        stem += "-stateful"
    key = hashlib.sha256(json.dumps(recipe, sort_keys=True).encode()).hexdigest()
    folder = folder_root / f"{stem}-{key[:16]}"
    prepared = _load_cached(folder) or _build(folder, make, source, key, state or {})
    prepared.source = source  # the same bytes may have been cached from another path
    if builder is not None:
        _check_zoo_shapes(builder, prepared, shapes)
    return prepared


# -- cache ---------------------------------------------------------------------------


def _files(folder: Path, has_ir: bool, sha256: str, opset: int, stateful: bool) -> ModelFiles:
    ir = (str(folder / "model.xml"), str(folder / "model.bin")) if has_ir else (None, None)
    return ModelFiles(str(folder / "model.onnx"), ir[0], ir[1], sha256, opset, stateful)


def _load_cached(folder: Path) -> PreparedModel | None:
    try:
        meta = json.loads((folder / "meta.json").read_text())
        has_ir = meta["openvino_ir_version"] is not None
        files = _files(folder, has_ir, meta["sha256"], meta["opset"], bool(meta.get("state")))
        paths = [files.onnx] + ([files.ir_xml, files.ir_bin] if has_ir else [])
        if meta["prepare"] != PREPARE_VERSION or not all(Path(p).is_file() for p in paths):
            raise ValueError("stale")
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
)


def _build(folder: Path, make, source: str, key: str, state: dict[str, str]) -> PreparedModel:
    tmp = folder.parent / f".tmp-{folder.name}-{os.getpid()}-{secrets.token_hex(4)}"
    tmp.mkdir(parents=True)
    try:
        start = time.perf_counter()
        model = make()
        if model.ByteSize() > MAX_ONNX_BYTES:
            raise ModelError(f"{source}: model is larger than 2 GiB, which is not supported")
        onnx_file = tmp / "model.onnx"
        onnx.save(model, onnx_file)
        inputs, outputs = describe(model)
        try:
            ir_version, inputs, outputs = convert_ir(
                onnx_file, tmp / "model.xml", inputs, outputs, state
            )
            ir_error = None
        except ModelError:
            raise
        except Exception as e:  # the onnx backend can still run it; say why openvino cannot
            if state:  # the stateful form is the IR: without one there is nothing to run
                raise ModelError(
                    f"{source}: OpenVINO cannot make it stateful: {_one_line(e)}"
                ) from None
            ir_version, ir_error = None, f"OpenVINO conversion failed: {_one_line(e)}"
            for leftover in ("model.xml", "model.bin"):
                (tmp / leftover).unlink(missing_ok=True)
        data = onnx_file.read_bytes()
        meta = {
            "prepare": PREPARE_VERSION,
            "inputs": inputs,
            "outputs": outputs,
            "onnx_ir_version": model.ir_version,
            "opset": model_opset(model),
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
            "state": state,
        }
        (tmp / "meta.json").write_text(json.dumps(meta, indent=1) + "\n")
        try:
            tmp.rename(folder)
        except OSError:
            if not (folder / "meta.json").is_file():  # not a lost race: a real error
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)  # no-op after a successful rename
    prepared = _load_cached(folder)
    assert prepared is not None
    prepared.cache_hit = False
    return prepared


def _one_line(e: BaseException) -> str:
    lines = [line.strip() for line in str(e).splitlines() if line.strip()]
    return " | ".join(lines[:3])[:300] or type(e).__name__


# -- describing and fixing ONNX graphs ------------------------------------------------


def model_opset(model: onnx.ModelProto) -> int:
    return next(o.version for o in model.opset_import if o.domain in ("", "ai.onnx"))


def graph_inputs(model: onnx.ModelProto) -> list[onnx.ValueInfoProto]:
    """Real inputs: old exporters also list every initializer as a graph input."""
    inits = {i.name for i in model.graph.initializer}
    return [i for i in model.graph.input if i.name not in inits]


def _dims(value: onnx.ValueInfoProto) -> list[int | str] | None:
    """Declared dims (int, or the symbol/'?' for dynamic ones); None if the rank is unknown."""
    tensor = value.type.tensor_type
    if not tensor.HasField("shape"):
        return None
    return [
        d.dim_value if d.HasField("dim_value") else (d.dim_param or "?") for d in tensor.shape.dim
    ]


def describe(model: onnx.ModelProto) -> tuple[list[TensorDesc], list[TensorDesc]]:
    def one(v: onnx.ValueInfoProto) -> TensorDesc:
        dims = _dims(v) or []
        dtype = ONNX_DTYPES.get(v.type.tensor_type.elem_type, "?")
        return TensorDesc(v.name, dtype, [d if isinstance(d, int) else -1 for d in dims])

    return [one(v) for v in graph_inputs(model)], [one(v) for v in model.graph.output]


def _check_dtype(path: Path, what: str, value: onnx.ValueInfoProto) -> None:
    if not value.type.HasField("tensor_type"):
        raise ModelError(f"{path}: {what} {value.name!r} is not a tensor, which is unsupported")
    elem = value.type.tensor_type.elem_type
    if elem not in ONNX_DTYPES:
        name = TensorProto.DataType.Name(elem)
        raise ModelError(
            f"{path}: {what} {value.name!r} has dtype {name}, unsupported "
            f"(supported: {', '.join(ONNX_DTYPES.values())})"
        )


def fix_shapes(path: Path, shapes: dict[str, list[int]]) -> onnx.ModelProto:
    """Load a user's model and make every input shape static; errors name file and input."""
    try:
        model = onnx.load(str(path))
        onnx.checker.check_model(model)
    except FileNotFoundError:
        raise ModelError(f"{path}: model file not found") from None
    except Exception as e:
        raise ModelError(f"{path}: not a valid ONNX model ({_one_line(e)})") from None

    inputs = graph_inputs(model)
    names = [i.name for i in inputs]
    for name in shapes:
        if name not in names:
            raise ModelError(
                f"{path}: input_shapes names input {name!r}, which the model does not have "
                f"(inputs: {', '.join(names)})",
                field=f"inputs.{name}",
            )
    for value in inputs:
        _check_dtype(path, "input", value)
        dims, given = _dims(value), shapes.get(value.name)
        if given is None:
            if dims is None or not all(isinstance(d, int) and d > 0 for d in dims):
                raise ModelError(
                    f"{path}: input {value.name!r} has dynamic shape {_fmt(dims)}; "
                    "give its shape in input_shapes"
                )
            continue
        if not (
            isinstance(given, list | tuple)
            and all(isinstance(g, int) and not isinstance(g, bool) and g > 0 for g in given)
        ):
            raise ModelError(
                f"{path}: input_shapes[{value.name!r}] must be a list of positive integers, "
                f"got {given!r}"
            )
        if dims is not None and len(dims) != len(given):
            raise ModelError(
                f"{path}: input {value.name!r}: shape {list(given)} has rank {len(given)} "
                f"but the model's input is {_fmt(dims)} (rank {len(dims)})",
                field=f"inputs.{value.name}.shape",
            )
        for axis, (d, g) in enumerate(zip(dims or given, given, strict=True)):
            if isinstance(d, int) and d > 0 and d != g:
                raise ModelError(
                    f"{path}: input {value.name!r}: shape {list(given)} contradicts the "
                    f"model's {_fmt(dims)} at dimension {axis}",
                    field=f"inputs.{value.name}.shape",
                )
        shape = value.type.tensor_type.shape
        shape.ClearField("dim")
        for g in given:
            shape.dim.add().dim_value = g

    for value in model.graph.output:
        _check_dtype(path, "output", value)
        # Forget symbolic output dims and stale intermediate shapes: inference redoes them.
        for d in value.type.tensor_type.shape.dim:
            if not d.HasField("dim_value"):
                d.Clear()
    del model.graph.value_info[:]
    try:
        # Strict: shapes that contradict the graph further in (not only at its inputs)
        # fail here with ONNX's own message. Ops of unknown domains are skipped.
        model = onnx.shape_inference.infer_shapes(model, strict_mode=True, data_prop=True)
    except Exception as e:
        raise ModelError(
            f"{path}: input_shapes {shapes} do not fit the model ({_one_line(e)})"
        ) from None
    return model


def _fmt(dims: list[int | str] | None) -> str:
    return "unknown rank" if dims is None else "[" + ", ".join(str(d) for d in dims) + "]"


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
    state: dict[str, str] | None = None,
) -> tuple[int, list[TensorDesc], list[TensorDesc]]:
    """Write model.xml/.bin; returns the IR version, its inputs, and its outputs with
    OpenVINO's static dims (`state`: the pairs made internal state, gone from both).

    The IR keeps the model's tensor names and nothing else (no "0", "1", ... aliases): the
    adapter sends real names (docs/adapter.md), so runs use the model as the user has it.
    """
    import openvino as ov  # slow import: only when converting

    # Core.read_model runs the same ONNX frontend as ov.convert_model, but convert_model
    # leaves worker threads behind after which numpy's OpenBLAS matmul hung (seen with
    # openvino 2026.4.1: any later zoo build in the same process stalled forever).
    model = ov.Core().read_model(str(onnx_file))
    if state:
        _make_stateful(model, state, inputs, outputs)
        inputs = [t for t in inputs if t.name not in state]
        outputs = [t for t in outputs if t.name not in state.values()]
    for i, desc in enumerate(inputs):
        # the legacy ABI's index i must be OpenVINO's input i
        if desc.name not in model.inputs[i].get_names():
            raise RuntimeError(f"OpenVINO numbers input {desc.name!r} differently from ONNX")
    fixed = []
    for desc in outputs:
        port = _port(model.outputs, desc.name, "output")
        shape = port.get_partial_shape()
        fixed.append(
            desc._replace(shape=[d.get_length() for d in shape]) if shape.is_static else desc
        )
    ov.save_model(model, str(xml), compress_to_fp16=False)
    version = int(ET.parse(xml).getroot().get("version", "0"))
    return version, inputs, fixed


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
