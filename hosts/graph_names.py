"""load-by-name for both Python front-ends (preview1 and component).

A name resolves to a model the way the wasmtime CLI resolves it: a graph the host
registered under that name (the CLI's `-S nn-graph=ENCODING::DIR`), else, when the
host gave the guest a preopened folder, a model folder or file inside it. A name
that resolves to nothing, or leaves the folder, is `not_found`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from hosts.abi import NnError
from hosts.backends import Backend, Graph, backend_for_encoding

# The files that make a graph folder, in builder order (the wasmtime CLI's layout).
GRAPH_DIR_FILES = {"openvino": ("model.xml", "model.bin"), "onnx": ("model.onnx",)}


@dataclass(frozen=True)
class NamedGraph:
    encoding: str
    files: tuple[str, ...]  # in builder order


class GraphRegistry:
    def __init__(self, graphs: Mapping[str, NamedGraph] | None = None, folder: Path | None = None):
        self.graphs = dict(graphs or {})
        self.folder = folder  # the guest's preopened folder, for names that are paths

    def resolve(self, name: str) -> NamedGraph:
        if name in self.graphs:
            return self.graphs[name]
        if self.folder is None:
            have = f" (have {sorted(self.graphs)})" if self.graphs else ""
            raise NnError("not_found", f"no graph named {name!r}{have}")
        if "\0" in name:  # no file has one; pathlib would raise ValueError
            raise NnError("not_found", f"no graph named {name[:40]!r} (it holds a NUL byte)")
        try:
            return self._in_folder(name)
        except OSError as e:  # e.g. a name too long for the file system
            raise NnError("not_found", f"no graph named {name[:40]!r}: {e.strerror}") from None

    def load(
        self,
        name: str,
        device: str,
        threads: int,
        backend_for: Callable[[str], Backend] = backend_for_encoding,
    ) -> Graph:
        """The graph `name` resolves to, loaded on `device` (load-by-name has no target)."""
        found = self.resolve(name)
        return backend_for(found.encoding).load_files(
            list(found.files), found.encoding, device, threads
        )

    def _in_folder(self, name: str) -> NamedGraph:
        assert self.folder is not None
        root = self.folder.resolve()
        path = (root / name).resolve()
        if not name or path != root and root not in path.parents:
            raise NnError("not_found", f"graph name {name!r} leaves the preopened folder")
        if path.is_dir():
            for encoding, names in GRAPH_DIR_FILES.items():
                files = [path / n for n in names]
                if all(f.is_file() for f in files):
                    return NamedGraph(encoding, tuple(str(f) for f in files))
        elif path.suffix == ".onnx" and path.is_file():
            return NamedGraph("onnx", (str(path),))
        elif path.suffix == ".xml" and path.with_suffix(".bin").is_file():
            return NamedGraph("openvino", (str(path), str(path.with_suffix(".bin"))))
        raise NnError("not_found", f"no graph named {name!r}")
