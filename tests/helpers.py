"""Shared test helpers."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
# Recorded real runs (two runs of the same code on one machine): compare, export,
# merge and report read them.
FIXTURES = REPO / "results" / "fixtures"
RUN_A, RUN_B = FIXTURES / "mlp-tiny-a", FIXTURES / "mlp-tiny-b"


def run_cli(
    *args: str, cwd: Path | None = None, timeout: float = 600
) -> subprocess.CompletedProcess[str]:
    """`wasinn-bench ARGS` as a user runs it: a separate process."""
    return subprocess.run(
        [sys.executable, "-m", "bench", *args],
        cwd=cwd or REPO,
        capture_output=True,
        text=True,
        timeout=timeout,
        env=dict(os.environ, COLUMNS="200"),
    )


def cli_run(
    wasm: Path, folder: Path, *nn: str, args: tuple[str, ...] = ()
) -> subprocess.CompletedProcess[str]:
    """`wasmtime run -S nn [-S NN]... --dir FOLDER::. WASM ARGS` on the pinned CLI, with
    the benchmark's OpenVINO library folder."""
    from hosts import openvino_c
    from hosts.wasmtime_cli import binary

    env = {"LD_LIBRARY_PATH": str(openvino_c.library_dir(1)), "PATH": "/usr/bin:/bin"}
    cmd = [binary.cli_binary(), "run", "-S", "nn", *(a for o in nn for a in ("-S", o))]
    cmd += ["--dir", f"{folder}::.", wasm, *args]
    return subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=120)


def run_py_preview1(wasm: Path, folder: Path, argv: list[str], stdout_name: str) -> str:
    """A preview1 command on our wasmtime-py preview1 host, `folder` preopened as '.';
    its stdout (it must exit 0)."""
    import wasmtime

    from hosts.wasmtime_py.preview1 import Preview1Nn

    engine = wasmtime.Engine()
    nn = Preview1Nn("cpu", 1, preopen=folder)
    linker = wasmtime.Linker(engine)
    linker.define_wasi()
    nn.define(linker)
    store = wasmtime.Store(engine)
    wasi = wasmtime.WasiConfig()
    wasi.argv = argv
    wasi.preopen_dir(str(folder), ".")
    out = folder / stdout_name
    wasi.stdout_file = str(out)
    store.set_wasi(wasi)
    instance = linker.instantiate(store, wasmtime.Module(engine, wasm.read_bytes()))
    exports = instance.exports(store)
    nn.bind(store, exports["memory"])
    try:
        exports["_start"](store)
    except wasmtime.ExitTrap as e:
        assert e.code == 0, out.read_text()
    return out.read_text()


# -- headless Chromium (test_publish, test_report) -----------------------------------

CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                  "--no-first-run", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync"]  # fmt: skip


def find_browser() -> str | None:
    """Chromium, installed from Debian when missing and apt is usable (as in .ci/run)."""
    for name in ("chromium", "chromium-browser", "google-chrome"):
        if path := shutil.which(name):
            return path
    if shutil.which("apt-get") and hasattr(os, "geteuid") and os.geteuid() == 0:
        subprocess.run(
            ["apt-get", "install", "-y", "--no-install-recommends", "chromium"],
            capture_output=True,
            timeout=600,
        )
        return shutil.which("chromium")
    return None


def chromium(browser: str, *args: str) -> subprocess.CompletedProcess:
    with tempfile.TemporaryDirectory(prefix="wasinn-chromium-") as profile:
        return subprocess.run(
            [browser, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", *args],
            capture_output=True,
            text=True,
            timeout=120,
        )
