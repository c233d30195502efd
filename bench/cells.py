"""The matrix axes and the identity of one cell."""

from __future__ import annotations

from dataclasses import asdict, dataclass

VARIANTS = ("native", "preview1", "adapted", "component")
HOSTS = ("native", "wasmtime-py", "wasmtime-cli")
BACKENDS = ("onnx", "openvino")
DEVICES = ("cpu", "gpu")
STATUSES = ("ok", "failed", "unsupported", "skipped")

# Which variants a host can speak at all (an ABI fact, not a capability claim:
# whether a backend/device works on a host is found by probing or trying).
HOST_VARIANTS = {
    "native": ("native",),
    "wasmtime-py": ("preview1", "adapted", "component"),
    "wasmtime-cli": ("preview1", "adapted", "component"),
}

KEY_COLUMNS = ["workload", "variant", "host", "backend", "device"]
# Hosts that also come as releases, `name@version` (hosts/runtimes.py installs them).
VERSIONED_HOSTS = ("wasmtime-cli",)


def base_host(host: str) -> str:
    """'wasmtime-cli@45.0.2' -> 'wasmtime-cli'; a plain host is its own base."""
    return host.partition("@")[0]


def host_version(host: str) -> str | None:
    """'wasmtime-cli@45.0.2' -> '45.0.2'; None for a plain host."""
    name, at, version = host.partition("@")
    return version if at else None


def host_variants(host: str) -> tuple[str, ...]:
    """The variants a host (or a release of it) speaks."""
    return HOST_VARIANTS[base_host(host)]


def check_host(host: str) -> str | None:
    """Why `host` is not a host name (syntax only: whether a release exists is
    asked of the package index before a run), or None."""
    name, at, version = host.partition("@")
    if name not in HOSTS:
        return f"unknown host {name!r}"
    if at and name not in VERSIONED_HOSTS:
        return f"host {name} has no releases (only {', '.join(VERSIONED_HOSTS)}@VERSION)"
    if at and not version:
        return f"host {host!r}: give a version after @, e.g. {name}@45.0.2"
    return None


@dataclass(frozen=True, order=True)
class Cell:
    workload: str
    variant: str
    host: str
    backend: str
    device: str

    @property
    def key(self) -> str:
        return "/".join((self.workload, self.variant, self.host, self.backend, self.device))

    @property
    def baseline(self) -> Cell:
        """The native cell this cell's outputs and latency are compared with."""
        return Cell(self.workload, "native", "native", self.backend, self.device)

    def to_dict(self) -> dict[str, str]:
        return asdict(self)

    @classmethod
    def from_key(cls, key: str) -> Cell:
        return cls(*key.split("/"))
