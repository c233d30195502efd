"""Every folder the project reads or writes, each with its environment override.

Paths are functions, not constants, so that an override set after import (tests,
a worker's environment) is honoured.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from pathlib import Path

# The checkout (or the installed tree): the folder that holds bench/, hosts/, ...
REPO_ROOT = Path(__file__).resolve().parent.parent
WORKLOADS = REPO_ROOT / "workloads"
GUESTS = WORKLOADS / "guests"
GUEST_SOURCES = GUESTS / "src"
PREBUILT = GUESTS / "prebuilt"
WIT_DIR = GUESTS / "wit"
ADAPTER_DIR = GUESTS / "adapter"
# jco (npm) lives beside its package.json/package-lock.json.
NODE_DIR = GUESTS / "component"

CACHE_ROOT_ENV = "WASINN_BENCH_CACHE_ROOT"
MODEL_CACHE_ENV = "WASINN_BENCH_CACHE"  # the model cache (its historical name)
CLI_CACHE_ENV = "WASINN_BENCH_CLI_CACHE"
NATIVE_C_CACHE_ENV = "WASINN_BENCH_NATIVE_C_CACHE"
RUNTIMES_ENV = "WASINN_BENCH_RUNTIMES"


def cache_root() -> Path:
    """$WASINN_BENCH_CACHE_ROOT, else `.cache/` in a checkout (where the project's
    pyproject.toml is), else the user's cache folder (an installed copy)."""
    if env := os.environ.get(CACHE_ROOT_ENV):
        return Path(env)
    if (REPO_ROOT / "pyproject.toml").exists() and os.access(REPO_ROOT, os.W_OK):
        return REPO_ROOT / ".cache"
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "wasinn-bench"


def model_cache() -> Path:
    """Built models and their IR twins, by content hash."""
    return Path(os.environ.get(MODEL_CACHE_ENV) or cache_root() / "models")


def cli_cache() -> Path:
    """The wasmtime CLI's OpenVINO library folder and precompiled guests."""
    return Path(os.environ.get(CLI_CACHE_ENV) or cache_root() / "wasmtime-cli")


def native_c_cache() -> Path:
    """The native-c driver builds, by content hash of sources, command and tools."""
    return Path(os.environ.get(NATIVE_C_CACHE_ENV) or cache_root() / "native-c")


def runtimes_cache() -> Path:
    """Installed wasmtime CLI releases (`wasmtime-cli@VERSION`), shared by every checkout:
    the user's cache folder, not the project's."""
    if env := os.environ.get(RUNTIMES_ENV):
        return Path(env)
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "wasinn-bench" / "runtimes"


def atomic_dir(final: Path, fill: Callable[[Path], None]) -> Path:
    """Create cache folder `final` by filling a temporary sibling and renaming it, so
    concurrent workers never see it half made; an existing `final` is reused."""
    if final.is_dir():
        return final
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = final.with_name(f"{final.name}.tmp-{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    fill(tmp)
    try:
        tmp.rename(final)
    except OSError:  # another worker won the race
        shutil.rmtree(tmp, ignore_errors=True)
    return final


def is_plain_name(name: object) -> bool:
    """One path component that stays where it is put: not empty, `.` or `..`, no
    separator, no NUL or other control character, at most 200 characters."""
    return (
        isinstance(name, str)
        and 0 < len(name) <= 200
        and name not in (".", "..")
        and "/" not in name
        and "\\" not in name
        and all(ch.isprintable() for ch in name)
    )


def confined(base: Path, *parts: str) -> Path:
    """base/parts..., refused (ValueError) unless it stays inside base once resolved:
    the one way to build a path from a name read out of a run folder."""
    path = base.joinpath(*parts)
    if not path.resolve().is_relative_to(base.resolve()) or not all(map(is_plain_name, parts)):
        raise ValueError(f"{'/'.join(parts)!r} would leave {base}")
    return path
