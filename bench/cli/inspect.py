"""`wasinn-bench inspect MODEL`: what a model takes and gives, and where it runs.

Inputs and outputs with dtypes and declared dims (dynamic ones named), opset, size,
which backends load the file as it is, and the `run` command line for it.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from contracts.digests import file_sha256
from contracts.errors import UserError
from contracts.onnx_file import OnnxInterface, Tensor
from workloads.models.user_model import fmt, read_interface

BACKEND_NAMES = {"onnx": "onnxruntime", "openvino": "OpenVINO"}


def add_parser(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    p = sub.add_parser(
        "inspect",
        help="a model's inputs, outputs, dtypes, dynamic dims, opset, size, backends",
        description="Show what an ONNX model takes and gives, and which backends load it.",
    )
    p.add_argument("model", type=Path, metavar="MODEL.onnx")
    p.add_argument("--json", action="store_true", help="print the facts as JSON")
    p.add_argument(
        "--no-load", action="store_true", help="skip trying the backends (header facts only)"
    )
    return p


def _tensor(t: Tensor) -> dict[str, object]:
    dynamic = [] if t.dims is None else [d for d in t.dims if not (isinstance(d, int) and d > 0)]
    return {"name": t.name, "dtype": t.dtype, "dims": t.dims, "dynamic": dynamic}


def facts(model: Path, iface: OnnxInterface, load: bool) -> dict[str, object]:
    out: dict[str, object] = {
        "model": str(model),
        "size_bytes": iface.size_bytes,
        "sha256": file_sha256(model),
        "onnx_ir_version": iface.ir_version,
        "opset": iface.opset,
        "other_opsets": {d: v for d, v in iface.opsets.items() if d not in ("", "ai.onnx")},
        "producer": iface.producer,
        "inputs": [_tensor(t) for t in iface.inputs],
        "outputs": [_tensor(t) for t in iface.outputs],
    }
    if load:
        from bench.measure.model_check import backends_loading

        out["backends"] = backends_loading(model)
    example = " ".join(
        f"--shape {t.name}="
        + ",".join(
            str(d) if isinstance(d, int) and d > 0 else "N" for d in t.dims or []
        )  # fmt: skip
        for t in iface.inputs
        if t.dynamic
    )
    out["run"] = f"wasinn-bench run {model} {example}".strip()
    return out


def _print(f: dict) -> None:
    size = f["size_bytes"]
    print(f"{f['model']}: {size / 2**20:,.1f} MiB ({size:,} bytes), ONNX IR {f['onnx_ir_version']}, "
          f"opset {f['opset']}" + (f", producer {f['producer']}" if f["producer"] else ""))  # fmt: skip
    if f["other_opsets"]:
        print(
            "  other opset domains: " + ", ".join(f"{d} {v}" for d, v in f["other_opsets"].items())
        )
    print(f"  sha256 {f['sha256']}")
    for kind in ("inputs", "outputs"):
        print(f"{kind}:")
        width = max((len(t["name"]) for t in f[kind]), default=0)
        for t in f[kind]:
            dyn = f"   dynamic: {', '.join(map(str, t['dynamic']))}" if t["dynamic"] else ""
            print(f"  {t['name']:<{width}}  {t['dtype']:<4} {fmt(t['dims'])}{dyn}")
    if "backends" in f:
        print("loads (CPU, the file as it is):")
        for name, reason in f["backends"].items():
            verdict = "yes" if reason is None else f"no: {reason}"
            if reason and name == "openvino" and any(t["dynamic"] for t in f["inputs"]):
                verdict += " (dims as declared; a run gives OpenVINO its --shape dims first)"
            print(f"  {BACKEND_NAMES[name]:<11} {verdict}")
        print("  wasmtime CLI: OpenVINO only (it has no onnx backend; runs get the IR the "
              "harness converts)")  # fmt: skip
    print(f"run it: {f['run']}")


class NotAModel(UserError):
    """inspect was given a file the harness does not take as a model."""


def run(args: argparse.Namespace) -> int:
    if args.model.suffix.lower() == ".xml":
        raise NotAModel(
            f"{args.model}: an OpenVINO IR; the harness makes the IR from the ONNX model "
            "(both backends run the same graph): inspect the .onnx file"
        )
    iface = read_interface(args.model)  # ModelError (exit 2): not found, not ONNX
    f = facts(args.model, iface, load=not args.no_load)
    if args.json:
        print(json.dumps(f, indent=1))
    else:
        _print(f)
    return 0
