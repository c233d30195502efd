"""The native-c driver's own overhead over the backend's C API called directly.

Builds ov_loop.c or ort_loop.c (the C API in a tight loop) with the same compiler
and flags as the native-c driver, then runs the driver and the loop alternately on
the same model, input and settings, and compares the p50 per iteration.

    python -m benchmarks.native_c.overhead [--backend openvino|onnx] [--model mlp_tiny]
        [--pairs 7] [--iterations 2000]

Not a test: a measurement (docs/findings.md, "native-c").
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

from hosts import native_c
from hosts.openvino_c import library_dir
from workloads.models import prepare_model

HERE = Path(__file__).resolve().parent


def build_loop(backend: str, driver: Path, out: Path) -> None:
    b = native_c.binding(backend)
    cmd = [sys.executable, "-m", "ziglang", "cc", "-target", native_c.zig_target()]
    cmd += list(native_c.CFLAGS)
    if backend == "openvino":
        cmd += [f"-I{b.include}", "ov_loop.c", str(b.library), f"-Wl,-rpath,{b.library.parent}"]
    else:  # the driver's build folder has lib/<SONAME>
        cmd += [f"-I{native_c.SRC}", "ort_loop.c", str(b.library)]
        cmd += [f"-Wl,-rpath,{driver.parent / 'lib'}"]
    subprocess.run([*cmd, "-o", str(out)], cwd=HERE, check=True)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--backend", choices=("openvino", "onnx"), default="openvino")
    ap.add_argument("--model", default="mlp_tiny")
    ap.add_argument("--pairs", type=int, default=7)
    ap.add_argument("--warmup", type=int, default=200)
    ap.add_argument("--iterations", type=int, default=2000)
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args()

    pm = prepare_model(args.model, {}, None, None)
    (inp,), out = pm.inputs, pm.outputs[0]
    out_bytes = int(np.prod(out.shape)) * 4
    dims = "x".join(str(d) for d in inp.shape)
    driver = native_c.build(args.backend).binary
    if args.backend == "openvino":
        assert pm.files.ir_xml and pm.files.ir_bin, pm.ir_error
        models = [pm.files.ir_xml, pm.files.ir_bin]
        xml = library_dir(args.threads) / "plugins.xml"
        env = dict(os.environ, NN_OPENVINO_CONFIG=str(xml))
    else:
        models = [pm.files.onnx]
        env = dict(os.environ, NN_ORT_THREADS=str(args.threads))

    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        loop = work / "loop"
        build_loop(args.backend, driver, loop)
        rng = np.random.default_rng(1)
        rng.standard_normal(inp.shape).astype(np.float32).tofile(work / "in.bin")
        driver_argv = ["driver", "--encoding", args.backend, "--target", "cpu", "--load", "bytes"]
        for m in models:
            driver_argv += ["--model", m]
        driver_argv += [
            "--input", "0", inp.name, "f32", dims, "in.bin",
            "--output", "0", out.name, str(out_bytes), "out.bin",
            "--warmup", str(args.warmup), "--iterations", str(args.iterations),
            "--samples", "samples.txt",
        ]  # fmt: skip
        loop_argv = [
            str(loop), *models, "in.bin", dims, str(out_bytes),
            str(args.warmup), str(args.iterations),
        ]  # fmt: skip
        p50 = {"driver": [], "loop": []}
        for _ in range(args.pairs):  # alternate: both see the same machine state
            subprocess.run(driver_argv, executable=driver, cwd=work, env=env, check=True)
            rows = (work / "samples.txt").read_text().splitlines()
            totals = [int(r.split()[4]) for r in rows if r.startswith("iter ")]
            p50["driver"].append(statistics.median(totals))
            proc = subprocess.run(
                loop_argv, cwd=work, env=env, check=True, capture_output=True, text=True
            )
            p50["loop"].append(statistics.median(int(x) for x in proc.stdout.split()))
    diffs = [d - loop for d, loop in zip(p50["driver"], p50["loop"], strict=True)]
    print(f"{args.backend}, model {args.model}, {args.pairs} pairs x {args.iterations} iterations")
    for name, values in p50.items():
        print(f"{name:6s} p50 per iteration, ns: {[int(v) for v in values]}")
    print(f"driver - loop, ns per pair: {[int(d) for d in diffs]}")
    print(f"median difference: {statistics.median(diffs):.0f} ns per iteration")


if __name__ == "__main__":
    main()
