"""The matrix axes and the identity of one cell."""

from __future__ import annotations

from dataclasses import asdict, dataclass

VARIANTS = ("native", "preview1", "adapted", "component")
HOSTS = ("native", "native-c", "wasmtime-py", "wasmtime-cli")
BACKENDS = ("onnx", "openvino")
DEVICES = ("cpu", "gpu")
STATUSES = ("ok", "failed", "unsupported", "skipped")

# Which variants a host can speak at all (an ABI fact, not a capability claim:
# whether a backend/device works on a host is found by probing or trying).
HOST_VARIANTS = {
    "native": ("native",),
    "native-c": ("native",),  # the guest driver compiled natively (hosts/native_c.py)
    "wasmtime-py": ("preview1", "adapted", "component"),
    "wasmtime-cli": ("preview1", "adapted", "component"),
}

KEY_COLUMNS = ["workload", "variant", "host", "backend", "device"]


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
