"""Hosts that run one round of a cell: native baseline (Python, and the C driver built
natively: native-c), wasmtime-py, wasmtime CLI.

Each host is thin: it speaks one ABI to a guest (or none, for native) and
delegates inference to a backend from `hosts.backends`.

`REGISTRY` is the one place a host name becomes code: base name -> "module:Class",
imported on first use (a run that never touches the CLI never imports it). What
the rest of the harness knows about a host is in `contracts.hosts.HOST_TABLE`.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable

from contracts.hosts import HOST_TABLE, HostName, check_host, host_facts, parse_host, version_key
from contracts.jobs import CellFailed, CellUnsupported
from hosts.base import Host

REGISTRY: dict[str, str] = {
    "native": "hosts.native:NativeHost",
    "native-c": "hosts.native_c:NativeCHost",
    "wasmtime-py": "hosts.wasmtime_py:WasmtimePyHost",
    "wasmtime-cli": "hosts.wasmtime_cli:WasmtimeCliHost",
    "cmd": "hosts.engines.cmd:CmdHost",
}


def host_class(base: str) -> type[Host]:
    """The class that runs host `base` (a name in HOST_TABLE)."""
    module, _, cls = REGISTRY[base].partition(":")
    return getattr(importlib.import_module(module), cls)


def get_host(name: str) -> Host:
    """The host for a name, a release (`wasmtime-cli@45.0.2`) or an instance included."""
    if why := check_host(name):
        raise ValueError(why)
    parsed = parse_host(name)
    return host_class(parsed.base).from_name(parsed)


def prepare_hosts(names: list[str], say: Callable[[str], None]) -> dict[str, str]:
    """Before a run: let each host get what its names need (install releases, ...).
    {host: why it cannot be had now}; UserError for a name that can never work."""
    by_base: dict[str, list[HostName]] = {}
    for parsed in map(parse_host, names):
        if not parsed.plain:  # a plain host has nothing to get
            by_base.setdefault(parsed.base, []).append(parsed)
    missing: dict[str, str] = {}
    for base, parsed_names in by_base.items():
        missing |= host_class(base).prepare(parsed_names, say)
    return missing


def runtime_versions(names: list[str]) -> dict[str, str]:
    """meta.json `runtimes`: each host of a run that reads its version from its binary ->
    what the binary said (or why it could not be asked), in table order, releases by version."""
    order = {base: i for i, base in enumerate(HOST_TABLE)}
    chosen = sorted(
        {n for n in names if host_facts(n).version_from_binary},
        key=lambda n: (order[parse_host(n).base], version_key(parse_host(n).version or "")),
    )
    out = {}
    for name in chosen:
        try:
            out[name] = get_host(name).runtime_version()
        except (CellFailed, CellUnsupported, OSError) as e:
            out[name] = f"unavailable: {e}"
    return out
