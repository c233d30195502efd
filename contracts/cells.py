"""The matrix axes and the identity of one cell.

`Cell` is the only cell key in the project: dictionaries of per-cell values are
keyed by `Cell`, rows of the result frames convert with `Cell.from_row`, and file
names use `Cell.slug`.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import asdict, dataclass
from typing import Any

VARIANTS = ("native", "preview1", "adapted", "component")
BACKENDS = ("onnx", "openvino")
DEVICES = ("cpu", "gpu")
# The host axis, and what each host speaks: contracts/hosts.py (HOST_TABLE).

KEY_COLUMNS = ["workload", "variant", "host", "backend", "device"]

# The backend whose native outputs every native cell is checked against.
REFERENCE_BACKEND = "onnx"


@dataclass(frozen=True, order=True)
class Cell:
    workload: str
    variant: str
    host: str
    backend: str
    device: str

    @property
    def key(self) -> str:
        """ "workload/variant/host/backend/device": the text form (plan.json, progress)."""
        return "/".join(self)

    @property
    def slug(self) -> str:
        """The key as one file name."""
        return self.key.replace("/", "_")

    @property
    def baseline(self) -> Cell:
        """The native cell this cell's latency is compared with: same workload,
        backend and device, called from Python."""
        return Cell(self.workload, "native", "native", self.backend, self.device)

    @property
    def native_c_baseline(self) -> Cell:
        """The native-c cell of the same workload, backend and device: the same C driver
        compiled natively, so cell / native_c_baseline is the cost of wasm itself
        (Python's own binding overhead is not in it, as it is in `baseline`)."""
        return Cell(self.workload, "native", "native-c", self.backend, self.device)

    @property
    def is_native(self) -> bool:
        """A cell without wasm (host native or native-c): a baseline of the others."""
        return self.variant == "native"

    @property
    def is_baseline(self) -> bool:
        return self == self.baseline

    @property
    def reference(self) -> Cell:
        """The cell this cell's outputs must agree with: its baseline for wasm cells and
        the C baseline (host native-c); for Python native cells the native onnxruntime
        cell of the device (a cross-backend check)."""
        if self.is_baseline:
            return Cell(self.workload, "native", "native", REFERENCE_BACKEND, self.device)
        return self.baseline

    def __iter__(self) -> Iterator[str]:
        """The five axes in KEY_COLUMNS order (`tuple(cell)`, `f(*cell)`)."""
        return iter((self.workload, self.variant, self.host, self.backend, self.device))

    def to_dict(self) -> dict[str, str]:
        return asdict(self)

    @classmethod
    def from_key(cls, key: str) -> Cell:
        return cls(*key.split("/"))

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> Cell:
        """The cell of a result row (samples, cells.csv, summary.csv)."""
        return cls(*(str(row[c]) for c in KEY_COLUMNS))
