"""Hosts that run one round of a cell: native baseline (Python, and the C driver built
natively: native-c), wasmtime-py, wasmtime CLI.

Each host is thin: it speaks one ABI to a guest (or none, for native) and
delegates inference to a backend from `hosts.backends`.
"""

from __future__ import annotations

from hosts.base import Host


def get_host(name: str) -> Host:
    base, _, release = name.partition(
        "@"
    )  # `wasmtime-cli@45.0.2`: a release (hosts/wasmtime_cli/releases.py)
    if release:
        if base != "wasmtime-cli":
            raise ValueError(f"unknown host {name!r}: only wasmtime-cli has releases")
        from hosts.wasmtime_cli import WasmtimeCliHost

        return WasmtimeCliHost(release)
    if name == "native":
        from hosts.native import NativeHost

        return NativeHost()
    if name == "native-c":
        from hosts.native_c import NativeCHost

        return NativeCHost()
    if name == "wasmtime-py":
        from hosts.wasmtime_py import WasmtimePyHost

        return WasmtimePyHost()
    if name == "wasmtime-cli":
        from hosts.wasmtime_cli import WasmtimeCliHost

        return WasmtimeCliHost()
    raise ValueError(f"unknown host {name!r}")
